"""What a newcomer still found driving the real window under Xvfb with xdotool (issue #19, second round): each
driven through the real widgets (clicks, keys, focus) on small folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from segcore.data.sample import write_sample_data

from .conftest import make_folder
from .test_train_flow import TIMEOUT, TINY, SlowPredictor, click

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_folders(tmp_path) -> tuple[Path, Path]:
    first, second = tmp_path / "first", tmp_path / "second"
    write_sample_data(first, count=6, size=96)
    write_sample_data(second, count=4, size=80)
    return first, second


def train_here(qtbot, window, **values) -> object:
    """Train on the open folder from the Training tab's button; the DoneEvent."""
    panel = window.jobs.training_panel
    window.docks["trainingDock"].raise_()
    panel.form.set_values("unet", **{**TINY, **values})
    with qtbot.waitSignal(window.jobs.training.finished, timeout=TIMEOUT) as done:
        click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: not window.jobs.pool.running(), timeout=TIMEOUT)
    return done.args[0]


# -- item 1: everything shown belongs to the folder on screen -----------------------------------------------------
def test_another_folder_shows_nothing_of_the_last_run(qtbot, window, two_folders, tmp_path):
    first, second = two_folders
    jobs = window.jobs
    panel, segment = jobs.training_panel, jobs.prediction_panel
    assert window.open_folder(first)
    panel.form.set_values("unet", out=str(first / "mine"))
    done = train_here(qtbot, window, epochs=1, out=str(first / "mine"))
    assert done.status == "completed"
    window.statusBar().setToolTip("a warning about the first folder")
    assert panel.plots.curve_points()["val_dice"] == 1 and panel.log_view.toPlainText()
    assert panel.continue_button.isVisibleTo(panel) and segment.use_trained.isVisibleTo(segment)
    assert panel.progress.format().startswith("Completed")

    assert window.open_folder(second)
    assert panel.plots.curve_points() == {"train_loss": 0, "val_loss": 0, "val_dice": 0, "val_iou": 0}
    assert panel.plots.batch_x == [] and panel.log_view.toPlainText() == ""
    assert panel.progress.format() == "Not started" and panel.progress.value() == 0
    assert not panel.plan_view.has_plan and "first" not in panel.plan_summary.text()
    assert not panel.continue_button.isVisibleTo(panel)  # continuing the first folder's run here: refused
    assert not segment.use_trained.isVisibleTo(segment)  # its model is the first folder's
    assert jobs.training_dock.windowTitle() == "Training" and window.statusBar().toolTip() == ""
    assert panel.form.out.text() == ""  # a run here must not write among the first folder's runs

    assert window.open_folder(first)  # back: its run can go on, its model is one click away
    assert panel.continue_button.isVisibleTo(panel) and segment.use_trained.isVisibleTo(segment)


def test_a_run_training_on_another_folder_says_so(qtbot, window, two_folders):
    first, second = two_folders
    jobs = window.jobs
    panel = jobs.training_panel
    assert window.open_folder(first)
    panel.form.set_values("unet", epochs=50, **{k: v for k, v in TINY.items()})
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: len(panel.plots.batch_x) > 0, timeout=TIMEOUT)
    assert window.open_folder(second)
    assert "trains on first, not on the open folder" in panel.plan_summary.text()
    assert jobs.training.is_running() and panel.stop_button.isEnabled()
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT):
        click(qtbot, panel.stop_button)
    assert not panel.continue_button.isVisibleTo(panel)  # it trained the first folder


def test_export_model_shows_the_model_loaded_now_not_the_last_folder_one(qtbot, window, tmp_path):
    jobs = window.jobs
    assert window.open_folder(make_folder(tmp_path / "a"))
    first = SlowPredictor(pause=0)
    first.path = tmp_path / "a" / "run" / "best.pt"
    jobs.prediction._on_loaded(first)
    dialog = jobs.export.open()
    assert dialog.checkpoint.text() == str(first.path)
    dialog.show_error("an earlier export failed")
    dialog.close()
    assert window.open_folder(make_folder(tmp_path / "b"))
    second = SlowPredictor(pause=0)
    second.path = tmp_path / "b" / "run" / "best.pt"
    jobs.prediction._on_loaded(second)
    window.findChild(type(jobs.export_action), "exportModelAction").trigger()
    assert dialog.isVisible() and dialog.checkpoint.text() == str(second.path)
    assert dialog.verdict.text() == "" and dialog.log.toPlainText() == ""
    dialog.close()


# -- item 2: the Train button in sight at the first start ------------------------------------------------------
@pytest.mark.skipif(sys.platform != "linux", reason="Qt's offscreen screens are configured this way on Linux")
@pytest.mark.parametrize("screen", [(1920, 1080), (1366, 768)])
def test_the_first_start_shows_the_training_tab_with_its_train_button(tmp_path, screen):
    """A real first start (a fresh process, no settings file): nothing clicked, the Train button is on screen,
    as are the brush tools of the toolbar; Reset Layout gives the same."""
    width, height = screen
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "s", "x": 0, "y": 0, "width": width, "height": height,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    script = f"""
import json
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, {str(tmp_path)!r})
app = QApplication([])
from app.window import MainWindow
w = MainWindow(autosave_ms=0)
w.show()
for _ in range(20):
    app.processEvents()
def shown(widget):
    r = widget.rect()
    r.moveTopLeft(widget.mapToGlobal(r.topLeft()))
    return widget.isVisible() and w.screen().availableGeometry().contains(r) and not widget.visibleRegion().isEmpty()
train = w.jobs.training_panel.train_button
first = [shown(train), shown(w.toolbar.widgetForAction(w.findChild(type(w.actions.save), "brushTool")))]
w.docks["brushDock"].raise_()
w.reset_layout()
for _ in range(5):
    app.processEvents()
print(json.dumps(first + [shown(train)]))
"""
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, True, True], out.stdout
