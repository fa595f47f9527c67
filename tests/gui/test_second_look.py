"""What a newcomer still found driving the real window under Xvfb with xdotool (issue #19, second round): each
driven through the real widgets (clicks, keys, focus) on small folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.views.elided import whole_text_tip
from segcore.data.sample import write_sample_data

from .conftest import make_folder, wait_for_jobs
from .test_train_flow import TIMEOUT, TINY, SlowPredictor, click, segment_shown

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
    # the run's model loads after it, or after a job running then (a load waiting for it counts as running)
    wait_for_jobs(qtbot, window.jobs)
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
    qtbot.waitUntil(lambda: jobs.prediction.predictor_path() == Path(done.best_path), timeout=TIMEOUT)
    assert panel.continue_button.isVisibleTo(panel)
    assert panel.progress.format().startswith("Completed")

    assert window.open_folder(second)
    assert panel.plots.curve_points() == {"train_loss": 0, "val_loss": 0, "val_dice": 0, "val_iou": 0}
    assert panel.plots.batch_x == [] and panel.log_view.toPlainText() == ""
    assert panel.progress.format() == "Not started" and panel.progress.value() == 0
    assert not panel.plan_view.has_plan and "first" not in panel.plan_summary.text()
    assert not panel.continue_button.isVisibleTo(panel)  # continuing the first folder's run here: refused
    assert not segment.use_trained.isVisibleTo(segment)  # its model is the first folder's
    assert "training" not in window.windowTitle() and "first" not in window.statusBar().toolTip()
    assert panel.form.out.text() == ""  # a run here must not write among the first folder's runs

    assert window.open_folder(first)  # back: its run can go on, its model is still the current one
    assert panel.continue_button.isVisibleTo(panel) and jobs.prediction.predictor_path() == Path(done.best_path)


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
    as are the brush tools of the toolbar and curves of a readable height; Reset Layout gives the same."""
    width, height = screen
    min_curves = 250 if height >= 1000 else 140  # the class list no longer takes half the column at the start
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
import time
end = time.monotonic() + 0.6  # the curves load just after the window shows
while time.monotonic() < end:
    app.processEvents()
def shown(widget):
    r = widget.rect()
    r.moveTopLeft(widget.mapToGlobal(r.topLeft()))
    return widget.isVisible() and w.screen().availableGeometry().contains(r) and not widget.visibleRegion().isEmpty()
train = w.jobs.training_panel.train_button
first = [shown(train), shown(w.toolbar.widgetForAction(w.findChild(type(w.actions.save), "brushTool"))),
         w.jobs.training_panel.plot_area.height() >= {min_curves}]
w.docks["brushDock"].raise_()
w.reset_layout()
for _ in range(5):
    app.processEvents()
print(json.dumps(first + [shown(train)]))
"""
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, True, True, True], out.stdout


# -- items 4, 5 and 8: the curves, a layout that stays put, a Dice that says what it is ---------------------------
def geometry(window) -> dict:
    """Where the Training and Segment panels' parts sit in the window."""
    panel, segment = window.jobs.training_panel, window.jobs.prediction_panel
    parts = {"tabs": panel.tabs, "progress": panel.progress, "summary": panel.plan_summary,
             "train": panel.train_button, "stop": panel.stop_button, "plan": panel.plan_button,
             "segment": segment.segment, "crf": segment.crf, "status": segment.status, "canvas": window.canvas}
    return {name: (w.mapTo(window, w.rect().topLeft()).toTuple(), w.size().toTuple()) for name, w in parts.items()}


