"""OME-TIFF images (tifffile): axes named by the OME metadata, channel names, physical pixel size, pyramid levels.

``read_ome_tiff`` returns a 2-D image ``(H, W, C)`` of one pyramid level (0 = full resolution; SubIFD and
multi-series pyramids as tifffile lists them in ``series[0].levels``) and one z plane and time point. Channels
(``C``) and samples (``S``, RGB) become ``C``. A z-stack or time series needs its plane chosen; otherwise it is
refused with a one-line message naming its axes, as segcore segments 2-D images. Plain TIFFs work too (their
axes as tifffile names them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

from segcore.errors import DataError
from segcore.interop.physical import PixelSize, micrometres

SUFFIXES = (".ome.tif", ".ome.tiff")


@dataclass
class ImageInfo:
    """What an image file says about itself: ``axes`` and ``shape`` as stored (tifffile's letters: T time,
    C channel, Z depth, Y, X, S samples), ``channel_names``, ``pixel_size`` (of level 0; None when unknown),
    ``levels``: (H, W) of every pyramid level, largest first."""

    axes: str
    shape: tuple[int, ...]
    levels: list[tuple[int, int]]
    channel_names: list[str] = field(default_factory=list)
    pixel_size: PixelSize | None = None

    def level_pixel_size(self, level: int) -> PixelSize | None:
        if self.pixel_size is None:
            return None
        (h0, w0), (h, w) = self.levels[0], self.levels[level]
        return self.pixel_size.scaled(h / h0, w / w0)

    def describe(self) -> str:
        sizes = ", ".join(f"{a}={n}" for a, n in zip(self.axes, self.shape, strict=True))
        parts = [f"axes {self.axes} ({sizes})"]
        if self.channel_names:
            parts.append("channels " + ", ".join(self.channel_names))
        if self.pixel_size is not None:
            parts.append(str(self.pixel_size))
        if len(self.levels) > 1:
            parts.append(f"{len(self.levels)} pyramid levels " + ", ".join(f"{w}x{h}" for h, w in self.levels))
        return "; ".join(parts)


def _open(path: Path) -> tifffile.TiffFile:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        return tifffile.TiffFile(path)
    except (tifffile.TiffFileError, ValueError, OSError) as exc:
        raise DataError(f"{path}: corrupt or unreadable TIFF ({exc})") from exc


def _ome_pixels(tif: tifffile.TiffFile) -> dict:
    if not tif.is_ome or not tif.ome_metadata:
        return {}
    try:
        image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
    except (KeyError, TypeError, ValueError):
        return {}
    image = image[0] if isinstance(image, list) else image
    return image.get("Pixels", {}) if isinstance(image, dict) else {}


def _pixel_size(tif: tifffile.TiffFile) -> PixelSize | None:
    pixels = _ome_pixels(tif)
    if pixels:
        x = micrometres(pixels.get("PhysicalSizeX"), pixels.get("PhysicalSizeXUnit"))
        y = micrometres(pixels.get("PhysicalSizeY"), pixels.get("PhysicalSizeYUnit"))
        return PixelSize(y or x, x or y) if (x or y) else None
    unit = (tif.imagej_metadata or {}).get("unit")
    if not unit:
        return None
    page = tif.pages[0]
    sizes = []
    for tag in ("YResolution", "XResolution"):
        value = page.tags.get(tag)
        numerator, denominator = value.value if value is not None else (0, 1)
        sizes.append(micrometres(denominator / numerator, unit) if numerator else None)
    y, x = sizes
    return PixelSize(y or x, x or y) if (x or y) else None


def tiff_pixel_size(path: str | os.PathLike) -> PixelSize | None:
    """The physical pixel size an OME or ImageJ TIFF states, or None."""
    with _open(Path(path)) as tif:
        return _pixel_size(tif)


def _info(tif: tifffile.TiffFile) -> ImageInfo:
    series = tif.series[0]
    levels = []
    for level in series.levels:
        sizes = dict(zip(level.axes, level.shape, strict=True))
        levels.append((sizes.get("Y", 1), sizes.get("X", 1)))
    channels = _ome_pixels(tif).get("Channel", [])
    channels = channels if isinstance(channels, list) else [channels]
    names = [str(c.get("Name") or f"channel {i}") for i, c in enumerate(channels) if isinstance(c, dict)]
    return ImageInfo(series.axes, tuple(series.shape), levels, names if any(c.get("Name") for c in channels
                                                                              if isinstance(c, dict)) else [],
                     _pixel_size(tif))


def read_info(path: str | os.PathLike) -> ImageInfo:
    """Axes, channel names, pixel size and pyramid levels of a TIFF, without reading its pixels."""
    path = Path(path)
    with _open(path) as tif:
        try:
            return _info(tif)
        except (IndexError, KeyError, ValueError) as exc:
            raise DataError(f"{path}: unreadable TIFF structure ({exc})") from exc


def read_ome_tiff(path: str | os.PathLike, level: int = 0, z: int | None = None,
                  t: int | None = None) -> tuple[np.ndarray, ImageInfo]:
    """One 2-D plane ``(H, W, C)`` (stored dtype) of pyramid ``level``, and the file's :class:`ImageInfo`.

    ``z``/``t`` choose the plane of a z-stack or time series. Raises DataError for a bad level or plane, a
    stack whose plane was not chosen (naming its axes), or an unreadable file.
    """
    path = Path(path)
    with _open(path) as tif:
        try:
            info = _info(tif)
            series = tif.series[0]
            if not 0 <= level < len(series.levels):
                raise DataError(f"{path}: no pyramid level {level}; it has levels 0..{len(series.levels) - 1} "
                                f"({', '.join(f'{w}x{h}' for h, w in info.levels)})")
            chosen = series.levels[level]
            array = chosen.asarray()
            axes = chosen.axes
        except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError) as exc:
            raise DataError(f"{path}: corrupt or unreadable TIFF ({exc})") from exc
    return _plane(path, array, axes, {"Z": z, "T": t}), info


def _plane(path: Path, array: np.ndarray, axes: str, chosen: dict[str, int | None]) -> np.ndarray:
    """Index away Z and T (chosen or singleton), then order the rest as (Y, X, channels)."""
    stacked = [f"{a}={array.shape[axes.index(a)]}" for a in "TZ" if a in axes and array.shape[axes.index(a)] > 1
               and chosen.get(a) is None]
    if stacked:
        shape = ", ".join(f"{a}={n}" for a, n in zip(axes, array.shape, strict=True))
        what = f"{len(axes)}-D image" if len(stacked) > 1 else ("z-stack" if "Z" in stacked[0] else "time series")
        raise DataError(f"{path}: {what} (axes {axes}: {shape}); segcore segments 2-D images: choose a plane "
                        f"(--z/--t) or save one plane or a projection")
    for axis in "TZQIR":  # tifffile's letters for time, depth and unknown stack axes
        while axis in axes:
            i = axes.index(axis)
            index = chosen.get(axis) or 0
            if not 0 <= index < array.shape[i]:
                raise DataError(f"{path}: no {axis} plane {index}; it has 0..{array.shape[i] - 1}")
            array = np.take(array, index, axis=i)
            axes = axes[:i] + axes[i + 1:]
    if "Y" not in axes or "X" not in axes or set(axes) - set("YXCS"):
        raise DataError(f"{path}: cannot read axes {axes} as a 2-D image")
    order = [axes.index("Y"), axes.index("X")] + [i for i, a in enumerate(axes) if a in "CS"]
    array = np.transpose(array, order)
    return np.ascontiguousarray(array.reshape(array.shape[0], array.shape[1], -1))
