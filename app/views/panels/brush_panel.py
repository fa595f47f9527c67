"""Brush size: a slider and a spin box kept in step, in image pixels."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

MAX_BRUSH = 256


class BrushPanel(QWidget):
    """Emits ``sizeChanged(int)`` (diameter in image pixels); ``[`` and ``]`` in the window step it."""

    sizeChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("brushSizeSlider")
        self.slider.setRange(1, MAX_BRUSH)
        self.spin = QSpinBox()
        self.spin.setObjectName("brushSizeSpin")
        self.spin.setRange(1, MAX_BRUSH)
        self.spin.setSuffix(" px")
        self.spin.setToolTip("Brush and eraser diameter in image pixels ([ and ] change it)")
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        self.hint = QLabel("Polygon: click corners, double-click or Enter to fill; drag for a freehand lasso. "
                           "Esc cancels. Pan: middle button or Space + drag.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(dark); font-size: small;")
        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        form.addRow("Size", row)
        form.addRow(self.hint)
        self.slider.valueChanged.connect(self.spin.setValue)
        self.spin.valueChanged.connect(self.slider.setValue)
        self.spin.valueChanged.connect(self.sizeChanged)
        self.spin.setValue(10)

    def size(self) -> int:
        return self.spin.value()

    def set_size(self, size: int) -> None:
        self.spin.setValue(size)

    def step(self, factor: float) -> None:
        value = self.spin.value()
        self.spin.setValue(max(1, round(value * factor)) if factor < 1 else max(value + 1, round(value * factor)))
