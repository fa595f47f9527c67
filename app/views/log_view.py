"""A read-only log that follows new lines while its reader is at the end, including while it is hidden.

QPlainTextEdit follows appended lines only while it is *visible* and scrolled to the end: lines appended while its
tab is behind another (the Curves in front during a run) leave it where it was, and once shown it is no longer at
the end, so it never follows again (newcomer check: "the Log tab stops following; it looks as if the run
stalled"). Here following is the reader's choice: scrolling up stops it, scrolling back to the end resumes it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QWidget


class LogView(QPlainTextEdit):
    """``append_line(text)`` adds a line; the view stays at the end unless the reader has scrolled away."""

    def __init__(self, max_lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse |  # and Ctrl+End, PgUp/PgDn
                                     Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.setMaximumBlockCount(max_lines)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.following = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._moved)
        bar.rangeChanged.connect(lambda _low, _high: self._keep_at_end())

    def append_line(self, text: str) -> None:
        self.appendPlainText(text)
        self._keep_at_end()

    def clear(self) -> None:
        super().clear()
        self.following = True

    def _moved(self, value: int) -> None:
        """At the end means the newest line is on screen (Ctrl+End shows it without the bar at its maximum)."""
        last = self.blockBoundingGeometry(self.document().lastBlock()).translated(self.contentOffset())
        self.following = value >= self.verticalScrollBar().maximum() or last.top() < self.viewport().height()

    def _keep_at_end(self) -> None:
        if self.following:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())
