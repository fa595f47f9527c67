"""Flows found by driving the window as a user: training without validation images, loading a broken checkpoint,
the training log's width, the training settings kept across restarts.

Tiny model (U-Net width 4, depth 2) on small synthetic folders, so each run takes seconds.
"""

from __future__ import annotations

import pytest

from .conftest import make_folder

pytestmark = pytest.mark.gui
TIMEOUT = 180_000
TINY = dict(options="width=4, depth=2", batch_size=2, patch_size=32, minutes=0)  # no plan: the fixed recipe


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
    message = window.statusBar().message()
    assert "nan" not in message and "no validation" in message
    assert "nan" not in jobs.training_panel.log_view.toPlainText()


def test_window_fits_a_laptop_screen_with_compare_scores_shown_and_the_log_is_readable(qtbot, window, tmp_path):
    from .test_train_flow import SlowPredictor, segment_shown

    assert window.open_folder(make_folder(tmp_path, count=3))
    jobs = window.jobs
    jobs.prediction._on_loaded(SlowPredictor(pause=0))
    segment_shown(qtbot, jobs)
    jobs.prediction.compare()
    qtbot.waitUntil(lambda: jobs.compare.crf is not None and not jobs.compare.busy(), timeout=TIMEOUT)
    assert "Dice" in jobs.compare_view.crf_score.text()
    for show in (lambda: window.docking.show_view(jobs.compare_view), jobs.training_dock.raise_):
        show()
        qtbot.wait(50)
        hint = window.minimumSizeHint()  # a 1366 x 768 laptop leaves about 1280 x 720 for a window
        assert hint.width() <= 1280 and hint.height() <= 720, hint
    window.resize(window.minimumSizeHint())
    qtbot.waitUntil(lambda: window.size() == window.minimumSizeHint())
    log = jobs.training_panel.log_view
    assert log.width() >= 25 * log.fontMetrics().averageCharWidth()  # was ~70 px: one word per line


def test_a_truncated_checkpoint_is_reported_as_a_loading_problem(qtbot, window, tmp_path, isolated_settings):
    import segcore

    assert window.open_folder(make_folder(tmp_path, count=3))
    done = segcore.train(str(window.session.folder), epochs=1, batch_size=2, patch_size=32, out=str(tmp_path / "r"),
                         arch_kwargs={"width": 4, "depth": 2})
    broken = tmp_path / "broken.pt"
    broken.write_bytes(open(done.best_path, "rb").read()[:50_000])  # a copy cut short
    jobs = window.jobs
    jobs.prediction.load(broken)
    qtbot.waitUntil(lambda: not jobs.prediction.busy(), timeout=TIMEOUT)
    title, text = isolated_settings[-1]
    assert title == "Cannot load the checkpoint" and "broken.pt" in text  # was "Segmentation failed"
    assert jobs.prediction.predictor is None and not jobs.prediction_panel.segment.isEnabled()


def test_training_settings_are_remembered_without_training(qtbot, window):
    from app.window import MainWindow

    window.jobs.training_panel.form.set_values("segnet", "width=8", epochs=7, batch_size=3)
    window.close()
    again = MainWindow(autosave_ms=0)
    qtbot.addWidget(again)
    form = again.jobs.training_panel.form
    assert (form.arch.currentData(), form.options.text(), form.epochs.value(), form.batch.value()) == (
        "segnet", "width=8", 7, 3)


def test_undoing_everything_on_an_image_without_a_mask_writes_no_mask(qtbot, window, tmp_path):
    from .conftest import drag
    from .test_train_flow import SlowPredictor

    folder = make_folder(tmp_path, count=3)  # img_2 has no mask
    assert window.open_folder(folder)
    session, jobs = window.session, window.jobs
    session.select(2)
    jobs.prediction._on_loaded(SlowPredictor(pause=0))
    jobs.prediction.segment_current()
    qtbot.waitUntil(lambda: not jobs.prediction.busy(), timeout=TIMEOUT)
    jobs.prediction.accept()
    drag(qtbot, window, [(20.5, 20.5), (30.5, 20.5)])
    session.undo()
    session.undo()
    assert (session.mask == 255).all() and session.state(2).value == "no mask"  # the new mask, unlabelled
    session.select(0)  # moving on saves what changed
    assert not (folder / "masks" / "img_2.png").exists() and session.state(2).value == "no mask"
    session.select(2)
    session.redo()  # the accepted prediction again: that is an annotation
    session.select(0)
    assert (folder / "masks" / "img_2.png").exists()


def test_model_options_may_be_separated_by_spaces():
    from app.views.panels.training_form import parse_options
    from segcore.errors import ConfigError

    assert parse_options("width=4 depth=2") == {"width": 4, "depth": 2}
    assert parse_options("width=4, backbone=resnet18; depth=3") == {"width": 4, "backbone": "resnet18", "depth": 3}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_options("width=4, deep")


def test_a_run_stopped_before_its_first_epoch_offers_no_model(window, tmp_path):
    from segcore.training.events import DoneEvent, RunStatus

    (tmp_path / "last.pt").write_bytes(b"untrained")
    folder = make_folder(tmp_path)
    assert window.open_folder(folder)
    runs = window.jobs.runs
    runs.offer_trained(DoneEvent(RunStatus.STOPPED, "stopped by request during epoch 1", str(tmp_path), None,
                                       str(tmp_path / "last.pt"), 0), str(folder))
    assert not window.jobs.prediction_panel.use_trained.isVisibleTo(window)
    runs.offer_trained(DoneEvent(RunStatus.STOPPED, "stopped by request during epoch 3", str(tmp_path), None,
                                       str(tmp_path / "last.pt"), 2), str(folder))
    assert window.jobs.prediction_panel.use_trained.isVisibleTo(window)
