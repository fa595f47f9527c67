"""Segmentation metrics from a confusion matrix.

Accumulating one confusion matrix (rows = truth, columns = prediction) and deriving every score from it gives
exact dataset-level Dice/IoU (not an average of per-batch ratios) and handles classes absent from an image.
Pixels marked ``IGNORE_INDEX`` in the target are counted nowhere. Works on numpy arrays or torch tensors.
"""

from __future__ import annotations

import numpy as np

from segcore.data.classes import IGNORE_INDEX


def confusion_matrix(pred, target, num_classes: int):
    """Confusion matrix ``(K, K)`` of int64; ``cm[t, p]`` counts pixels of true class t predicted as p.

    ``pred`` and ``target`` hold class indices of the same shape; target pixels equal to IGNORE_INDEX (or outside
    0..K-1) are skipped. Returns a numpy array for numpy inputs and a tensor for tensor inputs.
    """
    if hasattr(pred, "detach"):  # torch tensors: stay on their device, no host copy per batch
        import torch

        target = target.reshape(-1).long()
        pred = pred.reshape(-1).long()
        keep = (target >= 0) & (target < num_classes)
        idx = target[keep] * num_classes + pred[keep].clamp(0, num_classes - 1)
        return torch.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)
    pred = np.asarray(pred).reshape(-1).astype(np.int64)
    target = np.asarray(target).reshape(-1).astype(np.int64)
    if pred.shape != target.shape:
        raise ValueError(f"prediction has {pred.size} pixels but target has {target.size}")
    keep = (target >= 0) & (target < num_classes) & (target != IGNORE_INDEX)
    idx = target[keep] * num_classes + np.clip(pred[keep], 0, num_classes - 1)
    return np.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den with NaN where den is 0 (the score is undefined, not 0 or 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def scores(cm, names: list[str] | None = None) -> dict:
    """Per-class Dice, IoU, precision and recall, overall pixel accuracy, and foreground means.

    A class that appears neither in the truth nor in the prediction has undefined (NaN) scores and is left out of
    the means. ``mean_*`` averages classes 1..K-1 (background excluded) when there are at least two classes.
    """
    cm = np.asarray(cm.cpu() if hasattr(cm, "cpu") else cm, dtype=np.float64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    per_class = {
        "dice": _ratio(2 * tp, 2 * tp + fp + fn),
        "iou": _ratio(tp, tp + fp + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
    }
    total = cm.sum()
    out: dict = {"accuracy": float(tp.sum() / total) if total else float("nan"), "pixels": int(total)}
    fg = slice(1, None) if cm.shape[0] > 1 else slice(None)
    for key, values in per_class.items():
        out[key] = [float(v) for v in values]
        chosen = values[fg]
        chosen = chosen[~np.isnan(chosen)]
        out[f"mean_{key}"] = float(chosen.mean()) if chosen.size else float("nan")
    if names is not None:
        out["names"] = list(names)
    return out


def mean_dice(cm: np.ndarray) -> float:
    """Dice averaged over the classes present in ``cm`` (NaN when none is): the runs' model-selection score."""
    return mean_over_classes(scores(cm)["dice"])


def mean_over_classes(per_class: list[float]) -> float:
    """The mean of the defined (non-NaN) per-class scores, background included; NaN when none is.

    What "best" means for a run (validation Dice over every class): which class a data set stores as 0 is
    arbitrary (in EM the membranes, the hard class, are 0), so a score of foreground classes alone can favour a
    model that is worse on the class users care about.
    """
    values = [float(v) for v in per_class if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def match_objects(truth: np.ndarray, pred: np.ndarray, threshold: float = 0.5) -> dict:
    """Objects of two instance masks (one id per object, 0 = background) matched one to one at IoU >= threshold.

    With ``threshold`` >= 0.5 a match is unique by construction (two objects cannot both overlap one by more
    than half), so no assignment step is needed: the Data Science Bowl 2018 criterion. Returns
    ``{"true", "predicted", "matched"}`` counts and ``matched_ids``, the sorted true ids that found a match.
    """
    if threshold < 0.5:
        raise ValueError(f"one-to-one matching needs an IoU threshold of at least 0.5, got {threshold}")
    truth, pred = np.asarray(truth, dtype=np.int64).ravel(), np.asarray(pred, dtype=np.int64).ravel()
    t_area, p_area = np.bincount(truth), np.bincount(pred)
    both = (truth > 0) & (pred > 0)
    keys, overlap = np.unique(truth[both] * (len(p_area) + 1) + pred[both], return_counts=True)
    t_ids, p_ids = keys // (len(p_area) + 1), keys % (len(p_area) + 1)
    iou = overlap / (t_area[t_ids] + p_area[p_ids] - overlap)
    matched = np.unique(t_ids[iou >= threshold])
    return {"true": int(np.count_nonzero(t_area[1:])), "predicted": int(np.count_nonzero(p_area[1:])),
            "matched": len(matched), "matched_ids": matched.tolist()}


def object_scores(counts: dict) -> dict:
    """Precision, recall and F1 of :func:`match_objects` counts (summed over images for a folder)."""
    precision = counts["matched"] / counts["predicted"] if counts["predicted"] else float("nan")
    recall = counts["matched"] / counts["true"] if counts["true"] else float("nan")
    f1 = (2 * counts["matched"] / (counts["true"] + counts["predicted"])
          if counts["true"] + counts["predicted"] else float("nan"))
    return {"true": counts["true"], "predicted": counts["predicted"], "matched": counts["matched"],
            "precision": precision, "recall": recall, "f1": f1}
