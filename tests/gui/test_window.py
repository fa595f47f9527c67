"""The main window driven with real clicks and keys: open, paint, undo/redo, fill, switch, reopen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QSlider, QTreeWidget, QWidget

from app.state import settings
from segcore.data import io, layout

from .conftest import click_action, drag, make_folder, new_window, view_point

pytestmark = pytest.mark.gui


def open_with_button(qtbot, window, folder, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    click_action(qtbot, window, "openFolderAction")
    assert window.session.folder == folder.resolve()


def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window.canvas, k, modifier)


def test_stable_object_names_exist(window):
    for name in ("openFolderAction", "undoAction", "redoAction", "brushTool", "eraserTool", "fillTool",
                 "polygonTool"):
        assert window.findChild(QAction, name) is not None, name
    assert window.findChild(QTreeWidget, "fileList") is not None
    assert window.findChild(QSlider, "opacitySlider") is not None
    for name in ("canvas", "classPalette"):
        assert window.findChild(QWidget, name) is not None, name


def test_open_paint_undo_redo_switch_and_reopen(qtbot, window, folder, monkeypatch):
    open_with_button(qtbot, window, folder, monkeypatch)
    tree = window.files.tree
    assert tree.topLevelItemCount() == 3
    assert [tree.topLevelItem(i).text(1) for i in range(3)] == ["annotated", "annotated", "no mask"]
    session = window.session
    original = session.mask.copy()
    window.brush.spin.setValue(6)
    window.canvas.setFocus()
    drag(qtbot, window, [(40.5, 45.5), (50.5, 45.5), (70.5, 45.5)])
    painted = session.mask.copy()
    assert (painted[45, 40:71] == 1).all() and painted[45, 20] == 0 and painted[38, 50] == 0
    assert tree.topLevelItem(0).text(1) == "modified"
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (session.mask == original).all()
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert (session.mask == painted).all()
    # Fill the background around the square with the class, by key F and a click.
    key(qtbot, window, Qt.Key.Key_F)
    assert window.findChild(QAction, "fillTool").isChecked()
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window, 2.5, 60.5))
    filled = session.mask.copy()
    assert filled.all()  # every pixel is now class 1 (square, stroke and background are connected)
    # Move on (PgDown): the mask is saved; come back: undo history survives.
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert session.index == 1
    spec = session.spec
    assert (io.read_mask(folder / "masks" / "img_0.png", spec) == filled).all()
    assert tree.topLevelItem(0).text(1) == "annotated"
    key(qtbot, window, Qt.Key.Key_PageUp)
    assert session.index == 0 and (session.mask == filled).all()
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (session.mask == painted).all()
    assert window.findChild(QAction, "redoAction").isEnabled()
    window.close()  # saves (the question is answered "Save")
    assert (io.read_mask(folder / "masks" / "img_0.png", spec) == painted).all()

    from app.window import MainWindow

    again = MainWindow(autosave_ms=0)
    qtbot.addWidget(again)
    assert again.open_folder(folder)
    assert (again.session.mask == painted).all()


def test_a_folder_reopens_at_the_image_it_was_left_at(qtbot, window, folder):
    assert window.open_folder(folder)
    window.canvas.setFocus()
    key(qtbot, window, Qt.Key.Key_PageDown)
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.index == 2
    window.close()
    again = new_window(qtbot)  # a restart
    assert again.open_folder(folder)
    assert again.session.index == 2 and again.files.tree.currentItem() is again.files.tree.topLevelItem(2)
    again.close()
    (folder / "images" / "img_2.png").unlink()  # the image it was left at is gone: the first one shows
    third = new_window(qtbot)
    assert third.open_folder(folder) and third.session.index == 0


def test_new_mask_for_image_without_one_goes_to_masks_folder(qtbot, window, folder):
    window.open_folder(folder)
    window.files.set_current(2)
    window.session.select(2)
    assert (window.session.mask == 255).all()  # a new mask: unlabelled until the folder's answer says otherwise
    window.canvas.setFocus()
    drag(qtbot, window, [(5.5, 5.5), (15.5, 5.5)])
    key(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    target = folder / "masks" / "img_2.png"
    assert target.exists() and window.files.tree.topLevelItem(2).text(1) == "strokes"
    assert io.read_mask(target, window.session.spec)[5, 10] == 1
    samples = layout.find_samples(folder)
    assert samples[2].mask == target


def test_eraser_unlabelled_polygon_and_class_keys(qtbot, window, folder):
    window.open_folder(folder)
    session, canvas = window.session, window.canvas
    canvas.setFocus()
    window.brush.spin.setValue(4)
    key(qtbot, window, Qt.Key.Key_E)
    drag(qtbot, window, [(20.5, 20.5), (20.5, 20.5)])
    assert session.mask[20, 20] == 0 and session.mask[12, 12] == 1
    key(qtbot, window, Qt.Key.Key_U)
    drag(qtbot, window, [(50.5, 50.5)])
    assert session.mask[50, 50] == 255
    assert window.view_panel.background.isChecked() is False  # the user decides; checkbox untouched
    key(qtbot, window, Qt.Key.Key_P)
    key(qtbot, window, Qt.Key.Key_1)
    viewport = canvas.viewport()
    for x, y in [(40, 2), (60, 2), (60, 8)]:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, x, y))
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, 40, 8))
    assert session.mask[5, 45:58].all() and session.mask[0, 50] == 0 and session.mask[9, 50] == 0


def test_data_val_layout_filter_and_keyboard(qtbot, window, tmp_path):
    from app.window import MainWindow

    assert isinstance(window, MainWindow)
    root = tmp_path / "orig"
    for split in ("data", "val"):
        for i in range(2):
            io.write_image(root / split / f"{split}{i}.png", np.full((20, 20), 100 + i, np.uint8))
    assert window.open_folder(root)
    tree = window.files.tree
    assert tree.topLevelItemCount() == 4 and "(val)" in tree.topLevelItem(3).text(0)
    window.files.filter_edit.setText("val")
    assert [tree.topLevelItem(i).isHidden() for i in range(4)] == [True, True, False, False]
    tree.setFocus()
    tree.setCurrentItem(tree.topLevelItem(2))
    assert window.session.index == 2
    qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert window.session.index == 3
    assert "2 shown" in window.files.summary.text()


def test_recent_and_last_folder_in_settings(qtbot, window, folder, tmp_path):
    other = make_folder(tmp_path / "b")
    window.open_folder(folder)
    window.open_folder(other)
    assert settings.last_folder() == other.resolve()
    assert settings.recent_folders()[:2] == [other.resolve(), folder.resolve()]
    assert [a.text() for a in window.menus.recent.actions()][:2] == [str(other.resolve()), str(folder.resolve())]
    window.menus.recent.actions()[1].trigger()
    assert window.session.folder == folder.resolve()


def test_overlay_controls_and_status_bar(qtbot, window, folder):
    window.open_folder(folder)
    slider = window.findChild(QSlider, "opacitySlider")
    slider.setValue(80)
    assert window.canvas.mask_layer.opacity() == pytest.approx(0.8)
    key(qtbot, window, Qt.Key.Key_M)
    assert not window.canvas.mask_layer.isVisible()
    key(qtbot, window, Qt.Key.Key_O)
    assert window.canvas.mask_layer.outline
    qtbot.mouseMove(window.canvas.viewport(), view_point(window, 15.5, 12.5))
    pixel = window.status_labels.position.text()
    assert "x 15  y 12" in pixel and "class: cell" in pixel and "value 200" in pixel
    zoom = window.canvas.zoom()
    qtbot.keyClick(window.canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.zoom() == 1.0 != zoom


def test_class_palette_add_rename_recolor_saved_with_folder(qtbot, window, folder):
    from PySide6.QtGui import QColor

    window.open_folder(folder)
    palette = window.palette_panel
    palette.add("mitochondria")
    assert window.session.spec.names == ["background", "cell", "mitochondria"]
    assert window.editor.class_index == 2
    palette.rename("mito")
    palette.recolor(QColor(10, 20, 30))
    saved = window.session.spec.load(folder)
    assert saved.names[2] == "mito" and saved.colors[2] == (10, 20, 30) and saved.values[2] not in (0, 255)
    window.canvas.setFocus()
    drag(qtbot, window, [(60.5, 50.5)])
    assert window.session.mask[50, 60] == 2
    assert window.session.save()
    assert io.read_mask(folder / "masks" / "img_0.png", saved)[50, 60] == 2


def test_sixteen_bit_image_is_stretched_and_adjustable(qtbot, window, tmp_path):
    folder = tmp_path / "u16"
    image = np.linspace(1000, 5000, 64 * 64).reshape(64, 64).astype(np.uint16)
    io.write_image(folder / "images" / "a.tif", image)
    window.open_folder(folder)
    rgb = window.canvas.image_item.pixmap().toImage()
    assert rgb.pixelColor(0, 0).red() < 10 and rgb.pixelColor(63, 63).red() > 245
    lo, mid_value = np.percentile(image, [0.5, 50.0])
    assert "uint16" in window.display.limits.text() and f"{lo:.4g}" in window.display.limits.text()
    window.display.high.setValue(50.0)
    assert f"{mid_value:.4g}" in window.display.limits.text()
    mid = window.canvas.image_item.pixmap().toImage().pixelColor(40, 40).red()
    assert mid == 255  # above the 50th percentile is white now, and the panel says so


def test_unreadable_image_and_wrong_size_mask_are_reported(qtbot, window, folder):
    (folder / "images" / "img_1.png").write_bytes(b"not a png")
    io.write_mask(folder / "masks" / "img_0.png", np.zeros((5, 5), np.uint8), window.session.spec)
    window.open_folder(folder)
    assert "5x5" in window.statusBar().message()
    drag(qtbot, window, [(5.5, 5.5)])
    assert not (window.session.mask == 1).any() and not window.session.dirty  # editing refused, file untouched
    window.session.select(1)
    assert "img_1.png" in window.statusBar().message()
    window.session.select(2)
    assert window.session.image is not None


def test_failed_save_keeps_the_mask_and_asks_before_closing(qtbot, window, tmp_path, isolated_settings,
                                                            monkeypatch):
    folder = make_folder(tmp_path, masks=False)
    (folder / "masks").write_text("a file where the masks folder should be")  # every save fails
    window.open_folder(folder)
    window.canvas.setFocus()
    drag(qtbot, window, [(5.5, 5.5), (9.5, 5.5)])
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.index == 1
    assert window.files.tree.topLevelItem(0).text(1) == "modified"
    assert any("not saved" in str(args) for args in isolated_settings)
    key(qtbot, window, Qt.Key.Key_PageUp)
    assert window.session.mask[5, 7] == 1  # the edit came back from memory
    assert window.session.unsaved_count() == 1
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    window.close()
    assert window.isVisible()
    (folder / "masks").unlink()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    window.close()
    assert not window.isVisible() and (folder / "masks" / "img_0.png").exists()


def _drop(window, path):
    from PySide6.QtCore import QMimeData, QUrl

    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])

    class Drop:
        def mimeData(self):
            return data

    window.dropEvent(Drop())


def test_drop_folder_or_image_opens_it(qtbot, window, folder):
    _drop(window, folder)
    assert window.session.folder == folder.resolve() and window.session.index == 0
    _drop(window, folder / "images" / "img_2.png")  # an image: its folder, at that image
    assert window.session.folder == folder.resolve() and window.session.index == 2
    assert window.files.tree.currentItem().text(0) == "img_2.png"


def test_sparse_start_unlabelled_mask_round_trips(qtbot, window, folder):
    window.open_folder(folder)
    window.session.select(2)
    window.findChild(QAction, "clearUnlabelledAction").trigger()
    assert (window.session.mask == 255).all() and window.view_panel.background.isChecked()
    window.canvas.setFocus()
    drag(qtbot, window, [(20.5, 20.5)])
    key(qtbot, window, Qt.Key.Key_E)
    drag(qtbot, window, [(50.5, 50.5)])
    assert window.session.save()
    spec = window.session.spec.load(folder)
    assert spec.unlabelled is not None  # the folder says which file value means unlabelled
    saved = io.read_mask(folder / "masks" / "img_2.png", spec)
    assert saved[20, 20] == 1 and saved[50, 50] == 0 and saved[0, 0] == 255
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (window.session.mask == 255).all()  # back to the empty new mask


def test_autosave_writes_the_mask_without_any_action(qtbot, tmp_path):
    from app.window import MainWindow

    folder = make_folder(tmp_path)
    win = MainWindow(autosave_ms=100)
    qtbot.addWidget(win)
    win.show()
    win.open_folder(folder)
    drag(qtbot, win, [(60.5, 50.5)])
    assert win.session.dirty
    qtbot.waitUntil(lambda: not win.session.dirty, timeout=3000)
    assert io.read_mask(folder / "masks" / "img_0.png", win.session.spec)[50, 60] == 1


def test_accepted_prediction_is_one_undoable_step_shown_as_predicted(qtbot, window, folder):
    window.open_folder(folder)
    before = window.session.mask.copy()
    prediction = np.zeros_like(before)
    prediction[40:60, 40:70] = 1
    window.session.accept_mask(prediction)
    assert window.files.tree.topLevelItem(0).text(1) == "predicted"  # at once, saved or not (#17 second look)
    assert window.session.save()
    assert window.files.tree.topLevelItem(0).text(1) == "predicted"
    assert (window.canvas.mask_layer._rgba[50, 50, 3] > 0) and window.canvas.mask_layer._rgba[20, 20, 3] == 0
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (window.session.mask == before).all()
    assert window.files.tree.topLevelItem(0).text(1) == "modified"


def test_autosave_tick_during_a_stroke_does_not_cut_it(qtbot, window, folder):
    window.open_folder(folder)
    viewport = window.canvas.viewport()
    window.brush.spin.setValue(3)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, 40.5, 50.5))
    qtbot.mouseMove(viewport, view_point(window, 50.5, 50.5))
    window.session.autosave.timeout.emit()  # the timer fires mid-stroke
    qtbot.mouseMove(viewport, view_point(window, 70.5, 50.5))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, 70.5, 50.5))
    assert window.session.mask[50, 40:71].all()
    window.session.autosave.timeout.emit()
    assert not window.session.dirty
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not window.session.mask[50, 40:71].any()  # one stroke, one undo step


def test_window_layout_brush_and_opacity_are_remembered(qtbot, window):
    from app.window import MainWindow

    window.brush.spin.setValue(33)
    window.view_panel.opacity.setValue(70)
    window.docks["segmentDock"].hide()
    window.close()
    again = MainWindow(autosave_ms=0)
    qtbot.addWidget(again)
    again.show()
    assert again.brush.size() == 33 and again.canvas.brush_size == 33
    assert again.canvas.mask_layer.opacity() == pytest.approx(0.7)
    assert not again.docks["segmentDock"].isVisible() and again.docks["classesDock"].isVisible()


def test_opening_another_folder_with_unsaveable_masks_asks(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    folder = make_folder(tmp_path, masks=False)
    (folder / "masks").write_text("not a folder")  # saves fail
    other = make_folder(tmp_path / "other")
    window.open_folder(folder)
    drag(qtbot, window, [(5.5, 5.5)])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert not window.open_folder(other)
    assert window.session.folder == folder.resolve() and window.session.mask[5, 5] == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert window.open_folder(other)
    assert window.session.folder == other.resolve()
