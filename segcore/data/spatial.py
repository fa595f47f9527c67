"""Random rotation, scaling and elastic deformation of training crops.

The crop is sampled through a warped grid from the whole (padded) image, so rotated or shrunk crops are filled
with real image content rather than padding. The elastic part follows the U-Net paper (Ronneberger et al. 2015,
sec. 3.1): random displacement vectors on a coarse 3x3 grid, Gaussian with a standard deviation of about 10 px,
interpolated bicubically to every pixel; the rotation and scaling follow nnU-Net's spatial augmentation (Isensee et
al. 2021: any angle in 2-D, scale 0.7-1.4). Microscopy has no "up", so any angle is a plausible view of the data.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage

from segcore.data.classes import IGNORE_INDEX

ELASTIC_SIGMA = 10.0  # px: the U-Net paper's displacement standard deviation at strength 1
ZOOM_RANGE = 0.25  # at strength 1 the scale factor is drawn from [1/1.25, 1.25] (log-uniform)
COARSE = 3  # displacement grid: 3x3, interpolated bicubically


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(1))


def random_grid(size: int, centre: tuple[float, float], strength: float) -> np.ndarray:
    """Source coordinates ``float32 (2, size, size)`` (row, column) of a ``size`` x ``size`` crop around
    ``centre`` (y, x), rotated by a random angle, scaled and elastically deformed with ``strength`` in (0, 1].

    Random numbers come from torch's generator, so a seeded run (and each data-loader worker) is reproducible.
    """
    angle = _uniform(0, 2 * math.pi)
    zoom = math.exp(_uniform(-1, 1) * math.log1p(ZOOM_RANGE * strength))
    offsets = np.arange(size, dtype=np.float32) - (size - 1) / 2
    yy, xx = np.meshgrid(offsets, offsets, indexing="ij")
    cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
    rows = cos * yy - sin * xx + centre[0]
    cols = sin * yy + cos * xx + centre[1]
    coarse = torch.randn(2, COARSE, COARSE).numpy().astype(np.float32) * (ELASTIC_SIGMA * strength)
    factor = size / COARSE
    dense = np.stack([ndimage.zoom(c, factor, order=3, mode="nearest", grid_mode=True)[:size, :size]
                      for c in coarse])
    return np.stack([rows + dense[0], cols + dense[1]]).astype(np.float32)


def sample(grid: np.ndarray, image: np.ndarray, mask: np.ndarray, *weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """``image`` (H,W,C) bilinearly, ``mask`` (H,W) and ``weights`` (H,W) by nearest neighbour, at ``grid``'s
    source coordinates; outside the array the image and weights mirror, the mask is unlabelled (IGNORE_INDEX)."""
    out_image = np.stack([ndimage.map_coordinates(image[:, :, c], grid, order=1, mode="mirror")
                          for c in range(image.shape[2])], axis=-1)
    out_mask = ndimage.map_coordinates(mask, grid, order=0, mode="constant", cval=IGNORE_INDEX)
    out_weights = tuple(ndimage.map_coordinates(w, grid, order=0, mode="mirror") for w in weights)
    return out_image.astype(image.dtype, copy=False), out_mask.astype(mask.dtype, copy=False), *out_weights