def test_the_panels_stay_put_when_a_run_ends_and_the_curves_are_legible(qtbot, window, two_folders):
    first, _ = two_folders
    window.resize(1400, 900)  # the default size
    window.reset_layout()
    assert window.open_folder(first)
    jobs = window.jobs
    panel = jobs.training_panel
    panel.form.set_values("unet", epochs=200, **TINY)
    panel.plots  # noqa: B018 - the curves, loaded just after the window shows
    qtbot.wait(300)
    before = geometry(window)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: len(panel.plots.epochs) >= 2, timeout=TIMEOUT)
    qtbot.wait(300)
    during = geometry(window)
    assert during == before  # a run starting (its speed, its progress text) moves nothing either
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT):
        click(qtbot, panel.stop_button)  # "Stopping…", then a long "Stopped: …" message and Continue appear
    wait_for_jobs(qtbot, jobs)
    qtbot.wait(300)
    assert panel.continue_button.isVisible() and panel.progress.format().startswith("Stopped: stopped by request")
    # The run's model has become the current one (issue #17): the Segment panel describes it, which may move the
    # left column as loading any model does; the Training panel and the canvas stay put.
    segment_parts = ("segment", "crf", "status")
    assert {k: v for k, v in geometry(window).items() if k not in segment_parts} == \
        {k: v for k, v in during.items() if k not in segment_parts}
    assert panel.progress.toolTip() == whole_text_tip(panel.progress.format())  # elided, whole when hovered

    # The curves: no legend box over them (the keys are the title line), and room to read them.
    for plot in (panel.plots.loss_plot, panel.plots.dice_plot):
        item = plot.getPlotItem()
        assert item.legend is None and "●" in item.titleLabel.text
        assert item.getViewBox().sceneBoundingRect().height() >= 100, plot.objectName()
    assert "batch" in panel.plots.loss_plot.getPlotItem().titleLabel.text

    # The Dice says what it is: the one foreground class here, and on how many validation images.
    assert "Validation, 2 images" in panel.plots.dice_plot.getPlotItem().titleLabel.text
    assert panel.plots.dice_plot.getAxis("left").labelText == "nucleus"
    assert "(nucleus, 2 val images)" in panel.log_view.toPlainText()


def test_a_dice_over_several_classes_says_it_is_their_mean():
    from app.state.training_progress import dice_scope, dice_text

    scores = {"names": ["background", "axon", "myelin"], "dice": [0.98, 0.83, 0.87], "mean_dice": 0.85,
              "images": 3}
    assert dice_text(scores) == "Dice 0.850 (mean of axon 0.830, myelin 0.870; 3 val images)"
    assert dice_text({**scores, "names": ["background", "nucleus"], "dice": [0.99, 0.9], "mean_dice": 0.9,
                      "images": 1}) == "Dice 0.900 (nucleus, 1 val image)"
    assert dice_scope(["bg", "a", "b", "c", "d"]) == "mean of 4 classes"


# -- item 7: Compare says when the CRF hurt the image shown ------------------------------------------------------
@pytest.fixture
def crf_adds_a_false_blob(monkeypatch):
    """The CRF (stood in for) marks a block of true background, left of the middle, as foreground."""
    import segcore.crf

    def refine(image, probs, params=None):
        mask = probs.argmax(0).astype(np.uint8)
        mask[40:60, 10:40] = 1
        return probs, mask

    monkeypatch.setattr(segcore.crf, "refine", refine)
    monkeypatch.setattr(segcore.crf, "is_available", lambda: True)


def compare_refused(qtbot, window, tmp_path, delta: float):
    """Compare the first image (annotated) with a model whose CRF fit gained only ``delta`` on 2 validation
    images; returns the window's jobs once refined."""
    from segcore.data import io
    from segcore.data.classes import ClassSpec

    folder = make_folder(tmp_path, size=(80, 120))  # the last image has no annotation
    truth = np.zeros((80, 120), np.uint8)
    truth[:, 60:100] = 1  # most of what the stand-in network marks (the right half) is right
    io.write_mask(folder / "masks" / "img_0.png", truth, ClassSpec(["background", "cell"], [0, 255]))
    assert window.open_folder(folder)
    predictor = SlowPredictor(pause=0)
    predictor.crf_fit = {"helps": False, "params": None, "delta_dice": delta, "images": 2}
    jobs = window.jobs
    jobs.prediction._on_loaded(predictor)
    segment_shown(qtbot, jobs)
    click(qtbot, jobs.prediction_panel.crf)
    qtbot.waitUntil(lambda: jobs.compare.crf is not None and not jobs.compare.busy(), timeout=TIMEOUT)
    return jobs


