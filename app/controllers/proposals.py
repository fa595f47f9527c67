"""Masks proposed by the assistant (the uncertainty queue, scribbles) shown as the image's prediction in the
Segment panel, where Accept, the brushes and Discard act on them like on any prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.controllers.prediction import PredictionController


def show_proposal(prediction: PredictionController, path: Path, mask: np.ndarray | None, text: str,
                  origin: str = "") -> None:
    """Show ``mask`` as ``path``'s prediction (None: it is in the store already) with ``text`` in the panel;
    ``origin`` names what made it when it is not the model's prediction (Accept's question says it)."""
    if mask is not None:
        prediction.store.put(path, mask, origin)
    prediction.say(text)
    prediction.panel.show_overlay.setChecked(True)  # "Proposal ready" with nothing drawn (newcomer check #6)
    prediction.show_current()
