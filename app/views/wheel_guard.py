"""Spin boxes, combo boxes and sliders take the mouse wheel only once they have the keyboard focus.

Scrolling a panel with the wheel used to change whatever value passed under the cursor (*Batch size* went from
4 to 1 without a word). Guarded widgets no longer take the focus from the wheel (StrongFocus instead of Qt's
WheelFocus); while unfocused they pass the wheel on to their parent, so the panel scrolls instead. Click (or tab
into) a field, and the wheel changes it as before.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QSlider, QWidget

GUARDED = (QAbstractSpinBox, QComboBox, QSlider)


class WheelGuard(QObject):
    """Event filter: an unfocused guarded widget ignores the wheel, which Qt then offers to its parent."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Wheel and not obj.hasFocus():
            event.ignore()
            return True  # filtered here, and ignored: the parent gets the wheel
        return False


def guard_wheel(root: QWidget) -> None:
    """Guard every spin box, combo box and slider inside ``root`` (and ``root`` itself); safe to call again."""
    guard = root.findChild(WheelGuard, "wheelGuard", Qt.FindChildOption.FindDirectChildrenOnly)
    if guard is None:
        guard = WheelGuard(root)
        guard.setObjectName("wheelGuard")
    widgets = [root] if isinstance(root, GUARDED) else []
    for kind in GUARDED:
        widgets += root.findChildren(kind)
    for widget in widgets:
        if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.removeEventFilter(guard)  # installing twice would filter twice
        widget.installEventFilter(guard)
