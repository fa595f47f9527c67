"""Images with axes and pyramids: one 2-D plane of an OME-TIFF, OME-Zarr or plain image, with what it says
about itself."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segcore.data.io import TIFF_SUFFIXES, read_image
from segcore.errors import DataError
from segcore.interop.ome_tiff import ImageInfo


def read_plane(path: str | os.PathLike, level: int = 0, z: int | None = None,
               t: int | None = None) -> tuple[np.ndarray, ImageInfo | None]:
    """An image ``(H, W, C)`` of pyramid ``level`` and plane ``z``/``t`` of an OME-Zarr folder or TIFF, or of a
    plain image file (level 0 only), with its :class:`ImageInfo` (None for formats that state nothing).

    Raises DataError as the format's reader does, and for a level or plane a plain image does not have.
    """
    from segcore.interop import ome_zarr

    path = Path(path)
    if path.is_dir() and ome_zarr.is_zarr(path):
        image, info = ome_zarr.read_zarr_image(path, level, z, t)
    elif path.suffix.lower() in TIFF_SUFFIXES:
        from segcore.interop.ome_tiff import read_ome_tiff

        image, info = read_ome_tiff(path, level, z, t)
    else:
        if level or z or t:
            raise DataError(f"{path}: a {path.suffix} file has one level and one plane (no --level/--z/--t)")
        return read_image(path), None
    if image.dtype.kind == "f" and image.dtype != np.float32:
        image = image.astype(np.float32)
    return image, info


def level_scale(info: ImageInfo | None, level: int) -> float:
    """How many full-resolution pixels one pixel of ``level`` spans (1 for level 0 or no pyramid)."""
    if info is None or level == 0:
        return 1.0
    return info.levels[0][1] / info.levels[level][1]
