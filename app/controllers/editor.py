"""Turns canvas gestures into mask edits: the current tool, class and brush size decide what is written.

All pixel work, the fill rule of instance masks included, happens in :class:`segcore.annotate.AnnotationStore`;
this module only routes image coordinates and the value the tool writes.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.state.session import Session
from app.views.canvas import Canvas
from segcore.annotate import Tool, tool_value


class Editor(QObject):
    """Connects a canvas to a session. ``set_tool`` and ``set_class`` are called from the window's panels."""

    def __init__(self, canvas: Canvas, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.session = session
        self.tool = Tool.BRUSH
        self.class_index = 1
        canvas.strokeStarted.connect(lambda _x, _y: session.begin_edit())
        canvas.strokeMoved.connect(self._stroke)
        canvas.strokeFinished.connect(session.end_edit)
        canvas.fillRequested.connect(lambda x, y: session.fill((x, y), self.value()))
        canvas.polygonFinished.connect(lambda points: session.polygon(points, self.value()))

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self.canvas.set_tool(tool)

    def set_class(self, index: int) -> None:
        self.class_index = index

    def value(self) -> int:
        """The mask value the current tool writes."""
        return tool_value(self.tool, self.class_index)

    def _stroke(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.session.stroke((x0, y0), (x1, y1), self.canvas.brush_size, self.value())
