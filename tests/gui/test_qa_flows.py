"""Flows found by driving the window as a user: training without validation images, loading a broken checkpoint,
the training log's width, the training settings kept across restarts.

Tiny model (U-Net width 4, depth 2) on small synthetic folders, so each run takes seconds.
"""

from __future__ import annotations

import pytest

from .conftest import make_folder

pytestmark = pytest.mark.gui
TIMEOUT = 180_000
TINY = dict(options="width=4, depth=2", batch_size=2, patch_size=32)


def test_without_validation_images_best_is_the_last_epoch_and_no_nan_is_shown(qtbot, window, tmp_path):
    from segcore import checkpoint

    folder = make_folder(tmp_path, count=2)  # one annotated image: nothing left for validation
    assert window.open_folder(folder)
    jobs = window.jobs
    jobs.training_panel.form.set_values("unet", epochs=3, val_fraction=0.15, out=str(tmp_path / "run"), **TINY)
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as done:
        jobs.training_panel.train_button.click()
    event = done.args[0]
    assert event.status == "completed", event.message
    # "Use trained model" loads best.pt: without validation it must be the trained model, not the first epoch's.
    assert checkpoint.load(event.best_path)["epoch"] == 3
    message = window.statusBar().currentMessage()
    assert "nan" not in message and "no validation" in message
    assert "nan" not in jobs.training_panel.log_view.toPlainText()
