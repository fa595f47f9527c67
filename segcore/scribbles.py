"""Scribble-to-mask: a few strokes per class, completed into a full mask proposal by a dense CRF.

The scribbles become unary terms as in pydensecrf's example (``crf.probabilities_from_labels``: a scribbled pixel
is ``confidence`` sure of its class, an unscribbled one has no preference), and the fully connected CRF of
Krähenbühl & Koltun 2011 spreads them along the image: its bilateral kernel joins pixels that are near each
other *and* of similar intensity, so labels flow within a cell and stop at its edge. ``spread`` is that kernel's
width in pixels (``bilateral_sxy``): small keeps labels near their strokes, large lets them fill whole regions.

With a model's class probabilities the unscribbled pixels start from the model's opinion instead of none, softened
by ``MODEL_WEIGHT`` (mixed with the uniform distribution) so that a scribble can still overrule the model around
it; scribbled pixels keep the scribble's label whatever the model says. The CRF is then the gentle one that refines
predictions (``CRFParams()``, edge kernel weight 1, not 10): the strong kernel that spreads bare scribbles erased
the model's thin membranes on ISBI (membrane Dice 0.65 instead of 0.79), while the gentle one kept them and still
added what the strokes say (bench/scribbles.py).

Pixels left undecided (their refined probabilities still within ``REACHED_MARGIN`` of uniform: far from every
stroke without a model, or where neither strokes nor model lean either way) are left unlabelled (``IGNORE_INDEX``)
rather than guessed; training skips them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from segcore.crf import SCRIBBLE_CONFIDENCE, CRFParams, probabilities_from_labels, refine
from segcore.data.classes import IGNORE_INDEX
from segcore.errors import DataError

# pydensecrf's example settings (crf.SCRIBBLE_PARAMS, 3/3 and 80/13/10) with a gentler smoothness kernel (weight 1,
# not 3) and a narrower intensity width (5, not 13): chosen with synthetic scribbles on the training parts of ISBI
# and BBBC039 (bench/scribbles.py), where the example's settings erased thin membranes and these were within
# 0.005 Dice of the best on both. The bilateral width (80 px) is the default spread.
PROPOSAL_PARAMS = CRFParams(iterations=5, gaussian_sxy=3, gaussian_compat=1, bilateral_sxy=80, bilateral_srgb=5,
                            bilateral_compat=10)
WITH_MODEL_PARAMS = CRFParams()  # with a model's probabilities: the refinement defaults (see the module docstring)
# How much of the model's distribution an unscribbled pixel starts from (the rest: uniform). 0.8 was within 0.004
# Dice of the best of 0.5/0.8/0.95 on unseen training-part images of ISBI and BBBC039, with models of
# bench/active_learning.py.
MODEL_WEIGHT = 0.8
REACHED_MARGIN = 0.02  # a pixel whose top refined probability is within this of 1/K was not reached
SPREAD_RANGE = (5.0, 400.0)  # pixels; the window's slider covers this range


@dataclass
class Proposal:
    """``mask`` uint8 (H, W) with IGNORE_INDEX where no scribble reached; ``probabilities`` float32 (K, H, W)."""

    mask: np.ndarray
    probabilities: np.ndarray
    seconds: float

    @property
    def unreached_fraction(self) -> float:
        return float((self.mask == IGNORE_INDEX).mean())


def scribble_params(spread: float, with_model: bool = False) -> CRFParams:
    """The CRF settings for a spread in pixels: ``PROPOSAL_PARAMS`` (or ``WITH_MODEL_PARAMS``) with that
    bilateral width."""
    base = WITH_MODEL_PARAMS if with_model else PROPOSAL_PARAMS
    low, high = SPREAD_RANGE
    if not low <= spread <= high:
        raise DataError(f"scribble spread must be between {low:g} and {high:g} pixels, got {spread:g}")
    return replace(base, bilateral_sxy=float(spread))


def check_scribbles(labels: np.ndarray, num_classes: int, with_model: bool) -> None:
    """Raise DataError (one line, saying what to paint) unless ``labels`` can be completed."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise DataError(f"scribbles must be a 2-D label mask, got shape {labels.shape}")
    painted = labels != IGNORE_INDEX
    if painted.all():
        raise DataError("the mask has no unlabelled pixels, so there is nothing to complete: mark the mask "
                        "unlabelled (Edit > Mark Whole Mask Unlabelled) and paint a few strokes per class")
    classes = np.unique(labels[painted])
    if classes.size and classes.max() >= num_classes:
        raise DataError(f"scribbles hold class {int(classes.max())} but there are only {num_classes} classes")
    if classes.size < (1 if with_model else 2):
        raise DataError("paint strokes of at least two classes (e.g. background and cell): the CRF spreads "
                        "scribbles, it cannot invent a class no stroke shows" if not with_model else
                        "paint at least one stroke: the proposal keeps every scribbled pixel's class")


def unary(labels: np.ndarray, num_classes: int, model_probabilities: np.ndarray | None,
          confidence: float = SCRIBBLE_CONFIDENCE) -> np.ndarray:
    """The CRF's starting probabilities ``float32 (K, H, W)``: scribbles, and the softened model elsewhere."""
    probs = probabilities_from_labels(labels, num_classes, confidence)
    if model_probabilities is None:
        return probs
    model = np.asarray(model_probabilities, dtype=np.float32)
    if model.shape != probs.shape:
        raise DataError(f"model probabilities are {model.shape} but the scribbles need {probs.shape}")
    free = labels == IGNORE_INDEX
    probs[:, free] = MODEL_WEIGHT * model[:, free] + (1 - MODEL_WEIGHT) / num_classes
    return probs


def propose(image: np.ndarray, labels: np.ndarray, num_classes: int, spread: float = PROPOSAL_PARAMS.bilateral_sxy,
            model_probabilities: np.ndarray | None = None, confidence: float = SCRIBBLE_CONFIDENCE) -> Proposal:
    """Complete scribbles into a mask proposal.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array of any dtype, as read.
    labels : uint8 (H, W) class indices, IGNORE_INDEX (255) where nothing is painted.
    num_classes : K >= 2.
    spread : the bilateral kernel's width in pixels, within ``SPREAD_RANGE``.
    model_probabilities : optional float32 (K, H, W) softmax of a model for this image.

    Raises DataError for scribbles that cannot be completed (see :func:`check_scribbles`), CRFUnavailableError
    without pydensecrf.
    """
    labels = np.asarray(labels)
    if labels.shape != np.asarray(image).shape[:2]:
        raise DataError(f"scribbles are {labels.shape[1]}x{labels.shape[0]} but the image is "
                        f"{image.shape[1]}x{image.shape[0]}")
    check_scribbles(labels, num_classes, model_probabilities is not None)
    params = scribble_params(spread, with_model=model_probabilities is not None)
    start = time.perf_counter()
    refined, mask = refine(image, unary(labels, num_classes, model_probabilities, confidence), params)
    painted = labels != IGNORE_INDEX
    mask[painted] = labels[painted]  # a stroke is the user's word: never overruled
    mask[refined.max(axis=0) < 1.0 / num_classes + REACHED_MARGIN] = IGNORE_INDEX
    return Proposal(mask, refined, time.perf_counter() - start)
