"""Finding image/mask pairs in a folder, the class list of a folder, and the train/validation split.

Three layouts are understood (checked in this order):

1. ``FOLDER/images/*`` + ``FOLDER/masks/*``: a mask has the image's stem, or the stem + ``_mask``
   (``images/a.tif`` <-> ``masks/a.png`` or ``masks/a_mask.png``; an OME-TIFF ``a.ome.tif`` pairs as ``a``).
   ``masks/`` may be missing or partial.
2. ``FOLDER/data/`` + ``FOLDER/val/`` (the original layout): each holds the images, their masks either in a
   ``masks/`` subfolder (same rules as above) or beside them as ``STEM_mask.EXT``, and a list ``data.txt`` /
   ``val.txt`` (one image file name per line; ``create_txt`` writes it). Without a list every image is used.
   Samples get ``split="train"`` or ``"val"``.
3. A plain folder of images (optionally with ``STEM_mask.EXT`` files or a ``masks/`` subfolder).

In layouts 2 and 3 a folder annotated in Cellpose pairs as it is: ``STEM_seg.npy``, ``STEM_masks.EXT`` or
``STEM_cp_masks.EXT`` beside the image are its instance mask (``segcore.interop.cellpose``).

Images without a mask are kept with ``mask=None`` (annotation starts from nothing); masks without an image
are ignored and reported in ``warnings``. Hidden files (``.name``, e.g. unfinished atomic writes) are skipped.
"""

from __future__ import annotations

import logging
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcore.atomic import write_text_atomic
from segcore.data.classes import CLASSES_FILE, ClassSpec
from segcore.data.io import IMAGE_SUFFIXES, is_image_file, read_image, read_mask, read_mask_raw, size_mismatch
from segcore.data.lossy import class_values as lossy_class_values
from segcore.data.lossy import is_lossy_file, snap
from segcore.errors import ConfigError, DataError

log = logging.getLogger(__name__)

MASK_SUFFIX = "_mask"
SPLIT_DIRS = {"train": "data", "val": "val"}


@dataclass(frozen=True)
class Sample:
    """One image, its mask file (None when not annotated yet) and its split ("train"/"val"/None)."""

    image: Path
    mask: Path | None = None
    split: str | None = None

    @property
    def name(self) -> str:
        return self.image.stem


