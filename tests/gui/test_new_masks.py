"""A first stroke on an image without a mask asks, once per folder, whether what is not painted is background (a
full mask) or unlabelled (strokes only). Newcomer checks #5 and #6: one stroke silently made a full mask whose
every other pixel trained (and was scored, Dice 0.005) as background; a status-line hint was cut off and gone in
seconds. Driven with the mouse on the canvas, the notice's buttons and the keyboard."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from segcore.annotate import IGNORE_INDEX, ImageState
from segcore.data import io

from .conftest import drag, make_folder, new_window

pytestmark = pytest.mark.gui


@pytest.fixture
def two_new(tmp_path):
    """img_0 and img_1 annotated, img_2 and img_3 without a mask."""
    folder = make_folder(tmp_path, count=4)
    (folder / "masks" / "img_2.png").unlink()
    return folder


def _go_to(qtbot, window, index: int) -> None:
    for _ in range(index - window.session.index):
        qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    assert window.session.index == index


def _notice(window):
    notice = window.canvas.findChild(type(window.new_masks.notice), "newMaskNotice")
    assert notice is not None
    return notice


def test_strokes_only_keeps_every_stroke_and_the_folder_s_new_masks_start_unlabelled(qtbot, window, two_new):
    assert window.open_folder(two_new)
    notice = _notice(window)
    drag(qtbot, window, [(40, 40), (44, 40)])  # img_0 has a mask: nothing to ask
    assert not notice.isVisible()
    _go_to(qtbot, window, 2)
    assert (window.session.mask == IGNORE_INDEX).all()  # undecided: nothing is made up
    qtbot.keyClick(window.canvas, Qt.Key.Key_0)  # a background-class stroke first (newcomer check #7: it was lost)
    drag(qtbot, window, [(20, 50), (30, 50)])
    assert notice.isVisible() and "img_2.png" in notice.text.text()
    qtbot.mouseClick(notice.findChild(QPushButton, "newMaskStrokesButton"), Qt.MouseButton.LeftButton)
    assert not notice.isVisible()
    assert window.focusWidget() is window.canvas  # keys go on painting (a "1" went into the file filter)
    qtbot.keyClick(window.canvas, Qt.Key.Key_1)
    assert window.editor.class_index == 1 and window.files.filter_edit.text() == ""
    drag(qtbot, window, [(40, 40), (50, 40)])
    mask = window.session.mask
    assert set(np.unique(mask)) == {0, 1, IGNORE_INDEX} and (mask != IGNORE_INDEX).sum() < 400  # the strokes
    qtbot.keyClick(window.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    on_disk = io.read_mask(two_new / "masks" / "img_2.png", window.session.spec)
    assert (on_disk == mask).all() and window.session.state(2) is ImageState.STROKES

    _go_to(qtbot, window, 3)  # the next new mask starts unlabelled, and nothing is asked
    assert (window.session.mask == IGNORE_INDEX).all()
    drag(qtbot, window, [(40, 40), (50, 40)])
    assert not notice.isVisible() and set(np.unique(window.session.mask)) == {1, IGNORE_INDEX}
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # img_3 has no mask again

    again = new_window(qtbot)  # remembered for the folder
    assert again.open_folder(two_new) and again.session.index == 3  # where the folder was left
    assert again.session.state(3) is ImageState.NO_MASK and (again.session.mask == IGNORE_INDEX).all()


def test_rest_is_background_fills_what_was_not_painted_and_the_folder_s_new_masks_start_as_background(
        qtbot, window, two_new):
    assert window.open_folder(two_new)
    notice = _notice(window)
    _go_to(qtbot, window, 2)
    drag(qtbot, window, [(40, 40), (50, 40)])
    strokes = window.session.mask != IGNORE_INDEX
    qtbot.mouseClick(notice.findChild(QPushButton, "newMaskBackgroundButton"), Qt.MouseButton.LeftButton)
    mask = window.session.mask
    assert not notice.isVisible() and (mask[strokes] == 1).all() and (mask[~strokes] == 0).all()
    assert "background" in window.statusBar().message()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undoable step
    assert (window.session.mask[~strokes] == IGNORE_INDEX).all()
    _go_to(qtbot, window, 3)
    assert (window.session.mask == 0).all()
    drag(qtbot, window, [(40, 40), (50, 40)])
    assert not notice.isVisible()


def test_the_question_goes_with_its_image_and_comes_back_at_the_next_new_mask(qtbot, window, two_new):
    assert window.open_folder(two_new)
    notice = _notice(window)
    _go_to(qtbot, window, 2)
    drag(qtbot, window, [(40, 40), (50, 40)])
    assert notice.isVisible()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undone: still a question
    _go_to(qtbot, window, 3)  # unanswered: it was about img_2
    assert not notice.isVisible()
    drag(qtbot, window, [(40, 40), (50, 40)])
    assert notice.isVisible() and "img_3.png" in notice.text.text()
