"""The class palette: pick the class to paint; add, rename and recolour classes (saved with the folder)."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segcore.data.classes import ClassSpec, default_color


def _swatch(color: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(16, 16)
    pixmap.fill(QColor(*color))
    return QIcon(pixmap)


def next_free_value(spec: ClassSpec) -> int:
    """The file value of a new class: the smallest one no class (nor "unlabelled") uses."""
    used = set(spec.values) | ({spec.unlabelled} if spec.unlabelled is not None else set())
    return next(v for v in range(1, 255) if v not in used)


class ClassPalette(QWidget):
    """List of classes with colour swatches. ``classChosen(index)``; ``specEdited(ClassSpec)`` on changes."""

    classChosen = Signal(int)
    specEdited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classPalette")
        self.list = QListWidget()
        self.list.setObjectName("classList")
        self.list.setMaximumHeight(150)  # a handful of classes; the list scrolls beyond
        self.add_button = QPushButton("Add")
        self.add_button.setObjectName("addClassButton")
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setObjectName("renameClassButton")
        self.color_button = QPushButton("Colour…")
        self.color_button.setObjectName("recolourClassButton")
        for button, tip in ((self.add_button, "Add a class"),
                            (self.rename_button, "Rename the selected class (or double-click it)"),
                            (self.color_button, "Change the colour of the selected class")):
            button.setToolTip(tip)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.rename_button, self.color_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.spec: ClassSpec | None = None
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemDoubleClicked.connect(lambda _item: self.rename())
        self.add_button.clicked.connect(self.add)
        self.rename_button.clicked.connect(self.rename)
        self.color_button.clicked.connect(self.recolor)

    def set_spec(self, spec: ClassSpec) -> None:
        row = max(self.list.currentRow(), 1)
        self.spec = spec
        self.list.blockSignals(True)
        self.list.clear()
        for i, (name, color) in enumerate(zip(spec.names, spec.colors, strict=True)):
            label = f"{name}" + (f"    (key {i})" if i < 10 else "")
            item = QListWidgetItem(_swatch(color), label)
            item.setToolTip(f"press {i} to pick it" if i < 10 else name)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.add_button.setEnabled(not spec.instances)
        self.add_button.setToolTip("Instance masks (one id per object) have one object class" if spec.instances
                                   else "Add a class")
        self.select(min(row, spec.num_classes - 1))

    def select(self, index: int) -> None:
        if self.spec is not None and 0 <= index < self.spec.num_classes:
            self.list.setCurrentRow(index)
            self.classChosen.emit(index)

    def current(self) -> int:
        return max(self.list.currentRow(), 0)

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.classChosen.emit(row)

    # -- editing ------------------------------------------------------------------------------------------------
    def add(self, name: str | None = None) -> None:
        if self.spec is None or self.spec.instances:
            return
        index = self.spec.num_classes
        if not name:
            name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:", text=f"class {index}")
            if not ok or not name.strip():
                return
        spec = dataclasses.replace(self.spec, names=[*self.spec.names, name.strip()],
                                   values=[*self.spec.values, next_free_value(self.spec)],
                                   colors=[*self.spec.colors, default_color(index)])
        self.specEdited.emit(spec)
        self.select(index)

    def rename(self, name: str | None = None) -> None:
        row = self.list.currentRow()
        if self.spec is None or row < 0:
            return
        if not name:
            name, ok = QInputDialog.getText(self, "Rename class", "New name:", text=self.spec.names[row])
            if not ok or not name.strip():
                return
        names = list(self.spec.names)
        names[row] = name.strip()
        self.specEdited.emit(dataclasses.replace(self.spec, names=names))
        self.select(row)

    def recolor(self, color: QColor | None = None) -> None:
        row = self.list.currentRow()
        if self.spec is None or row < 0:
            return
        if color is None:
            color = QColorDialog.getColor(QColor(*self.spec.colors[row]), self, "Class colour")
            if not color.isValid():
                return
        colors = list(self.spec.colors)
        colors[row] = (color.red(), color.green(), color.blue())
        self.specEdited.emit(dataclasses.replace(self.spec, colors=colors))
        self.select(row)
