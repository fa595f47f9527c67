"""Mask editing on numpy arrays: brush/eraser strokes, flood fill, polygon fill, undo history, and the store.

No Qt here: the GUI turns mouse events into image coordinates and calls these functions; tests drive them
directly. An edit is done in two steps: a pure *footprint* (the pixels a tool touches, see :mod:`.tools`) and
:meth:`EditSession.apply`, which writes a value there after backing up the touched tiles. A session groups one
user action (a whole stroke) into one :class:`Edit` holding only the changed bounding box, before and after,
which :class:`History` undoes and redoes (see :mod:`.history`). Unlabelled pixels are written as
``IGNORE_INDEX``. :class:`AnnotationStore` (see :mod:`.store`) keeps a folder's masks, their histories and the
save policy, and reports every change through plain callbacks (:mod:`.events`); :mod:`.saving` says where and how
a mask is written.
"""

from __future__ import annotations

from segcore.annotate.events import ImageState, StoreCallbacks
from segcore.annotate.history import Edit, EditSession, History
from segcore.annotate.reading import DirectReader, Reader
from segcore.annotate.store import AnnotationStore
from segcore.annotate.tools import (
    Box,
    Footprint,
    Tool,
    apply_footprint,
    flood_footprint,
    line_footprint,
    polygon_footprint,
    tool_value,
)
from segcore.data.classes import IGNORE_INDEX

__all__ = [
    "IGNORE_INDEX", "Box", "Footprint", "Tool", "line_footprint", "flood_footprint", "polygon_footprint",
    "apply_footprint", "Edit", "EditSession", "History", "AnnotationStore", "StoreCallbacks", "ImageState",
    "Reader", "DirectReader", "tool_value",
]
