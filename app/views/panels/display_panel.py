"""Contrast of the displayed image: percentile stretch, channel choice, and the exact values shown."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSizePolicy,
    QWidget,
)

from app.views.render import Contrast, default_contrast


class DisplayPanel(QWidget):
    """Emits ``contrastChanged(Contrast)``. ``set_image`` resets to the defaults suited to the image's type."""

    contrastChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stretch = QCheckBox("Stretch contrast")
        self.stretch.setObjectName("stretchCheck")
        self.stretch.setToolTip("Map the low..high percentiles of the image to black..white. Always on for "
                                "16-bit and float images, whose values do not fit the screen as they are.")
        self.low = self._spin("lowPercentSpin", 0.5, "Percentile shown as black")
        self.high = self._spin("highPercentSpin", 99.5, "Percentile shown as white")
        self.channel = QComboBox()
        self.channel.setObjectName("channelCombo")
        self.limits = QLabel()
        self.limits.setObjectName("contrastLimits")
        self.limits.setWordWrap(True)
        # Long numbers must wrap, not widen the dock and shrink the image.
        self.limits.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        form.addRow(self.stretch)
        form.addRow("Black at", self.low)
        form.addRow("White at", self.high)
        form.addRow("Channels", self.channel)
        form.addRow(self.limits)
        self._dtype = np.dtype(np.uint8)
        for widget in (self.stretch, self.low, self.high, self.channel):
            signal = widget.toggled if widget is self.stretch else (
                widget.currentIndexChanged if widget is self.channel else widget.valueChanged)
            signal.connect(self._changed)

    @staticmethod
    def _spin(name: str, value: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setObjectName(name)
        spin.setRange(0.0, 100.0)
        spin.setDecimals(1)
        spin.setSingleStep(0.5)
        spin.setSuffix(" %")
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def contrast(self) -> Contrast:
        low, high = sorted((self.low.value(), self.high.value()))
        channel = self.channel.currentIndex() - 1 if self.channel.currentIndex() > 0 else None
        return Contrast(low=low, high=max(high, low + 0.1), full_range=not self.stretch.isChecked(),
                        channel=channel)

    def set_image(self, image: np.ndarray) -> None:
        """Reset the controls for a new image type/channel count (kept while they stay the same)."""
        channels = image.shape[2]
        if image.dtype == self._dtype and self.channel.count() == channels + 1:
            return
        self._dtype = image.dtype
        widgets = (self.stretch, self.low, self.high, self.channel)
        for widget in widgets:
            widget.blockSignals(True)
        default = default_contrast(image)
        self.stretch.setChecked(not default.full_range)
        self.stretch.setEnabled(image.dtype == np.uint8)  # other types cannot be shown unstretched
        self.channel.clear()
        self.channel.addItem("Composite" if channels > 1 else "Grey")
        for c in range(channels):
            self.channel.addItem(f"Channel {c + 1} only")
        self.channel.setEnabled(channels > 1)
        for widget in widgets:
            widget.blockSignals(False)
        self.low.setEnabled(self.stretch.isChecked())
        self.high.setEnabled(self.stretch.isChecked())

    def show_limits(self, dtype: np.dtype, limits: list[tuple[float, float]]) -> None:
        """State the values mapped to black and white so nothing is clipped without the user knowing."""
        name = np.dtype(dtype).name
        if not self.stretch.isChecked() and name == "uint8":
            self.limits.setText("uint8: shown as stored (0 = black, 255 = white)")
            return
        if len(limits) == 1:
            rows = [f"{_fmt(limits[0][0])} … {_fmt(limits[0][1])}"]
        else:
            colors = ["magenta", "green"] if len(limits) == 2 else ["red", "green", "blue"]
            rows = [f"{c}: {_fmt(lo)} … {_fmt(hi)}" for c, (lo, hi) in zip(colors, limits, strict=True)]
        self.limits.setText(f"{name} shown from black to bright:\n" + "\n".join(rows)
                            + "\nvalues outside clamp to the ends")

    def _changed(self, *_args) -> None:
        self.low.setEnabled(self.stretch.isChecked())
        self.high.setEnabled(self.stretch.isChecked())
        self.contrastChanged.emit(self.contrast())


def _fmt(value: float) -> str:
    return f"{value:.4g}"