def natural_key(path: Path) -> list:
    """Sort key that puts ``2.png`` before ``10.png``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _image_files(folder: Path) -> list[Path]:
    """Image files of ``folder``, without what ``segcore predict`` wrote beside its masks (OUT.crf.png, ...)."""
    from segcore.compare import is_sidecar

    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if is_image_file(p) and not is_sidecar(p)), key=natural_key)


def _base_stem(stem: str) -> str:
    """The stem that pairs an image with its mask: ``a.ome.tif`` (OME-TIFF) pairs like ``a.tif``."""
    return stem[: -len(".ome")] if stem.lower().endswith(".ome") else stem


def _mask_stem(stem: str) -> str:
    return stem[: -len(MASK_SUFFIX)] if stem.endswith(MASK_SUFFIX) else stem


# How public data sets name masks that segcore does not pair (Cellpose _masks, GlaS _anno, CHASE_DB1 _1stHO,
# STARE .ah, ...): only used to tell the user which file to rename.
_FOREIGN_MASK = re.compile(r"[_.-](masks|labels?|anno(tations?)?|seg(mentation)?|gt|ground_?truth|\d(st|nd)ho|"
                           r"manual\d|ah|vk)$", re.IGNORECASE)


def _foreign_mask_of(stem: str, image_stems: set[str]) -> str | None:
    """The image stem that ``stem`` names with a mask suffix segcore does not pair (``a_anno`` -> ``a``), or None."""
    match = _FOREIGN_MASK.search(stem)
    return stem[: match.start()] if match and stem[: match.start()] in image_stems else None


def _pair(images: list[Path], masks: list[Path], split: str | None, warnings: list[str]) -> list[Sample]:
    """Match masks to images by stem (or stem + ``_mask``)."""
    by_stem: dict[str, Path] = {}
    image_stems = {_base_stem(image.stem) for image in images}
    for mask in masks:
        stem = _mask_image_stem(mask, image_stems)
        if stem in by_stem:
            raise DataError(f"two masks for image '{stem}': {by_stem[stem]} and {mask}; keep one")
        by_stem[stem] = mask
    for stem, mask in by_stem.items():
        if stem not in image_stems:
            base = _foreign_mask_of(stem, image_stems)
            hint = f" (rename it {base}{mask.suffix} to pair it with image '{base}')" if base else ""
            warnings.append(f"{mask}: no image with stem '{stem}'; mask ignored{hint}")
    return [Sample(image, by_stem.get(_base_stem(image.stem)), split) for image in images]


def _with_cellpose_masks(folder: Path, images: list[Path], masks: list[Path]) -> tuple[list[Path], list[Path]]:
    """A folder annotated in Cellpose pairs as it is: ``a.png`` with ``a_seg.npy`` (or ``a_masks.png``,
    ``a_cp_masks.png``), which are then no images. A segcore mask of the same image wins (newer edits)."""
    from segcore.interop.cellpose import image_stem, masks_in

    stems = {_base_stem(p.stem) for p in images}
    found = masks_in(folder, stems, images)
    if not found:
        return images, masks
    own = {_base_stem(_mask_stem(m.stem)) for m in masks}
    images = [p for p in images if image_stem(p) not in stems]  # every Cellpose file of an image, used or not
    return images, masks + [m for s, m in found.items() if s not in own]


def _read_list(folder: Path, images: list[Path]) -> list[Path] | None:
    """Images named in the folder's .txt list (``data.txt``/``val.txt``, or its only .txt); None without one."""
    named = folder / f"{folder.name}.txt"
    lists = [named] if named.is_file() else sorted(folder.glob("*.txt"))
    if not lists:
        return None
    if len(lists) > 1:
        raise DataError(f"{folder}: several .txt lists ({', '.join(p.name for p in lists)}); "
                        f"name the one to use {named.name}")
    by_name = {p.name: p for p in images} | {p.stem: p for p in images}
    chosen = []
    for line in lists[0].read_text(encoding="utf-8").splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        entry_name = Path(entry).name
        if entry_name not in by_name:
            raise DataError(f"{lists[0]}: lists '{entry}' but {folder} has no such image")
        chosen.append(by_name[entry_name])
    return chosen


def _scan_split_dir(folder: Path, split: str | None, warnings: list[str], use_list: bool) -> list[Sample]:
    files = _image_files(folder)
    images = [p for p in files if not p.stem.endswith(MASK_SUFFIX)]
    masks = [p for p in files if p.stem.endswith(MASK_SUFFIX)] + _image_files(folder / "masks")
    images, masks = _with_cellpose_masks(folder, images, masks)
    stems = {_base_stem(p.stem): p for p in images}
    foreign = [(p, stems[base]) for p in images if (base := _foreign_mask_of(_base_stem(p.stem), set(stems)))]
    if foreign:
        mask, image = foreign[0]
        warnings.append(f"{mask}: looks like the mask of {image.name} but is read as an image ({len(foreign)} such "
                        f"files); masks pair as STEM{MASK_SUFFIX}.EXT beside the image or masks/STEM.EXT: rename "
                        f"them (here {image.stem}{MASK_SUFFIX}{mask.suffix})")
    if use_list:
        listed = _read_list(folder, images)
        if listed is not None:
            images = listed
    return _pair(images, masks, split, warnings)


