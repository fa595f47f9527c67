"""The log says what chooses best.pt beside the Dice it shows (newcomer check: "★ best" sat on an epoch whose
foreground Dice, 0.923, was below the epoch before, 0.929, and nothing said the choice averages every class)."""

from __future__ import annotations

import pytest

from segcore.training.events import EpochEvent

pytestmark = pytest.mark.gui


def _epoch(epoch: int, background: float, cell: float, is_best: bool) -> EpochEvent:
    scores = {"names": ["background", "cell"], "dice": [background, cell], "images": 1,
              "mean_dice": cell}
    return EpochEvent(epoch, 4, 0.3, 0.3, cell, 0.8, 1e-3, 10.0, is_best, scores)


def test_the_epoch_log_names_the_score_that_chooses_best(window):
    panel = window.jobs.training_panel
    panel.add_epoch(_epoch(3, 0.80, 0.929, True))
    panel.add_epoch(_epoch(4, 0.84, 0.923, True))
    last = panel.log_view.toPlainText().splitlines()[-1]
    assert "Dice 0.923" in last and "every-class Dice 0.881" in last  # (0.84 + 0.923) / 2
    assert last.endswith("★ best (the highest every-class Dice: what chooses best.pt)")
    previous = panel.log_view.toPlainText().splitlines()[-2]
    assert "every-class Dice 0.865" in previous  # lower: why epoch 4 is the best one