def test_compare_says_when_the_crf_made_the_image_worse_or_was_refused(qtbot, window, tmp_path,
                                                                       crf_adds_a_false_blob):
    jobs = compare_refused(qtbot, window, tmp_path, -0.004)
    compare, view = jobs.compare, jobs.compare_view
    raw, crf = compare.raw_scores["mean_dice"], compare.crf_scores["mean_dice"]
    assert crf < raw
    text = view.verdict_label.text()
    assert text.startswith(f"The CRF made this image worse: Dice {raw:.3f} → {crf:.3f}"), text
    assert "#b35c00" in view.verdict_label.styleSheet() and view.verdict_label.isVisible()

    click(qtbot, view.accept_raw)  # kept the network output: the comparison of that image is done
    window.docking.show_image()
    window.files.step(2)  # no annotation: nothing to score, but the model's refused fit is a warning
    segment_shown(qtbot, jobs)
    click(qtbot, jobs.prediction_panel.crf)
    qtbot.waitUntil(lambda: compare.crf is not None and compare.request.truth is None and not compare.busy(),
                    timeout=TIMEOUT)
    assert view.verdict_label.text().startswith("No annotation here to check the CRF against. On this model's")
    assert "#b35c00" in view.verdict_label.styleSheet()


def test_the_verdict_when_the_crf_helped_or_changed_nothing():
    from app.controllers.compare import verdict

    better, same = verdict({"mean_dice": 0.8}, {"mean_dice": 0.85}, True, "", True), \
        verdict({"mean_dice": 0.8}, {"mean_dice": 0.8002}, True, "", False)
    assert better == ("The CRF improved this image: Dice 0.800 → 0.850.", False)
    assert same == ("The CRF leaves this image's Dice as it was (0.800).", False)
    assert verdict(None, None, False, "", False) == ("", False)


def test_image_and_model_crf_verdicts_make_one_statement_shown_whole(qtbot, window, tmp_path,
                                                                       crf_adds_a_false_blob):
    """The fit gained +0.001 on the validation images (too little, so refused) and the CRF hurt this image: one
    statement with both scopes, and all of it visible in the Compare view, not "did not help (+0.001 …"."""
    window.resize(1366, 768)
    window.reset_layout()
    jobs = compare_refused(qtbot, window, tmp_path, 0.001)
    compare, view = jobs.compare, jobs.compare_view
    raw, crf = compare.raw_scores["mean_dice"], compare.crf_scores["mean_dice"]
    assert view.verdict_label.text() == (
        f"The CRF made this image worse: Dice {raw:.3f} → {crf:.3f}; keep the network output, or try other "
        "parameters. On this model's 2 validation images the fitted CRF gained only +0.0010 Dice, below the "
        "+0.002 needed, so it is off by default (the settings here are the defaults).")
    assert "did not help" not in view.fit_label.text()  # no second verdict beside it
    view.grab().save(str(tmp_path / "compare_verdict.png"))
    for label in (view.verdict_label, view.fit_label):  # all of it on screen: nothing elided
        assert "…" not in QLabel.text(label) and label.toolTip() == "", label.objectName()


# -- item 11: a run by the fixed recipe warns about unlike images as a planned one does -------------------------
def test_a_fixed_recipe_run_warns_about_an_image_unlike_its_training_data(qtbot, window, tmp_path):
    from segcore.data import io

    folder = tmp_path / "nuclei"
    write_sample_data(folder, count=6, size=96)
    big = np.tile(io.read_image(folder / "images" / "sample_000.png"), (6, 6, 1))  # 576 px: six times larger
    io.write_image(folder / "images" / "zz_whole_slide.png", big)  # no mask: not trained on
    assert window.open_folder(folder)
    done = train_here(qtbot, window, epochs=1, minutes=0)  # the fixed recipe: no plan, no planning fingerprint
    assert done.status == "completed"
    segment = window.jobs.prediction_panel
    assert window.jobs.prediction.predictor_path() == Path(done.best_path), (  # the run's model is current
        window.jobs.prediction_panel.status.text(), window.statusBar().message())
    assert list(window.jobs.prediction.predictor.fingerprint["max_size"]) == [96, 96]
    window.files.step(6)
    assert window.session.current_path().name == "zz_whole_slide.png"
    qtbot.waitUntil(segment.segment.isEnabled, timeout=TIMEOUT)
    click(qtbot, segment.segment)
    qtbot.waitUntil(lambda: "Unlike the training images" in segment.status.text(), timeout=TIMEOUT)
    assert "the image is 576x576 px; the training images were 96-96 px a side" in segment.status.text()


