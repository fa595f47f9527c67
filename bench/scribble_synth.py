"""Synthetic scribbles drawn from a true mask, for measuring scribble-to-mask without a person at the mouse.

Each class's scribbles lie on its regions' medial axes (the ridges of the distance transform: the pixels farthest
from the region's edge, where a user strokes when sure), cut into pieces by a grid of ``piece`` pixels; pieces
are kept at random until the class's scribbles cover ``coverage`` of its own pixels. So a class with 20 % of the
image gets 20 % of the scribbled pixels, and the total covers about ``coverage`` of the image.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from segcore.data.classes import IGNORE_INDEX


def medial_axis(region: np.ndarray, min_depth: float = 1.0) -> np.ndarray:
    """Pixels of ``region`` (bool H x W) on a ridge of its distance transform (a local maximum across rows or
    across columns), at least ``min_depth`` pixels inside: a one-pixel-wide approximate skeleton."""
    dt = ndimage.distance_transform_edt(region)
    p = np.pad(dt, 1)
    across_x = (dt > p[1:-1, :-2]) & (dt >= p[1:-1, 2:])
    across_y = (dt > p[:-2, 1:-1]) & (dt >= p[2:, 1:-1])
    return region & (across_x | across_y) & (dt >= min_depth)


def skeleton_scribbles(mask: np.ndarray, coverage: float, seed: int = 0, piece: int = 24,
                       ignore: int = IGNORE_INDEX) -> np.ndarray:
    """uint8 labels: ``mask``'s class where a scribble was drawn, ``ignore`` elsewhere (see the module docstring)."""
    rng = np.random.default_rng(seed)
    h, w = mask.shape
    out = np.full(mask.shape, ignore, dtype=np.uint8)
    for c in np.unique(mask):
        if c == ignore:
            continue
        region = mask == c
        axis = medial_axis(region)
        target = coverage * region.sum()
        cells = [(y, x) for y in range(0, h, piece) for x in range(0, w, piece) if axis[y:y + piece, x:x + piece].any()]
        drawn = 0
        for i in rng.permutation(len(cells)):
            if drawn >= target:
                break
            y, x = cells[i]
            part = axis[y:y + piece, x:x + piece]
            out[y:y + piece, x:x + piece][part] = c
            drawn += int(part.sum())
    return out
