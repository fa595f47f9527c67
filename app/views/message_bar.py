"""The window's status bar: a message that does not fit beside the permanent labels is cut with "…", and the whole
of it is the bar's tooltip, wrapped so that it stays on screen.

QStatusBar draws its message itself and simply stops at the first permanent label: at 1366 x 768 the end of a
training run read "…; Use trained model in the Segmen", with no sign that anything was missing and no way to read
the rest.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QStatusBar, QWidget

from app.views.elided import whole_text_tip

ROOM_MARGIN = 24  # pixels QStatusBar keeps around its message (size grip, spacing)


class MessageBar(QStatusBar):
    """``showMessage`` and ``clearMessage`` as QStatusBar's; :meth:`message` is the whole message shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._message = ""
        self._permanent: list[QWidget] = []
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.clearMessage)

    def message(self) -> str:
        """The message as the program said it (the bar shows what fits)."""
        return self._message

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        self._message = text
        self._timer.stop()
        if timeout > 0:  # our own timer: re-eliding on a resize must not restart Qt's
            self._timer.start(timeout)
        self._show()

    def clearMessage(self) -> None:  # noqa: N802 - Qt's name
        self._message = ""
        self._timer.stop()
        super().clearMessage()
        self.setToolTip("")

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802 - Qt's name
        super().addPermanentWidget(widget, stretch)
        self._permanent.append(widget)
        widget.installEventFilter(self)  # it takes its room after the bar's resize: the message is fitted again

    def room(self) -> int:
        """Pixels left for the message beside the permanent widgets."""
        taken = sum(widget.width() for widget in self._permanent if widget.isVisible())
        return max(40, self.width() - taken - ROOM_MARGIN)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize and self._message:
            self._show()
        return False

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._message:
            self._show()

    def _show(self) -> None:
        shown = self.fontMetrics().elidedText(self._message, Qt.TextElideMode.ElideRight, self.room())
        super().showMessage(shown)
        self.setToolTip(whole_text_tip(self._message) if shown != self._message else "")
