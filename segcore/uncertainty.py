"""How sure a model is: a per-pixel uncertainty map and one score per image.

Method: the Shannon entropy of the class probabilities averaged over test-time augmentation (the 8 flips and
quarter turns of :mod:`segcore.tta`), the "TTA entropy" of Wang et al. 2019 (Neurocomputing 338, 34-45, "Aleatoric
uncertainty estimation with test-time augmentation for medical image segmentation with convolutional neural
networks"). A pixel whose augmented views disagree, or that the network puts between classes, gets a high
entropy. It is divided by ``log K`` so that 0 means certain and 1 means every class equally likely, whatever the
number of classes. MC dropout is not used: the default U-Net has no dropout, and TTA works for every checkpoint.

The image's score is the share of its pixels the model is unsure about: normalised entropy above
``UNCERTAIN_LEVEL`` (0.8; for two classes, the averaged probability of the chosen class below ~0.76). The mean of
the map (the "mean entropy" acquisition) barely told images apart: a briefly trained model is mildly unsure
(0.5-0.6) over every cell interior, and that plateau dominated the mean. On 10 ISBI slices unseen in training
(the 3-epoch model of a newcomer's session), the mean entropy's ranks did not follow the pixel error (Spearman
0.02, scores within 8 % of each other) while the share above 0.8 did (Spearman 0.77, spread 27 %); the share
above 0.5 was worse (-0.37): nearly every pixel passed it. ``mean_entropy`` keeps the mean.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcore.errors import DataError

UNCERTAIN_LEVEL = 0.8  # normalised entropy above which a pixel counts as uncertain
_FLOOR = 1e-12


def entropy(probabilities: np.ndarray) -> np.ndarray:
    """Normalised entropy ``float32 (H, W)`` in [0, 1] of class probabilities ``(K, H, W)`` (K >= 2).

    Computed one class at a time, so memory is two ``(H, W)`` planes besides the input. Raises DataError for
    anything but a (K, H, W) array with K >= 2.
    """
    probs = np.asarray(probabilities)
    if probs.ndim != 3 or probs.shape[0] < 2:
        raise DataError(f"probabilities must be (K, H, W) with K >= 2, got shape {probs.shape}")
    total = np.zeros(probs.shape[1:], dtype=np.float32)
    for plane in probs:
        p = plane.astype(np.float32, copy=False)
        total -= p * np.log(np.maximum(p, _FLOOR))
    total /= np.float32(math.log(probs.shape[0]))
    return np.clip(total, 0.0, 1.0, out=total)


@dataclass
class Uncertainty:
    """One image's prediction with its uncertainty: ``probabilities`` float32 (K, H, W), ``map`` float32 (H, W)."""

    probabilities: np.ndarray
    map: np.ndarray

    @property
    def score(self) -> float:
        """The image's uncertainty, in [0, 1]: the share of its pixels above ``UNCERTAIN_LEVEL`` (module docstring)."""
        return self.uncertain_fraction

    @property
    def mean_entropy(self) -> float:
        """Mean normalised entropy of the image, in [0, 1]."""
        return float(self.map.mean(dtype=np.float64))

    @property
    def uncertain_fraction(self) -> float:
        """Share of pixels whose normalised entropy is above ``UNCERTAIN_LEVEL``."""
        return float((self.map > UNCERTAIN_LEVEL).mean())

    @property
    def mask(self) -> np.ndarray:
        """The prediction itself: ``uint8 (H, W)`` class indices of the averaged probabilities."""
        return self.probabilities.argmax(axis=0).astype(np.uint8)


def measure(predictor, image: np.ndarray, pixel_size=None) -> Uncertainty:
    """Predict ``image`` (H, W, C) and measure its uncertainty.

    ``predictor`` is a :class:`segcore.inference.Predictor`; build it with ``tta=True`` for the TTA entropy (with
    ``tta=False`` the map is the entropy of a single forward pass: cheaper, and blind to orientation).
    ``pixel_size`` (the image's, a :class:`segcore.interop.physical.PixelSize` or None): the prediction is made at
    the model's pixel size as :meth:`Predictor.predict_proba` does; the map comes back at the image's size.
    """
    probs = predictor.predict_proba(image, pixel_size)
    return Uncertainty(probs, entropy(probs))


def map_path(out: str | os.PathLike, suffix: str) -> Path:
    """``out.png`` -> ``out.uncertainty.png`` / ``out.uncertainty.npy`` (files written beside a prediction)."""
    out = Path(out)
    return out.with_name(f"{out.stem}.uncertainty{suffix}")


def write_map(out: str | os.PathLike, result: Uncertainty) -> list[Path]:
    """Write the map beside the mask ``out``: a colour PNG to look at (inferno, 0 black .. 1 pale yellow, see
    :mod:`segcore.colormap`) and the float32 ``(H, W)`` values as ``.npy``; both atomically. Returns the paths."""
    from segcore.atomic import atomic_path
    from segcore.colormap import apply
    from segcore.data.io import write_image

    png, npy = map_path(out, ".png"), map_path(out, ".npy")
    write_image(png, apply(result.map))
    with atomic_path(npy) as tmp, open(tmp, "wb") as fh:
        np.save(fh, result.map.astype(np.float32, copy=False), allow_pickle=False)
    return [png, npy]
