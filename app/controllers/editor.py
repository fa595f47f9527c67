"""Turns canvas gestures into mask edits: the current tool, class and brush size decide what is written.

All pixel work happens in :mod:`segcore.annotate`; this module only routes coordinates and values.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from app.state.session import Session
from app.views.canvas import Canvas
from segcore import annotate
from segcore.annotate import Tool


class Editor(QObject):
    """Connects a canvas to a session. ``tool``, ``class_index`` and ``brush_size`` are set by the panels."""

    def __init__(self, canvas: Canvas, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.session = session
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
        if self.tool is Tool.ERASER:
            return 0
        if self.tool is Tool.UNLABELLED:
            return annotate.IGNORE_INDEX
        return self.class_index

    def _begin(self, _x: float, _y: float) -> None:
        self.session.begin_edit()

    def _stroke(self, x0: float, y0: float, x1: float, y1: float) -> None:
        mask = self.session.mask
        if mask is None:
            return
        footprint = annotate.line_footprint(mask.shape, (x0, y0), (x1, y1), self.canvas.brush_size)
        self.session.apply(footprint, self.value())

    def _fill(self, x: float, y: float) -> None:
        if self.session.mask is None:
            return
        region = self.session.mask
        row, col = int(np.floor(y)), int(np.floor(x))
        # on an object of an instance mask, the clicked object alone, not all those touching it (numbering the
        # objects reads the file: only done when the click is on one)
        if 0 <= row < region.shape[0] and 0 <= col < region.shape[1] and region[row, col] == 1 \
                and (ids := self.session.object_ids()) is not None:
            region = (ids == ids[row, col]).view(np.uint8)
        self.session.begin_edit()
        self.session.apply(annotate.flood_footprint(region, (x, y)), self.value())
        self.session.end_edit()

    def _polygon(self, points: list) -> None:
        if self.session.mask is None:
            return
        self.session.begin_edit()
        self.session.apply(annotate.polygon_footprint(self.session.mask.shape, points), self.value())
        self.session.end_edit()
