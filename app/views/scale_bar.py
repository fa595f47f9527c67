"""A scale bar over the image's bottom-left corner when the image states its physical pixel size.

The bar is a child of the view (not of its viewport, which scrolls its children with the image) that ignores the
mouse and follows the view's zoom and size by itself; its length is a round number of micrometres (1, 2 or 5 times
a power of ten) close to 120 screen pixels at the current zoom.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

TARGET_PX = 120  # about how long the bar is on screen
MARGIN = 12
BAR_HEIGHT = 5


def nice_length(um_per_screen_px: float, target_px: float = TARGET_PX) -> tuple[float, float]:
    """``(micrometres, screen pixels)`` of a round bar length (1, 2 or 5 x 10^k µm) nearest ``target_px`` on
    screen, never longer than twice it."""
    wanted = um_per_screen_px * target_px
    power = 10 ** math.floor(math.log10(wanted))
    length = min((step * power for step in (1, 2, 5, 10)), key=lambda v: abs(math.log(v / wanted)))
    return length, length / um_per_screen_px


def length_text(um: float) -> str:
    """``um`` micrometres in the unit a microscopist would write: nm, µm or mm."""
    if um < 1:
        return f"{um * 1000:g} nm"
    if um >= 1000:
        return f"{um / 1000:g} mm"
    return f"{um:g} µm"


class ScaleBar(QWidget):
    """Drawn over the bottom-left corner of ``view`` (the canvas: ``zoom()``, ``zoomChanged``, ``viewport()``);
    :meth:`set_pixel_size` sets the image's micrometres per pixel, None hides it."""

    def __init__(self, view) -> None:
        super().__init__(view)
        self.setObjectName("scaleBar")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setVisible(False)
        self._view, self._um_per_pixel = view, None
        self._um, self._px = 0.0, 0.0
        font = QFont(self.font())
        font.setBold(True)
        self.setFont(font)
        view.zoomChanged.connect(lambda _zoom: self._follow())
        view.viewport().installEventFilter(self)

    def set_pixel_size(self, um_per_pixel: float | None) -> None:
        """Micrometres per image pixel (None: unknown, or no image: no bar)."""
        self._um_per_pixel = um_per_pixel
        self._follow()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize:
            self._follow()
        return False

    def _follow(self) -> None:
        um = self._um_per_pixel / self._view.zoom() if self._um_per_pixel else None
        self.show_scale(um, self._view.viewport().geometry())

    def show_scale(self, um_per_screen_px: float | None, corner: QRect) -> None:
        """Show the bar for ``um_per_screen_px`` (None: hidden) in the bottom-left of ``corner`` (the viewport's
        rectangle in the view's coordinates)."""
        if not um_per_screen_px or um_per_screen_px <= 0 or not math.isfinite(um_per_screen_px):
            self.setVisible(False)
            return
        self._um, self._px = nice_length(um_per_screen_px)
        text_w = self.fontMetrics().horizontalAdvance(length_text(self._um))
        width = int(max(self._px, text_w)) + 12
        height = self.fontMetrics().height() + BAR_HEIGHT + 12
        self.setGeometry(corner.left() + MARGIN, corner.bottom() - MARGIN - height, width, height)
        self.setVisible(True)
        self.raise_()
        self.update()

    def bar_length(self) -> tuple[float, float]:
        """``(micrometres, screen pixels)`` of the bar shown."""
        return self._um, self._px

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 140))  # readable over bright and dark images alike
        painter.setPen(QPen(QColor(255, 255, 255)))
        text_h = self.fontMetrics().height()
        painter.drawText(QRect(6, 4, self.width() - 12, text_h), Qt.AlignmentFlag.AlignLeft, length_text(self._um))
        painter.fillRect(6, 6 + text_h, round(self._px), BAR_HEIGHT, QColor(255, 255, 255))
        painter.end()
