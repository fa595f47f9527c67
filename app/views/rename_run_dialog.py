"""Rename a training run: pick one of the folder's runs, type its new name.

Only widgets: ``renameRequested(run_folder, name)`` when the user clicks Rename; the caller writes it
(:func:`segcore.training.records.rename_run`) and says what went wrong, if anything.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from segcore.training.records import MAX_NAME


class RenameRunDialog(QDialog):
    """``runs``: (label, run folder, current name) per run, newest first; ``current``: the one to start with."""

    renameRequested = Signal(str, str)

    def __init__(self, runs: list[tuple[str, str, str]], current: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("renameRunDialog")
        self.setWindowTitle("Rename a run")
        self.runs = runs
        self.run = QComboBox(objectName="renameRunCombo")
        for label, folder, _ in runs:
            self.run.addItem(label, folder)
        self.name = QLineEdit(objectName="renameRunEdit")
        self.name.setMaxLength(MAX_NAME)
        self.name.setPlaceholderText("e.g. nuclei 20x, lr 3e-3")
        note = QLabel("The run lists show the new name; its folder and checkpoints keep theirs.")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.rename_button = self.buttons.addButton("Rename", QDialogButtonBox.ButtonRole.AcceptRole)
        self.rename_button.setObjectName("renameRunButtonOk")
        form = QFormLayout(self)
        form.addRow("Run", self.run)
        form.addRow("New name", self.name)
        form.addRow(note)
        form.addRow(self.buttons)
        self.run.currentIndexChanged.connect(self._show_name)
        self.name.textChanged.connect(lambda text: self.rename_button.setEnabled(bool(text.strip())))
        self.buttons.accepted.connect(self._rename)
        self.buttons.rejected.connect(self.reject)
        self.run.setCurrentIndex(max(0, min(current, len(runs) - 1)))
        self._show_name()
        self.resize(520, self.sizeHint().height())

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.name.setFocus()  # typing replaces the selected old name at once

    def _show_name(self) -> None:
        index = self.run.currentIndex()
        self.name.setText(self.runs[index][2] if 0 <= index < len(self.runs) else "")
        self.name.selectAll()
        self.name.setFocus()

    def _rename(self) -> None:
        self.renameRequested.emit(self.run.currentData(), self.name.text())
        self.accept()
