"""Cellpose annotations: ``IMG_seg.npy`` (its GUI's file), ``IMG_cp_masks.png`` (its output), ``IMG_masks.*``
(its training convention), all instance masks (0 = no cell, 1..N = cell ids).

A folder annotated in Cellpose opens as it is: ``segcore.data.layout`` pairs ``IMG.png`` with these files through
:func:`masks_in` (order of preference: ``_seg.npy``, ``_masks``, ``_cp_masks``; a segcore mask ``IMG_mask.png``
beside them wins, since it holds the newer edits). ``_seg.npy`` is a pickled dict; it is read with a pickle
loader that only rebuilds numpy arrays and plain Python values, so a file from elsewhere cannot run code.
Export writes ``IMG_masks.png`` (16-bit ids; ``.tif`` above 65535 objects), which ``cellpose --train
--mask_filter _masks`` and the GUI's *Load masks* read (Cellpose documentation, "Training" and "Outputs").
"""

from __future__ import annotations

import io as _io
import os
import pickle
from pathlib import Path

import numpy as np

from segcore.data.classes import ClassSpec
from segcore.errors import DataError
from segcore.interop.annotation import Annotation

SEG_SUFFIX = "_seg.npy"
MASK_SUFFIXES = ("_masks", "_cp_masks")  # image files: IMG_masks.png / IMG_cp_masks.tif ...
EXPORT_SUFFIX = "_masks"

# What a Cellpose _seg.npy pickle may contain: numpy arrays and scalars, and builtin containers (no callables).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"), ("builtins", "slice"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it asks to run {module}.{name}, which a Cellpose file never needs")


def image_stem(path: Path) -> str | None:
    """The stem of the image a Cellpose annotation file belongs to (``a_seg.npy``, ``a_cp_masks.png`` -> ``a``),
    or None when the name is no Cellpose annotation's."""
    name = path.name
    if name.lower().endswith(SEG_SUFFIX):
        return name[: -len(SEG_SUFFIX)]
    stem = path.stem
    for suffix in MASK_SUFFIXES[::-1]:  # _cp_masks before _masks: it ends with _masks too
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return None


def _rank(path: Path) -> int:
    name = path.name.lower()
    return 0 if name.endswith(SEG_SUFFIX) else 2 if path.stem.endswith("_cp_masks") else 1


def masks_in(folder: Path, image_stems: set[str], candidates: list[Path]) -> dict[str, Path]:
    """Cellpose annotation of each image stem: ``IMG_seg.npy`` in ``folder`` and the Cellpose-named image files
    among ``candidates``, the preferred one per image (see the module doc)."""
    found: dict[str, Path] = {}
    seg_files = sorted(folder.glob(f"*{SEG_SUFFIX}")) if folder.is_dir() else []
    for path in [*seg_files, *candidates]:
        stem = image_stem(path)
        if stem is None or stem not in image_stems or path.name.startswith("."):
            continue
        if stem not in found or _rank(path) < _rank(found[stem]):
            found[stem] = path
    return found


def read_seg(path: str | os.PathLike) -> np.ndarray:
    """The ``masks`` array ``(H, W)`` (object ids) of a Cellpose ``_seg.npy``, read without running pickled code.

    A plain integer ``.npy`` array is taken as the masks themselves. Raises DataError for a damaged, truncated or
    unsafe file, one without masks, or 3-D masks.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in header:
                raise ValueError(f".npy format version {version} is not supported")
            _, _, dtype = header[version](fh)
            if dtype.hasobject:
                data = _ArraysOnly(_io.BufferedReader(fh)).load()
            else:
                fh.seek(0)
                data = np.load(fh, allow_pickle=False)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except (ValueError, EOFError, pickle.UnpicklingError, OSError, AttributeError, ImportError, TypeError,
            IndexError, KeyError) as exc:
        raise DataError(f"{path}: not a readable Cellpose _seg.npy ({str(exc) or type(exc).__name__})") from exc
    if isinstance(data, np.ndarray) and data.dtype.hasobject and data.shape == ():
        data = data.item()
    masks = data.get("masks") if isinstance(data, dict) else data
    if not isinstance(masks, np.ndarray) or masks.dtype.kind not in "ui":
        raise DataError(f"{path}: no integer 'masks' array in this Cellpose file")
    if masks.ndim == 3 and masks.shape[0] == 1:
        masks = masks[0]
    if masks.ndim != 2:
        raise DataError(f"{path}: Cellpose masks of shape {masks.shape} are 3-D; segcore annotates 2-D images "
                        f"(save one plane's masks)")
    return np.ascontiguousarray(masks.astype(masks.dtype.newbyteorder("="), copy=False))


def read_annotation(path: str | os.PathLike, spec: ClassSpec | None = None) -> Annotation:
    """Any Cellpose annotation file (``_seg.npy`` or an ids image) as an instance :class:`Annotation`."""
    from segcore.data.io import read_mask_raw

    path = Path(path)
    raw = read_seg(path) if path.name.lower().endswith(SEG_SUFFIX) else read_mask_raw(path)
    spec = spec if spec is not None and spec.instances else ClassSpec.for_instances()
    return Annotation.from_values(raw, spec, source=str(path))


def export_name(image_stem_: str, ids: np.ndarray) -> str:
    """``IMG_masks.png``, or ``IMG_masks.tif`` when the ids do not fit 16 bits (as Cellpose saves them)."""
    return f"{image_stem_}{EXPORT_SUFFIX}{'.png' if int(ids.max(initial=0)) <= 65535 else '.tif'}"


def write_masks(path: str | os.PathLike, annotation: Annotation) -> int:
    """Write the object ids of ``annotation`` as a Cellpose masks image (16-bit PNG, or 32-bit TIFF for ids
    above 65535), atomically; returns the object count. A class mask's regions become objects."""
    from segcore.interop.label_tiff import instance_ids, write_label_image

    ids = instance_ids(annotation)
    write_label_image(path, ids)
    return int(np.count_nonzero(np.bincount(ids.ravel())[1:]))
