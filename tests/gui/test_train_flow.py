"""The three flows clicked through on sample data: train with live curves, stop, load a checkpoint, segment,
accept, and compare raw and CRF masks; closing during training; errors shown in a dialog.

Tiny model (U-Net width 4, 48-pixel patches) on six 96 x 96 sample images, so each run takes seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from segcore.data import io
from segcore.data.sample import write_sample_data

from .conftest import drag, make_folder, wait_for_jobs

pytestmark = pytest.mark.gui
TIMEOUT = 180_000  # ms: the machine is shared and slow
TINY = dict(options="width=4", batch_size=2, patch_size=48, val_fraction=0.34, minutes=0)  # no plan: fixed


@pytest.fixture
def sample(tmp_path) -> Path:
    folder = tmp_path / "sample"
    write_sample_data(folder, count=6, size=96)
    return folder


@pytest.fixture
def jobs(window, sample):
    assert window.open_folder(sample)
    yield window.jobs
    window.jobs.shutdown()  # never leave a thread running past the test


def click(qtbot, widget: QWidget) -> None:
    assert widget.isEnabled(), widget.objectName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def train(qtbot, jobs, out: Path, epochs: int) -> None:
    jobs.training_panel.form.set_values("unet", epochs=epochs, out=str(out), **TINY)
    click(qtbot, jobs.training_panel.train_button)


def test_stable_object_names(window):
    for name in ("archCombo", "epochsSpin", "batchSizeSpin", "trainButton", "stopButton", "trainProgress",
                 "segmentButton", "segmentAllButton", "acceptPredictionButton", "compareView", "crfButton"):
        assert window.findChild(QWidget, name) is not None, name
    window.jobs.training_panel.plots  # noqa: B018 - the curves load just after the window shows
    for name in ("lossPlot", "dicePlot"):
        assert window.findChild(QWidget, name) is not None, name
    assert window.findChild(QAction, "loadCheckpointAction") is not None


def test_architecture_list_matches_the_registry():
    from app.views.panels.training_form import ARCHITECTURES
    from segcore.models import available

    assert [name for name, _, _ in ARCHITECTURES] == list(available())


def test_train_load_segment_accept_and_compare(qtbot, window, jobs, sample, tmp_path, monkeypatch):
    panel = jobs.training_panel
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as done:
        train(qtbot, jobs, tmp_path / "run", epochs=2)
        assert not panel.train_button.isEnabled() and panel.stop_button.isEnabled()
    event = done.args[0]
    assert event.status == "completed", event.message
    assert panel.plots.curve_points() == {"train_loss": 2, "val_loss": 2, "val_dice": 2, "val_iou": 2}
    assert len(panel.plots.batch_x) >= 2 and panel.plots.best_epoch in (1, 2)
    assert Path(event.best_path).is_file() and Path(event.last_path).is_file()
    assert panel.progress.value() == panel.progress.maximum()
    assert "completed" in panel.log_view.toPlainText() and panel.train_button.isEnabled()
    assert window.windowTitle().endswith(" — training done") and jobs.training_dock.windowTitle() == "Training"
    assert "best validation Dice" in window.statusBar().message()
    wait_for_jobs(qtbot, jobs)
    assert jobs.prediction.predictor_path() == Path(event.best_path)  # the run's model is the current one
    assert not jobs.prediction_panel.use_trained.isVisible()  # nothing to switch to

    # Load Checkpoint through the action's file dialog.
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (event.best_path, ""))
    with qtbot.waitSignal(jobs.prediction.modelLoaded, timeout=TIMEOUT):
        click(qtbot, jobs.prediction_panel.load_button)
    assert "unet" in jobs.prediction_panel.model_label.text()
    qtbot.waitUntil(jobs.prediction_panel.segment.isEnabled, timeout=TIMEOUT)

    # Segment the image on screen: the overlay shows the prediction.
    prediction = jobs.prediction
    click(qtbot, jobs.prediction_panel.segment)
    qtbot.waitUntil(lambda: prediction.current_prediction() is not None and not prediction.busy(), timeout=TIMEOUT)
    predicted = prediction.current_prediction()
    assert predicted.shape == window.session.image.shape[:2] and predicted.max() <= 1
    assert prediction.layer.isVisible() and prediction.layer.boundingRect().width() == 96
    annotation = window.session.mask.copy()

    # Compare: raw and CRF masks side by side, both scored against the annotation.
    compare = jobs.compare
    click(qtbot, jobs.prediction_panel.crf)
    qtbot.waitUntil(lambda: compare.crf is not None and not compare.busy(), timeout=TIMEOUT)
    view = jobs.compare_view
    assert window.docking.is_shown(view)  # the comparison takes the image's place
    assert view.raw_view.mask_layer.boundingRect().width() == 96
    assert view.crf_view.mask_layer.boundingRect().width() == 96
    truth = annotation
    for scores, mask in ((compare.raw_scores, compare.raw), (compare.crf_scores, compare.crf)):
        tp = int(((mask == 1) & (truth == 1)).sum())
        expected = 2 * tp / ((mask == 1).sum() + (truth == 1).sum())
        assert scores["mean_dice"] == pytest.approx(expected)
    assert "Dice" in view.raw_score.text() and "Dice" in view.crf_score.text()
    assert view.accept_raw.isEnabled() and view.accept_crf.isEnabled()

    # Changing a CRF parameter recomputes in the background.
    first = compare.crf.copy()
    view.spins["iterations"].setValue(1)
    view.spins["bilateral_compat"].setValue(30.0)
    qtbot.waitUntil(lambda: compare.crf_params == view.params() and not compare.busy(), timeout=TIMEOUT)
    assert compare.crf_params.iterations == 1 and compare.crf is not first

    # Accept the CRF result as the annotation (one undoable step), then undo it.
    click(qtbot, view.accept_crf)
    assert (window.session.mask == compare.crf).all()
    assert window.session.is_predicted(window.session.index)
    assert view.accept_crf.text() == "Accepted" and not view.accept_crf.isEnabled()  # which one is the mask now
    assert view.accept_raw.isEnabled()  # the other can still replace it
    window.session.undo()
    assert (window.session.mask == annotation).all()

    assert prediction.current_prediction() is None  # accepted in one form: no longer pending

    # Segment again and accept the raw prediction from the Segment panel.
    click(qtbot, jobs.prediction_panel.segment)
    qtbot.waitUntil(lambda: prediction.current_prediction() is not None and not prediction.busy(), timeout=TIMEOUT)
    click(qtbot, jobs.prediction_panel.accept)
    assert (window.session.mask == predicted).all()
    assert not prediction.layer.isVisible() and prediction.current_prediction() is None


def test_stop_mid_run_keeps_the_last_checkpoint(qtbot, window, jobs, tmp_path):
    panel = jobs.training_panel
    train(qtbot, jobs, tmp_path / "long", epochs=500)
    qtbot.waitUntil(lambda: jobs.training.progress.epoch >= 2, timeout=TIMEOUT)  # epoch 1 written
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as done:
        click(qtbot, panel.stop_button)
        assert panel.stop_button.text() == "Stopping…"
    event = done.args[0]
    assert event.status == "stopped" and event.epochs_done < 500
    assert Path(event.last_path).is_file()
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.progress.value() < panel.progress.maximum()


def test_training_uses_the_masks_painted_in_the_window(qtbot, window, jobs, tmp_path):
    window.brush.spin.setValue(20)
    drag(qtbot, window, [(10.5, 10.5), (80.5, 80.5)])
    painted = window.session.mask.copy()
    assert window.session.dirty
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT):
        train(qtbot, jobs, tmp_path / "run", epochs=1)
        spec = window.session.spec
        on_disk = io.read_mask(window.session.samples[window.session.index].mask, spec)
        assert (on_disk == painted).all() and not window.session.dirty


def test_closing_during_training_asks_then_stops_and_waits(qtbot, window, jobs, tmp_path, monkeypatch):
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[1]) or answers.pop(0))
    train(qtbot, jobs, tmp_path / "long", epochs=500)
    qtbot.waitUntil(lambda: jobs.training.progress.epoch >= 2, timeout=TIMEOUT)  # epoch 1 written
    window.close()  # answered No: training goes on, the window stays
    assert window.isVisible() and jobs.training.is_running()
    window.close()  # answered Yes: stop, wait, close
    assert not window.isVisible() and not jobs.training.is_running()
    assert asked == ["Training is running", "Training is running"]
    assert jobs.training.last_done.status == "stopped"
    assert Path(jobs.training.last_done.last_path).is_file()


def test_a_worker_error_shows_a_dialog_and_the_window_carries_on(qtbot, window, tmp_path, isolated_settings):
    folder = make_folder(tmp_path, count=2, masks=False)
    assert window.open_folder(folder)
    jobs = window.jobs
    with qtbot.waitSignal(jobs.pool.busyChanged, timeout=TIMEOUT, check_params_cb=lambda busy: not busy):
        train(qtbot, jobs, tmp_path / "run", epochs=1)
    assert any("no image has a mask" in str(text) for _title, text in isolated_settings)
    assert jobs.training_panel.train_button.isEnabled()
    assert "no image has a mask" in jobs.training_panel.log_view.toPlainText()
    jobs.training_panel.form.options.setText("width")  # a bad option is refused before any thread starts
    click(qtbot, jobs.training_panel.train_button)
    assert "not KEY=VALUE" in str(isolated_settings[-1][1]) and not jobs.pool.running()


class SlowPredictor:
    """Stands in for segcore.inference.Predictor: half the image is class 1, after a pause."""

    def __init__(self, pause: float = 0.3) -> None:
        from segcore.data.classes import ClassSpec

        self.pause, self.spec, self.metrics, self.arch = pause, ClassSpec(["background", "nucleus"], [0, 255]), {}, "fake"
        self.path = Path("fake/best.pt")
        self.tta, self.crf_fit, self.epoch, self.name, self.tta_reason = False, None, 1, None, ""
        self.arch_kwargs, self.fingerprint = {}, None
        self.mean, self.std = np.array([0.5], np.float32), np.array([0.2], np.float32)
        self.pixel_size, self.note_resampled = None, ""  # learned at no stated pixel size: never resamples

    def predict_proba(self, image, pixel_size=None):
        import time

        time.sleep(self.pause)
        probs = np.zeros((2, *image.shape[:2]), np.float32)
        probs[0, :, : image.shape[1] // 2] = 1
        probs[1, :, image.shape[1] // 2:] = 1
        return probs


def segment_shown(qtbot, jobs) -> None:
    """Click Segment image and wait for its prediction on screen (Refine with CRF needs one)."""
    click(qtbot, jobs.prediction_panel.segment)
    qtbot.waitUntil(lambda: jobs.prediction.current_prediction() is not None and not jobs.prediction.busy(),
                    timeout=TIMEOUT)


def test_segment_all_shows_progress_and_cancels(qtbot, window, jobs):
    prediction, panel = jobs.prediction, jobs.prediction_panel
    prediction._on_loaded(SlowPredictor())
    click(qtbot, panel.segment_all)
    assert panel.progress.isVisible() and panel.cancel.isVisible() and not panel.segment.isEnabled()
    qtbot.waitUntil(lambda: len(prediction.store) >= 1, timeout=TIMEOUT)
    click(qtbot, panel.cancel)
    qtbot.waitUntil(lambda: not prediction.busy() and not jobs.pool.running(), timeout=TIMEOUT)
    assert 1 <= len(prediction.store) < len(window.session.samples)
    assert "cancelled" in panel.status.text() and not panel.progress.isVisible()
    click(qtbot, panel.segment_all)  # all the way this time: every image shows its prediction when visited
    qtbot.waitUntil(lambda: not prediction.busy() and len(prediction.store) == 6, timeout=TIMEOUT)
    window.files.step(1)
    assert prediction.layer.isVisible() and (prediction.current_prediction()[:, 60:] == 1).all()
    click(qtbot, panel.discard)
    assert prediction.current_prediction() is None and not prediction.layer.isVisible()


def test_curves_redraw_at_most_every_redraw_interval_however_many_events(qtbot):
    from app.views.panels.training_plots import REDRAW_MS, TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.begin(epochs=3)
    before = plots.redraws
    for batch in range(1, 1001):
        plots.add_batch(1, batch, 1000, 1.0 / batch)
    qtbot.wait(REDRAW_MS * 2 + 100)
    assert 1 <= plots.redraws - before <= 3
    assert len(plots.batch_curve.getData()[0]) == 1000


def test_form_values_become_a_train_config(window):
    from segcore.training.config import TrainConfig

    form = window.jobs.training_panel.form
    form.set_values("segnet", "width=8, pretrained=false", epochs=3, lr=0.01, batch_size=2, patch_size=None,
                    val_fraction=0.2, minutes=5.0, device="cpu", out="/tmp/x")
    config = TrainConfig(data="d", **form.values())
    assert (config.arch, config.arch_kwargs, config.epochs, config.batch_size) == ("segnet", {"width": 8,
                                                                                      "pretrained": False}, 3, 2)
    assert config.patch_size is None and config.device == "cpu" and form.budget_minutes() == 5.0
    assert config.lr == pytest.approx(0.01) and config.out == "/tmp/x"
    # What the plan must respect: the settings given, by TrainConfig's names (whole images applies after it).
    assert form.explicit() == {"epochs": 3, "lr": 0.01, "batch_size": 2, "arch": "segnet", "width": 8}
    form.options.setText("width=8, depth=3")
    assert form.explicit()["depth"] == 3 and "depth" not in form.values()  # an option, kept in arch_kwargs
    form.reset_advanced()  # all automatic: the plan decides everything, TrainConfig's defaults without one
    assert form.explicit() == {}
    assert TrainConfig(data="d", **form.values()).patch_size == TrainConfig.patch_size


def test_prediction_outlines_contrast_with_the_class_colors():
    from app.views.prediction_layer import outline_colors

    assert outline_colors([(0, 0, 0), (86, 180, 233), (230, 159, 0)])[1:] == [(255, 230, 0), (0, 220, 255)]


def test_compare_panes_zoom_and_pan_together_and_say_when_there_is_no_annotation(qtbot, window, tmp_path):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    folder = make_folder(tmp_path, count=3, size=(64, 80))  # the last image has no mask
    assert window.open_folder(folder)
    jobs = window.jobs
    window.files.step(2)
    assert window.session.index == 2
    jobs.prediction._on_loaded(SlowPredictor(pause=0))
    assert not jobs.prediction_panel.crf.isEnabled()  # nothing on screen to refine
    segment_shown(qtbot, jobs)
    click(qtbot, jobs.prediction_panel.crf)
    qtbot.waitUntil(lambda: jobs.compare.crf is not None and not jobs.compare.busy(), timeout=TIMEOUT)
    view = jobs.compare_view
    assert "No annotation" in view.raw_score.text() and jobs.compare.raw_scores is None
    raw, crf = view.raw_view, view.crf_view
    qtbot.waitUntil(lambda: raw.viewport().width() > 50)
    centre = QPointF(raw.viewport().rect().center())
    wheel = QWheelEvent(centre, raw.viewport().mapToGlobal(centre), QPoint(), QPoint(0, 360),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    before = raw.transform().m11()
    QApplication.sendEvent(raw.viewport(), wheel)
    assert raw.transform().m11() > before * 1.5
    assert crf.transform().m11() == pytest.approx(raw.transform().m11())
    raw.horizontalScrollBar().setValue(raw.horizontalScrollBar().value() + 30)  # pan one pane
    assert (crf.centre() - raw.centre()).manhattanLength() < 2


def test_a_file_that_is_not_a_checkpoint_is_reported(qtbot, window, jobs, tmp_path, isolated_settings):
    bad = tmp_path / "notes.pt"
    bad.write_text("not a model")
    jobs.prediction.load(bad)
    qtbot.waitUntil(lambda: not jobs.prediction.busy(), timeout=TIMEOUT)
    assert jobs.prediction.predictor is None
    assert "notes.pt" in str(isolated_settings[-1][1]) and "checkpoint" in str(isolated_settings[-1][1])
    assert not jobs.prediction_panel.segment.isEnabled() and jobs.prediction_panel.load_button.isEnabled()


def test_segment_all_skips_an_unreadable_image_and_says_so(qtbot, window, tmp_path, isolated_settings):
    folder = make_folder(tmp_path, count=3)
    (folder / "images" / "img_2.png").write_bytes(b"not a png")
    assert window.open_folder(folder)
    jobs = window.jobs
    jobs.prediction._on_loaded(SlowPredictor(pause=0))
    click(qtbot, jobs.prediction_panel.segment_all)
    qtbot.waitUntil(lambda: not jobs.prediction.busy(), timeout=TIMEOUT)
    assert len(jobs.prediction.store) == 2 and "img_2.png" in jobs.prediction.skipped[0]
    assert "2 of 3" in jobs.prediction_panel.status.text() and "1 skipped" in jobs.prediction_panel.status.text()
    assert isolated_settings[-1][0] == "Some images were not segmented"


def test_training_settings_are_remembered_and_bad_ones_ignored(qtbot, window):
    from app.state import settings
    from app.views.panels.training_form import SETTINGS_GROUP, TrainingForm

    form = window.jobs.training_panel.form
    form.set_values("pspnet", "backbone=resnet18", epochs=7, batch_size=3, minutes=25)
    settings.remember(SETTINGS_GROUP, form.remembered())
    settings.settings().setValue(f"{SETTINGS_GROUP}/lr", "not a number")
    again = TrainingForm()
    qtbot.addWidget(again)
    again.set_remembered(settings.recall(SETTINGS_GROUP, again.remembered()))
    assert (again.arch.currentData(), again.options.text(), again.epochs.value(), again.batch.value()) == (
        "pspnet", "backbone=resnet18", 7, 3)
    assert again.lr.value() == 0 and again.lr.text() == "auto" and again.budget_minutes() == 25


def test_a_bad_setting_is_reported_at_once_and_nothing_starts(qtbot, window, jobs, tmp_path, isolated_settings):
    blocker = tmp_path / "a_file"
    blocker.write_text("in the way")
    shown = len(isolated_settings)
    jobs.training_panel.form.set_values("unet", epochs=1, out=str(blocker / "run"), **TINY)
    click(qtbot, jobs.training_panel.train_button)  # no waiting: the UI thread checks the settings itself
    assert not jobs.training.is_running() and not jobs.pool.running()
    assert isolated_settings[shown][0] == "Training" and "is a file" in isolated_settings[shown][1]
    assert jobs.training_panel.train_button.isEnabled()


def test_stop_right_after_train_ends_the_run_before_any_epoch(qtbot, window, jobs, tmp_path):
    panel = jobs.training_panel
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as done:
        train(qtbot, jobs, tmp_path / "run", epochs=50)
        click(qtbot, panel.stop_button)  # while torch loads and the data is read
    assert done.args[0].status == "stopped" and done.args[0].epochs_done == 0
    assert done.args[0].last_path is None and not (tmp_path / "run" / "last.pt").exists()  # nothing trained
    assert "last good checkpoint" not in done.args[0].message
    assert panel.plots.curve_points()["train_loss"] == 0 and panel.train_button.isEnabled()
    assert window.jobs.prediction_panel.runs.count() <= 1  # not offered as a run (only the placeholder)


def test_continue_goes_on_from_the_last_run_in_its_folder_with_its_curves(qtbot, jobs, tmp_path):
    panel = jobs.training_panel
    assert not panel.continue_button.isVisibleTo(panel)  # nothing to continue yet
    out = tmp_path / "run"
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT):
        train(qtbot, jobs, out, epochs=1)
    assert panel.continue_button.isVisibleTo(panel) and "epoch 1" in panel.continue_button.toolTip()
    panel.form.set_values("segnet", epochs=2, out=str(tmp_path / "ignored"), **TINY)  # the checkpoint decides
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as done:
        click(qtbot, panel.continue_button)
    event = done.args[0]
    assert event.status == "completed" and event.epochs_done == 3 and event.out_dir == str(out)
    assert [row.split(",")[0] for row in (out / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]
    assert panel.plots.epochs == [1, 2, 3]  # the first run's curve is kept
    assert not (tmp_path / "ignored").exists()
    assert "continuing" in panel.log_view.toPlainText()


def test_continue_after_opening_another_folder_is_refused_not_run_on_the_new_data(qtbot, window, jobs, tmp_path,
                                                                                  monkeypatch):
    """Continue used the open folder: run A's checkpoint went on training (and validating, choosing best.pt) on
    folder B, and run A's config.json then named B."""
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args, **kwargs: shown.append(args[2]))
    panel = jobs.training_panel
    out = tmp_path / "run"
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT):
        train(qtbot, jobs, out, epochs=1)
    config = (out / "config.json").read_text()
    other = tmp_path / "other"
    write_sample_data(other, count=4, size=80)
    assert window.open_folder(other)
    assert not panel.continue_button.isVisibleTo(panel)  # not offered here (#19), and refused if asked for
    assert jobs.training.resume() is False and not jobs.training.is_running()
    assert len(shown) == 1 and "Open that folder" in shown[0] and str(other) in shown[0]
    assert (out / "config.json").read_text() == config


def test_continue_without_its_last_checkpoint_says_so_and_goes_away(qtbot, jobs, tmp_path, isolated_settings):
    panel = jobs.training_panel
    out = tmp_path / "run"
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT):
        train(qtbot, jobs, out, epochs=1)
    (out / "last.pt").unlink()
    click(qtbot, panel.continue_button)
    assert not jobs.training.is_running() and not panel.continue_button.isVisibleTo(panel)
    assert any("last.pt is gone" in text for _, text in isolated_settings)
