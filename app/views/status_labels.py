"""The permanent right-hand part of the status bar: the pixel under the cursor, the image, the pyramid level shown
(pyramidal images only), the zoom."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QWidget

from app.views.elided import whole_text_tip

LEVEL_TIP = ("Pyramid level shown, and segmented: level 0 is full resolution. Masks are saved at full resolution: "
             "a pixel painted at a coarser level paints its block of full-resolution pixels, and detail it does not "
             "touch is kept.")


class ElidedLabel(QLabel):
    """A label that gives up width before its neighbours do, eliding its text in the middle (the start, a file
    name, and the end, the pixel size, stay readable); the whole text is its tooltip."""

    def __init__(self) -> None:
        super().__init__()
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(whole_text_tip(text))
        self.updateGeometry()
        self._elide()

    def full_text(self) -> str:
        return self._full

    def sizeHint(self):  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        hint.setWidth(self.fontMetrics().horizontalAdvance(self._full) + 8)
        return hint

    def minimumSizeHint(self):  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        hint.setWidth(min(120, self.sizeHint().width()))
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, self.width() - 4))


class StatusLabels(QWidget):
    """Labels set through :meth:`show_pixel`, :meth:`show_image` and :meth:`show_zoom`, and the level chooser
    (:meth:`show_levels`; ``levelChosen(level)`` when the user picks one)."""

    levelChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = QLabel()
        self.position.setObjectName("positionLabel")
        self.position.setMinimumWidth(320)
        self.image = ElidedLabel()
        self.image.setObjectName("imageInfoLabel")
        self.level = QComboBox()
        self.level.setObjectName("levelCombo")
        self.level.setToolTip(LEVEL_TIP)
        self.level.setVisible(False)
        self.level.activated.connect(self.levelChosen.emit)  # the user's choice only, not show_levels'
        self.zoom = QLabel()
        self.zoom.setObjectName("zoomLabel")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.position, self.image, self.level, self.zoom):
            row.addWidget(widget)

    def show_pixel(self, text: str) -> None:
        """What :func:`app.views.render.describe_pixel` says about the pixel under the cursor ("" off the image)."""
        self.position.setText(text)
        if self.position.sizeHint().width() > self.position.minimumWidth():  # grows, never jitters back
            self.position.setMinimumWidth(self.position.sizeHint().width())

    def show_image(self, text: str) -> None:
        """Name, size, channels, dtype and pixel size of the image shown (elided when the bar is short)."""
        self.image.set_full_text(text)

    def show_levels(self, sizes: list[tuple[int, int]], current: int) -> None:
        """The pyramid levels of the image shown, ``(height, width)`` each, largest first, with ``current``
        selected; hidden for an image of one level."""
        self.level.clear()
        self.level.addItems([f"Level {i} · {w}×{h}" for i, (h, w) in enumerate(sizes)])
        self.level.setCurrentIndex(current)
        self.level.setVisible(len(sizes) > 1)

    def show_zoom(self, zoom: float) -> None:
        """``zoom`` 1.0 = 100 %."""
        self.zoom.setText(f"Zoom {zoom * 100:.0f} %")
