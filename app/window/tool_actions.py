"""The annotation tools as checkable actions (one active at a time) with shortcuts and stable names."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from app.views.icons import icon
from segcore.annotate import Tool

# tool (its icon in resources/icons has its name), object name, label, shortcut, tip
TOOLS = [
    (Tool.BRUSH, "brushTool", "Brush", "B", "Paint the selected class"),
    (Tool.ERASER, "eraserTool", "Eraser", "E", "Paint background (class 0)"),
    (Tool.UNLABELLED, "unlabelledTool", "Unlabelled", "U",
     "Mark pixels as unlabelled: they are left out of training (sparse annotation)"),
    (Tool.FILL, "fillTool", "Fill", "F", "Fill the connected region under the click with the selected class"),
    (Tool.POLYGON, "polygonTool", "Polygon", "P",
     "Fill a polygon with the selected class: click corners, double-click or Enter to close; drag for a lasso"),
]


class ToolActions(QObject):
    """Holds one QAction per tool; emits ``toolChosen(Tool)``."""

    toolChosen = Signal(object)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[Tool, QAction] = {}
        for tool, name, label, key, tip in TOOLS:
            action = QAction(icon(tool.value), label, parent)
            action.setObjectName(name)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(f"{label} ({key}): {tip}")
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False, t=tool: self.toolChosen.emit(t))
            self.group.addAction(action)
            self.actions[tool] = action
        self.actions[Tool.BRUSH].setChecked(True)

    def choose(self, tool: Tool) -> None:
        self.actions[tool].setChecked(True)
        self.toolChosen.emit(tool)
