"""The window's shortcuts work whatever widget has the keyboard focus.

Before Qt tries a shortcut it asks the focused widget whether it wants the key itself (a ``ShortcutOverride``
event), and text fields and spin boxes want many: on X11 Ctrl+E (end of line) and Ctrl+Left/Right (word by word),
so File > Export Annotations did nothing while the *Time budget* box had the focus, and Ctrl+Right moved a cursor
in a number instead of going to the next image. This filter sees that question first for the main window and
gives every key combination that is one of the window's shortcuts to the window, except what typing needs:
characters without Ctrl or Alt (a run name needs its letters, a number its digits) and, in an editable text
field, the clipboard, undo/redo and select-all keys, and a focused slider's arrows, PgUp/PgDown, Home and End.
Navigation keys (PgUp/PgDown, Ctrl+arrows) therefore navigate from any text field and never edit it.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

TEXT_KEYS = (QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut, QKeySequence.StandardKey.Paste,
             QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo, QKeySequence.StandardKey.SelectAll)
SLIDER_KEYS = {int(k.value) for k in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp,
               Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End)}
COMMAND_MODIFIERS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier \
    | Qt.KeyboardModifier.MetaModifier


def _editable_text(widget: QWidget) -> bool:
    """Whether ``widget`` takes typed text (a read-only log or field only takes copying)."""
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    if isinstance(widget, QLineEdit | QAbstractSpinBox | QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    return False


def _slider_key(event: QKeyEvent, widget: QWidget) -> bool:
    """Whether ``event`` moves the focused slider ``widget`` (PgUp went to another image instead of moving the
    Spread slider): a slider does not claim its keys from shortcuts, so the guard claims them for it."""
    return isinstance(widget, QAbstractSlider) and event.key() in SLIDER_KEYS \
        and not event.modifiers() & COMMAND_MODIFIERS


def _typing(event: QKeyEvent, widget: QWidget) -> bool:
    """Whether ``event`` is typing or text editing in the focused ``widget``, which the window must leave to it."""
    text_field = _editable_text(widget)
    if text_field and not event.modifiers() & COMMAND_MODIFIERS and event.text().isprintable() and event.text():
        return True
    return text_field and any(event.matches(key) for key in TEXT_KEYS)


class ShortcutGuard(QObject):
    """Installed once per main window (:func:`install`); keeps the window's shortcuts from its focused fields."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        QCoreApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.ShortcutOverride:
            return False
        focus = QApplication.focusWidget()
        if focus is None or obj is not focus or focus.window() is not self.window:
            return False
        if _slider_key(event, focus):
            event.accept()  # the slider's: no shortcut fires, the key press goes to it
            return True
        if _typing(event, focus) or not self.is_shortcut(event):
            return False
        event.ignore()  # not the widget's: Qt goes on to the window's shortcut
        return True

    def is_shortcut(self, event: QKeyEvent) -> bool:
        """Whether ``event``'s key combination triggers one of the window's enabled actions or shortcuts."""
        pressed = QKeySequence(event.keyCombination())
        actions = [a for a in self.window.findChildren(QAction) if a.isEnabled()]
        keys = [k for a in actions for k in a.shortcuts()]
        keys += [s.key() for s in self.window.findChildren(QShortcut) if s.isEnabled()]
        return any(key.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch for key in keys)


def install(window: QMainWindow) -> ShortcutGuard:
    """Give ``window``'s shortcuts precedence over its focused fields (see the module docstring)."""
    return ShortcutGuard(window)