def find_samples(folder: str | os.PathLike, warnings: list[str] | None = None) -> list[Sample]:
    """List the samples of ``folder`` in any supported layout (see the module docstring).

    Messages about ignored files are appended to ``warnings``, or logged when no list is given. Raises DataError
    when the folder is missing or holds no images.
    """
    folder = Path(folder)
    log_them = warnings is None
    warnings = [] if warnings is None else warnings
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found")
    if (folder / "images").is_dir():
        samples = _pair(_image_files(folder / "images"), _image_files(folder / "masks"), None, warnings)
    elif any((folder / d).is_dir() for d in SPLIT_DIRS.values()):
        samples = []
        for split, name in SPLIT_DIRS.items():
            samples += _scan_split_dir(folder / name, split, warnings, use_list=True)
    else:
        samples = _scan_split_dir(folder, None, warnings, use_list=False)
    for message in warnings if log_them else []:
        log.warning(message)
    if not samples:
        raise DataError(f"{folder}: no images found (expected images/ + masks/, data/ + val/, or image files "
                        f"with suffixes {' '.join(IMAGE_SUFFIXES)})")
    return samples


def create_txt(folder: str | os.PathLike) -> list[Path]:
    """Write ``data/data.txt`` and ``val/val.txt`` listing the image files of each split folder.

    Returns the lists written. Raises DataError when the folder has neither ``data/`` nor ``val/``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found")
    written = []
    for name in SPLIT_DIRS.values():
        split_dir = folder / name
        if not split_dir.is_dir():
            continue
        images = [p.name for p in _image_files(split_dir) if not p.stem.endswith(MASK_SUFFIX)]
        target = split_dir / f"{name}.txt"
        write_text_atomic(target, "".join(f"{n}\n" for n in images))
        written.append(target)
    if not written:
        raise DataError(f"{folder}: no data/ or val/ folder; file lists are only used by the data/ + val/ layout")
    return written


def load_class_spec(folder: str | os.PathLike, samples: list[Sample], warnings: list[str] | None = None) -> ClassSpec:
    """The folder's ``classes.json``, or a spec inferred from the union of values in the samples' masks.

    ``warnings`` (when given) receives a line when the masks disagree in a way the inferred list hides, and when
    lossy or resampled values (JPEG masks) are read as the class values they cluster around.
    """
    spec = ClassSpec.load(folder)
    if spec is not None:
        return spec
    if any(s.mask is not None and is_cellpose_mask(s.mask) for s in samples):
        return ClassSpec.for_instances()  # Cellpose masks are instance masks by definition
    per_file, shapes, histogram = {}, {}, np.zeros(256, dtype=np.int64)
    for sample in (s for s in samples if s.mask is not None):
        raw = read_mask_raw(sample.mask)
        values, counts = np.unique(raw, return_counts=True)
        per_file[sample.mask] = set(values.tolist())
        shapes[sample.mask] = _coarse_shape(raw)
        small = values < 256
        histogram[values[small]] += counts[small]
    lossy = [path for path in per_file if is_lossy_file(path)]
    if lossy:
        return _lossy_spec(per_file, histogram, lossy, warnings)
    if warnings is not None and len(set().union(*per_file.values()) - {0}) == 1:  # binary masks
        warnings.extend(_same_mask_everywhere(shapes))
    if _looks_like_instances(per_file):
        if warnings is not None:
            ids = set().union(*per_file.values()) - {0}
            warnings.append(f"masks look like instance labels ({len(ids)} ids, e.g. {next(iter(per_file)).name}): "
                            f"any non-zero pixel is \"object\"; if they are classes, name them in {CLASSES_FILE}")
        return ClassSpec.for_instances()
    try:
        spec = ClassSpec.infer(set().union(*per_file.values()))
    except DataError:
        spec = _resampled_spec(per_file, histogram, warnings)
        if spec is None:
            raise
        return spec
    if warnings is not None and spec.unlabelled == 255:
        warnings.extend(_binary_masks_read_as_unlabelled(per_file))
    if warnings is not None and len(per_file) == 1 and _could_be_instances(per_file):
        warnings.append(f"{spec.num_classes} classes read from one mask ({next(iter(per_file)).name}); if its "
                        f"values are object ids (an instance mask), write {{\"instances\": true}} in {CLASSES_FILE}")
    return spec


def _lossy_spec(per_file: dict[Path, set[int]], histogram: np.ndarray, lossy: list[Path],
                warnings: list[str] | None) -> ClassSpec:
    """The classes of masks saved in a lossy format: the values their pixels cluster around, with a line saying
    how many pixels are read as those; refused, naming JPEG, when the values do not cluster."""
    union = set().union(*per_file.values())
    centres = lossy_class_values(histogram, lossy=True) if max(union) < 256 else None
    files = f"{len(lossy)} file{'s' if len(lossy) > 1 else ''}, e.g. {lossy[0].name}"
    if centres is None:
        if len(union) <= 3:  # exact values after all (flat regions survive JPEG): read them as they are
            return ClassSpec.infer(union)
        shown = sorted(union)[:6]
        raise DataError(f"masks saved as JPEG, a lossy format ({files}), hold {len(union)} different values "
                        f"({', '.join(map(str, shown))}, ...) that do not cluster around a few class values; save "
                        "the masks as PNG")
    spec = ClassSpec.of_values(centres)
    if warnings is not None:
        warnings.append(f"masks saved as JPEG, a lossy format: {_moved(histogram, centres)} read as the nearest "
                        f"class value {centres}; save masks as PNG to keep exact values ({files})")
    return spec


def _resampled_spec(per_file: dict[Path, set[int]], histogram: np.ndarray,
                    warnings: list[str] | None) -> ClassSpec | None:
    """Lossless masks whose values are noise around a few class values (resized with interpolation, or once saved
    as JPEG): those classes, with a line saying so; None when the values do not look like that."""
    if max(set().union(*per_file.values())) >= 256:
        return None
    centres = lossy_class_values(histogram)
    if centres is None:
        return None
    noisy = [path for path, values in per_file.items() if not values <= set(centres)]
    for path in noisy:
        _, moved = snap(read_mask_raw(path), centres, lossy=False)
        if not moved:
            return None  # stray values that are regions of their own, not noise
    if warnings is not None:
        warnings.append(f"{len(noisy)} mask{'s' if len(noisy) > 1 else ''} (e.g. {noisy[0].name}) hold in-between "
                        f"values, as resizing with interpolation or saving as JPEG leaves them: "
                        f"{_moved(histogram, centres)} read as the nearest class value {centres}; save masks as "
                        "PNG and resize them with nearest-neighbour sampling")
    return ClassSpec.of_values(centres)


def _moved(histogram: np.ndarray, centres: list[int]) -> str:
    total = int(histogram.sum())
    moved = total - int(histogram[centres].sum())
    return f"{moved:,} of {total:,} pixels ({100 * moved / max(total, 1):.1f} %)"


def is_cellpose_mask(path: Path) -> bool:
    from segcore.interop.cellpose import image_stem

    return image_stem(path) is not None


def _mask_image_stem(mask: Path, image_stems: set[str]) -> str:
    """The image stem a mask file pairs with: ``a_mask.png``, ``masks/a.png``, Cellpose's ``a_seg.npy`` -> a."""
    from segcore.interop.cellpose import image_stem

    stem = _base_stem(_mask_stem(mask.stem))
    return stem if stem in image_stems else image_stem(mask) or stem


