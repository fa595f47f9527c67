"""Overlay controls: opacity, show/hide the mask, outline mode, and whether background is coloured."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QWidget


class ViewPanel(QWidget):
    """Emits ``opacityChanged(float 0..1)``, ``maskVisibleChanged``, ``outlineChanged``, ``backgroundChanged``."""

    opacityChanged = Signal(float)
    maskVisibleChanged = Signal(bool)
    outlineChanged = Signal(bool)
    backgroundChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("opacitySlider")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("How strongly the mask colours cover the image")
        self.opacity_label = QLabel("50 %")
        self.opacity_label.setMinimumWidth(40)
        self.show_mask = QCheckBox("Show mask")
        self.show_mask.setObjectName("showMaskCheck")
        self.show_mask.setChecked(True)
        self.show_mask.setToolTip("Show or hide the mask overlay (M)")
        self.outline = QCheckBox("Outlines only")
        self.outline.setObjectName("outlineCheck")
        self.outline.setToolTip("Draw only the borders of each region, to see the image underneath (O)")
        self.background = QCheckBox("Colour background class")
        self.background.setObjectName("showBackgroundCheck")
        self.background.setToolTip("Colour pixels labelled background; useful for sparse annotation, where "
                                   "unlabelled pixels stay clear")
        row = QHBoxLayout()
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_label)
        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        form.addRow("Opacity", row)
        form.addRow(self.show_mask)
        form.addRow(self.outline)
        form.addRow(self.background)
        self.opacity.valueChanged.connect(self._on_opacity)
        self.show_mask.toggled.connect(self.maskVisibleChanged)
        self.outline.toggled.connect(self.outlineChanged)
        self.background.toggled.connect(self.backgroundChanged)

    def set_mask_visible(self, visible: bool) -> None:
        self.show_mask.setChecked(visible)

    def set_outlines(self, on: bool) -> None:
        self.outline.setChecked(on)

    def background_shown(self) -> bool:
        return self.background.isChecked()

    def set_background_shown(self, on: bool) -> None:
        self.background.setChecked(on)

    def opacity_percent(self) -> int:
        return self.opacity.value()

    def set_opacity_percent(self, percent: int) -> None:
        self.opacity.setValue(percent)

    def _on_opacity(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        self.opacityChanged.emit(value / 100.0)
