"""Brush size: a slider and a spin box kept in step, in image pixels; and how to use the active tool."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

from segcore.annotate import Tool

MAX_BRUSH = 256
NAVIGATE = "Wheel: zoom at the cursor. Pan: middle button, or hold Space and drag."
TOOL_HINTS = {
    Tool.BRUSH: "Brush (B): drag to paint the selected class (number keys choose it); [ and ] size the brush.",
    Tool.ERASER: "Eraser (E): drag to paint background (class 0); [ and ] size it.",
    Tool.UNLABELLED: "Unlabelled (U): drag to mark pixels as no class: they are left out of training "
                     "(sparse annotation).",
    Tool.FILL: "Fill (F): click a region to fill it with the selected class (the connected pixels of the "
               "clicked class).",
    Tool.POLYGON: "Polygon (P): click corners, double-click or Enter to fill; drag for a freehand lasso. "
                  "Esc cancels.",
}


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
        self.hint = QLabel()
        self.hint.setObjectName("toolHint")
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
        self.show_tool(Tool.BRUSH)

    def show_tool(self, tool: Tool) -> None:
        """How to use ``tool``, the active one, and how to move around the image."""
        self.hint.setText(f"{TOOL_HINTS[Tool(tool)]} {NAVIGATE}")

    def size(self) -> int:
        return self.spin.value()

    def set_size(self, size: int) -> None:
        self.spin.setValue(size)

    def step(self, factor: float) -> None:
        value = self.spin.value()
        self.spin.setValue(max(1, round(value * factor)) if factor < 1 else max(value + 1, round(value * factor)))
