"""What a newcomer met driving the Assist tab at 1366 x 768 (issue #17's second look): cut tab names, messages
of another image, the spread slider, the metrics table, the uncertainty overlay, sparse masks in the file list.

Each test drives the real widgets; SHOTS (an environment variable naming a folder) saves a screenshot of each.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton, QStyle, QStyleOptionSlider, QTabBar

pytestmark = pytest.mark.gui
TIMEOUT = 180_000  # ms: the machine is shared and slow


def shot(window, name: str) -> None:
    """Save the window as SHOTS/name.png when SHOTS is set (to look at, not compared)."""
    if os.environ.get("SHOTS"):
        window.grab().save(str(Path(os.environ["SHOTS"]) / f"{name}.png"))


def laptop(qtbot, window) -> None:
    """The window as a first start lays it out on a 1366 x 768 screen."""
    window.resize(1366, 768)
    window.reset_layout()
    qtbot.wait(50)


def right_tabs(window) -> QTabBar:
    return next(b for b in window.findChildren(QTabBar) if b.isVisible() and
                "Assist" in [b.tabText(i) for i in range(b.count())])


def test_the_right_columns_tab_names_are_whole_at_1366_px(qtbot, window, folder):
    laptop(qtbot, window)
    assert window.open_folder(folder)
    window.docks["assistDock"].raise_()
    window.jobs.training_panel.summaryChanged.emit("45%")  # a run's state goes to the window title, not the tab
    qtbot.wait(50)
    bar = right_tabs(window)
    names = [bar.tabText(i) for i in range(bar.count())]
    assert names == ["Brush", "Overlay", "Contrast", "Training", "Assist"]
    padding = bar.style().pixelMetric(QStyle.PixelMetric.PM_TabBarTabHSpace, None, bar)
    for i, name in enumerate(names):  # Qt elides a name whose tab is narrower than its text and padding
        assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(name) + padding, name
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(names.index("Brush")).center())
    qtbot.waitUntil(lambda: window.brush.isVisible())
    shot(window, "12_tabs")


# -- shared with tests/gui/test_assist.py: a tiny model trained once for this module --------------------------------
from tests.gui.conftest import drag  # noqa: E402
from tests.gui.test_assist import model, write_folder  # noqa: E402, F401 - the module's model fixture


@pytest.fixture
def data(tmp_path) -> Path:
    return write_folder(tmp_path / "data")


def load(qtbot, window, checkpoint) -> None:
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        window.jobs.prediction.load(checkpoint)


def paint_strokes(qtbot, window) -> None:
    """Edit > Mark Whole Mask Unlabelled, then a foreground stroke in image 0's square and a background one."""
    window.actions.clear_unlabelled.trigger()
    qtbot.keyClick(window.canvas, Qt.Key.Key_1)
    drag(qtbot, window, [(14, 18), (20, 18), (26, 18)])
    qtbot.keyClick(window.canvas, Qt.Key.Key_0)
    drag(qtbot, window, [(50, 45), (62, 45), (75, 45)])


def test_accepting_a_scribble_proposal_names_the_crf_and_keeps_the_strokes(qtbot, window, data, isolated_settings):
    from segcore.annotate import IGNORE_INDEX

    laptop(qtbot, window)
    assert window.open_folder(data)
    paint_strokes(qtbot, window)
    strokes = window.session.mask.copy()
    assert (strokes == IGNORE_INDEX).any()
    scribbles = window.jobs.assist.scribbles
    qtbot.mouseClick(window.jobs.assist.panel.propose, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not scribbles.busy(), timeout=TIMEOUT)
    qtbot.mouseClick(window.jobs.prediction_panel.findChild(QPushButton, "acceptPredictionButton"),
                     Qt.MouseButton.LeftButton)
    title, text = isolated_settings[-1]
    assert title == "Replace your strokes?", (title, text)
    assert "dense CRF completed from your strokes" in text and "network" not in text
    assert "recoverable" in text and "Ctrl+Z" in text
    assert window.files.tree.topLevelItem(0).text(1) == "predicted"  # not "modified": nothing corrected yet
    shot(window, "07_accepted_proposal")
    window.actions.undo.trigger()
    assert (window.session.mask == strokes).all()


