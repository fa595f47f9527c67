"""What a newcomer tripped over in the real window (issue #19 items 7-11) and the Segment/Compare parts of the
training plan (#13): each driven through the real widgets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QTextBrowser

from .conftest import drag, make_folder, wait_for_jobs
from .test_train_flow import TIMEOUT, SlowPredictor, click

pytestmark = pytest.mark.gui


def loaded(window, **attrs) -> SlowPredictor:
    predictor = SlowPredictor(pause=0)
    for key, value in attrs.items():
        setattr(predictor, key, value)
    window.jobs.prediction._on_loaded(predictor)
    return predictor


def segment(qtbot, window) -> None:
    prediction = window.jobs.prediction
    click(qtbot, window.jobs.prediction_panel.segment)
    qtbot.waitUntil(lambda: prediction.current_prediction() is not None and not prediction.busy(), timeout=TIMEOUT)


# -- item 7 and #13: Compare ------------------------------------------------------------------------------------
@pytest.fixture
def crf_changes_one_corner(monkeypatch):
    """The CRF (stood in for) flips a 12 x 16 patch near the top right: the region to show first."""
    import segcore.crf

    def refine(image, probs, params=None):
        mask = probs.argmax(0).astype(np.uint8)
        mask[8:20, 150:166] = 1 - mask[8:20, 150:166]
        return probs, mask

    monkeypatch.setattr(segcore.crf, "refine", refine)
    monkeypatch.setattr(segcore.crf, "is_available", lambda: True)


def test_compare_takes_the_image_place_zoomed_where_the_masks_differ(qtbot, window, tmp_path, crf_changes_one_corner):
    window.resize(1400, 900)
    window.reset_layout()
    assert window.open_folder(make_folder(tmp_path, size=(200, 240)))
    loaded(window, crf_fit={"helps": False, "params": None, "delta_dice": -0.004, "images": 2})
    segment(qtbot, window)
    click(qtbot, window.jobs.prediction_panel.crf)
    compare, view = window.jobs.compare, window.jobs.compare_view
    qtbot.waitUntil(lambda: compare.crf is not None and not compare.busy(), timeout=TIMEOUT)
    assert window.docking.is_shown(view) and not window.canvas.isVisible()  # in the image's place
    raw = view.raw_view
    assert raw.viewport().width() > 350 and raw.viewport().height() > 350  # was about 210 x 145
    shown = raw.mapToScene(raw.viewport().rect()).boundingRect()
    assert shown.width() < 120 and shown.contains(158, 14)  # zoomed in on the changed patch
    assert (view.crf_view.centre() - raw.centre()).manhattanLength() < 2
    assert view.crf_view.diff_layer.isVisible() and not raw.diff_layer.isVisible()  # the network's mask clean
    click(qtbot, view.diff_check)
    assert not view.crf_view.diff_layer.isVisible()
    assert view.fit_label.text() == "Settings: the defaults (the model's CRF fit kept none)."
    assert "On this model's 2 validation images the fitted CRF changed Dice by -0.004" in view.verdict_label.text()
    # Going back to the image is one click on its tab; View > Reset Layout also brings it back.
    window.findChild(QAction, "resetLayoutAction").trigger()
    assert window.canvas.isVisible()


def test_compare_draws_outlines_and_ctrl_0_fits_it(qtbot, window, tmp_path, crf_changes_one_corner):
    """On H&E-like RGB tissue a blue mask fill looked like the stain and Compare drew no outlines; it opened zoomed
    into a corner and Ctrl+0 fitted the hidden canvas instead."""
    from segcore.data import io

    window.resize(1400, 900)
    window.reset_layout()
    folder = make_folder(tmp_path, size=(200, 240))
    rng = np.random.default_rng(1)
    tissue = np.stack([rng.integers(200, 240, (200, 240)), rng.integers(150, 190, (200, 240)),
                       rng.integers(190, 230, (200, 240))], axis=-1).astype(np.uint8)  # pink eosin
    tissue[60:140, 130:220] = (90, 60, 150)  # purple-blue haematoxylin: nuclei where the network says "cell"
    io.write_image(folder / "images" / "img_0.png", tissue)
    assert window.open_folder(folder)
    loaded(window)
    segment(qtbot, window)
    click(qtbot, window.jobs.prediction_panel.crf)
    compare, view = window.jobs.compare, window.jobs.compare_view
    qtbot.waitUntil(lambda: compare.crf is not None and not compare.busy(), timeout=TIMEOUT)
    canvas_layer = window.jobs.prediction.layer
    for pane in (view.raw_view, view.crf_view):  # drawn as the image view draws a prediction
        assert pane.mask_layer.outline and pane.mask_layer.opacity() == canvas_layer.opacity()
    raw = view.raw_view

    def shown():
        return raw.mapToScene(raw.viewport().rect()).boundingRect()

    assert shown().width() < 120 and view.fit_button.isVisible()  # at the largest difference, a way back in sight
    qtbot.keyClick(raw, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: shown().contains(QRectF(0, 0, 240, 200)), timeout=2000)  # fitted: the whole image
    assert shown().width() < 300
    assert window.canvas.isVisible() is False  # it acted on Compare, not the hidden image view
    view.grab().save(str(tmp_path / "compare_outlines_fitted.png"))
    click(qtbot, view.focus_button)
    assert shown().width() < 120 and shown().contains(158, 14)
    click(qtbot, view.outline_check)
    assert not raw.mask_layer.outline and raw.mask_layer.opacity() < 0.5  # translucent fills on request
    click(qtbot, view.fit_button)
    qtbot.waitUntil(lambda: shown().contains(QRectF(0, 0, 240, 200)), timeout=2000)


def test_compare_refines_with_the_crf_fitted_to_the_model(qtbot, window, tmp_path, crf_changes_one_corner):
    from segcore.crf import CRFParams

    assert window.open_folder(make_folder(tmp_path))
    fitted = CRFParams(iterations=7, bilateral_compat=3.0, bilateral_sxy=20.0)
    loaded(window, crf_fit={"helps": True, "params": fitted.to_dict(), "delta_dice": 0.012, "images": 3})
    segment(qtbot, window)
    window.jobs.prediction.compare()
    compare, view = window.jobs.compare, window.jobs.compare_view
    qtbot.waitUntil(lambda: compare.crf is not None and not compare.busy(), timeout=TIMEOUT)
    assert compare.crf_params == fitted and view.params() == fitted
    assert view.fit_label.text() == "Settings: fitted to this model on its validation images."
    assert "On this model's 3 validation images the fitted CRF gained +0.012 Dice" in view.verdict_label.text()


def test_segment_follows_the_checkpoint_tta_with_a_toggle(qtbot, window, folder):
    assert window.open_folder(folder)
    reason = "8 flips/rotations averaged: about 0.4 s per median image here"
    predictor = loaded(window, tta=True, tta_reason=reason)
    check = window.jobs.prediction_panel.tta
    assert check.isChecked() and check.isEnabled() and reason in check.toolTip()
    click(qtbot, check)
    assert predictor.tta is False


# -- item 8: the model is remembered ---------------------------------------------------------------------------
def test_runs_are_listed_and_the_model_comes_back_after_a_restart(qtbot, window, tmp_path):
    import segcore
    from app.window import MainWindow

    folder = make_folder(tmp_path, count=4)
    runs = folder / "checkpoints"
    done = segcore.train(str(folder), epochs=1, batch_size=2, patch_size=32, val_fraction=0.34, name="nuclei 20x",
                         arch_kwargs={"width": 4, "depth": 2}, out=str(runs / "a"))
    assert done.status == "completed"
    stopped = runs / "b"
    stopped.mkdir()
    (stopped / "config.json").write_text(json.dumps({"arch": "unet", "arch_kwargs": {"width": 8}}))
    (stopped / "last.pt").write_bytes(b"x")
    (stopped / "status.json").write_text(json.dumps({"status": "stopped"}))
    assert window.open_folder(folder)
    combo = window.jobs.prediction_panel.runs
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert labels[0] == "2 runs of this folder…"
    finished = next(label for label in labels if label.startswith("nuclei 20x"))
    assert "unet width 4" in finished and "on 1 val image" in finished and finished.endswith("completed")
    assert next(label for label in labels if label.startswith("b ·")).endswith("stopped")
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        combo.activated.emit(labels.index(finished))  # picked from the list
    text = window.jobs.prediction_panel.model_label.text()
    assert "nuclei 20x" in text and "on 1 val image" in text and "rough estimate" in text
    window.close()

    again = MainWindow(autosave_ms=0)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        assert again.open_folder(folder)  # the model last used here loads by itself
    assert again.jobs.prediction.predictor.path == runs / "a" / "best.pt"
    assert again.jobs.training_panel.plots.curve_points()["val_dice"] == 1  # and its curves are back
    again.jobs.shutdown()


def test_what_stopping_keeps_is_said_as_it_is():
    from app.state.training_progress import TrainingProgress

    progress = TrainingProgress(10)
    assert progress.kept_on_stop() == "no epoch has finished yet, so nothing trained is kept"
    progress.epoch = 3
    assert progress.kept_on_stop() == "last.pt (epoch 2) is kept"
    progress.best_epoch = 2
    assert progress.kept_on_stop() == "best.pt (epoch 2) and last.pt (epoch 2) are kept"


# -- item 9: false confidence ----------------------------------------------------------------------------------
def test_an_image_unlike_the_training_data_is_flagged_and_filled_predictions_stay_see_through(qtbot, window,
                                                                                             folder):
    assert window.open_folder(folder)
    fingerprint = {"min_size": [64, 80], "max_size": [64, 80], "percentiles": [[0.0, 30.0, 255.0]],
                   "classes": [{"pixel_fraction": 0.9, "object_diameter": 0.0},
                               {"pixel_fraction": 0.08, "object_diameter": 20.0}]}
    loaded(window, fingerprint=fingerprint)
    segment(qtbot, window)  # the stand-in predicts the right half of every image as nucleus
    status = window.jobs.prediction_panel.status.text()
    assert "Unlike the training images: nucleus covers 50% of it, 8% of the training pixels" in status
    window.files.step(1)
    assert window.jobs.prediction_panel.status.text() == ""  # another image: its own messages only
    window.files.step(-1)
    assert "Unlike the training images" in window.jobs.prediction_panel.status.text()
    panel, layer = window.jobs.prediction_panel, window.jobs.prediction.layer
    assert layer.opacity() > 0.8 and layer.outline  # outlines: thin and bright
    click(qtbot, panel.outline)
    assert not layer.outline and layer.opacity() <= 0.5  # filled: the tissue shows through


# -- item 10: every message belongs to what is on screen -------------------------------------------------------
def test_messages_of_another_folder_or_image_go_away(qtbot, window, tmp_path):
    first, second = make_folder(tmp_path / "one"), make_folder(tmp_path / "two")
    assert window.open_folder(first)
    loaded(window)
    segment(qtbot, window)
    panel = window.jobs.prediction_panel
    assert panel.status.text().startswith("Segmented 1 of 1")
    assert window.open_folder(second)
    assert panel.status.text() == ""
    segment(qtbot, window)
    click(qtbot, panel.accept)  # the image had a mask: the question is answered Yes by the test fixture
    assert panel.status.text().startswith("Accepted")
    window.files.step(1)
    assert panel.status.text() == ""


def test_the_segment_panel_curves_and_compare_belong_to_the_folder_on_screen(qtbot, window, tmp_path):
    from pathlib import Path

    first, second = make_folder(tmp_path / "one"), make_folder(tmp_path / "two")
    assert window.open_folder(first)
    loaded(window, path=Path(first / "checkpoints" / "run" / "best.pt"))
    rows = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.4, "val_dice": 0.9, "val_iou": 0.8}]
    window.jobs.training.show_history("run", rows, ["background", "nucleus"], 2)
    plots, panel = window.jobs.training_panel.plots, window.jobs.prediction_panel
    assert "2 images" in plots.dice_plot.getPlotItem().titleLabel.text
    progress = window.jobs.training_panel.progress
    assert progress.format() == "Earlier run run: 1 epoch (its curves below)"  # not "Not started" over its curves
    assert "From another folder" not in panel.model_label.text()  # its own folder's model
    segment(qtbot, window)
    assert panel.crf.isEnabled()
    assert window.open_folder(second)
    assert "2 images" not in plots.dice_plot.getPlotItem().titleLabel.text and progress.format() == "Not started"
    assert plots.dice_plot.getAxis("left").labelText != "nucleus"
    label = panel.model_label
    assert label.text().startswith("<b style='color:#d55e00'>From another folder: one/data_folder")  # said first
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))  # and never clipped
    assert panel.segment.isEnabled() and not panel.crf.isEnabled()  # no prediction on screen: nothing to refine
    window.jobs.prediction.compare()  # and nothing runs when asked anyway (a shortcut, a stale signal)
    assert not window.jobs.prediction.busy() and window.jobs.compare.request is None
    segment(qtbot, window)
    assert panel.crf.isEnabled()
    assert "validation images, not on this one's" in panel.model_label.toolTip()
    window.jobs.prediction_panel.grab().save(str(tmp_path / "segment_panel_other_folder.png"))


def test_a_failed_run_does_not_say_it_is_still_loading(qtbot, window, tmp_path):
    folder = make_folder(tmp_path, masks=False)  # nothing to train on: the worker raises
    assert window.open_folder(folder)
    jobs = window.jobs
    jobs.training_panel.form.set_values("unet", minutes=0, epochs=1)
    click(qtbot, jobs.training_panel.train_button)
    wait_for_jobs(qtbot, jobs)
    qtbot.waitUntil(lambda: jobs.training_panel.progress.format().startswith("Failed"))
    assert window.windowTitle().endswith(" — training failed")
    qtbot.wait(300)  # a late progress repaint must not bring "loading data and model" back
    assert "loading" not in jobs.training_panel.progress.format()


def test_undoing_the_only_edit_leaves_the_image_annotated(qtbot, window, folder):
    assert window.open_folder(folder)
    window.canvas.setFocus()
    drag(qtbot, window, [(40.5, 45.5), (60.5, 45.5)])
    tree = window.files.tree
    assert tree.topLevelItem(0).text(1) == "modified" and window.windowTitle().endswith("*")
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert tree.topLevelItem(0).text(1) == "annotated" and not window.windowTitle().endswith("*")
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # saved with the stroke
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert tree.topLevelItem(0).text(1) == "modified"  # now the file has the stroke: undoing changes it


# -- item 11: help ---------------------------------------------------------------------------------------------
def test_the_brush_panel_explains_the_active_tool(qtbot, window, folder):
    assert window.open_folder(folder)
    hint = window.brush.hint
    for key, words in ((Qt.Key.Key_P, "Polygon (P)"), (Qt.Key.Key_F, "Fill (F)"), (Qt.Key.Key_E, "Eraser (E)"),
                       (Qt.Key.Key_U, "Unlabelled (U)"), (Qt.Key.Key_B, "Brush (B)")):
        qtbot.keyClick(window.canvas, key)
        assert hint.text().startswith(words) and "Space" in hint.text(), (words, hint.text())
        assert ("double-click" in hint.text()) == (words == "Polygon (P)")


def test_f1_opens_the_quick_start_with_every_shortcut(qtbot, window):
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_F1)
    dialog = window.findChild(QDialog, "quickStartDialog")
    assert dialog is not None and dialog.isVisible()
    text = dialog.findChild(QTextBrowser, "quickStartText").toPlainText()
    for words in ("1. Annotate", "2. Train", "3. Segment", "4. Annotate faster: the Assist tab", "Propose mask",
                  "time budget", "Undo", "Ctrl+Z", "Next Image", "Next Most Uncertain", "Reset Layout", "Space + drag"):
        assert words in text, words
