"""Looking around never edits: the wheel zooms about the point under the cursor, Space + drag pans whatever widget
has the keyboard focus (issue #19, items 3 and 4)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from .conftest import drag, view_point

pytestmark = pytest.mark.gui


def wheel(widget, pos: QPointF, notches: float = 1) -> None:
    """The wheel turned at ``pos`` of ``widget`` (120 units a notch), through the window system as a real wheel."""
    top = widget.window()
    QTest.wheelEvent(top.windowHandle(), QPointF(widget.mapTo(top, pos.toPoint())) + (pos - pos.toPoint()),
                     QPoint(0, int(120 * notches)))


def image_point(canvas, pos: QPointF) -> QPointF:
    return canvas.viewportTransform().inverted()[0].map(pos)


def test_the_point_under_the_cursor_stays_put_while_the_wheel_zooms(qtbot, window, tmp_path):
    from .conftest import make_folder

    canvas = window.canvas
    viewport = canvas.viewport()
    size = (viewport.height() // 2, viewport.width() // 2)  # fitted, it fills the view both ways (zoom ~2)
    assert window.open_folder(make_folder(tmp_path, size=size))
    fitted = canvas.zoom()  # the first notch from here brings the scroll bars, which shrink the view
    # The mouse arrives at one place, then rests at another over a nucleus and the wheel turns there.
    qtbot.mouseMove(viewport, QPoint(40, 40))
    here = QPointF(viewport.width() * 0.7, viewport.height() * 0.6)
    qtbot.mouseMove(viewport, here.toPoint())
    under = image_point(canvas, here)
    for notches in (1, 1, 2, -1):
        wheel(viewport, here, notches)
        moved = canvas.viewportTransform().map(under) - here
        assert moved.manhattanLength() <= 1.0, (notches, moved)
    assert canvas.zoom() == pytest.approx(fitted * 1.25**3)


def test_zoom_keys_keep_the_centre_of_the_view(qtbot, window, tmp_path):
    from .conftest import make_folder

    assert window.open_folder(make_folder(tmp_path, size=(400, 500)))
    canvas = window.canvas
    canvas.set_zoom(2.0)
    centre = QPointF(canvas.viewport().rect().center())
    under = image_point(canvas, centre)
    qtbot.keyClick(canvas, Qt.Key.Key_Equal)  # View > Zoom In
    assert (canvas.viewportTransform().map(under) - centre).manhattanLength() <= 1.0


def test_space_drag_after_clicking_the_file_list_pans_and_never_paints(qtbot, window, folder):
    assert window.open_folder(folder)
    session, canvas, tree = window.session, window.canvas, window.files.tree
    canvas.set_zoom(8.0)
    before = session.mask.copy()
    rect = tree.visualItemRect(tree.topLevelItem(0))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert QApplication.focusWidget() is tree
    qtbot.mouseMove(canvas.viewport(), view_point(window, 30, 30))
    scroll = canvas.horizontalScrollBar().value()
    qtbot.keyPress(tree, Qt.Key.Key_Space)  # the key goes to the list, which has the focus
    drag(qtbot, window, [(30, 30), (26, 30), (22, 30), (18, 30)])
    qtbot.keyRelease(tree, Qt.Key.Key_Space)
    assert (session.mask == before).all() and not session.dirty
    assert tree.topLevelItem(0).text(1) == "annotated"
    assert canvas.horizontalScrollBar().value() != scroll  # it panned instead
    drag(qtbot, window, [(30, 40), (34, 40)])  # Space released: the brush paints again
    assert (session.mask != before).any()


def test_space_over_the_canvas_does_not_click_the_focused_button(qtbot, window, folder):
    assert window.open_folder(folder)
    panel = window.jobs.prediction_panel
    button = panel.load_button
    button.setFocus()
    clicked = []
    button.clicked.connect(lambda: clicked.append(1))
    qtbot.mouseMove(window.canvas.viewport(), view_point(window, 30, 30))
    qtbot.keyPress(button, Qt.Key.Key_Space)
    qtbot.keyRelease(button, Qt.Key.Key_Space)
    assert not clicked and not window.canvas.space.held


def test_space_is_typed_into_the_file_filter(qtbot, window, folder):
    assert window.open_folder(folder)
    edit = window.files.filter_edit
    edit.setFocus()
    qtbot.mouseMove(window.canvas.viewport(), view_point(window, 30, 30))
    qtbot.keyClicks(edit, "img 0")
    assert edit.text() == "img 0"


def test_space_goes_to_a_dialog_over_the_canvas(qtbot, window, folder):
    """A dialog's field typed into, or its focused button, while the mouse rests over the canvas behind it: the
    Rename… dialog lost the space of 'older, renamed' when the main window's list had the focus."""
    from PySide6.QtWidgets import QDialog, QLineEdit, QPushButton, QVBoxLayout

    assert window.open_folder(folder)
    dialog = QDialog(window)
    edit, button = QLineEdit(dialog), QPushButton("OK", dialog)
    layout = QVBoxLayout(dialog)
    layout.addWidget(edit)
    layout.addWidget(button)
    clicked = []
    button.clicked.connect(lambda: clicked.append(1))
    dialog.open()
    qtbot.waitExposed(dialog)
    qtbot.mouseMove(window.canvas.viewport(), view_point(window, 30, 30))
    button.setFocus()  # the keys below are sent to the field itself: whichever widget has the focus
    qtbot.keyClicks(edit, "older, renamed")
    assert edit.text() == "older, renamed"
    qtbot.keyPress(button, Qt.Key.Key_Space)
    qtbot.keyRelease(button, Qt.Key.Key_Space)
    assert clicked and not window.canvas.space.held
    dialog.reject()


def test_the_pixel_readout_belongs_to_the_image_on_screen(qtbot, window, folder):
    """After PgDown the status bar still described the last image's pixel (newcomer check)."""
    assert window.open_folder(folder)
    qtbot.mouseMove(window.canvas.viewport(), view_point(window, 50, 50))
    assert window.status_labels.position.text()  # the pixel under the cursor
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    assert window.status_labels.position.text() == ""  # the last image's pixel is not described on this one
