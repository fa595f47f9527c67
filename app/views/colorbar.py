"""A horizontal colour bar with its end labels: the legend of the uncertainty overlay (segcore.colormap)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from segcore.colormap import LUT


class ColorBar(QWidget):
    """The colour table from ``low_text`` (value 0) to ``high_text`` (value 1), with a tick at the middle."""

    def __init__(self, low_text: str, high_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.low_text, self.high_text = low_text, high_text
        rgb = np.ascontiguousarray(LUT[None, :, :])
        self._image = QImage(rgb.data, LUT.shape[0], 1, 3 * LUT.shape[0], QImage.Format.Format_RGB888).copy()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Uncertainty: normalised entropy of the model's averaged test-time-augmented probabilities; "
                        "0 = certain, 1 = every class equally likely")

    def sizeHint(self) -> QSize:
        line = self.fontMetrics().height()
        return QSize(200, line + 14)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        metrics = self.fontMetrics()
        bar = QRect(0, 0, self.width(), 10)
        painter.drawImage(bar, self._image)
        painter.setPen(self.palette().windowText().color())
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        baseline = bar.bottom() + 3 + metrics.ascent()
        painter.drawText(0, baseline, self.low_text)
        painter.drawText(self.width() - metrics.horizontalAdvance(self.high_text), baseline, self.high_text)
        middle = "0.5"
        painter.drawText((self.width() - metrics.horizontalAdvance(middle)) // 2, baseline, middle)
        painter.drawLine(self.width() // 2, bar.bottom() - 3, self.width() // 2, bar.bottom())
        painter.end()


