"""Refine with CRF: what the Compare view needs for the image on screen, from the Segment panel's state.

Only a prediction the user has segmented and seen is refined. The CRF needs the class probabilities, which the
prediction controller keeps for the image on screen only; after *Segment all*, or at another pyramid level,
the image is segmented again first and Compare opens when that ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QMessageBox

from app.controllers.compare import CompareRequest

if TYPE_CHECKING:
    from app.controllers.prediction import PredictionController


def crf_request(ctrl: PredictionController) -> CompareRequest | None:
    """The :class:`CompareRequest` for the image on screen; None when there is nothing to refine yet (the
    reason is shown, or the image is being segmented again and ``ctrl.compare`` runs when that ends)."""
    from segcore import crf, crf_fit

    if not crf.is_available():
        text = f"Dense-CRF refinement needs pydensecrf; install it with `{crf.INSTALL_HINT}`."
        QMessageBox.warning(ctrl.window, "CRF not available", text)
        return None
    path = ctrl.current_path()
    if path is None or ctrl.predictor is None or ctrl.busy() or ctrl.current_prediction() is None:
        return None  # nothing is refined that the user has not segmented and seen
    s = ctrl.session
    if ctrl.probs is None or ctrl.probs[0] != path or ctrl.probs[1].shape[1:] != s.image.shape[:2]:
        ctrl.compare_after = True  # probabilities not kept (after Segment all), or made at another level
        ctrl.segment_current()
        return None
    truth = s.mask.copy() if s.hand_made() and not s.locked_reason else None  # locked: the mask was unread
    raw = ctrl.current_prediction()
    raw = raw if raw is not None else ctrl.probs[1].argmax(axis=0).astype(np.uint8)
    fit = ctrl.predictor.crf_fit
    return CompareRequest(s.image, ctrl.probs[1], raw, truth, ctrl.colors(), path, crf_fit.params_for(fit),
                          crf_fit.describe(fit))