# -- item 9: window shortcuts work whatever has the focus; navigation never edits -------------------------------
def test_window_shortcuts_work_from_a_focused_spin_box_or_text_field(qtbot, window, folder, monkeypatch):
    asked = []
    monkeypatch.setattr("app.controllers.annotation_transfer.ask_export_target", lambda *a, **k: asked.append(a[1]))  # cancelled
    assert window.open_folder(folder)
    panel = window.jobs.training_panel
    budget, name = panel.form.minutes, panel.form.name
    for field in (budget, name):
        qtbot.mouseClick(field.lineEdit() if field is budget else field, Qt.MouseButton.LeftButton)
        assert field.hasFocus()
        start = window.session.index
        qtbot.keyClick(field, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)  # Next Image
        assert window.session.index == start + 1, field.objectName()
        qtbot.keyClick(field, Qt.Key.Key_PageUp)  # Previous Image; a spin box would have stepped by 10
        assert window.session.index == start and budget.value() == 10
        qtbot.keyClick(field, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)  # Export Annotations
        assert asked[-1].startswith("Export the mask of"), field.objectName()
        assert field.hasFocus()
    # Typing and text editing stay the field's.
    qtbot.keyClicks(name, "nuclei")
    qtbot.keyClick(name, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert name.text() == "nuclei" and name.selectedText() == "nuclei"
    qtbot.mouseClick(budget.lineEdit(), Qt.MouseButton.LeftButton)
    budget.selectAll()
    qtbot.keyClicks(budget, "25")
    assert budget.value() == 25


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (apt-get install xvfb): X11's key bindings")
def test_on_x11_ctrl_e_in_a_spin_box_exports(tmp_path):
    """On X11 a line edit takes Ctrl+E (end of line) for itself: the newcomer's Ctrl+E did nothing while a spin box
    had the focus. A real X server (Xvfb) and Qt's xcb platform, in a fresh process."""
    display = f":{90 + os.getpid() % 500}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1400x900x24"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    script = f"""
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
import app.controllers.annotation_transfer as transfer
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, {str(tmp_path)!r})
app = QApplication([])
from app.window import MainWindow
from segcore.data.sample import write_sample_data
write_sample_data({str(tmp_path / "data")!r}, count=2, size=64)
asked = []
transfer.ask_export_target = lambda *a, **k: asked.append(a[1])
w = MainWindow(autosave_ms=0)
w.show()
w.activateWindow()
QTest.qWaitForWindowActive(w)
w.open_folder({str(tmp_path / "data")!r})
spin = w.jobs.training_panel.form.batch
w.docks["trainingDock"].raise_()
spin.setFocus()
QTest.qWait(200)
QTest.keyClick(spin, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
QTest.keyClick(spin, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
print(spin.hasFocus(), len(asked), w.session.index, app.platformName())
"""
    try:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(REPO))
        for _ in range(50):  # the server needs a moment to listen
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
            if "could not connect to display" not in out.stderr:
                break
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split() == ["True", "1", "1", "xcb"], out.stdout
    finally:
        server.terminate()
        server.wait(10)


# -- item 10: exports are proposed outside the folder the window reads images from ------------------------------
def test_export_annotations_proposes_a_folder_that_is_never_read_as_images(qtbot, window, tmp_path, monkeypatch):
    from segcore.data import io

    plain = tmp_path / "plain"  # images straight in the folder: every image file in it is read as an image
    for i in range(3):
        io.write_image(plain / f"cells_{i}.png", np.full((40, 50), 40 * i, np.uint8))
    assert window.open_folder(plain)
    count = len(window.session.samples)
    proposed = []
    monkeypatch.setattr("app.controllers.annotation_transfer.ask_export_target", lambda _w, _t, start, name_for, *a, **k:
                        proposed.append(str(start / name_for("tiff"))) or (start / name_for("tiff"), "tiff"))
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert Path(proposed[-1]) == plain / "exports" / "cells_0.tif" and Path(proposed[-1]).is_file()
    chosen = []
    monkeypatch.setattr("app.controllers.annotation_transfer.ask_export_target", lambda _w, _t, start, *a, **k: chosen.append(str(start)))
    window.findChild(type(window.actions.save), "exportFolderAnnotationsAction").trigger()
    assert chosen == [str(plain / "exports")]
    assert window.open_folder(plain) and len(window.session.samples) == count  # the export is not an image


