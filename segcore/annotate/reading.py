"""How the annotation store reads a folder (its samples and class list) and an image: through a :class:`Reader`
(direct, or a read-ahead that decodes the next pair early), refusing one the window cannot show, at the pyramid
level shown (:mod:`.levels`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from segcore.annotate.disk import showable
from segcore.annotate.levels import LevelView, pyramid_of, read_level
from segcore.data import io, layout
from segcore.data.classes import ClassSpec
from segcore.errors import DataError
from segcore.interop.ome_tiff import ImageInfo
from segcore.interop.physical import PixelSize, of_file


class Reader(Protocol):
    """How the store reads files; :class:`DirectReader`, or a read-ahead that decodes the next pair early."""

    def read_image(self, path: Path) -> np.ndarray: ...
    def read_mask(self, path: Path, spec: ClassSpec) -> np.ndarray: ...
    def prefetch(self, image: Path, mask: Path | None, spec: ClassSpec) -> None: ...
    def clear(self) -> None: ...


class DirectReader:
    """Reads each file when asked."""

    def read_image(self, path: Path) -> np.ndarray:
        return io.read_image(path)

    def read_mask(self, path: Path, spec: ClassSpec) -> np.ndarray:
        return io.read_mask(path, spec)

    def prefetch(self, image: Path, mask: Path | None, spec: ClassSpec) -> None:
        pass

    def clear(self) -> None:
        pass


def read_folder(folder: Path) -> tuple[list[layout.Sample], ClassSpec, list[str]]:
    """The samples of ``folder``, its class list and what is odd about it (most telling first, in words).

    A broken classes.json raises DataError: it is the user's file to mend. Masks whose values say no class list
    give background/foreground 0/255 and a warning, so the images are shown all the same.
    """
    warnings: list[str] = []
    samples = layout.find_samples(folder, warnings)
    ClassSpec.load(folder)
    try:
        spec = layout.load_class_spec(folder, samples, warnings)
    except DataError as exc:
        spec = ClassSpec(["background", "foreground"], [0, 255])
        warnings.insert(0, f"{exc}; masks that do not fit background/foreground 0/255 are shown read-only")
    return samples, spec, warnings


def fits(image: Path) -> bool:
    """Whether reading ``image`` ahead is worth it: not when the window would refuse to show it."""
    try:
        showable(image)
    except DataError:
        return False
    return True


@dataclass
class Shown:
    """An image as shown: ``image`` (H, W, C) as read at the level of ``view``, the ``pyramid`` it is a level of
    (None for a plain image) and its ``pixel_size`` (µm per pixel as shown, None when the file states none)."""

    image: np.ndarray
    view: LevelView
    pyramid: ImageInfo | None
    pixel_size: PixelSize | None


def read_shown(reader: Reader, path: Path, level: int) -> Shown:
    """``path`` at pyramid ``level`` (0: full resolution); raises DataError (one line) when it cannot be read or
    is too large to show, which a huge slide says from its header, before decoding."""
    pyramid = pyramid_of(path)
    if not level:
        showable(path)
        image = reader.read_image(path)
        full = image.shape[:2]
        size = pyramid.pixel_size if pyramid is not None else of_file(path)
    else:
        showable(path, pyramid.levels[level])
        (image, size), full = read_level(path, level), pyramid.levels[0]
    return Shown(image, LevelView(level, full, image.shape[:2]), pyramid, size)
