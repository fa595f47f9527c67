"""Items the canvas draws over the image: the brush circle under the cursor and the polygon being drawn."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem


def cosmetic_pen(color: QColor, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)  # same thickness at every zoom
    return pen


class BrushPreview(QGraphicsEllipseItem):
    """A black-and-white circle the size of the brush, readable on any image."""

    def __init__(self) -> None:
        super().__init__()
        self.setPen(cosmetic_pen(QColor(0, 0, 0, 200), 3))
        self.inner = QGraphicsEllipseItem(self)
        self.inner.setPen(cosmetic_pen(QColor(255, 255, 255), 1))
        self.setZValue(20)
        self.setVisible(False)

    def place(self, centre: QPointF, diameter: float, visible: bool) -> None:
        r = diameter / 2
        rect = QRectF(-r, -r, 2 * r, 2 * r)
        self.setPos(centre)
        self.setRect(rect)
        self.inner.setRect(rect)
        self.setVisible(visible)

    def centre(self) -> QPointF:
        return self.rect().center() + self.pos()
