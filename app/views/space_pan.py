"""Space held anywhere in the application: a left drag on the canvas then pans and never paints.

Key events go to the widget with the keyboard focus, so a canvas that watched only its own keys missed a Space
pressed after a click in the file list, and the drag that followed painted a stroke. This filter sees every key
event of the application. It only reads the Space key, except that it keeps Space from a focused button or list
while the mouse is over the canvas (there Space means "pan", not "click this button"); text fields always get
their spaces, and so does every other window (a dialog over the canvas: its buttons and fields keep Space).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QCursor, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

_KEYS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
_TEXT_INPUTS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)


def _typing_into(widget: QWidget | None) -> bool:
    """Whether ``widget`` (the focus widget) takes spaces as text."""
    if widget is None:
        return False
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, _TEXT_INPUTS)


class SpacePan(QObject):
    """``held`` while Space is down; ``on_change(held)`` when that changes. ``area`` is the canvas's viewport."""

    def __init__(self, area: QWidget, on_change: Callable[[bool], None]) -> None:
        super().__init__(area)
        self.area = area
        self.on_change = on_change
        self.held = False
        self._swallow = False  # this press (and its repeats and release) is kept from the focus widget
        QCoreApplication.instance().installEventFilter(self)
        QGuiApplication.instance().applicationStateChanged.connect(self._on_state)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() not in _KEYS or event.key() != Qt.Key.Key_Space:
            return False
        swallow = self._swallow
        if not event.isAutoRepeat():
            pressed = event.type() == QEvent.Type.KeyPress
            if pressed and not self.held:
                target = obj if isinstance(obj, QWidget) else QApplication.focusWidget()  # or the window it reached
                swallow = self._swallow = self._over_area() and self._in_canvas_window(target) \
                    and not _typing_into(target)
            elif not pressed:
                self._swallow = False
            if pressed != self.held:
                self.held = pressed
                self.on_change(pressed)
        return swallow

    def _in_canvas_window(self, widget: QWidget | None) -> bool:
        return widget is None or widget.window() is self.area.window()

    def _over_area(self) -> bool:
        return self.area.isVisible() and self.area.rect().contains(self.area.mapFromGlobal(QCursor.pos()))

    def _on_state(self, state: Qt.ApplicationState) -> None:
        """A Space released while another application had the focus never arrives here."""
        if state != Qt.ApplicationState.ApplicationActive and self.held:
            self.held, self._swallow = False, False
            self.on_change(False)