def test_a_mask_of_strokes_is_listed_and_counted_apart_from_full_masks(qtbot, window, data):
    laptop(qtbot, window)
    assert window.open_folder(data)
    paint_strokes(qtbot, window)
    window.actions.save.trigger()
    item = window.files.tree.topLevelItem(0)
    assert item.text(1) == "strokes" and "unlabelled" in item.toolTip(1)
    assert window.files.summary.text() == "2 of 6 images have a mask, 1 only strokes"
    qtbot.keyClick(window.files.tree, Qt.Key.Key_Down)  # on to image 1, and back: still strokes
    qtbot.keyClick(window.files.tree, Qt.Key.Key_Up)
    assert window.files.tree.topLevelItem(0).text(1) == "strokes"
    shot(window, "13_strokes_in_file_list")


def test_n_with_nothing_left_answers_in_the_status_bar_whatever_tab_is_in_front(qtbot, window, tmp_path, model):  # noqa: F811
    laptop(qtbot, window)
    assert window.open_folder(write_folder(tmp_path / "all", count=3, annotated=3))
    window.jobs.training_dock.raise_()
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)  # no model yet
    assert "Train a model or load a checkpoint first" in window.statusBar().currentMessage()
    load(qtbot, window, model)
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)
    assert "the queue is empty" in window.statusBar().currentMessage()
    shot(window, "13_queue_empty")
    window.jobs.shutdown()


def test_retrain_says_retraining_not_planning(qtbot, window, data, model, tmp_path):  # noqa: F811
    assert window.open_folder(data)
    load(qtbot, window, model)
    jobs = window.jobs
    jobs.training_panel.form.set_values("unet", epochs=2, out=str(tmp_path / "round2"), options="width=4",
                                        batch_size=2, patch_size=48, val_fraction=0.34, minutes=1)
    qtbot.mouseClick(window.jobs.assist.panel.retrain, Qt.MouseButton.LeftButton)
    text = jobs.training_panel.progress.format()  # as the run starts (a tiny run may end within 100 ms)
    assert jobs.training.is_running()
    assert "retraining for 1 min" in text and "planning" not in text, text
    jobs.training.stop()
    jobs.shutdown()


def test_a_focused_spread_slider_takes_its_keys_and_recomputes_the_proposal_on_screen(qtbot, window, data):
    from app.views.panels.assist_panel import SPREAD_STOPS

    laptop(qtbot, window)
    assert window.open_folder(data)
    window.docks["assistDock"].raise_()
    panel, scribbles, store = window.jobs.assist.panel, window.jobs.assist.scribbles, window.jobs.prediction.store
    paint_strokes(qtbot, window)
    qtbot.mouseClick(panel.propose, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not scribbles.busy(), timeout=TIMEOUT)
    path = window.session.current_path()
    assert "(spread 80 px)" in store.origin(path)
    option = QStyleOptionSlider()
    panel.spread.initStyleOption(option)
    handle = panel.spread.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                                 QStyle.SubControl.SC_SliderHandle, panel.spread)
    qtbot.mouseClick(panel.spread, Qt.MouseButton.LeftButton, pos=handle.center())  # focus, value unchanged
    qtbot.waitUntil(panel.spread.hasFocus)
    qtbot.keyClick(panel.spread, Qt.Key.Key_PageDown)  # the slider's key, not Image > Next Image
    assert window.session.current_path() == path and panel.spread_px() == 40
    assert panel.spread_label.text() == "40 px"
    qtbot.keyClick(panel.spread, Qt.Key.Key_Right)
    assert panel.spread_px() == 56  # a stop ~1.4x above, not 1 px
    qtbot.waitUntil(lambda: "(spread 56 px)" in store.origin(path), timeout=TIMEOUT)  # computed again, once
    assert window.jobs.prediction.layer.isVisible()
    shot(window, "08_spread_recomputed")
    assert SPREAD_STOPS[0] == 5 and SPREAD_STOPS[-1] == 400
    window.jobs.shutdown()


