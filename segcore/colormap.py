"""A perceptually uniform colour map (inferno) for maps of values in [0, 1], without matplotlib.

Used for the uncertainty maps: the PNG ``segcore predict --uncertainty`` writes, and the window's overlay and
its legend, so the three agree. Inferno (van der Walt & Smith, matplotlib 1.5) runs from black through purple and
orange to pale yellow: monotonic in lightness, readable in greyscale and by colour-blind readers, and its
brightest end stands out over grey microscopy images. The 256-entry table is interpolated linearly between the
map's colours at eighths of the range, so it is close to, not identical with, matplotlib's table.
"""

from __future__ import annotations

import numpy as np

# inferno at 0, 1/8, ..., 1 (matplotlib's _inferno_data sampled at those positions)
_ANCHORS = np.array([
    (0, 0, 4), (31, 12, 72), (85, 15, 109), (136, 34, 106), (186, 54, 85),
    (227, 89, 51), (249, 140, 10), (249, 201, 50), (252, 255, 164),
], dtype=np.float64)


def lut(size: int = 256) -> np.ndarray:
    """The colour table: ``uint8 (size, 3)``, entry 0 for the value 0 and entry ``size - 1`` for 1."""
    positions = np.linspace(0, 1, len(_ANCHORS))
    x = np.linspace(0, 1, size)
    return np.stack([np.interp(x, positions, _ANCHORS[:, c]) for c in range(3)], axis=1).round().astype(np.uint8)


LUT = lut()


def to_index(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (clipped; NaN counts as 0) -> ``uint8`` table indices 0..255, same shape."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0)
    return (np.clip(v, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def apply(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] of any shape -> ``uint8`` RGB of that shape plus a last axis of 3."""
    return LUT[to_index(values)]
