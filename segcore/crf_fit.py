"""Fit the dense CRF to a trained model on its validation images, so that ``--crf`` never makes masks worse.

The CRF's best settings depend on the data and on the model: gentle smoothing helps blob-like nuclei, the same
smoothing erodes one-pixel vessels and membranes. After training, the model's probabilities on the validation
images are refined with each of a small set of CRF settings (``CANDIDATES``: the gentle default, stronger and
weaker edge terms, narrower kernels, smoothing only), scored with the run's own selection score (Dice averaged
over every class), and the best is kept **only if it beats the raw mask**. The result goes into the checkpoint
as ``crf``: ``{"helps": bool, "params": {...} | None, "raw_score", "crf_score", "delta_dice", ...}``.

The search is a grid, not an optimiser: with a handful of validation images anything finer would fit noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import replace

import numpy as np

from segcore import crf
from segcore.crf import CRFParams
from segcore.metrics import confusion_matrix, mean_dice

BASE = CRFParams()
CANDIDATES: tuple[CRFParams, ...] = (
    BASE,
    replace(BASE, bilateral_compat=3.0),
    replace(BASE, bilateral_compat=5.0, bilateral_srgb=13.0),
    replace(BASE, bilateral_compat=3.0, bilateral_sxy=20.0),
    replace(BASE, bilateral_compat=10.0, bilateral_sxy=80.0, bilateral_srgb=13.0, gaussian_compat=3.0),
    replace(BASE, bilateral_compat=1.0, bilateral_sxy=10.0, gaussian_sxy=1.0),
    replace(BASE, bilateral_compat=0.5, gaussian_compat=0.5, gaussian_sxy=1.0),
    replace(BASE, bilateral_compat=0.0, gaussian_compat=2.0, gaussian_sxy=1.0),
)
MIN_GAIN = 0.002  # a smaller gain on a few images is noise
MAX_SIDE = 512  # each validation image contributes at most a MAX_SIDE x MAX_SIDE central window


def _window(a: np.ndarray, axis0: int = 0) -> np.ndarray:
    """The central MAX_SIDE x MAX_SIDE window of an array whose spatial axes start at ``axis0``."""
    h, w = a.shape[axis0:axis0 + 2]
    top, left = max(0, (h - MAX_SIDE) // 2), max(0, (w - MAX_SIDE) // 2)
    index = (slice(None),) * axis0 + (slice(top, top + MAX_SIDE), slice(left, left + MAX_SIDE))
    return a[index]


def fit_crf(items: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], num_classes: int,
            max_seconds: float = 60.0, candidates: Sequence[CRFParams] = CANDIDATES) -> dict:
    """Choose CRF settings for a model from ``items`` = (image (H,W[,C]) as stored, probabilities float32
    (K,H,W), target class indices uint8 (H,W) with IGNORE_INDEX unlabelled).

    Returns the record stored in checkpoints (see the module docstring). Candidates are tried in order until
    ``max_seconds`` is spent (the first, the gentle default, always runs). Raises CRFUnavailableError without
    pydensecrf.
    """
    steps = fit_crf_steps(items, num_classes, max_seconds, candidates)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def fit_crf_steps(items: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], num_classes: int,
                  max_seconds: float = 60.0, candidates: Sequence[CRFParams] = CANDIDATES,
                  stop: Callable[[], bool] = lambda: False) -> Generator[tuple[int, int], None, dict | None]:
    """:func:`fit_crf` a setting at a time: yields ``(n, of)`` before trying setting ``n`` (1-based) of ``of``, so
    a caller can show progress; ``stop()`` is asked before each one and ends the search with what was tried.
    Returns the record, or None when stopped before the first setting was tried."""
    start = time.perf_counter()
    windows = [(_window(image), _window(probs, 1), _window(target)) for image, probs, target in items]
    raw_cm = sum(confusion_matrix(p.argmax(0), t, num_classes) for _, p, t in windows)
    raw = mean_dice(raw_cm)
    best, best_score, tried = None, -np.inf, 0
    for params in candidates:
        if (tried and time.perf_counter() - start > max_seconds) or stop():
            break
        yield tried + 1, len(candidates)
        cm = sum(confusion_matrix(crf.refine(i, p, params)[1], t, num_classes) for i, p, t in windows)
        score, tried = mean_dice(cm), tried + 1
        if score > best_score:
            best, best_score = params, score
    if best is None:
        return None
    helps = bool(best_score - raw >= MIN_GAIN)
    return {"helps": helps, "params": best.to_dict() if helps else None, "raw_score": raw,
            "crf_score": float(best_score), "delta_dice": float(best_score - raw), "images": len(items),
            "tried": tried, "of": len(candidates), "seconds": round(time.perf_counter() - start, 2)}


def describe(fit: dict | None) -> str:
    """One sentence on the checkpoint's CRF fit, for the CLI and the compare view ("" when it has none).

    It names its scope (the model's validation images) and, for a refused fit, the gain that was needed, so a
    small positive ΔDice never reads as "the CRF helps" beside a verdict on one image.
    """
    if not fit:
        return ""
    count = fit["images"]
    images = f"{count} validation image{'' if count == 1 else 's'}"
    delta = fit["delta_dice"]
    if fit["helps"]:
        return f"On this model's {images} the fitted CRF gained {delta:+.3f} Dice, so its fitted settings are used."
    # four decimals: a refused gain of 0.0016 printed as "+0.002, below the +0.002 needed" (newcomer check)
    change = f"gained only {delta:+.4f} Dice" if delta > 0 else f"changed Dice by {delta:+.4f}"
    return (f"On this model's {images} the fitted CRF {change}, below the +{MIN_GAIN:.3f} needed, so it is off "
            "by default (the settings here are the defaults).")


def params_for(fit: dict | None) -> CRFParams | None:
    """The fitted settings when the fit found some that help; None otherwise (use the defaults or flags)."""
    if fit and fit.get("helps") and fit.get("params"):
        return CRFParams.from_dict(fit["params"])
    return None
