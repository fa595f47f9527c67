"""The U-Net paper's training target for touching objects, made from instance masks (one id per object).

Ronneberger, Fischer and Brox (2015) label the pixels where two cells touch as background, so that predicted cells
come out as separate regions, and weight each pixel's cross-entropy by

    w(x) = 1 + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))

on background, with d1 and d2 the distances to the nearest and the second-nearest cell (w0 = 10, sigma = 5 pixels
in the paper): the thin gaps between close cells then weigh about ten times a pixel of open background, so the
network learns to draw them. Objects touching only background keep every pixel and carry weight 1.
"""

from __future__ import annotations

import numpy as np

W0 = 10.0  # the paper's weight of a gap between two touching cells
SIGMA = 5.0  # pixels; beyond ~3 sigma from two cells the extra weight is negligible


def touching_another(ids: np.ndarray) -> np.ndarray:
    """Pixels of an object with a different object among their 8 neighbours."""
    padded = np.pad(ids, 1, mode="edge")
    h, w = ids.shape
    out = np.zeros(ids.shape, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == dx == 1:
                continue
            near = padded[dy:dy + h, dx:dx + w]
            out |= (near != ids) & (near != 0)
    return out & (ids != 0)


def instance_target(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(uint8 mask, float32 weights)`` from an instance mask: objects 1 with gaps where they touch, and the
    paper's weight map. Distances are computed per object in a window of ~6 sigma around it, so a slide with
    thousands of nuclei costs thousands of small distance transforms, not one per object over the whole image."""
    from scipy import ndimage

    mask = ((ids != 0) & ~touching_another(ids)).view(np.uint8)
    d1 = np.full(ids.shape, np.inf, dtype=np.float32)
    d2 = np.full(ids.shape, np.inf, dtype=np.float32)
    reach = int(np.ceil(6 * SIGMA))
    labels = ids if ids.dtype.kind == "u" else ids.astype(np.int64)
    for value, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        window = tuple(slice(max(b.start - reach, 0), b.stop + reach) for b in box)
        distance = ndimage.distance_transform_edt(labels[window] != value).astype(np.float32)
        near, second = d1[window], d2[window]  # views: updated in place
        closer = distance < near
        second[...] = np.where(closer, near, np.minimum(second, distance))
        near[...] = np.where(closer, distance, near)
    weights = np.ones(ids.shape, dtype=np.float32)
    background = mask == 0
    total = d1[background] + d2[background]
    weights[background] += W0 * np.exp(-np.square(total) / (2 * SIGMA**2))
    return mask, weights
