"""The Training panel as the training-plan issue (#13) and issue #19 item 6 want it: a time budget is the way to
train, the plan is made in the worker and shown before and during the run, Advanced settings override the plan's,
the essentials fit without scrolling, and the wheel never changes a field that has not been clicked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea

from segcore.data.sample import write_sample_data

pytestmark = pytest.mark.gui
TIMEOUT = 300_000


@pytest.fixture
def sample(tmp_path) -> Path:
    folder = tmp_path / "sample"
    write_sample_data(folder, count=6, size=96)
    return folder


def wheel_at(widget, notches: int = -1) -> None:
    """A wheel turned over the middle of ``widget`` (down: negative notches), through the window system as a
    real wheel is: Qt then gives focus by the focus policy and passes an ignored wheel on to the parents."""
    top = widget.window()
    QTest.wheelEvent(top.windowHandle(), QPointF(widget.mapTo(top, widget.rect().center())), QPoint(0, 120 * notches))


def show_training(qtbot, window):
    window.resize(1400, 900)
    window.reset_layout()
    window.docks["trainingDock"].raise_()
    panel = window.jobs.training_panel
    qtbot.waitUntil(panel.train_button.isVisible)
    return panel


def test_scrolling_the_advanced_settings_changes_no_value(qtbot, window):
    panel = show_training(qtbot, window)
    panel.tabs.setCurrentWidget(panel.tabs.findChild(QScrollArea, "advancedScroll"))
    window.resize(1400, 520)  # short: the Advanced tab scrolls
    form = panel.form
    form.set_values("unet", batch_size=4, epochs=30)
    scroll = panel.tabs.currentWidget()
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0)
    for widget in (form.batch, form.epochs, form.lr, form.arch, form.normalise):
        wheel_at(widget, -1)
        assert not widget.hasFocus()  # the wheel no longer takes the focus either
    assert (form.batch.value(), form.epochs.value(), form.lr.text(), form.arch.currentData(),
            form.normalise.currentData()) == (4, 30, "auto", "unet", None)
    assert scroll.verticalScrollBar().value() > 0  # the wheel scrolled the form instead
    scroll.ensureWidgetVisible(form.batch)  # scrolled out of sight by the wheels above
    qtbot.mouseClick(form.batch.lineEdit(), Qt.MouseButton.LeftButton)  # clicked: now the wheel is its own
    assert form.batch.hasFocus()
    wheel_at(form.batch.lineEdit(), 1)
    assert form.batch.value() == 5


def test_the_essentials_fit_without_scrolling(qtbot, window):
    panel = show_training(qtbot, window)
    for widget in (panel.form.minutes, panel.form.name, panel.train_button, panel.stop_button, panel.progress,
                   panel.plan_button):
        assert widget.isVisible(), widget.objectName()
        assert widget.visibleRegion().boundingRect() == widget.rect(), widget.objectName()  # nothing clipped
    assert panel.form.budget_minutes() == 10  # the default way to train
    assert "auto" == panel.form.epochs.text() == panel.form.batch.text() == panel.form.patch.text()


def test_show_plan_plans_in_the_worker_and_gives_reasons(qtbot, window, sample):
    assert window.open_folder(sample)
    panel = show_training(qtbot, window)
    panel.form.set_values("unet", minutes=2, batch_size=2)
    controller = window.jobs.training
    qtbot.mouseClick(panel.plan_button, Qt.MouseButton.LeftButton)
    assert controller.worker is not None and controller.worker.name == "preview"  # off the UI thread
    assert not panel.train_button.isEnabled() and "Planning" in panel.progress.format()
    qtbot.waitUntil(lambda: panel.plan_view.has_plan and window.jobs.pool.idle(), timeout=TIMEOUT)
    text = panel.plan_view.toPlainText()
    for words in ("Plan for 2 min", "Patch size", "Width", "Test-time augmentation", "Batch size: 2 (yours)",
                  "set under Advanced", "Epochs: as many as fit"):
        assert words in text, words
    assert panel.tabs.currentWidget() is panel.plan_view and "batch 2" in panel.plan_summary.text()
    assert panel.train_button.isEnabled() and not (sample / "checkpoints").exists()  # nothing trained
    # The line under Train follows the budget field at once, with the keyboard (#19: it kept "No time budget"
    # after stepping back up from none, until another folder opened).
    spin = panel.form.minutes
    spin.setFocus()
    for _ in range(2):
        QTest.keyClick(spin, Qt.Key.Key_Down)
    assert spin.value() == 0 and "whole recipe" in panel.plan_summary.text()
    QTest.keyClick(spin, Qt.Key.Key_Up)
    assert spin.value() == 1
    assert panel.plan_summary.text().startswith("1 min is a trial only")  # too short to say anything else
    QTest.keyClick(spin, Qt.Key.Key_Up)
    assert "batch 2" in panel.plan_summary.text()  # the plan shown is Train's again
    panel.grab().save(str(sample.parent / "training_budget.png"))


def test_train_by_a_time_budget_plans_first_and_ends_in_time(qtbot, window, sample, tmp_path):
    assert window.open_folder(sample)
    panel = show_training(qtbot, window)
    panel.form.set_values("unet", minutes=0.4, name="tiny budget", val_fraction=0.34)
    jobs = window.jobs
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as done:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.plan_view.has_plan, timeout=TIMEOUT)  # shown during the run
        assert "steps" in panel.plan_summary.text() and not panel.train_button.isEnabled()
    event = done.args[0]
    assert event.status == "completed", event.message
    out = Path(event.out_dir)
    assert out.parent == sample / "checkpoints" and out.name.startswith("tiny-budget-")
    config = json.loads((out / "config.json").read_text())
    assert config["plan"]["budget_s"] == pytest.approx(24) and config["time_limit"] < 0.4
    assert config["name"] == "tiny budget"  # the run lists show it
    assert (out / "plan.json").is_file() and "/10000" not in panel.log_view.toPlainText()
    assert panel.plan_view.has_plan and "Plan for 24 s" in panel.plan_view.toPlainText()
    # Durations read as people say them (#19: the plan said "0.881 min" for a 1-minute budget): nowhere a
    # fraction of a minute, in the plan, its summary, the progress bar, the log or the status line.
    shown = [panel.plan_view.toPlainText(), panel.plan_summary.text(), panel.progress.format(),
             panel.log_view.toPlainText(), window.statusBar().message()]
    assert not [text for text in shown if re.search(r"\d\.\d+ ?min", text)], shown
    assert re.search(r"reached the time limit of \d+ s after epoch", event.message), event.message


def test_no_budget_trains_by_the_advanced_settings_alone(qtbot, window, sample, tmp_path):
    assert window.open_folder(sample)
    panel = show_training(qtbot, window)
    panel.form.set_values("unet", "width=4", minutes=0, epochs=1, batch_size=2, patch_size=48,
                          out=str(tmp_path / "fixed"))
    assert not panel.plan_button.isEnabled() and "whole recipe" in panel.plan_summary.text()
    with qtbot.waitSignal(window.jobs.training.finished, timeout=TIMEOUT) as done:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert done.args[0].status == "completed"
    config = json.loads((tmp_path / "fixed" / "config.json").read_text())
    assert config["plan"] is None and config["epochs"] == 1 and config["patch_size"] == 48


def test_the_plans_pixel_size_reads_as_a_length_per_pixel():
    from app.views.panels.plan_view import LABELS, show_value

    assert show_value("pixel_size", {"y_um": 0.75, "x_um": 0.75}) == "0.75 µm/pixel"
    assert show_value("pixel_size", None) == "as stored" and LABELS["pixel_size"] == "Pixel size"


def test_normalising_each_image_on_its_own_is_chosen_under_advanced(qtbot, window, sample, tmp_path):
    """`--normalise image` of segcore train, in the window: the plan shows it as the user's, a run records it."""
    assert window.open_folder(sample)
    panel = show_training(qtbot, window)
    combo = panel.form.normalise
    panel.form.set_values("unet", minutes=2, batch_size=2)
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == "each image on its own (z-score)"
    qtbot.mouseClick(panel.plan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.plan_view.has_plan and window.jobs.pool.idle(), timeout=TIMEOUT)
    assert "Normalisation: per image (yours)" in panel.plan_view.toPlainText()
    panel.form.set_values("unet", "width=4", minutes=0, epochs=1, patch_size=48, out=str(tmp_path / "own"))
    with qtbot.waitSignal(window.jobs.training.finished, timeout=TIMEOUT) as done:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert done.args[0].status == "completed", done.args[0].message
    assert json.loads((tmp_path / "own" / "config.json").read_text())["per_image_norm"] is True
    assert panel.form.remembered()["normalisation"] == "image"  # kept for the next session, as the others
    panel.form.reset_advanced()
    assert combo.currentData() is None and "per_image_norm" not in panel.form.values()
