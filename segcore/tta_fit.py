"""Keep test-time augmentation only where it helps: decided on the run's validation images after training.

Averaging the 8 flips and quarter turns (:mod:`segcore.tta`) usually gains a little Dice on blob-like objects,
but on one- to three-pixel structures (EM membranes, vessels) the average of slightly misaligned views can lower
the thin class's probability below the others' and thin it further. The training plan turns TTA on when it is
affordable; after training the best model's probabilities on the validation images are scored without and with
TTA (Dice averaged over every class, as model selection does), and the checkpoint keeps TTA on **only if it does
not score lower**. The record goes into the checkpoint as ``tta_fit``: ``{"helps": bool, "raw_score",
"tta_score", "delta_dice", "images"}``; :func:`segcore.checkpoint.prediction_info` turns it into the default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segcore.metrics import confusion_matrix, mean_dice


def fit_tta(items: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], num_classes: int) -> dict:
    """Compare ``items`` = (raw probabilities float32 (K,H,W), TTA-averaged ones (K,H,W), target class indices
    uint8 (H,W) with IGNORE_INDEX unlabelled), pooled over the images; returns the checkpoint record."""
    raw = mean_dice(sum(confusion_matrix(r.argmax(0), t, num_classes) for r, _, t in items))
    tta = mean_dice(sum(confusion_matrix(a.argmax(0), t, num_classes) for _, a, t in items))
    return {"helps": bool(tta >= raw), "raw_score": raw, "tta_score": tta, "delta_dice": tta - raw,
            "images": len(items)}


def describe(fit: dict | None) -> str:
    """One sentence on the checkpoint's TTA check ("" when it has none), naming its scope."""
    if not fit:
        return ""
    count = fit["images"]
    images = f"{count} validation image{'' if count == 1 else 's'}"
    verdict = "so it is on by default" if fit["helps"] else "so it is off by default (--tta forces it)"
    return f"On this model's {images} test-time augmentation changed Dice by {fit['delta_dice']:+.3f}, {verdict}."
