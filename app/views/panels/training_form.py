"""The settings of a training run: the time budget (the usual way to train) and the explicit *Advanced* ones.

With a time budget the run is planned for the folder and this machine (:mod:`segcore.planning`, what
``segcore train --minutes`` does); every Advanced setting left at *auto* is the plan's, any other overrides the
plan's entry, as an explicit flag does on the command line. Without a budget the Advanced settings are the whole
recipe, *auto* meaning TrainConfig's defaults (the fixed recipe). The architecture list is static so the panel
is built without importing torch; a test checks it against ``segcore.models.available()``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.views.rows import side_by_side
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
NORMALISATIONS = [("auto", None), ("training set's mean and std", "dataset"),
                  ("each image on its own (z-score)", "image")]  # `--normalise` of segcore train
DEFAULT_MINUTES = 10.0
AUTO = "auto"
SETTINGS_GROUP = "trainingPlan"  # not "training": values kept by the fixed-recipe form would all read as explicit


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


def _spin(name: str, high: float, value: float, tip: str, decimals: int | None = None, step: float | None = None,
          special: str = AUTO, low: float = 0) -> QSpinBox | QDoubleSpinBox:
    """A spin box whose minimum shows ``special`` ("auto": the plan's value, or the fixed recipe's)."""
    spin = QSpinBox() if decimals is None else QDoubleSpinBox()
    if decimals is not None:
        spin.setDecimals(decimals)
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setValue(value)
    if step:
        spin.setSingleStep(step)
    if special:
        spin.setSpecialValueText(special)
    spin.setToolTip(tip)
    return spin


class TrainingForm(QWidget):
    """The budget and name (``essentials``) and the explicit settings (``advanced``), two widgets to place."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.minutes = _spin("budgetSpin", 24 * 60, DEFAULT_MINUTES, "Minutes for the whole run, planning "
                             "included: the plan sizes the network, patches and schedule to finish in them. "
                             "'none' trains by the Advanced settings alone", 1, 1.0, special="none")
        self.minutes.setSuffix(" min")
        self.name = QLineEdit()
        self.name.setObjectName("runNameEdit")
        self.name.setPlaceholderText("optional, e.g. nuclei 20x")
        self.name.setToolTip("A name for this run: its folder under checkpoints/ starts with it, and the run "
                             "lists show it")
        self.essentials = QWidget()
        top = QFormLayout(self.essentials)
        top.setContentsMargins(0, 0, 0, 0)
        self.budget_row = side_by_side(self.minutes)  # the panel puts Show plan beside the budget it plans for
        top.addRow("Time budget", self.budget_row)
        top.addRow("Run name", self.name)
        self._build_advanced()

    def _build_advanced(self) -> None:
        self.arch = QComboBox()
        self.arch.setObjectName("archCombo")
        for name, description, _ in ARCHITECTURES:
            self.arch.addItem(name, name)
            self.arch.setItemData(self.arch.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        self.options = QLineEdit()
        self.options.setObjectName("archOptionsEdit")
        self.options.setToolTip("Model options as KEY=VALUE, comma separated (see `segcore models`); empty for "
                                "the plan's width and depth (or the architecture's defaults)")
        self.epochs = _spin("epochsSpin", 100_000, 0, "Passes over the training images; with a time budget "
                            "an upper bound (auto: the time decides; without a budget 20)")
        self.lr = _spin("lrSpin", 1.0, 0, "Peak learning rate of AdamW, annealed over the run (auto: 0.001)",
                        6, 0.0001)
        self.batch = _spin("batchSizeSpin", 512, 0, "Patches per optimisation step (auto: 4)")
        self.scale = _spin("scaleSpin", 4.0, 0, "Resize images by this factor before training; prediction "
                           "uses the same (auto: the plan's, or 1)", 2, 0.05)
        self.patch = _spin("patchSizeSpin", 8192, 0, "Side of the random square crops (auto: the plan's, or "
                           "256)")
        self.whole = QCheckBox("whole images")
        self.whole.setObjectName("wholeImagesCheck")
        self.whole.setToolTip("Train on full images instead of crops (a batch of different sizes is padded)")
        self.whole.toggled.connect(lambda on: self.patch.setEnabled(not on))
        self.normalise = QComboBox()
        self.normalise.setObjectName("normaliseCombo")
        for label, key in NORMALISATIONS:
            self.normalise.addItem(label, key)
        self.normalise.setToolTip("How image intensities are scaled for the network. The training set's mean and "
                                  "std suits most folders; each image on its own (nnU-Net's z-score) suits "
                                  "folders whose exposure or staining varies from image to image, but not "
                                  "sparse objects on a dark background (auto: the plan's, or the training set's)")
        self.val = _spin("valFractionSpin", 0.9, 0.15, "Share of the annotated images kept for validation "
                         "(Dice, best checkpoint, CRF fit); ignored for the data/ + val/ layout", 2, 0.05, special="")
        self.device = QComboBox()
        self.device.setObjectName("deviceCombo")
        for key, label in DEVICES:
            self.device.addItem(label, key)
        self.out = QLineEdit()
        self.out.setObjectName("outputEdit")
        self.out.setPlaceholderText("FOLDER/checkpoints/NAME-DATE-TIME")
        self.out.setToolTip("Where best.pt, last.pt, metrics.csv and config.json are written")
        self.advanced = QWidget()
        self.advanced.setObjectName("advancedSettings")
        form = QFormLayout(self.advanced)
        form.setContentsMargins(4, 4, 4, 4)
        for label, widget in (("Architecture", self.arch), ("Model options", self.options), ("Epochs", self.epochs),
                              ("Learning rate", self.lr), ("Batch size", self.batch), ("Scale", self.scale),
                              ("Patch size", side_by_side(self.patch, self.whole)),
                              ("Normalisation", self.normalise), ("Validation", self.val),
                              ("Device", self.device), ("Output", side_by_side(self.out, self._browse_button()))):
            form.addRow(label, widget)
        reset = QPushButton("All automatic")
        reset.setObjectName("autoSettingsButton")
        reset.setToolTip("Set every Advanced setting back to auto: the plan (or the fixed recipe) decides")
        reset.clicked.connect(self.reset_advanced)
        form.addRow(reset)
        self.arch.currentIndexChanged.connect(self._arch_changed)
        self._arch_changed()

    def _browse_button(self) -> QPushButton:
        browse = QPushButton("…")
        browse.setObjectName("outputBrowseButton")
        browse.setToolTip("Choose the output folder")
        browse.setMaximumWidth(32)
        browse.clicked.connect(self._browse)
        return browse

    def show_planned_model(self, planned: str | None) -> None:
        """What an empty *Model options* field means now: ``planned``, the plan's U-Net options ("width=16,
        depth=4") when a plan for this budget is shown; None: none is (the plan's, or without a budget the
        architecture's defaults). A newcomer read "width=32" here while the plan trained width 16."""
        self._planned_model = planned
        self._arch_changed()

    def _arch_changed(self) -> None:
        name, description, defaults = ARCHITECTURES[self.arch.currentIndex()]
        planned = getattr(self, "_planned_model", None)
        if self.budget_minutes() <= 0 or name != "unet":  # the plan sizes a U-Net only
            hint = f"auto: {defaults} (the defaults)"
        else:
            hint = f"auto: {planned} (the plan's)" if planned else "auto: the plan's width and depth"
        self.options.setPlaceholderText(hint)
        self.arch.setToolTip(description)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the checkpoints", self.out.text() or "")
        if folder:
            self.out.setText(folder)

    # -- values -------------------------------------------------------------------------------------------------
    def budget_minutes(self) -> float:
        """The time budget in minutes; 0 for none (train by the explicit settings)."""
        return float(self.minutes.value())

    def explicit(self) -> dict:
        """The settings the user set (not *auto*), keyed as TrainConfig fields, for the plan to respect
        (``segcore.planning.auto.plan_training(user=...)``). Raises ConfigError on bad model options."""
        given = {key: spin.value() for key, spin in self._planned().items() if spin.value() != spin.minimum()}
        if self.whole.isChecked():
            given.pop("patch_size", None)  # not a plan entry: the run applies it after planning
        if self.arch.currentData() != "unet":
            given["arch"] = self.arch.currentData()
        if self.normalise.currentData():
            given["normalisation"] = self.normalise.currentData()
        options = parse_options(self.options.text())
        for key in ("width", "depth"):  # U-Net options the plan sizes: set here, they are the user's
            if isinstance(options.get(key), int) and not isinstance(options[key], bool):
                given[key] = options[key]
        return given

    def values(self) -> dict:
        """Keyword arguments for TrainConfig (without ``data``): the explicit settings, validation share, device
        and output (``out`` None for the automatic folder); *auto* ones are left to TrainConfig's defaults."""
        values = {k: v for k, v in self.explicit().items() if k not in ("width", "depth", "normalisation")}
        if self.normalise.currentData():
            values["per_image_norm"] = self.normalise.currentData() == "image"
        values.update(arch=self.arch.currentData(), arch_kwargs=parse_options(self.options.text()),
                      val_fraction=self.val.value(), device=self.device.currentData(),
                      out=self.out.text().strip() or None, name=self.run_name() or None)
        if self.whole.isChecked():
            values["patch_size"] = None
        return values

    def run_name(self) -> str:
        return self.name.text().strip()

    def set_values(self, arch: str = "unet", options: str = "", **values) -> None:
        """Fill the form (tests, scripts): ``minutes`` (0: none), ``epochs``, ``lr``, ``batch_size``, ``scale``,
        ``patch_size`` (None: whole images), ``normalisation`` ("image", "dataset", None: auto), ``val_fraction``,
        ``device``, ``out``, ``name``; others stay."""
        self.arch.setCurrentIndex(max(0, self.arch.findData(arch)))
        self.options.setText(options)
        spins = {**self._planned(), "val_fraction": self.val, "minutes": self.minutes}
        for key, value in values.items():
            if key in ("out", "name"):
                (self.out if key == "out" else self.name).setText(str(value or ""))
            elif key in ("device", "normalisation"):
                combo = self.device if key == "device" else self.normalise
                combo.setCurrentIndex(max(0, combo.findData(value)))
            elif key == "patch_size" and value is None:
                self.whole.setChecked(True)
            else:
                spins[key].setValue(value)

    def reset_advanced(self) -> None:
        for spin in self._planned().values():
            spin.setValue(spin.minimum())
        self.arch.setCurrentIndex(0)
        self.options.clear()
        self.whole.setChecked(False)
        self.normalise.setCurrentIndex(0)

    def forget_output_in(self, folder: Path | None) -> None:
        """Clear an explicit output folder inside ``folder`` (the folder just closed): a run on the next one must
        not write its checkpoints among the last one's."""
        out = self.out.text().strip()
        if folder is not None and out and Path(out).resolve().is_relative_to(Path(folder).resolve()):
            self.out.clear()

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
        return {"arch": self.arch.currentData(), "options": self.options.text(), "whole": self.whole.isChecked(),
                "normalisation": self.normalise.currentData() or "",
                **{key: spin.value() for key, spin in self._remembered_spins().items()}}

    def set_remembered(self, values: dict) -> None:
        """Put back what :meth:`remembered` gave; unknown keys are ignored."""
        if "arch" in values:
            self.arch.setCurrentIndex(max(0, self.arch.findData(values["arch"])))
        if "options" in values:
            self.options.setText(str(values["options"]))
        if "whole" in values:
            self.whole.setChecked(bool(values["whole"]))
        if "normalisation" in values:
            self.normalise.setCurrentIndex(max(0, self.normalise.findData(values["normalisation"] or None)))
        for key, spin in self._remembered_spins().items():
            if key in values:
                spin.setValue(values[key])

    def _planned(self) -> dict:
        """The spin boxes of plan entries, keyed as TrainConfig fields."""
        return {"epochs": self.epochs, "lr": self.lr, "batch_size": self.batch, "scale": self.scale,
                "patch_size": self.patch}

    def _remembered_spins(self) -> dict:
        return {"minutes": self.minutes, "epochs": self.epochs, "lr": self.lr, "batch": self.batch,
                "scale": self.scale, "patch": self.patch, "val": self.val}
