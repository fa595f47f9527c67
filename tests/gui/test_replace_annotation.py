"""A prediction never replaces a hand-made annotation without asking, and the replaced one stays recoverable
beyond undo (issue #19 item 5)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QCheckBox, QMessageBox

from segcore.data import io

from .conftest import REAL_EXEC

pytestmark = pytest.mark.gui


def answer(qtbot, button: QMessageBox.StandardButton, never: bool = False) -> list[str]:
    """Answer the next question box with real clicks (and tick "don't ask again"); returns its text."""
    seen = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        if never:
            qtbot.mouseClick(box.findChild(QCheckBox, "replaceNoAskCheck"), Qt.MouseButton.LeftButton)
        qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, click)
    return seen


def offer_prediction(window, mask: np.ndarray) -> None:
    prediction = window.jobs.prediction
    prediction.store.put(window.session.current_path(), mask)
    prediction.show_current()


def test_accepting_over_a_hand_made_mask_asks_keeps_it_and_can_restore_it(qtbot, window, folder, monkeypatch):
    monkeypatch.setattr(QMessageBox, "exec", REAL_EXEC)
    assert window.open_folder(folder)
    session, panel = window.session, window.jobs.prediction_panel
    original = session.mask.copy()
    predicted = np.zeros_like(original)
    predicted[40:60, 40:70] = 1
    offer_prediction(window, predicted)
    seen = answer(qtbot, QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(panel.accept, Qt.MouseButton.LeftButton)
    assert seen and "hand-made annotation" in seen[0]
    assert (session.mask == original).all() and not session.dirty  # cancelled: nothing changed

    answer(qtbot, QMessageBox.StandardButton.Yes, never=True)
    qtbot.mouseClick(panel.accept, Qt.MouseButton.LeftButton)
    assert (session.mask == predicted).all()
    kept = folder / ".segstudio" / "replaced" / "images__img_0.png"
    assert kept.is_file() and (io.read_mask(kept, session.spec) == original).all()
    assert session.save() and (io.read_mask(folder / "masks" / "img_0.png", session.spec) == predicted).all()
    assert "kept" in window.statusBar().message() or kept.is_file()

    restore = window.findChild(QAction, "restoreReplacedAction")
    assert restore.isEnabled()
    restore.trigger()  # Edit > Restore Replaced Annotation, after the replacement was saved
    assert (session.mask == original).all() and session.dirty

    offer_prediction(window, predicted)  # "don't ask again for this folder" was ticked: no question now
    qtbot.mouseClick(panel.accept, Qt.MouseButton.LeftButton)
    assert (session.mask == predicted).all()


def test_an_image_without_annotation_takes_the_prediction_without_a_question(qtbot, window, folder,
                                                                              isolated_settings):
    assert window.open_folder(folder)
    window.files.step(2)  # the last image has no mask
    assert window.session.index == 2 and not window.session.hand_made()
    predicted = np.zeros_like(window.session.mask)
    predicted[5:9, 5:9] = 1
    offer_prediction(window, predicted)
    qtbot.mouseClick(window.jobs.prediction_panel.accept, Qt.MouseButton.LeftButton)
    assert (window.session.mask == predicted).all()
    assert not isolated_settings and not (folder / ".segstudio").exists()
