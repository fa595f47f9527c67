"""Physical pixel size: what one pixel measures, read from the image file's own metadata.

Sources: OME-XML ``Pixels/@PhysicalSizeX|Y`` (unit attribute, micrometre by default, per the OME schema), an
ImageJ TIFF's resolution tags with its ``unit``, and OME-Zarr ``coordinateTransformations`` scale with the axes'
``unit``. Everything is converted to micrometres. PNG/JPEG DPI is a print setting, never a pixel size, and is
ignored.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_MICROMETRES = {  # unit name (OME, UDUNITS as OME-NGFF uses, ImageJ's spellings) -> micrometres
    "m": 1e6, "meter": 1e6, "metre": 1e6, "cm": 1e4, "centimeter": 1e4, "mm": 1e3, "millimeter": 1e3,
    "µm": 1.0, "μm": 1.0, "um": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0, "micrometre": 1.0,
    "\\u00b5m": 1.0, "nm": 1e-3, "nanometer": 1e-3, "nanometre": 1e-3, "å": 1e-4, "angstrom": 1e-4,
    "pm": 1e-6, "picometer": 1e-6,
}


@dataclass(frozen=True)
class PixelSize:
    """Size of one pixel in micrometres along y (rows) and x (columns)."""

    y: float
    x: float

    def __str__(self) -> str:
        if math.isclose(self.x, self.y, rel_tol=1e-3):
            return f"{_fmt(self.x)} µm/pixel"
        return f"{_fmt(self.x)} x {_fmt(self.y)} µm/pixel (x by y)"

    def to_dict(self) -> dict:
        return {"y_um": self.y, "x_um": self.x}

    @classmethod
    def from_dict(cls, d: dict | None) -> PixelSize | None:
        try:
            return cls(float(d["y_um"]), float(d["x_um"])) if d else None
        except (KeyError, TypeError, ValueError):
            return None

    def scaled(self, factor_y: float, factor_x: float) -> PixelSize:
        """The pixel size of the image resampled to ``factor`` times as many pixels."""
        return PixelSize(self.y / factor_y, self.x / factor_x)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def micrometres(value, unit: str | None, default: str = "µm") -> float | None:
    """``value`` in ``unit`` as micrometres; None when either is missing, unknown or not positive."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    factor = _MICROMETRES.get((unit or default).strip().lower())
    if factor is None or not value > 0 or not math.isfinite(value):
        return None
    return value * factor


def of_file(path: str | os.PathLike) -> PixelSize | None:
    """The pixel size stored in an image file or OME-Zarr folder, None when it states none (never raises)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            from segcore.interop.ome_tiff import tiff_pixel_size

            return tiff_pixel_size(path)
        if path.suffix.lower() == ".zarr" or (path / "zarr.json").exists() or (path / ".zattrs").exists():
            from segcore.interop.ome_zarr import zarr_pixel_size

            return zarr_pixel_size(path)
    except Exception:  # noqa: BLE001 - metadata is a nicety: a file that cannot say states nothing
        return None
    return None


def training_pixel_size(paths: list[Path]) -> PixelSize | None:
    """The median pixel size the training images state (None when none states one): the resolution a model
    learned at, kept in its checkpoint so prediction can tell when an image is at another one."""
    sizes = [size for size in map(of_file, paths) if size is not None]
    if not sizes:
        return None
    return PixelSize(float(np.median([s.y for s in sizes])), float(np.median([s.x for s in sizes])))


def mismatch_note(model: PixelSize | None, image: PixelSize | None, what: str, tolerance: float = 0.2) -> str:
    """A line when ``image``'s pixel size differs from the one the model learned at by more than ``tolerance``
    (relative), else empty: a model sees objects at the size it learned them."""
    if model is None or image is None:
        return ""
    ratio = image.x / model.x
    if abs(ratio - 1) <= tolerance:
        return ""
    hint = "a finer pyramid level or upsample it" if ratio > 1 else "a coarser pyramid level (--level)"
    return (f"{what} is {image} but the model learned at {model} ({ratio:.2g}x); objects look "
            f"{'smaller' if ratio > 1 else 'larger'} than in training: use {hint}")
