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
        """The size ``to_dict`` wrote; None for None or anything that is not two positive lengths."""
        try:
            y, x = float(d["y_um"]), float(d["x_um"])
        except (KeyError, TypeError, ValueError):
            return None
        return cls(y, x) if min(y, x) > 0 and math.isfinite(y + x) else None

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


def median_pixel_size(sizes: list[PixelSize | None]) -> PixelSize | None:
    """The median of the sizes given (None ones skipped), per axis; None when none is given."""
    sizes = [s for s in sizes if s is not None]
    if not sizes:
        return None
    return PixelSize(float(np.median([s.y for s in sizes])), float(np.median([s.x for s in sizes])))


def training_pixel_size(paths: list[Path]) -> PixelSize | None:
    """The median pixel size the training images state (None when none states one): the resolution a model
    learned at, kept in its checkpoint so prediction can tell when an image is at another one."""
    return median_pixel_size([of_file(p) for p in paths])


TOLERANCE = 0.1  # pixel sizes within 10 % count as one: resampling by less blurs more than it helps


def resample_factor(image: PixelSize | None, target: PixelSize | None, tolerance: float = TOLERANCE) -> float:
    """How much to resize an image at pixel size ``image`` so its pixels measure ``target`` (0.5: half as many
    pixels per side); 1.0 when either is unknown or they differ by at most ``tolerance`` (relative).

    One factor for both axes (the geometric mean of the y and x ratios): 2-D microscopy pixels are square.
    nnU-Net resamples every case to one target spacing the same way (Isensee et al., Nature Methods 2021).
    """
    if image is None or target is None:
        return 1.0
    ratio = math.sqrt((image.y / target.y) * (image.x / target.x))
    return 1.0 if abs(ratio - 1) <= tolerance else ratio


def resampling_note(image: PixelSize, target: PixelSize, size: tuple[int, int], factor: float) -> str:
    """One line saying that an image of ``size`` (height, width) at pixel size ``image`` was segmented resized by
    ``factor`` to the model's pixel size ``target``, and the mask brought back."""
    h, w = size
    return (f"image at {image}, the model learned at {target}: segmented resampled x{factor:.3g} to "
            f"{max(1, int(w * factor))}x{max(1, int(h * factor))}, the mask brought back to {w}x{h}")
