"""Issue #19: Export Annotations asks for the format and the file in one save dialog (its file-type filter), for
one image (Ctrl+E) and for all images; formats that are folders (OME-Zarr, a folder of exports) are chosen by
name, not opened. Driven with keys in Qt's own file dialog."""

from __future__ import annotations

from pathlib import Path

import roifile
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

from .conftest import make_folder


def _in_dialog(qtbot, act, answer) -> list:
    """Run ``act`` (which opens the modal export dialog) and ``answer(dialog, name field, type combo)`` in it;
    what ``answer`` returned."""
    seen = []

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, poll)
            return
        if dialog.objectName() != "exportTargetDialog":  # e.g. a format asked first, in a dialog of its own
            seen.append(f"another dialog first: {dialog.windowTitle()}")
            dialog.reject()
            return
        seen.append(answer(dialog, dialog.findChild(QLineEdit, "fileNameEdit"),
                           dialog.findChild(QComboBox, "fileTypeCombo")))
        if dialog.isVisible():
            qtbot.keyClick(dialog.findChild(QLineEdit, "fileNameEdit"), Qt.Key.Key_Return)

    QTimer.singleShot(0, poll)
    act()
    assert seen, "no export dialog opened"
    return seen


def _pick(qtbot, combo: QComboBox, starts: str) -> None:
    """Walk the file-type list with the arrow keys to the filter starting with ``starts``."""
    target = next(i for i in range(combo.count()) if combo.itemText(i).startswith(starts))
    combo.setFocus()
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != target:
        qtbot.keyClick(combo, key)


def test_export_picks_format_and_file_in_one_dialog(qtbot, window, tmp_path):
    folder = make_folder(tmp_path, count=3)
    assert window.open_folder(folder)
    exports = folder / "exports"

    def ctrl_e() -> None:
        window.activateWindow()  # back from the last dialog
        qtbot.waitUntil(window.isActiveWindow)
        window.canvas.setFocus()
        qtbot.keyClick(window.canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)

    def roi(dialog, name, combo):
        proposed = name.text()
        _pick(qtbot, combo, "ImageJ")
        return proposed, name.text(), [combo.itemText(i) for i in range(combo.count())]

    (proposed, renamed, filters), = _in_dialog(qtbot, ctrl_e, roi)
    assert proposed == "img_0.geojson" and renamed == "img_0.zip"  # the name follows the file type
    assert filters[0] == "QuPath GeoJSON (*.geojson)" and any(f.startswith("OME-Zarr") for f in filters)
    assert [r.name for r in roifile.roiread(exports / "img_0.zip")] == ["cell-0001"]

    def zarr(dialog, name, combo):
        _pick(qtbot, combo, "OME-Zarr")
        return name.text()

    assert _in_dialog(qtbot, ctrl_e, zarr) == ["img_0.zarr"]
    store = exports / "img_0.zarr"
    assert store.is_dir() and "exported" in window.statusBar().currentMessage()
    window.statusBar().clearMessage()
    # Again into the store that now exists: Save (Return) chooses it, as a file would be, instead of opening it.
    dialogs = _in_dialog(qtbot, ctrl_e, lambda dialog, name, combo: (_pick(qtbot, combo, "OME-Zarr"), dialog)[1])
    assert not dialogs[0].isVisible() and Path(dialogs[0].directory().absolutePath()) == exports
    assert window.statusBar().currentMessage().startswith("exported")

    def typed(dialog, name, combo):  # a name typed without extension gets the chosen format's
        _pick(qtbot, combo, "Label TIFF")
        name.selectAll()
        qtbot.keyClicks(name, "mine")

    _in_dialog(qtbot, ctrl_e, typed)
    assert (exports / "mine.tif").is_file()

    cancelled = _in_dialog(qtbot, ctrl_e, lambda dialog, name, combo: dialog.reject())
    assert cancelled == [None] and sorted(p.name for p in exports.iterdir()) == ["img_0.zarr", "img_0.zip", "mine.tif"]


def test_export_all_picks_format_and_folder_in_one_dialog(qtbot, window, tmp_path):
    folder = make_folder(tmp_path, count=3)
    assert window.open_folder(folder)
    action = window.findChild(QAction, "exportFolderAnnotationsAction")
    exports = folder / "exports"
    for _ in range(2):  # a new folder, then the same folder again: chosen by name, not opened
        def tiff(dialog, name, combo):
            _pick(qtbot, combo, "Label TIFF")
            return name.text(), combo.currentText()

        answer = _in_dialog(qtbot, action.trigger, tiff)
        assert answer == [("data_folder_tiff", "Label TIFF, 16/32-bit, one per image (folder)")]
        qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("exported 2"), timeout=30_000)
        assert sorted(p.name for p in (exports / "data_folder_tiff").iterdir()) == ["img_0.tif", "img_1.tif"]
        window.statusBar().clearMessage()
