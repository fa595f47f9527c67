"""Is an image like the ones a model was trained on? Warnings for a prediction that may not deserve trust.

A model trained on 20x tissue and applied to 40x tissue marked nearly all neuropil as nucleus, while its
validation Dice (0.79) looked fine. Three checks catch that kind of shift, each against what the training data was
like, as measured by the run's dataset fingerprint (:mod:`segcore.planning.fingerprint`, kept in the checkpoints of
every run, planned or not) or, without one (checkpoints of fixed-recipe runs made before runs kept it), the
checkpoint's normalisation statistics:

- **size**: the image is far larger or smaller than the training images (a factor of ``SIZE_FACTOR``);
- **intensity**: its median value per channel lies outside the training pixels' 0.5-99.5 percentile range (with
  only normalisation statistics: more than ``Z_LIMIT`` training standard deviations from the training mean);
- **magnification and coverage**: the predicted objects of a class are ``SCALE_FACTOR`` times larger or smaller
  than the annotated ones (median equivalent diameter), or a class covers far more of the image than it did in
  training (over ``COVER_LIMIT`` and ``COVER_FACTOR`` times its training share).

Qt-free and without torch: pure numpy/scipy on the image, the predicted mask and plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcore.data.preprocess import to_unit

SIZE_FACTOR = 4.0
Z_LIMIT = 2.5
SCALE_FACTOR = 1.8
COVER_LIMIT, COVER_FACTOR = 0.35, 3.0
MAX_PIXELS = 500_000  # sampled for the intensity check


@dataclass
class Reference:
    """What the training data was like: a fingerprint dict (or None) and the normalisation statistics."""

    fingerprint: dict | None
    mean: list[float]  # per channel, of the [0, 1]-scaled training pixels
    std: list[float]
    class_names: list[str]

    @classmethod
    def from_checkpoint(cls, info: dict) -> Reference:
        """From :func:`segcore.checkpoint.prediction_info` (its ``fingerprint`` None for old fixed-recipe runs)."""
        norm = info.get("normalization") or {}
        return cls(info.get("fingerprint"), [float(m) for m in norm.get("mean", [])],
                   [float(s) for s in norm.get("std", [])], list((info.get("classes") or {}).get("names", [])))


def _size(image: np.ndarray, fp: dict) -> list[str]:
    h, w = image.shape[:2]
    low, high = min(fp["min_size"]), max(fp["max_size"])
    if max(h, w) > SIZE_FACTOR * high or min(h, w) * SIZE_FACTOR < low:
        return [f"the image is {w}x{h} px; the training images were {low}-{high} px a side"]
    return []


def _sample(image: np.ndarray) -> np.ndarray:
    flat = image.reshape(-1, image.shape[2] if image.ndim == 3 else 1)
    return flat[:: max(1, flat.shape[0] // MAX_PIXELS)]


def _intensity(image: np.ndarray, ref: Reference) -> list[str]:
    fp = ref.fingerprint
    if fp and fp.get("percentiles"):
        medians = np.median(_sample(image).astype(np.float64), axis=0)
        for c, (low, _mid, high) in enumerate(fp["percentiles"][: len(medians)]):
            if not low <= medians[c] <= high:
                which = f"channel {c + 1} " if len(medians) > 1 else ""
                return [f"its {which}intensities (median {medians[c]:.4g}) lie outside the training images' range "
                        f"({low:.4g}-{high:.4g})"]
        return []
    unit = _sample(to_unit(image if image.ndim == 3 else image[..., None]))
    means = unit.mean(axis=0)
    for c, (m, s) in enumerate(zip(ref.mean, ref.std, strict=False)):
        if c < len(means) and s > 0 and abs(means[c] - m) > Z_LIMIT * s:
            return [f"it is much {'brighter' if means[c] > m else 'darker'} than the training images"]
    return []


def _objects(mask: np.ndarray, ref: Reference) -> list[str]:
    from segcore.planning.fingerprint import _object_diameters

    classes = (ref.fingerprint or {}).get("classes") or []
    notes = []
    for c, stats in enumerate(classes):
        if c == 0 or c >= len(ref.class_names):
            continue
        region = mask == c
        share = float(region.mean())
        trained = float(stats.get("pixel_fraction", 0.0))
        if share > COVER_LIMIT and share > COVER_FACTOR * trained:
            notes.append(f"{ref.class_names[c]} covers {share:.0%} of it, {trained:.0%} of the training pixels")
            continue
        typical = float(stats.get("object_diameter", 0.0))
        count, diameters = _object_diameters(region) if region.any() and typical > 0 else (0, [])
        if count >= 3:
            ratio = float(np.median(diameters)) / typical
            if ratio > SCALE_FACTOR or ratio < 1 / SCALE_FACTOR:
                notes.append(f"its {ref.class_names[c]} objects are {ratio:.1f}x the size of the annotated ones "
                             "(another magnification?)")
    return notes


def differences(image: np.ndarray, mask: np.ndarray, ref: Reference) -> list[str]:
    """Why ``image`` (H, W[, C] as stored) with its predicted ``mask`` (uint8 class indices) looks unlike the
    training data; an empty list when nothing stands out."""
    notes = _size(image, ref.fingerprint) if ref.fingerprint else []
    return notes + _intensity(image, ref) + _objects(mask, ref)


def warning(notes: list[str]) -> str:
    """One line for a status bar or panel ("" when there is nothing to say)."""
    if not notes:
        return ""
    return "Unlike the training images: " + "; ".join(notes) + ". Check this prediction closely."