def test_ticking_use_the_model_recomputes_the_proposal_on_screen(qtbot, window, data, model):  # noqa: F811
    """The spread slider recomputed the proposal, the model's checkbox did not (newcomer check): the old proposal
    stayed until Propose mask was pressed again."""
    assert window.open_folder(data)
    load(qtbot, window, model)
    window.docks["assistDock"].raise_()
    panel, scribbles, store = window.jobs.assist.panel, window.jobs.assist.scribbles, window.jobs.prediction.store
    panel.use_model.setChecked(False)
    paint_strokes(qtbot, window)
    qtbot.mouseClick(panel.propose, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not scribbles.busy(), timeout=TIMEOUT)
    path = window.session.current_path()
    assert "model" not in store.origin(path)
    qtbot.mouseClick(panel.use_model, Qt.MouseButton.LeftButton)  # ticked: computed again, with the model
    assert panel.use_model.isChecked()
    qtbot.waitUntil(lambda: "and the model's probabilities" in store.origin(path) and not scribbles.busy(),
                    timeout=TIMEOUT)
    qtbot.mouseClick(panel.use_model, Qt.MouseButton.LeftButton)  # and back
    qtbot.waitUntil(lambda: "model" not in store.origin(path) and not scribbles.busy(), timeout=TIMEOUT)
    assert "Proposal ready" in panel.scribble_status.text()
    qtbot.mouseClick(window.jobs.prediction_panel.discard, Qt.MouseButton.LeftButton)
    assert store.origin(path) == "" and "Proposal ready" not in panel.scribble_status.text()  # not left behind
    window.jobs.shutdown()


def test_assist_messages_belong_to_the_image_on_screen_and_never_push_controls_away(qtbot, window, data,
                                                                                    isolated_settings):
    from PySide6.QtWidgets import QScrollArea

    from app.views.panels.assist_panel import SCRIBBLE_HINT

    laptop(qtbot, window)
    assert window.open_folder(data)
    window.docks["assistDock"].raise_()
    panel, scribbles = window.jobs.assist.panel, window.jobs.assist.scribbles
    height = panel.scribble_status.height()
    qtbot.mouseClick(panel.propose, Qt.MouseButton.LeftButton)  # a full mask: nothing to complete
    qtbot.waitUntil(lambda: not scribbles.busy(), timeout=TIMEOUT)
    assert "no unlabelled pixels" in panel.scribble_status.text()
    qtbot.wait(50)
    assert panel.scribble_status.height() == height
    bar = window.findChild(QScrollArea, "assistScroll").verticalScrollBar()
    assert bar.maximum() == 0  # Per-image metrics and Retrain stay in sight
    assert panel.retrain.visibleRegion().boundingRect().height() == panel.retrain.height()
    shot(window, "09_error_in_place")
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)  # the next image: the error was about image 0
    assert window.session.index == 1 and panel.scribble_status.text() == SCRIBBLE_HINT


def test_rounds_a_few_epochs_apart_have_readable_labels_and_an_empty_round_no_marker(qtbot, window):
    from types import SimpleNamespace

    laptop(qtbot, window)
    window.jobs.training_dock.raise_()
    panel = window.jobs.training_panel
    plots = panel.plots
    plots.begin(3)
    for epoch in (1, 2, 3):
        plots.add_epoch(SimpleNamespace(epoch=epoch, train_loss=0.5, val_loss=0.4, val_dice=0.8 + epoch / 100,
                                        val_iou=0.7, is_best=True))
    plots.begin(2, round_start=3)  # round 2: two epochs
    for epoch in (1, 2):
        plots.add_epoch(SimpleNamespace(epoch=epoch, train_loss=0.3, val_loss=0.3, val_dice=0.85, val_iou=0.75,
                                        is_best=False))
    plots.begin(2, round_start=5)  # round 3, two epochs after round 2's line
    plots.redraw()
    qtbot.wait(50)
    labels = {line.label.format: line.label for plot, line in plots.round_lines if plot is plots.dice_plot}
    assert set(labels) == {"round 2", "round 3"}
    two, three = (labels[k].sceneBoundingRect() for k in ("round 2", "round 3"))
    assert not two.intersects(three), (two, three)
    shot(window, "04_rounds")
    plots.drop_round()  # round 3 stopped before its first epoch
    assert [line.label.format for _, line in plots.round_lines] == ["round 2", "round 2"] and plots.rounds == 2


