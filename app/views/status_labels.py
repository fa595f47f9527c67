"""The permanent right-hand part of the status bar: the pixel under the cursor, the image, the zoom."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget


class StatusLabels(QWidget):
    """Three labels set through :meth:`show_pixel`, :meth:`show_image` and :meth:`show_zoom`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = QLabel()
        self.position.setObjectName("positionLabel")
        self.position.setMinimumWidth(320)
        self.image = QLabel()
        self.image.setObjectName("imageInfoLabel")
        self.zoom = QLabel()
        self.zoom.setObjectName("zoomLabel")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for label in (self.position, self.image, self.zoom):
            row.addWidget(label)

    def show_pixel(self, text: str) -> None:
        """What :func:`app.views.render.describe_pixel` says about the pixel under the cursor ("" off the image)."""
        self.position.setText(text)

    def show_image(self, text: str) -> None:
        self.image.setText(text)

    def show_zoom(self, zoom: float) -> None:
        """``zoom`` 1.0 = 100 %."""
        self.zoom.setText(f"Zoom {zoom * 100:.0f} %")