# -- item 12: a run is renamed from the run list -----------------------------------------------------------------
def test_a_run_is_renamed_from_the_run_list_and_keeps_the_name_when_continued(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QDialog

    folder = tmp_path / "nuclei"
    write_sample_data(folder, count=6, size=96)
    assert window.open_folder(folder)
    done = train_here(qtbot, window, epochs=1, name="first try")
    run = Path(done.out_dir)
    segment = window.jobs.prediction_panel
    assert window.jobs.prediction.predictor_path() == Path(done.best_path), (  # the run's model is current
        window.jobs.prediction_panel.status.text(), window.statusBar().message())
    click(qtbot, segment.rename_run)
    dialog = window.findChild(QDialog, "renameRunDialog")
    assert dialog.isVisible() and dialog.name.text() == "first try"
    qtbot.waitUntil(dialog.name.hasFocus)
    qtbot.keyClicks(dialog.name, "nuclei 20x, lr 3e-3")  # typed over the selected old name
    click(qtbot, dialog.rename_button)
    assert not dialog.isVisible()
    assert json.loads((run / "config.json").read_text())["name"] == "nuclei 20x, lr 3e-3"
    assert run.is_dir() and run.name.startswith("first-try-")  # the folder keeps its name
    assert segment.runs.itemText(1).startswith("● Loaded: nuclei 20x, lr 3e-3 ·")
    assert "nuclei 20x, lr 3e-3" in segment.model_label.text()
    panel = window.jobs.training_panel
    panel.form.set_values("unet", epochs=1, **TINY)
    with qtbot.waitSignal(window.jobs.training.finished, timeout=TIMEOUT):
        click(qtbot, panel.continue_button)
    assert json.loads((run / "config.json").read_text())["name"] == "nuclei 20x, lr 3e-3"


def test_renaming_refuses_an_empty_name_or_a_folder_that_is_not_a_run(tmp_path):
    from segcore.errors import DataError
    from segcore.training.records import rename_run

    (tmp_path / "config.json").write_text(json.dumps({"arch": "unet", "name": "old"}))
    assert rename_run(tmp_path, "  new\n name ") == "new name"
    assert json.loads((tmp_path / "config.json").read_text()) == {"arch": "unet", "name": "new name"}
    for folder, name, words in ((tmp_path, "   ", "cannot be empty"), (tmp_path / "nothing", "x", "not a training run"),
                                (tmp_path, "x" * 81, "at most 80 characters")):
        with pytest.raises(DataError, match=words):
            rename_run(folder, name)


# -- item 13: continuing a planned run ramps its rate up instead of jumping, then anneals over the added time ---
def test_continuing_a_planned_run_ramps_its_rate_and_anneals_over_the_added_time(qtbot, window, tmp_path):
    import csv

    folder = tmp_path / "nuclei"
    write_sample_data(folder, count=6, size=96)
    assert window.open_folder(folder)
    panel = window.jobs.training_panel
    first = train_here(qtbot, window, minutes=0.3, val_fraction=0.34, options="width=4")
    assert first.status == "completed", first.message
    ended = first.epochs_done
    panel.form.set_values("unet", "width=4", minutes=0.3)  # Continue: 18 s more by the run's plan
    with qtbot.waitSignal(window.jobs.training.finished, timeout=TIMEOUT) as done:
        click(qtbot, panel.continue_button)
    assert done.args[0].status == "completed" and done.args[0].epochs_done > ended
    with (Path(first.out_dir) / "metrics.csv").open() as f:
        rates = [float(row["lr"]) for row in csv.DictReader(f)]
    peak = max(rates[ended:])
    # up again from the annealed rate, below the first run's peak (rates[0] is a warm-up rate: about half of
    # the peak, as is where a doubled run stands, so comparing with it failed by chance)
    assert rates[ended - 1] < peak < max(rates[:ended]), (ended, rates)
    after = rates[rates.index(peak):]
    assert all(b <= a * 1.000001 for a, b in zip(after, after[1:], strict=False)), rates  # then annealing
    assert rates[-1] < 0.1 * peak, (ended, rates)  # to the end of the added time
    log = panel.log_view.toPlainText()
    assert "the rate rises from" in log and "(where the run stood)" in log