def test_a_round_stopped_at_0_epochs_is_no_round():
    from app.state.training_progress import TrainingProgress
    from app.state.training_rounds import TrainingRounds, start_note

    rounds = TrainingRounds()
    rounds.begin(TrainingProgress(3, None), retrain=False, minutes=0, continued=False)
    rounds.end(3, 0.9, retrain=False)
    assert rounds.begin(TrainingProgress(3, None), retrain=True, minutes=1, continued=False) == 3
    assert rounds.end(0, float("nan"), retrain=True) is None
    assert rounds.label() == "round 2"  # the next Retrain is round 2 again
    assert start_note(1, True).startswith("retraining for 1 min") and "planning" in start_note(1, False)


def test_metrics_table_columns_widen_name_sources_and_leave_the_models_own_masks_out_of_the_mean(
        qtbot, window, data, model, tmp_path, monkeypatch):  # noqa: F811
    import csv
    import shutil

    from PySide6.QtWidgets import QFileDialog

    laptop(qtbot, window)
    assert window.open_folder(data)
    load(qtbot, window, model)
    prediction, metrics = window.jobs.prediction, window.jobs.assist.metrics
    window.session.select(3)  # no mask: segment it, accept, correct a little (it still flatters the model)
    qtbot.waitUntil(lambda: not prediction.busy(), timeout=TIMEOUT)
    prediction.segment_current()
    qtbot.waitUntil(lambda: not prediction.busy() and prediction.current_prediction() is not None, timeout=TIMEOUT)
    qtbot.mouseClick(window.findChild(QPushButton, "acceptPredictionButton"), Qt.MouseButton.LeftButton)
    drag(qtbot, window, [(40, 50), (44, 50)])
    window.actions.save.trigger()
    metrics.panel.crf.setChecked(False)
    qtbot.mouseClick(window.findChild(QPushButton, "openMetricsButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(metrics.results) and not metrics.busy(), timeout=TIMEOUT)
    table = metrics.panel.table
    assert table.rowCount() == 4, (metrics.panel.status.text(), window.files.tree.topLevelItem(3).text(1))
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert headers[:3] == ["Image", "Source", "Split"]
    assert table.item(rows["img_3.png"], 1).text() == "this model's" and table.item(rows["img_3.png"], 0).font().italic()
    assert table.item(rows["img_0.png"], 1).text() == "hand"
    assert table.item(rows["img_0.png"], 0).toolTip() == str(data / "images" / "img_0.png")
    assert "1 accepted from this model left out" in metrics.panel.status.text()
    header = table.horizontalHeader()  # drag the Image column's right edge 80 px to the right
    edge = header.sectionViewportPosition(0) + header.sectionSize(0) - 1
    width = header.sectionSize(0)
    qtbot.mousePress(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(edge, header.height() // 2))
    qtbot.mouseMove(header.viewport(), QPoint(edge + 40, header.height() // 2))
    qtbot.mouseRelease(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(edge + 80, header.height() // 2))
    assert header.sectionSize(0) >= width + 40
    shot(window, "06_metrics_table")
    out = tmp_path / "scores.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "CSV (*.csv)"))
    qtbot.mouseClick(window.findChild(QPushButton, "exportMetricsButton"), Qt.MouseButton.LeftButton)
    with open(out) as fh:
        notes = {r["image"]: r["note"] for r in csv.DictReader(fh) if r["variant"] == "raw"}
    assert "accepted prediction" in notes["img_3.png"] and notes["img_0.png"] == "" and "left out" in notes["mean"]
    other = tmp_path / "other.pt"  # another model becomes the current one: the old scores go
    shutil.copy(model, other)
    load(qtbot, window, other)
    assert metrics.panel.row_count() == 0 and "Score annotated images again" in metrics.panel.status.text()
    window.jobs.shutdown()
