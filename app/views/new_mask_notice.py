"""The question a first stroke on an image without a mask raises, asked over the image's top edge: is what you
do not paint background (a full mask) or unlabelled (strokes only)?

Newcomer checks: a few strokes on such an image made a full mask whose every other pixel trained as background
(and scored as a hand annotation at Dice 0.005); a status-line hint was cut off and gone in seconds. The notice
stays until answered or the image changes, takes no room from the layout (it floats over the canvas), and does
not block painting.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

MARGIN = 8  # pixels between the notice and the canvas's edges


class NewMaskNotice(QFrame):
    """Emits ``backgroundChosen`` or ``unlabelledChosen``; :meth:`ask` shows it for an image's name."""

    backgroundChosen = Signal()
    unlabelledChosen = Signal()

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.setObjectName("newMaskNotice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.background = QPushButton("Rest is background")
        self.background.setObjectName("newMaskBackgroundButton")
        self.background.setToolTip("A full mask: every pixel you do not paint is background (for this folder's "
                                   "new masks)")
        self.unlabelled = QPushButton("Strokes only")
        self.unlabelled.setObjectName("newMaskStrokesButton")
        self.unlabelled.setToolTip("Only what you paint is labelled; the rest stays unlabelled (training ignores "
                                   "it; Propose mask completes strokes). For this folder's new masks")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.text, 1)
        row.addWidget(self.background)
        row.addWidget(self.unlabelled)
        self.background.clicked.connect(self.backgroundChosen)
        self.unlabelled.clicked.connect(self.unlabelledChosen)
        canvas.installEventFilter(self)
        self.hide()

    def ask(self, name: str) -> None:
        self.text.setText(f"<b>New mask on {name}</b>: is what you do not paint background, or unlabelled? "
                          "(asked once for this folder)")
        self._place()
        self.show()
        self.raise_()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == event.Type.Resize and self.isVisible():
            self._place()
        return False

    def _place(self) -> None:
        width = max(200, self.parentWidget().width() - 2 * MARGIN)
        self.setFixedSize(width, self.layout().totalHeightForWidth(width))  # as tall as its wrapped text
        self.move(MARGIN, MARGIN)
