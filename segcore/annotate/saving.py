"""Where an annotated mask is written, and how, following the folder layouts of :mod:`segcore.data.layout`.

A mask goes to the image's existing PNG mask, else to where the layout keeps masks (``masks/`` beside
``images/``, else ``STEM_mask.png`` beside the image). A TIFF or JPEG mask is kept aside as ``.orig`` once a
PNG replaces it; a Cellpose ``STEM_seg.npy`` (or ``STEM_masks.tif``) stays where it is, for Cellpose, and the
PNG, which :func:`segcore.data.layout.find_samples` pairs first, holds the edits. Instance masks keep the
object ids the file had when it was first read (see :mod:`segcore.annotate.object_ids`). Every write is atomic
(:mod:`segcore.atomic`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from segcore.atomic import remove_stale_temporaries
from segcore.data import io, layout
from segcore.data.classes import ClassSpec
from segcore.errors import DataError


def new_mask_path(sample: layout.Sample, folder: Path) -> Path:
    """Where a mask for an image without one is written, following the folder's layout."""
    parent = sample.image.parent
    if parent.name == "images" and parent.parent == folder:
        return folder / "masks" / f"{sample.image.stem}.png"
    if (parent / "masks").is_dir():
        return parent / "masks" / f"{sample.image.stem}.png"
    return parent / f"{sample.image.stem}{layout.MASK_SUFFIX}.png"


def write_sample_mask(sample: layout.Sample, folder: Path, mask: np.ndarray, spec: ClassSpec,
                      ids_from: np.ndarray | None, to: Path | None = None) -> tuple[layout.Sample, str | None]:
    """Write ``mask`` (uint8 class indices, H x W) for ``sample`` (to ``to`` when given: saved elsewhere); the
    sample as it is now, and a note for the user.

    Raises DataError or OSError (the file on disk is then unchanged).
    """
    target = sample.mask if sample.mask is not None and sample.mask.suffix.lower() == ".png" else None
    target = to or target or new_mask_path(sample, folder)
    io.write_mask(target, mask, spec, ids_from=ids_from)
    note = None
    if to is None and sample.mask is not None and sample.mask != target:
        if layout.is_cellpose_mask(sample.mask):  # Cellpose's own file stays for Cellpose; ours pairs first
            note = f"{sample.mask.name} is left for Cellpose; the edited mask is saved as {target.name}"
        else:  # a TIFF/JPEG mask: keep the original aside, never over an older one
            aside = _free_name(sample.mask.with_name(sample.mask.name + ".orig"))
            sample.mask.rename(aside)
            note = f"{sample.mask.name} now saved as {target.name}; the original is kept as {aside.name}"
    return dataclasses.replace(sample, mask=target), note


def _free_name(path: Path) -> Path:
    """``path``, or ``path`` + 2, 3, ... when taken: an older .orig kept aside is never overwritten."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}{n}")
    return candidate


def remove_interrupted_saves(folder: Path, samples: list[layout.Sample]) -> list[Path]:
    """Clean the temporaries of saves that were killed, in every folder masks of ``folder`` may be written to.

    Those are the folders :func:`new_mask_path` can pick (an image's folder or its ``masks/``) and those of
    existing masks; listed from the paths alone, since a missing folder simply has nothing to clean.
    """
    image_dirs = {s.image.parent for s in samples}
    folders = {folder, folder / "masks"} | image_dirs | {d / "masks" for d in image_dirs} | {
        s.mask.parent for s in samples if s.mask is not None}
    return [path for f in sorted(folders) for path in remove_stale_temporaries(f)]


REPLACED_DIR = Path(".segstudio") / "replaced"  # in the folder; hidden, and no layout reads it


def replaced_path(sample: layout.Sample, folder: Path) -> Path:
    """Where the hand-made mask of ``sample`` is kept when an accepted prediction replaces it: one file per image
    (the latest replaced version), named after the image's path in the folder, with the mask file's suffix."""
    try:
        relative = sample.image.relative_to(folder)
    except ValueError:  # an image listed from outside the folder (data.txt may name any path)
        relative = Path(sample.image.name)
    name = "__".join(relative.with_suffix("").parts)
    suffix = sample.mask.suffix.lower() if sample.mask is not None else ".png"
    return folder / REPLACED_DIR / f"{name}{suffix}"


def keep_replaced(sample: layout.Sample, folder: Path, mask: np.ndarray, spec: ClassSpec, on_disk: bool,
                  ids_from: np.ndarray | None) -> Path:
    """Keep the annotation an accepted prediction is about to replace, beyond undo; returns where.

    ``on_disk``: the mask in memory is the file's (unedited since read): the file is copied byte for byte
    (instance ids and all). Otherwise the edited mask is written as a mask file. Raises OSError or DataError.
    """
    import shutil

    from segcore.atomic import atomic_path

    target = replaced_path(sample, folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    if on_disk and sample.mask is not None and sample.mask.is_file():
        with atomic_path(target) as tmp:
            shutil.copyfile(sample.mask, tmp)
    else:
        target = target.with_suffix(".png")
        io.write_mask(target, mask, spec, ids_from=ids_from)
    for older in target.parent.glob(f"{target.stem}.*"):  # one kept version per image: this one
        if older != target and older.suffix.lower() in io.IMAGE_SUFFIXES:
            older.unlink(missing_ok=True)
    return target


def find_replaced(sample: layout.Sample, folder: Path) -> Path | None:
    """The kept annotation of ``sample`` (see :func:`keep_replaced`), if there is one."""
    stem = replaced_path(sample, folder).with_suffix("")
    found = [p for p in stem.parent.glob(f"{stem.name}.*") if p.suffix.lower() in io.IMAGE_SUFFIXES]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def read_replaced(path: Path, spec: ClassSpec, shape: tuple[int, int]) -> np.ndarray:
    """The kept annotation at ``path`` as class indices; raises DataError (one line) when it cannot be read or is
    not of the image's full-resolution ``shape`` (H, W)."""
    try:
        mask = io.read_mask(path, spec)
    except DataError as exc:
        raise DataError(f"cannot restore {path.name}: {exc}") from exc
    if mask.shape != tuple(shape):
        raise DataError(f"{path}: the kept annotation is {mask.shape[1]}x{mask.shape[0]}, the image is not")
    return mask