def _coarse_shape(raw: np.ndarray, size: int = 32) -> np.ndarray:
    """Where a mask is non-zero, on a ``size`` x ``size`` grid (cheap to compare between files)."""
    rows = np.linspace(0, raw.shape[0] - 1, size).astype(int)
    cols = np.linspace(0, raw.shape[1] - 1, size).astype(int)
    return raw[np.ix_(rows, cols)] != 0


def _same_mask_everywhere(shapes: dict[Path, np.ndarray]) -> list[str]:
    """Every binary mask the same large blob: a field-of-view mask (DRIVE's ``21_training_mask.gif`` is one, and the
    ``STEM_mask`` convention pairs it with the image), not the structures to segment. Say so."""
    from scipy import ndimage

    if len(shapes) < 2:
        return []
    first, *others = shapes.values()
    if first.mean() < 0.3 or any((other != first).mean() > 0.02 for other in others):
        return []
    if ndimage.label(first)[1] != 1:
        return []
    return [f"all {len(shapes)} masks are the same region covering {first.mean():.0%} of the image (e.g. "
            f"{next(iter(shapes))}): field-of-view masks, as DRIVE's *_training_mask.gif, are not segmentations; "
            f"pair the images with the annotations (DRIVE: 1st_manual/*_manual1.gif) instead"]


