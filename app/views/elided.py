"""Messages that keep their place: a label of a fixed number of lines and a progress bar of one, eliding what does
not fit (the whole text in the tooltip).

A word-wrapped label grows with its text, and a dock then gives it room by squeezing its neighbours: when a
training run ended, its longer message pushed the curves down and resized the panels around it. These widgets
are as tall with any text as with none.

The whole text goes in a tooltip that wraps (:func:`whole_text_tip`): Qt shows a plain-text tooltip on one line,
which for a long warning ran off the right edge of a 1366-pixel screen.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QTextLayout
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QWidget

BAR_MARGIN = 12  # pixels the style keeps around a progress bar's text


def whole_text_tip(text: str) -> str:
    """``text`` as a tooltip that wraps at word boundaries and so stays on screen however long it is ("" for "").

    Qt shows plain text on one line as wide as the screen; rich text wraps to a readable width, so the text is
    escaped and marked as such. Its line breaks are kept, and a path may break after each "/".
    """
    if not text:
        return ""
    return "<qt>" + html.escape(text).replace("\n", "<br>").replace("/", "/&#8203;") + "</qt>"


def elide_lines(text: str, font: QFont, width: int, lines: int) -> str:
    """``text`` wrapped at word boundaries into at most ``lines`` lines of ``width`` pixels, the last one ending
    in "…" when the text goes on; line breaks as ``\\n``."""
    text = text.replace("\n", "\u2028")  # a line break QTextLayout honours
    layout = QTextLayout(text, font)
    layout.beginLayout()
    out: list[str] = []
    for index in range(lines):
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        start, length = line.textStart(), line.textLength()
        if index == lines - 1 and start + length < len(text):
            rest = text[start:].replace("\u2028", " ")
            out.append(QFontMetrics(font).elidedText(rest, Qt.TextElideMode.ElideRight, width))
        else:
            out.append(text[start:start + length].replace("\u2028", "").rstrip())
    layout.endLayout()
    return "\n".join(out)


class MessageLabel(QLabel):
    """A plain-text label always ``lines`` lines tall; a longer message is elided, whole in the tooltip.

    ``text()`` gives the message as set (what the program said), the label shows what fits.
    """

    def __init__(self, lines: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines = lines
        self._message = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # never widens its panel
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + 2 * self.margin() + 2)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._message = text
        self._fit()

    def text(self) -> str:
        return self._message

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        self.ensurePolished()  # a style sheet's bold font is the one to measure with
        shown = elide_lines(self._message, self.font(), max(20, self.contentsRect().width()), self.lines)
        super().setText(shown)
        cut = " ".join(shown.split()) != " ".join(self._message.split())
        self.setToolTip(whole_text_tip(self._message) if cut else "")


class ElidedProgressBar(QProgressBar):
    """A progress bar whose text stays on one line, elided to its width; the whole text is its tooltip."""

    def text(self) -> str:
        full = super().text()
        return self.fontMetrics().elidedText(full, Qt.TextElideMode.ElideRight, max(20, self.width() - BAR_MARGIN))

    def setFormat(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setFormat(text)
        self.setToolTip(whole_text_tip(text))


def keep_place(widget: QWidget) -> None:
    """``widget`` keeps its room in the layout while hidden, so showing it later moves nothing."""
    policy = widget.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    widget.setSizePolicy(policy)
