"""The image view: an image with its mask overlay, zoom and pan, and mouse events as image coordinates.

The canvas edits nothing. It reports what the mouse does in image pixels (float ``x, y``; pixel ``(col, row)``
covers ``[col, col+1)``) through signals, and the editor turns those into mask edits. Pan: middle button, or
hold Space and drag (whatever widget has the keyboard focus: :class:`app.views.space_pan.SpacePan`), or the
scroll bars. Zoom: the wheel (the image point under the cursor stays put), ``fit`` and ``zoom_100``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import (
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from app.views.canvas_items import BrushPreview, cosmetic_pen
from app.views.mask_layer import MaskLayer
from app.views.space_pan import SpacePan
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
        # Zooming anchors itself (_zoom_around): Qt's AnchorUnderMouse reads the position of the last mouse
        # event QGraphicsView saw, which our own mouse handlers do not pass on, so the image drifted under a wheel.
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        # Not AnchorViewCenter: the scroll bars that appear on the first zoom-in shrink the viewport, and centring
        # on that resize moved the image by half a scroll bar under a resting cursor (seen under a real X server).
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.mask_layer = MaskLayer()
        self.mask_layer.setOpacity(0.5)
        self.mask_layer.setZValue(1)
        self._brush_preview = BrushPreview()
        self._polygon_item = QGraphicsPathItem()
        self._polygon_item.setPen(cosmetic_pen(QColor(255, 255, 0), 2, Qt.PenStyle.DashLine))
        self._polygon_item.setZValue(10)
        for item in (self.image_item, self.mask_layer, self._brush_preview, self._polygon_item):
            self.scene().addItem(item)
        self.tool = Tool.BRUSH
        self.brush_size = 10.0
        self._stroke_last: QPointF | None = None
        self._polygon: list[QPointF] = []
        self._lasso = False
        self._pan_from: QPointF | None = None
        self._wheel_anchor: tuple[QPointF, QPointF] | None = None  # viewport position, image point kept there
        # Space held anywhere in the application: a left drag pans, never paints.
        self.space = SpacePan(self.viewport(), self.space_changed)
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

    def set_zoom(self, factor: float, anchor: QPointF | None = None, fixed: QPointF | None = None) -> None:
        """Zoom to ``factor`` (1.0 = 100 %) keeping the image point at viewport position ``anchor`` (default:
        the centre), or image point ``fixed`` at ``anchor``, as far as the scroll range allows."""
        self._fit_mode = False
        anchor = QPointF(self.viewport().rect().center()) if anchor is None else anchor
        fixed = self._to_scene(anchor) if fixed is None else fixed
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        self.setTransform(self.transform().fromScale(factor, factor))
        moved = self.viewportTransform().map(fixed) - anchor  # where that point went, in viewport pixels
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(moved.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(moved.y()))
        self._zoomed()

    def zoom_by(self, step: float, anchor: QPointF | None = None, fixed: QPointF | None = None) -> None:
        self.set_zoom(self.zoom() * step, anchor, fixed)

    def _to_scene(self, view_point: QPointF) -> QPointF:
        """Scene (image) coordinates of a viewport position, without rounding it to a whole pixel."""
        view_to_scene, _ = self.viewportTransform().inverted()
        return view_to_scene.map(view_point)

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
            self._place_preview(self._brush_preview.centre())

    def cancel_polygon(self) -> None:
        self._polygon = []
        self._lasso = False
        self._polygon_item.setPath(QPainterPath())

    # -- helpers ------------------------------------------------------------------------------------------------
    def _place_preview(self, centre: QPointF) -> None:
        self._brush_preview.place(centre, self.brush_size, self._has_image and self.tool.paints)

    def _scene_point(self, event) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def _on_image(self, p: QPointF) -> bool:
        return self.scene().sceneRect().contains(p)

    # -- mouse and keys -----------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self.space.held
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
        if not steps:
            return
        here = event.position()
        # Notch after notch at a resting cursor, the same image point is kept: scroll positions are whole
        # pixels, and re-reading the point each time would let their rounding add up to a drift.
        kept = self._wheel_anchor
        if kept is None or kept[0] != here or (self.viewportTransform().map(kept[1]) - here).manhattanLength() > 2:
            self._wheel_anchor = (here, self._to_scene(here))  # the cursor moved, or the view was panned since
        self.zoom_by(1.25**steps, here, self._wheel_anchor[1])

    def leaveEvent(self, event) -> None:
        self._brush_preview.setVisible(False)
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._polygon:
            self.finish_polygon()
        elif key == Qt.Key.Key_Escape and self._polygon:
            self.cancel_polygon()
        else:
            super().keyPressEvent(event)

    def space_changed(self, held: bool) -> None:
        """Called by :class:`SpacePan`: show the hand while Space is held (a stroke under way ends first)."""
        if held and self._stroke_last is not None:
            self._stroke_last = None
            self.strokeFinished.emit()
        if self._pan_from is None:
            shape = Qt.CursorShape.OpenHandCursor if held else Qt.CursorShape.CrossCursor
            self.viewport().setCursor(shape)
