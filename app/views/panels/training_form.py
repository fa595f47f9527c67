"""The settings of a training run: architecture, schedule, data handling, device and output folder.

The values map one to one onto :class:`segcore.training.config.TrainConfig` (:meth:`TrainingForm.values`), and
are remembered between sessions. The architecture list is static so the panel is built without importing torch;
a test checks it against ``segcore.models.available()``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from segcore.errors import ConfigError

# name, description, placeholder for the model options
ARCHITECTURES = [
    ("unet", "U-Net (Ronneberger 2015): encoder-decoder with skip connections; the default for cells and nuclei",
     "width=32, depth=4"),
    ("segnet", "SegNet (Badrinarayanan 2015): VGG16-BN encoder, decoder upsamples with max-pooling indices",
     "width=64"),
    ("pspnet", "PSPNet (Zhao 2017): dilated ResNet + pyramid pooling; context for large objects",
     "backbone=resnet50"),
]
DEVICES = [("auto", "Automatic (GPU when present)"), ("cpu", "CPU"), ("cuda", "GPU (CUDA)")]


def parse_options(text: str) -> dict:
    """``"width=16, backbone=resnet18"`` -> ``{"width": 16, "backbone": "resnet18"}`` (values read as JSON)."""
    options = {}
    # commas or semicolons separate options; so does a space before the next KEY= ("width=4 depth=2")
    for part in filter(None, (p.strip() for p in re.split(r"[,;]|\s+(?=[A-Za-z_]\w*\s*=)", text))):
        key, sep, raw = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"model option '{part}' is not KEY=VALUE (e.g. width=16)")
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw.strip()  # plain words need no quotes: backbone=resnet18
    return options


def _spin(name: str, low: float, high: float, value: float, tip: str, decimals: int | None = None,
          step: float | None = None, special: str = "") -> QSpinBox | QDoubleSpinBox:
    spin = QSpinBox() if decimals is None else QDoubleSpinBox()
    if decimals is not None:
        spin.setDecimals(decimals)
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setValue(value)
    if step:
        spin.setSingleStep(step)
    if special:
        spin.setSpecialValueText(special)  # shown at the minimum, which then means "none"/"whole"
    spin.setToolTip(tip)
    return spin


class TrainingForm(QWidget):
    """Training settings; ``values()`` gives TrainConfig keyword arguments (raises ConfigError on bad options)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.arch = QComboBox()
        self.arch.setObjectName("archCombo")
        for name, description, _ in ARCHITECTURES:
            self.arch.addItem(name, name)
            self.arch.setItemData(self.arch.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        self.options = QLineEdit()
        self.options.setObjectName("archOptionsEdit")
        self.options.setToolTip("Model options as KEY=VALUE, comma separated (see `segcore models`); empty for "
                                "the architecture's defaults")
        self.epochs = _spin("epochsSpin", 1, 100_000, 20, "Number of passes over the training images")
        self.lr = _spin("lrSpin", 0.000001, 1.0, 0.001, "Learning rate of AdamW (annealed over the run)", 6, 0.0001)
        self.batch = _spin("batchSizeSpin", 1, 512, 4, "Patches per optimisation step")
        self.scale = _spin("scaleSpin", 0.05, 4.0, 1.0, "Resize images by this factor before training "
                           "(prediction uses the same scale)", 2, 0.05)
        self.patch = _spin("patchSizeSpin", 15, 8192, 256, "Side of the random square crops; 'whole images' "
                           "trains on full images (a batch of different sizes is padded)", special="whole images")
        self.val = _spin("valFractionSpin", 0.0, 0.9, 0.15, "Share of the annotated images kept for validation "
                         "(Dice, best checkpoint); ignored for the data/ + val/ layout", 2, 0.05)
        self.time_limit = _spin("timeLimitSpin", 0.0, 100_000.0, 0.0, "Stop after this many minutes; the "
                                "learning-rate schedule anneals over that time", 1, 1.0, special="no limit")
        self.device = QComboBox()
        self.device.setObjectName("deviceCombo")
        for key, label in DEVICES:
            self.device.addItem(label, key)
        self.out = QLineEdit()
        self.out.setObjectName("outputEdit")
        self.out.setPlaceholderText("FOLDER/checkpoints/ARCH-DATE-TIME")
        self.out.setToolTip("Where best.pt, last.pt, metrics.csv and config.json are written")
        browse = QPushButton("…")
        browse.setObjectName("outputBrowseButton")
        browse.setToolTip("Choose the output folder")
        browse.setMaximumWidth(32)
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.setContentsMargins(0, 0, 0, 0)
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        form = QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        for label, widget in (("Architecture", self.arch), ("Model options", self.options),
                              ("Epochs", self.epochs), ("Learning rate", self.lr), ("Batch size", self.batch),
                              ("Scale", self.scale), ("Patch size", self.patch), ("Validation", self.val),
                              ("Time limit (min)", self.time_limit), ("Device", self.device)):
            form.addRow(label, widget)
        form.addRow("Output", out_row)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self._arch_changed()

    def _arch_changed(self) -> None:
        self.options.setPlaceholderText(ARCHITECTURES[self.arch.currentIndex()][2])
        self.arch.setToolTip(ARCHITECTURES[self.arch.currentIndex()][1])

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the checkpoints", self.out.text() or "")
        if folder:
            self.out.setText(folder)

    def values(self) -> dict:
        """Keyword arguments for TrainConfig (without ``data``); ``out`` is None for the automatic folder."""
        patch = self.patch.value()
        return dict(arch=self.arch.currentData(), arch_kwargs=parse_options(self.options.text()),
                    epochs=self.epochs.value(), lr=self.lr.value(), batch_size=self.batch.value(),
                    scale=self.scale.value(), patch_size=None if patch == self.patch.minimum() else patch,
                    val_fraction=self.val.value(), time_limit=self.time_limit.value() or None,
                    device=self.device.currentData(), out=self.out.text().strip() or None)

    def set_values(self, arch: str = "unet", options: str = "", **values) -> None:
        """Fill the form (tests, scripts): ``epochs``, ``lr``, ``batch_size``, ``scale``, ``patch_size``, ..."""
        self.arch.setCurrentIndex(max(0, self.arch.findData(arch)))
        self.options.setText(options)
        spins = {"epochs": self.epochs, "lr": self.lr, "batch_size": self.batch, "scale": self.scale,
                 "patch_size": self.patch, "val_fraction": self.val, "time_limit": self.time_limit}
        for key, value in values.items():
            if key == "out":
                self.out.setText(str(value or ""))
            elif key == "device":
                self.device.setCurrentIndex(max(0, self.device.findData(value)))
            else:
                spins[key].setValue(value if value is not None else spins[key].minimum())

    def default_out(self, folder: Path, stamp: str) -> Path:
        return folder / "checkpoints" / f"{self.arch.currentData()}-{stamp}"

    def show_gpu(self, available: bool, name: str) -> None:
        """Once torch has looked: name the GPU, or grey the choice out when there is none."""
        index = self.device.findData("cuda")
        item = self.device.model().item(index)
        item.setText(f"GPU: {name}" if available else "GPU (none found)")
        item.setEnabled(available)
        if not available and self.device.currentIndex() == index:
            self.device.setCurrentIndex(self.device.findData("auto"))

    # -- remembered between sessions (the window stores them: see app.state.settings) ------------------------
    def remembered(self) -> dict:
        """The settings worth keeping between sessions, as plain values (keys stable across versions)."""
        return {"arch": self.arch.currentData(), "options": self.options.text(),
                **{key: spin.value() for key, spin in self._spins().items()}}

    def set_remembered(self, values: dict) -> None:
        """Put back what :meth:`remembered` gave; unknown keys are ignored."""
        if "arch" in values:
            self.arch.setCurrentIndex(max(0, self.arch.findData(values["arch"])))
        if "options" in values:
            self.options.setText(str(values["options"]))
        for key, spin in self._spins().items():
            if key in values:
                spin.setValue(values[key])

    def _spins(self) -> dict:
        return {"epochs": self.epochs, "lr": self.lr, "batch": self.batch, "scale": self.scale,
                "patch": self.patch, "val": self.val, "time_limit": self.time_limit}
