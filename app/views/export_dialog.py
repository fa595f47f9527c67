"""File > Export Model…: which checkpoint, which format, where; then the export's progress, its checks against
PyTorch and, for a bioimage.io package, the validation result.

Only widgets: it emits ``exportRequested(options)`` and shows what the controller
(:class:`app.controllers.export.ExportController`) passes in.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.views.rows import side_by_side

# format key, label, default output name from the checkpoint's stem
FORMATS = [("bioimageio", "bioimage.io package (folder + .zip): Fiji/deepImageJ, QuPath, napari, ilastik",
            "{stem}_bioimageio"),
           ("onnx", "ONNX file (.onnx): ONNX Runtime in any language", "{stem}.onnx"),
           ("torchscript", "TorchScript file (.pt): PyTorch and Java tools", "{stem}_torchscript.pt")]


class ExportDialog(QDialog):
    """The export form and its result; ``exportRequested`` carries checkpoint, out, fmt, sample, authors, license,
    overwrite."""

    exportRequested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export Model")
        self.resize(720, 520)
        self.checkpoint = QLineEdit(objectName="exportCheckpointEdit", placeholderText="best.pt of a training run")
        self.format = QComboBox(objectName="exportFormatCombo")
        for key, label, _ in FORMATS:
            self.format.addItem(label, key)
        self.output = QLineEdit(objectName="exportOutputEdit")
        self.sample = QLineEdit(objectName="exportSampleEdit",
                                placeholderText="optional; default: the training folder's first validation image")
        self.authors = QLineEdit(objectName="exportAuthorsEdit", placeholderText="comma-separated; default: your "
                                                                                 "user name")
        self.license = QLineEdit("CC-BY-4.0", objectName="exportLicenseEdit")
        self.overwrite = QCheckBox("Replace an existing output", objectName="exportOverwriteCheck")
        self.log = QPlainTextEdit(objectName="exportLog", readOnly=True)
        self.log.setPlaceholderText("Every export is checked against the PyTorch model on a test image; a "
                                    "bioimage.io package is also validated with bioimageio.spec.")
        self.verdict = QLabel(objectName="exportVerdict", wordWrap=True)
        self.export_button = QPushButton("Export", objectName="exportButton", default=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Model:", side_by_side(self.checkpoint, self._browse_button("Browse…", self._choose_checkpoint)))
        form.addRow("Format:", self.format)
        form.addRow("Save to:", side_by_side(self.output, self._browse_button("Browse…", self._choose_output)))
        form.addRow("Test image:", side_by_side(self.sample, self._browse_button("Browse…", self._choose_sample)))
        form.addRow("Authors:", self.authors)
        form.addRow("Licence (SPDX):", self.license)
        form.addRow("", self.overwrite)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.verdict)
        layout.addWidget(buttons)
        self._suggested = ""
        self._loaded = ""  # the model the window had loaded when the dialog last opened
        self.format.currentIndexChanged.connect(self._suggest_output)
        self.checkpoint.textChanged.connect(self._suggest_output)
        self.export_button.clicked.connect(self._request)
        self._suggest_output()

    def _browse_button(self, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        return button

    def fmt(self) -> str:
        return self.format.currentData()

    def start_over(self, loaded: str | Path | None) -> None:
        """Opened again: the ``loaded`` model (unless the user chose another file here) and no earlier result."""
        if self.checkpoint.text().strip() in ("", self._loaded):
            self.checkpoint.setText(str(loaded or ""))
        self._loaded = str(loaded or "")
        self.log.clear()
        self._verdict("", "")

    def _suggest_output(self) -> None:
        """Beside the checkpoint, named by the format; kept once the user typed a path of their own."""
        text = self.checkpoint.text().strip()
        if not text or self.output.text() not in ("", self._suggested):
            return
        source = Path(text)
        if not source.name:  # a path being typed ("/"): nothing to name an output after yet
            return
        name = next(n for key, _, n in FORMATS if key == self.fmt()).format(stem=source.stem)
        self._suggested = str(source.with_name(name))
        self.output.setText(self._suggested)
        bio = self.fmt() == "bioimageio"
        for widget in (self.authors, self.license):
            widget.setEnabled(bio)

    def _choose(self, edit: QLineEdit, title: str, filter_text: str = "", save: bool = False) -> None:
        ask = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = ask(self, title, edit.text(), filter_text)
        if path:
            edit.setText(path)

    def _choose_checkpoint(self) -> None:
        self._choose(self.checkpoint, "Model to export", "Checkpoints (*.pt);;All files (*)")

    def _choose_output(self) -> None:
        self._choose(self.output, "Export to", save=True)

    def _choose_sample(self) -> None:
        self._choose(self.sample, "Test image", "Images (*.png *.tif *.tiff *.jpg *.jpeg *.bmp);;All files (*)")

    def _request(self) -> None:
        checkpoint, out = self.checkpoint.text().strip(), self.output.text().strip()
        if not checkpoint or not out:
            self.show_error("Choose the model to export and where to save it.")
            return
        authors = [a.strip() for a in self.authors.text().split(",") if a.strip()]
        self.exportRequested.emit({"checkpoint": checkpoint, "out": out, "fmt": self.fmt(),
                                   "sample": self.sample.text().strip() or None, "authors": authors,
                                   "license_id": self.license.text().strip() or "CC-BY-4.0",
                                   "overwrite": self.overwrite.isChecked()})

    # -- what the controller shows ------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        if running:
            self.log.clear()
            self._verdict("Exporting…", "")

    def add_progress(self, line: str) -> None:
        self.log.appendPlainText(line)

    def show_result(self, result) -> None:
        """An :class:`segcore.export.ExportResult`: its summary in the log, the verdict below it."""
        for line in result.summary():
            self.log.appendPlainText(line)
        agree = min((c.mask_agreement for c in result.checks), default=1.0)
        checks = f"masks agree with PyTorch on {100 * agree:.3f} % of the test image"
        if result.valid is False:
            self._verdict(f"✘ Exported, but the package is NOT valid: {result.validation}", "#b00020")
        elif result.valid:
            self._verdict(f"✔ Valid bioimage.io package ({result.validation}); {checks}", "#1b7f3b")
        else:
            self._verdict(f"✔ Exported to {result.written[0]}; {checks}", "#1b7f3b")

    def show_error(self, text: str) -> None:
        self._verdict(f"✘ {text}", "#b00020")

    def _verdict(self, text: str, colour: str) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"color: {colour}; font-weight: bold;" if colour else "")
