"""Turns canvas gestures into mask edits: the current tool, class and brush size decide what is written.

All pixel work, the fill rule of instance masks included, happens in :class:`segcore.annotate.AnnotationStore`;
this module only routes image coordinates and the value the tool writes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from app.state.session import Session
from app.views.canvas import Canvas
from segcore.annotate import ImageState, Tool, tool_value


class Editor(QObject):
    """Connects a canvas to a session. ``set_tool`` and ``set_class`` are called from the window's panels."""

    def __init__(self, canvas: Canvas, session: Session, parent: QObject | None = None,
                 on_new_mask: Callable[[int], None] | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.session = session
        self.on_new_mask = on_new_mask  # asks what a new mask's unpainted pixels are (app.controllers.new_masks)
        self.tool = Tool.BRUSH
        self.class_index = 1
        canvas.strokeStarted.connect(self._begin)
        canvas.strokeMoved.connect(self._stroke)
        canvas.strokeFinished.connect(session.end_edit)
        canvas.fillRequested.connect(self._fill)
        canvas.polygonFinished.connect(self._polygon)

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

    def _begin(self, _x: float, _y: float) -> None:
        self._hint_new_mask()
        self.session.begin_edit()

    def _fill(self, x: float, y: float) -> None:
        self._hint_new_mask()
        self.session.fill((x, y), self.value())

    def _polygon(self, points) -> None:
        self._hint_new_mask()
        self.session.polygon(points, self.value())

    def _hint_new_mask(self) -> None:
        """A class painted on an image without a mask starts a new mask: what its unpainted pixels are is asked
        (newcomer checks: strokes on such an image silently trained everything else as background)."""
        s = self.session
        if self.on_new_mask is not None and self.tool is not Tool.UNLABELLED and s.image is not None \
                and s.state(s.index) is ImageState.NO_MASK:
            self.on_new_mask(self.value())