INSTANCE_MIN_IDS = 8  # fewer non-zero values than this are read as classes
CLASS_MAX_VALUES = 32  # more than this many are ids even in a single file


def _could_be_instances(per_file: dict[Path, set[int]]) -> bool:
    """Enough values, each one connected blob: instance ids, or classes drawn one region each (one file alone
    cannot tell which)."""
    path, values = next(iter(per_file.items()))
    if len(values - {0}) < INSTANCE_MIN_IDS:
        return False
    return all(count == 1 for count in _blob_count(read_mask_raw(path)))


def _looks_like_instances(per_file: dict[Path, set[int]]) -> bool:
    """Instance labels (one id per object, as Cellpose, StarDist and most nucleus data sets store them) rather
    than classes: many values, each one connected blob, and (unless there are very many) differing per file."""
    ids = set().union(*per_file.values(), set()) - {0}
    if len(ids) < INSTANCE_MIN_IDS:
        return False
    if len(ids) > 255 or max(ids) > 255:  # cannot be classes: inferred classes are 0..max, at most 255 of them
        return True
    if len(ids) <= CLASS_MAX_VALUES and len({frozenset(v) for v in per_file.values()}) < 2:
        return False  # the same few values in every file: classes (e.g. retinal layers, each one band)
    busiest = sorted(per_file, key=lambda path: -len(per_file[path]))[:3]
    blobs = [_blob_count(read_mask_raw(path)) for path in busiest]
    single = sum(b.count(1) for b in blobs)
    return single >= 0.9 * sum(len(b) for b in blobs)


def _blob_count(raw: np.ndarray) -> list[int]:
    """Connected regions of each non-zero value of a mask."""
    from scipy import ndimage

    if raw.dtype.kind == "i":
        raw = raw.astype(np.int64)
    counts = []
    for value, box in enumerate(ndimage.find_objects(raw), start=1):
        if box is not None:
            counts.append(ndimage.label(raw[box] == value)[1])
    return counts


def _binary_masks_read_as_unlabelled(per_file: dict[Path, set[int]]) -> list[str]:
    """0/255 masks beside masks of small values: 255 is inferred to mean "unlabelled", so in the 0/255 files the
    foreground silently vanishes. Usually a few odd files in a binary data set; say so, naming one of each."""
    binary = [p for p, v in per_file.items() if 255 in v and v <= {0, 255}]
    other = [p for p, v in per_file.items() if not v <= {0, 255}]
    if not (binary and other):
        return []
    odd = sorted(per_file[other[0]] - {0, 255})[:5]
    return [f"masks disagree: {len(binary)} hold only 0/255 (e.g. {binary[0].name}) and {len(other)} hold other "
            f"values (e.g. {other[0].name}: {odd}); 255 is read as \"unlabelled\", so the 0/255 masks have no "
            f"foreground. Fix the odd masks, or write a {CLASSES_FILE} that names each class and its value"]


