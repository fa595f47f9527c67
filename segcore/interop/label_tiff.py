"""Label images: instance ids or class values as 8/16/32-bit TIFF (tifffile) or 16-bit PNG.

QuPath's labelled-image export and Fiji's label images store one id per object as 16- or 32-bit greyscale
TIFF; reading goes through ``segcore.data.io.read_mask_raw``, which keeps the stored dtype (32-bit ids stay
ids). Writing picks the smallest unsigned type that holds the largest value.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tifffile

from segcore.atomic import atomic_path
from segcore.data.io import TIFF_SUFFIXES
from segcore.errors import DataError
from segcore.interop.annotation import Annotation

SUFFIXES = TIFF_SUFFIXES


def instance_ids(annotation: Annotation) -> np.ndarray:
    """Object ids ``(H, W)`` int64: those of an instance mask, else each 8-connected region of every class but
    background numbered 1..N in reading order."""
    if annotation.ids is not None:
        return annotation.ids.astype(np.int64)
    from segcore.interop.regions import class_regions

    ids = np.zeros(annotation.shape, dtype=np.int64)
    top = 0
    for index, labels, count in class_regions(annotation):
        if index == 0:
            continue
        ids[labels > 0] = labels[labels > 0] + top
        top += count
    return ids


def smallest_unsigned(values: np.ndarray) -> np.ndarray:
    top = int(values.max(initial=0))
    if int(values.min(initial=0)) < 0:
        raise DataError(f"label images hold values 0 and up, got {int(values.min())}")
    dtype = np.uint8 if top < 256 else np.uint16 if top < 65536 else np.uint32
    if top >= 2**32:
        raise DataError(f"label value {top} does not fit a 32-bit label image")
    return values.astype(dtype)


def write_label_image(path: str | os.PathLike, values: np.ndarray) -> None:
    """Write ``values`` ``(H, W)`` as a greyscale label image, atomically: TIFF of any size (zlib-compressed),
    or PNG when they fit 16 bits; ids keep their numbers."""
    from PIL import Image

    path = Path(path)
    values = smallest_unsigned(np.asarray(values))
    if path.suffix.lower() in TIFF_SUFFIXES:
        with atomic_path(path) as tmp:
            tifffile.imwrite(tmp, values, photometric="minisblack", compression="zlib")
        return
    if path.suffix.lower() != ".png":
        raise DataError(f"{path}: label images are written as .tif or .png")
    if values.dtype == np.uint32:
        raise DataError(f"{path}: values above 65535 do not fit a PNG; write a .tif instead")
    with atomic_path(path) as tmp:
        Image.fromarray(values.astype(np.uint16) if values.dtype != np.uint8 else values).save(tmp, format="PNG")


def write_label_tiff(path: str | os.PathLike, annotation: Annotation) -> None:
    """Write ``annotation`` as a label TIFF: object ids for instance masks, class values otherwise."""
    write_label_image(path, annotation.file_values())
