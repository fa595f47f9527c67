"""What :class:`~segcore.annotate.store.AnnotationStore` tells its listener: the state of each image, and a
plain callback per change, so the store needs no Qt (the window wraps the callbacks as signals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from segcore.annotate.tools import Box


class ImageState(str, Enum):
    """What the file list shows for an image."""

    NO_MASK = "no mask"
    ANNOTATED = "annotated"
    PREDICTED = "predicted"  # an accepted prediction, not corrected by hand yet
    MODIFIED = "modified"  # changed since the last save
    STROKES = "strokes"  # a saved mask with unlabelled pixels: a few strokes (scribbles), not a full annotation


def _ignore(*_args) -> None:
    pass


@dataclass
class StoreCallbacks:
    """Called after each change; every one defaults to doing nothing."""

    folder_opened: Callable[[Path], None] = _ignore
    image_loaded: Callable[[int], None] = _ignore  # the index, -1 when nothing could be shown
    mask_edited: Callable[[Box], None] = _ignore  # the box (y0, x0, y1, x1) that changed
    mask_replaced: Callable[[], None] = _ignore  # the whole mask changed
    state_changed: Callable[[int, ImageState], None] = _ignore
    spec_changed: Callable[[], None] = _ignore
    history_changed: Callable[[bool, bool], None] = _ignore  # can undo, can redo
    message: Callable[[str], None] = _ignore  # for a status line
    error: Callable[[str], None] = _ignore  # a one-line error; the work goes on
    warning: Callable[[str], None] = _ignore  # what is odd about the folder (JPEG masks, unpaired files)
    save_failed: Callable[[str], None] = _ignore  # masks are kept in memory: the user must hear of it
    # the mask file changed on disk while it has edits here: True reloads it (the edits are lost), False keeps them
    ask_reload: Callable[[str], bool] = lambda _question: False
