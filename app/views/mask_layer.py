"""A mask drawn over the image as coloured pixels, redrawn region by region.

The layer keeps an RGBA buffer the size of the image and a QImage that shares its memory. An edit recolours only
its bounding box in the buffer and asks Qt to repaint only that rectangle, so a brush stroke on a 4096 x 4096 mask
costs the same as on a small one.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.views import render


class MaskLayer(QGraphicsItem):
    """Overlay item: ``set_mask`` draws everything, ``update_region`` only the box an edit touched."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # gives exposedRect in paint
        self._mask: np.ndarray | None = None
        self._rgba = np.zeros((1, 1, 4), dtype=np.uint8)
        self._qimage = QImage()
        self._lut = render.mask_lut([(0, 0, 0), (255, 0, 0)])
        self._outline = False
        self._forced_outline = False  # outlines while another map (uncertainty) is drawn over the mask
        self.full_redraws = 0  # counters for tests and benchmarks
        self.region_updates = 0
        self.last_region: tuple[int, int, int, int] | None = None

    # -- content ------------------------------------------------------------------------------------------------
    def set_mask(self, mask: np.ndarray | None) -> None:
        """Show ``mask`` (shared, not copied: later edits to it are drawn by ``update_region``)."""
        self.prepareGeometryChange()
        self._mask = mask
        if mask is None:
            self._rgba = np.zeros((1, 1, 4), dtype=np.uint8)
            self._qimage = QImage()
            self.update()
            return
        h, w = mask.shape
        if self._rgba.shape[:2] != (h, w):
            self._rgba = np.zeros((h, w, 4), dtype=np.uint8)
            self._qimage = QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        self.redraw()

    def redraw(self) -> None:
        """Recolour the whole mask (after a new mask, new colours or a mode change)."""
        if self._mask is None:
            return
        render.paint_rgba(self._rgba, self._mask, self._lut, None, self.drawn_as_outline())
        self.full_redraws += 1
        self.update()

    def update_region(self, box: tuple[int, int, int, int]) -> None:
        """Recolour and repaint only ``box`` (y0, x0, y1, x1) after an edit."""
        if self._mask is None:
            return
        y0, x0, y1, x1 = render.paint_rgba(self._rgba, self._mask, self._lut, box, self.drawn_as_outline())
        self.region_updates += 1
        self.last_region = (y0, x0, y1, x1)
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def set_colors(self, colors: list[tuple[int, int, int]], show_background: bool) -> None:
        lut = render.mask_lut(colors, show_background)
        if not np.array_equal(lut, self._lut):  # unchanged on every image switch: skip a full recolour
            self._lut = lut
            self.redraw()

    def set_outline(self, outline: bool) -> None:
        if outline != self._outline:
            self._outline = outline
            self.redraw()

    def force_outline(self, on: bool) -> None:
        """Draw outlines whatever the user's choice while ``on``: a filled mask under the uncertainty map blended
        with it into an unreadable orange; the outlines keep both readable."""
        if on != self._forced_outline:
            self._forced_outline = on
            self.redraw()

    def drawn_as_outline(self) -> bool:
        return self._outline or self._forced_outline

    @property
    def outline(self) -> bool:
        return self._outline

    # -- QGraphicsItem ------------------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self._mask is None:
            return QRectF()
        h, w = self._mask.shape
        return QRectF(0, 0, w, h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._qimage.isNull():
            return
        # Draw only the exposed pixels: Qt samples the source region, not the whole 16-megapixel buffer.
        rect = option.exposedRect.toAlignedRect().intersected(QRect(0, 0, self._qimage.width(),
                                                                    self._qimage.height()))
        if not rect.isEmpty():
            painter.drawImage(QRectF(rect), self._qimage, QRectF(rect))
