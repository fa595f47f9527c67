"""The image view: an image with its mask overlay, zoom and pan, and mouse events as image coordinates.

The canvas edits nothing. It reports what the mouse does in image pixels (float ``x, y``; pixel ``(col, row)``
covers ``[col, col+1)``) through signals, and the editor turns those into mask edits. Pan: middle button, or
hold Space and drag, or the scroll bars. Zoom: the wheel (around the cursor), ``fit`` and ``zoom_100``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from app.views.mask_layer import MaskLayer
from segcore.annotate import Tool

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0


class Canvas(QGraphicsView):
    """Image + mask overlay view that turns the mouse into image-coordinate signals."""

    strokeStarted = Signal(float, float)
    strokeMoved = Signal(float, float, float, float)  # from x, y to x, y
    strokeFinished = Signal()
    fillRequested = Signal(float, float)
    polygonFinished = Signal(list)  # [(x, y), ...]
    hovered = Signal(int, int)  # pixel column, row; (-1, -1) when off the image
    zoomChanged = Signal(float)  # 1.0 = 100 %

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(40, 40, 44))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.mask_layer = MaskLayer()
        self.mask_layer.setOpacity(0.5)
        self.mask_layer.setZValue(1)
        self._brush_preview = self._make_preview()
        self._polygon_item = QGraphicsPathItem()
        self._polygon_item.setPen(self._cosmetic_pen(QColor(255, 255, 0), 2, Qt.PenStyle.DashLine))
        self._polygon_item.setZValue(10)
        for item in (self.image_item, self.mask_layer, self._brush_preview, self._polygon_item):
            self.scene().addItem(item)
        self.tool = Tool.BRUSH
        self.brush_size = 10.0
        self._stroke_last: QPointF | None = None
        self._polygon: list[QPointF] = []
        self._lasso = False
        self._pan_from: QPointF | None = None
        self._space = False
        self._has_image = False
        self._fit_mode = True

    # -- content ------------------------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | None) -> None:
        """Show an ``uint8 (H, W, 3)`` RGB array (None clears). Keeps the zoom when the size is unchanged."""
        if rgb is None:
            self.image_item.setPixmap(QPixmap())
            self.mask_layer.set_mask(None)
            self._has_image = False
            return
        h, w = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        same_size = self._has_image and self.scene().sceneRect() == QRectF(0, 0, w, h)
        self.image_item.setPixmap(QPixmap.fromImage(qimage))  # copies, so rgb may be freed
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self._has_image = True
        self.cancel_polygon()
        if not same_size:
            self.fit()

    def set_mask(self, mask: np.ndarray | None) -> None:
        self.mask_layer.set_mask(mask)

    def update_mask(self, box: tuple[int, int, int, int]) -> None:
        self.mask_layer.update_region(box)

    # -- view ---------------------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        self._fit_mode = False
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        self.setTransform(self.transform().fromScale(factor, factor))
        self._zoomed()

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom() * step)

    def zoom_100(self) -> None:
        self.set_zoom(1.0)

    def fit(self) -> None:
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self._fit_mode = True  # stays fitted when the window or a panel is resized, until the user zooms
        self._zoomed()

    def _zoomed(self) -> None:
        # Smooth when zoomed out (no aliasing), crisp pixels when zoomed in: biologists count them.
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom() < 1.0)
        self.zoomChanged.emit(self.zoom())

    def set_opacity(self, opacity: float) -> None:
        self.mask_layer.setOpacity(opacity)

    def set_mask_visible(self, visible: bool) -> None:
        self.mask_layer.setVisible(visible)

    def set_outline(self, outline: bool) -> None:
        self.mask_layer.set_outline(outline)

    # -- tools --------------------------------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self.cancel_polygon()
        self.tool = Tool(tool)
        self._brush_preview.setVisible(False)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)

    def set_brush_size(self, size: float) -> None:
        """Brush diameter in image pixels; the preview circle follows it at once."""
        self.brush_size = float(size)
        if self._brush_preview.isVisible():
            self._place_preview(self._brush_preview.rect().center() + self._brush_preview.pos())

    def cancel_polygon(self) -> None:
        self._polygon = []
        self._lasso = False
        self._polygon_item.setPath(QPainterPath())

    # -- helpers ------------------------------------------------------------------------------------------------
    @staticmethod
    def _cosmetic_pen(color: QColor, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
        pen = QPen(color, width, style)
        pen.setCosmetic(True)  # same thickness at every zoom
        return pen

    def _make_preview(self) -> QGraphicsEllipseItem:
        outer = QGraphicsEllipseItem()
        outer.setPen(self._cosmetic_pen(QColor(0, 0, 0, 200), 3))
        inner = QGraphicsEllipseItem(outer)
        inner.setPen(self._cosmetic_pen(QColor(255, 255, 255), 1))
        outer.setZValue(20)
        outer.setVisible(False)
        return outer

    def _place_preview(self, centre: QPointF) -> None:
        r = self.brush_size / 2
        rect = QRectF(-r, -r, 2 * r, 2 * r)
        self._brush_preview.setPos(centre)
        self._brush_preview.setRect(rect)
        self._brush_preview.childItems()[0].setRect(rect)
        self._brush_preview.setVisible(self._has_image and self.tool.paints)

    def _scene_point(self, event) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def _on_image(self, p: QPointF) -> bool:
        return self.scene().sceneRect().contains(p)

    # -- mouse and keys -----------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space
        ):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() != Qt.MouseButton.LeftButton or not self._has_image:
            return super().mousePressEvent(event)
        p = self._scene_point(event)
        if self.tool.paints:
            self._stroke_last = p
            self.strokeStarted.emit(p.x(), p.y())
            self.strokeMoved.emit(p.x(), p.y(), p.x(), p.y())
        elif self.tool is Tool.FILL and self._on_image(p):
            self.fillRequested.emit(p.x(), p.y())
        elif self.tool is Tool.POLYGON:
            if not self._polygon:
                self._lasso = True  # a drag from the first point draws freehand
            self._polygon.append(p)
            self._draw_polygon(p)

    def mouseMoveEvent(self, event) -> None:
        p = self._scene_point(event)
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        self._place_preview(p)
        self.hovered.emit(*((int(p.x()), int(p.y())) if self._on_image(p) else (-1, -1)))
        if self._stroke_last is not None:
            last, self._stroke_last = self._stroke_last, p
            self.strokeMoved.emit(last.x(), last.y(), p.x(), p.y())
        elif self.tool is Tool.POLYGON and self._polygon:
            if self._lasso and event.buttons() & Qt.MouseButton.LeftButton:
                self._polygon.append(p)
            self._draw_polygon(p)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseReleaseEvent(event)
        if self._stroke_last is not None:
            self._stroke_last = None
            self.strokeFinished.emit()
        elif self.tool is Tool.POLYGON and self._lasso:
            if len(self._polygon) >= 5:
                self.finish_polygon()  # a freehand lasso closes on release
            else:
                self._lasso = False  # it was a click (maybe with a jitter): polygon mode, one vertex per click
                del self._polygon[1:]

    def mouseDoubleClickEvent(self, event) -> None:
        if self.tool is Tool.POLYGON and event.button() == Qt.MouseButton.LeftButton:
            p = self._scene_point(event)
            if self._polygon and p != self._polygon[-1]:  # the double click's own press may not come first
                self._polygon.append(p)
            self.finish_polygon()
        else:
            super().mouseDoubleClickEvent(event)

    def finish_polygon(self) -> None:
        """Close the polygon being drawn and report its vertices (Enter or a double click)."""
        points = [(p.x(), p.y()) for p in self._polygon]
        self.cancel_polygon()
        if len(points) >= 3:
            self.polygonFinished.emit(points)

    def _draw_polygon(self, cursor: QPointF) -> None:
        path = QPainterPath(self._polygon[0])
        for p in self._polygon[1:]:
            path.lineTo(p)
        path.lineTo(cursor)
        self._polygon_item.setPath(path)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode and self._has_image:
            self.fit()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25**steps)

    def leaveEvent(self, event) -> None:
        self._brush_preview.setVisible(False)
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._polygon:
            self.finish_polygon()
        elif key == Qt.Key.Key_Escape and self._polygon:
            self.cancel_polygon()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            super().keyReleaseEvent(event)