def load_sample(sample: Sample, spec: ClassSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a sample's image ``(H,W,C)`` and mask indices ``(H,W)`` (None without mask); sizes must agree."""
    image = read_image(sample.image)
    if sample.mask is None:
        return image, None
    mask = read_mask(sample.mask, spec)
    if mask.shape != image.shape[:2]:
        raise size_mismatch(sample.mask, mask.shape, sample.image, image.shape)
    return image, mask


def split_samples(samples: list[Sample], val_fraction: float = 0.2, seed: int = 0, spec: ClassSpec | None = None,
                  val_images: list[str] | None = None, warnings: list[str] | None = None
                  ) -> tuple[list[Sample], list[Sample]]:
    """Split the labelled samples into (train, val).

    Only **dense** masks validate (:mod:`segcore.data.density`; ``spec`` reads them, without it every mask counts
    as dense): a scribbled mask would score the model on its few strokes. ``val_images`` (paths, as a run's
    split.json lists them) fixes the validation images, so that rounds of retraining are scored on the same ones:
    those still dense validate, every other labelled image trains. Without it, a layout with a val split
    (``split == "val"``) is used as is, its sparse masks left out of both parts; otherwise a seeded random
    ``val_fraction`` of the images goes to validation, drawn among the dense ones: at least one image when there
    are two or more labelled images, never all of them. Samples without a mask are left out of both. Lines about
    masks left out of validation go to ``warnings``. Raises DataError for a mask that cannot be read.
    """
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"validation fraction must be in [0, 1), got {val_fraction}")
    labelled = [s for s in samples if s.mask is not None]
    warnings = [] if warnings is None else warnings
    sparse = _SparseCheck(spec)
    if val_images:
        wanted = {Path(p).resolve() for p in val_images}
        val = [s for s in labelled if s.image.resolve() in wanted and not sparse(s)]
        if val:
            if len(val) < len(wanted):
                warnings.append(f"{len(wanted) - len(val)} of the {len(wanted)} validation images asked for have no "
                                f"dense mask now; validating on the other {len(val)}")
            return [s for s in labelled if s not in val], val
        warnings.append(f"none of the {len(wanted)} validation images asked for is in this folder with a dense "
                        "mask; drawing new ones")
    if any(s.split == "val" for s in labelled):
        val = [s for s in labelled if s.split == "val"]
        dropped = [s for s in val if sparse(s)]
        if dropped:
            warnings.append(f"{len(dropped)} validation mask(s) are sparse (e.g. {dropped[0].mask.name}): left out; a "
                            f"validation image needs a dense mask (move it to the training folder to train on it)")
        return [s for s in labelled if s.split != "val"], [s for s in val if s not in dropped]
    order = list(range(len(labelled)))
    random.Random(seed).shuffle(order)
    n_val = round(len(labelled) * val_fraction)
    if val_fraction > 0 and len(labelled) >= 2:
        n_val = min(max(n_val, 1), len(labelled) - 1)
    val_idx: set[int] = set()
    for i in order:  # in the seeded order, so an all-dense folder splits as it always did; masks read lazily
        if len(val_idx) >= n_val:
            break
        if not sparse(labelled[i]):
            val_idx.add(i)
    if sparse.seen and len(val_idx) < n_val:
        warnings.append(f"only {len(val_idx)} of the {n_val} validation images wanted have a dense mask; sparse "
                        "(scribbled) masks train but never validate")
    train = [s for i, s in enumerate(labelled) if i not in val_idx]
    val = [s for i, s in enumerate(labelled) if i in val_idx]
    return train, val


class _SparseCheck:
    """``check(sample)``: whether its mask is sparse (mostly unlabelled); ``seen`` counts the sparse ones met."""

    def __init__(self, spec: ClassSpec | None) -> None:
        self.spec, self.seen = spec, 0

    def __call__(self, sample: Sample) -> bool:
        from segcore.data.density import is_dense, labelled_fraction

        if self.spec is None or self.spec.instances:  # instance masks have no unlabelled value
            return False
        sparse = not is_dense(labelled_fraction(read_mask(sample.mask, self.spec)))
        self.seen += sparse
        return sparse
