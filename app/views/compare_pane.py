"""One pane of the Compare view: an image with a mask layer and a difference layer, zoomed and panned by the user.

The wheel zooms about the point under the cursor (QGraphicsView's own anchor works here: the pane passes its mouse
events on), dragging pans; ``viewChanged`` lets the other pane follow.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from app.views.mask_layer import MaskLayer

FOCUS_MARGIN = 1.15  # a little context around the region shown first


class PaneView(QGraphicsView):
    """One image with a mask and a difference layer; emits ``viewChanged`` when zoomed or panned."""

    viewChanged = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(40, 40, 44))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.image_item = QGraphicsPixmapItem()
        self.mask_layer = MaskLayer()
        self.mask_layer.setOpacity(0.5)
        self.diff_layer = MaskLayer()
        self.diff_layer.setOpacity(0.95)
        self.diff_layer.setVisible(False)
        for z, item in enumerate((self.image_item, self.mask_layer, self.diff_layer)):
            item.setZValue(z)
            self.scene().addItem(item)
        self.fit_mode = True  # follows resizes until the user zooms
        self.focus_rect: QRectF | None = None  # shown instead of the whole image while fit_mode holds
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.viewChanged.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.viewChanged.emit())

    def set_image(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        self.image_item.setPixmap(QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)))
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self.focus_rect = None

    def fit(self) -> None:
        """Show the focus region (see :meth:`focus`), else the whole image, and keep it shown on resizes."""
        self.fit_mode = True
        rect = self.focus_rect or self.scene().sceneRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self._smooth()
            self.viewChanged.emit()

    def focus(self, box: tuple[int, int, int, int] | None) -> None:
        """Zoom to ``box`` (x, y, width, height in image pixels) with a margin; None shows the whole image."""
        if box is None:
            self.focus_rect = None
        else:
            x, y, w, h = box
            centre = QRectF(x, y, w, h).center()
            side = max(w, h) * FOCUS_MARGIN
            self.focus_rect = QRectF(centre.x() - side / 2, centre.y() - side / 2, side, side)
        self.fit()

    def _smooth(self) -> None:
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.transform().m11() < 1)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()

    def centre(self):
        return self.mapToScene(self.viewport().rect().center())

    def fit_whole(self) -> None:
        """Show the whole image (Ctrl+0 while Compare is on screen), and keep it fitted on resizes."""
        self.focus(None)

    def zoom_by(self, factor: float) -> None:
        """Zoom by ``factor`` about the centre (Ctrl+= / Ctrl+-); the panes stop following resizes."""
        self.fit_mode = False
        self.scale(factor, factor)
        self._smooth()
        self.viewChanged.emit()

    def zoom_100(self) -> None:
        """One image pixel per screen pixel, about the centre."""
        self.zoom_by(1.0 / self.transform().m11())

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25**steps)
