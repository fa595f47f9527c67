"""Pyramid levels in the annotation store: which level of a pyramidal image is shown, and how the mask painted at
that level maps to the full-resolution mask on disk.

A pyramidal OME-TIFF (a whole slide, a large mosaic) can be too large to show at full resolution, and its
overview is where tissue classes are painted anyway. The store shows one level and edits the mask at that level,
while mask files stay at full resolution (level 0, the image's own geometry), so training, ``segcore predict``
and other tools pair them with the image as before. Reading a mask down to the shown level samples pixel centres
(nearest neighbour); saving maps back only what changed there: a pixel painted at the shown level sets its whole
block of full-resolution pixels, and full-resolution detail not touched at that level is kept exactly (so
opening a fine annotation at a coarse level and saving it changes nothing).

Instance masks (one id per object) are edited at level 0 only: at a coarser level small objects merge or vanish.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segcore.data.io import TIFF_SUFFIXES
from segcore.data.preprocess import resize_mask_to
from segcore.interop.ome_tiff import ImageInfo
from segcore.interop.physical import PixelSize

MAX_SHOWN_PIXELS = 2**26  # the default level is the finest of at most this many pixels (8192 x 8192)


def pyramid_of(path: str | os.PathLike) -> ImageInfo | None:
    """What a pyramidal TIFF says about itself (levels, pixel size) when it has more than one level; None for
    any other file, or one whose header cannot be read (reading the image then says why). Reads the header."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        return None
    from segcore.errors import DataError
    from segcore.interop.ome_tiff import read_info

    try:
        info = read_info(path)
    except DataError:
        return None
    return info if len(info.levels) > 1 else None


def default_level(levels: list[tuple[int, int]], max_pixels: int | None = None) -> int:
    """The finest level (index into ``levels``, (H, W) largest first) of at most ``max_pixels`` (default:
    ``MAX_SHOWN_PIXELS``, or fewer when free memory would not hold it shown); the coarsest when every level is
    larger."""
    if max_pixels is None:
        from segcore.annotate.disk import SHOWN_BYTES_PER_PIXEL
        from segcore.data.io import free_memory

        max_pixels = min(MAX_SHOWN_PIXELS, free_memory() // SHOWN_BYTES_PER_PIXEL)
    for index, (h, w) in enumerate(levels):
        if h * w <= max_pixels:
            return index
    return len(levels) - 1


def level_to_show(path: str | os.PathLike, chosen: int | None = None, pyramid: ImageInfo | None = None) -> int:
    """The level to show (and segment) ``path`` at: ``chosen`` (the user's) when given, else the default; 0 for
    an image without levels. ``pyramid``: the file's, when read already."""
    pyramid = pyramid if pyramid is not None else pyramid_of(path)
    if pyramid is None:
        return 0
    return min(chosen, len(pyramid.levels) - 1) if chosen is not None else default_level(pyramid.levels)


def pixel_size_at(path: str | os.PathLike, level: int) -> PixelSize | None:
    """µm per pixel of ``path`` at pyramid ``level`` (None when the file states none). Reads the header."""
    from segcore.interop.physical import of_file

    pyramid = pyramid_of(path)
    return pyramid.level_pixel_size(level) if pyramid is not None else of_file(path)


def read_level(path: str | os.PathLike, level: int) -> tuple[np.ndarray, PixelSize | None]:
    """The ``(H, W, C)`` image at pyramid ``level`` (0: :func:`segcore.data.io.read_image`) and its pixel size
    (µm, None when the file states none). Raises DataError as the readers do."""
    from segcore.data.io import read_image
    from segcore.interop.images import read_plane
    from segcore.interop.physical import of_file

    if not level:
        return read_image(path), of_file(path)
    image, info = read_plane(path, level)
    return image, info.level_pixel_size(level)


class LevelView:
    """The mask at a shown level and at full resolution. Level 0 (or a plain image) maps every mask to itself.

    ``base`` is the full-resolution mask as read (None: no file yet, all background), or as last accepted whole
    at full resolution; saving keeps its pixels wherever the shown mask still equals the base read down. It is
    not moved on by saving, so undoing a stroke after a save still brings back the detail under it.
    """

    def __init__(self, level: int = 0, full: tuple[int, int] | None = None,
                 shown: tuple[int, int] | None = None) -> None:
        self.level = level
        self.full_shape = tuple(full) if full is not None else None
        self.shown_shape = tuple(shown) if shown is not None else self.full_shape
        self._base: np.ndarray | None = None
        self._base_shown: np.ndarray | None = None

    @property
    def active(self) -> bool:
        """Whether the shown mask is smaller than the one on disk."""
        return self.level > 0 and self.full_shape != self.shown_shape

    @property
    def base(self) -> np.ndarray | None:
        return self._base

    def set_base(self, full: np.ndarray | None) -> None:
        """The full-resolution mask now on disk (None: none yet)."""
        self._base = full
        self._base_shown = None if full is None or not self.active else resize_mask_to(full, self.shown_shape)

    def shown(self, mask: np.ndarray) -> np.ndarray:
        """``mask`` at the shown level: a full-resolution one read down (centre sampling), a shown one as it is."""
        if not self.active or mask.shape[:2] == self.shown_shape:
            return mask
        return resize_mask_to(mask, self.shown_shape)

    def fit(self, mask: np.ndarray | None) -> np.ndarray | None:
        """``mask`` (e.g. a prediction) at the shown level: as it is, read down from full resolution, or None when it
        has neither size (made at another level) or is None."""
        if mask is None or mask.shape[:2] not in (self.shown_shape, self.full_shape):
            return None
        return self.shown(mask)

    def full(self, shown: np.ndarray) -> np.ndarray:
        """The full-resolution mask for the ``shown`` one: the base where ``shown`` is unchanged, the shown value
        (nearest neighbour, a block per shown pixel) where it changed."""
        if not self.active:
            return shown
        if self._base is None:
            return resize_mask_to(shown, self.full_shape)
        changed = shown != self._base_shown
        if not changed.any():
            return self._base
        result = self._base.copy()
        where = resize_mask_to(changed, self.full_shape)
        result[where] = resize_mask_to(shown, self.full_shape)[where]
        return result

    def describe(self) -> str:
        """E.g. "level 2 (1/4 of 40000x30000)"; "" at full resolution."""
        if not self.active:
            return ""
        (h0, w0), w = self.full_shape, self.shown_shape[1]
        return f"level {self.level} (1/{w0 / w:.3g} of {w0}x{h0})"
