"""The session: :class:`segcore.annotate.AnnotationStore` as a QObject whose callbacks are Qt signals.

The store (Qt-free, tested without a QApplication) holds the folder, the current image and mask, the histories
and the save policy. This wrapper re-emits its callbacks as signals, so panels and controllers connect to them,
owns the autosave timer, and reads files through a :class:`ReadAhead`. Its one behaviour of its own: a folder
reopens at the image it was left at (remembered per folder in the settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.state import settings
from app.state.read_ahead import ReadAhead
from segcore.annotate import AnnotationStore, Box, ImageState, StoreCallbacks
from segcore.annotate.levels import LevelView
from segcore.annotate.provenance import Origin
from segcore.data import layout
from segcore.data.classes import ClassSpec
from segcore.interop.ome_tiff import ImageInfo
from segcore.interop.physical import PixelSize

LAST_IMAGE_KEY = "last_image"


class Session(QObject):
    """Signals for every change of the store; ``store`` does the work, the methods below only forward."""

    folderOpened = Signal(object)  # Path
    imageLoaded = Signal(int)  # index, -1 when nothing could be shown
    maskEdited = Signal(object)  # box (y0, x0, y1, x1) that changed
    maskReplaced = Signal()  # the whole mask changed
    stateChanged = Signal(int, object)  # sample index, ImageState
    specChanged = Signal()
    historyChanged = Signal(bool, bool)  # can undo, can redo
    message = Signal(str)  # for the status bar
    error = Signal(str)  # a user-facing one-line error
    warning = Signal(str)  # what is odd about the folder (JPEG masks, unpaired files), in words
    saveFailed = Signal(str)  # masks kept in memory, not on disk: the window says so in a dialog

    def __init__(self, parent: QObject | None = None, autosave_ms: int = 30_000) -> None:
        super().__init__(parent)
        callbacks = StoreCallbacks(
            folder_opened=self.folderOpened.emit, image_loaded=self.imageLoaded.emit,
            mask_edited=self.maskEdited.emit, mask_replaced=self.maskReplaced.emit,
            state_changed=self.stateChanged.emit, spec_changed=self.specChanged.emit,
            history_changed=self.historyChanged.emit, message=self.message.emit, error=self.error.emit,
            warning=self.warning.emit,
            save_failed=self.saveFailed.emit)
        self.store = AnnotationStore(callbacks, reader=ReadAhead())
        self.imageLoaded.connect(self._remember_image)
        self.autosave = QTimer(self)
        self.autosave.setInterval(autosave_ms)
        self.autosave.timeout.connect(self.store.autosave)
        if autosave_ms > 0:
            self.autosave.start()

    def _remember_image(self, index: int) -> None:
        if index >= 0 and self.folder is not None:
            settings.remember_for_folder(LAST_IMAGE_KEY, self.folder, self.samples[index].image.name)

    # -- what the store holds (read-only here) ------------------------------------------------------------------
    @property
    def folder(self) -> Path | None:
        return self.store.folder

    @property
    def samples(self) -> list[layout.Sample]:
        return self.store.samples

    @property
    def spec(self) -> ClassSpec:
        return self.store.spec

    @property
    def index(self) -> int:
        return self.store.index

    @property
    def image(self) -> np.ndarray | None:
        return self.store.image

    @property
    def mask(self) -> np.ndarray | None:
        return self.store.mask

    @property
    def locked_reason(self) -> str | None:
        return self.store.locked_reason

    @property
    def dirty(self) -> bool:
        return self.store.dirty

    @property
    def view(self) -> LevelView:
        """The pyramid level shown and how its mask maps to the file's (level 0 for plain images)."""
        return self.store.view

    @property
    def pyramid(self) -> ImageInfo | None:
        """Levels and pixel size of the current image when it is pyramidal, else None."""
        return self.store.pyramid

    @property
    def pixel_size(self) -> PixelSize | None:
        """µm per pixel of the image as shown; None when its file states none."""
        return self.store.pixel_size

    def full_resolution(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        return self.store.full_resolution()

    def state(self, index: int) -> ImageState:
        return self.store.state(index)

    def is_predicted(self, index: int) -> bool:
        return self.store.is_predicted(index)

    def current_path(self) -> Path | None:
        return self.store.current_path()

    def unsaved_count(self) -> int:
        return self.store.unsaved_count()

    def object_ids(self) -> np.ndarray | None:
        return self.store.object_ids()

    # -- changes ------------------------------------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> None:
        """Open ``folder`` at the image shown when it was last left (remembered per folder), else its first."""
        resolved = Path(folder).expanduser().resolve()
        self.store.open_folder(resolved, settings.recall_for_folder(LAST_IMAGE_KEY, resolved))

    def select(self, index: int) -> bool:
        return self.store.select(index)

    def set_level(self, level: int) -> bool:
        return self.store.set_level(level)

    def chosen_levels(self) -> dict[Path, int]:
        return self.store.chosen_levels()

    def can_edit(self) -> bool:
        return self.store.can_edit()

    def begin_edit(self) -> None:
        self.store.begin_edit()

    def end_edit(self) -> None:
        self.store.end_edit()

    def stroke(self, start: Sequence[float], end: Sequence[float], size: float, value: int) -> Box | None:
        return self.store.stroke(start, end, size, value)

    def fill(self, point: Sequence[float], value: int) -> None:
        self.store.fill(point, value)

    def polygon(self, points: Sequence[Sequence[float]], value: int) -> None:
        self.store.polygon(points, value)

    def accept_mask(self, mask: np.ndarray, state: ImageState = ImageState.PREDICTED,
                    ids: np.ndarray | None = None, origin: Origin | None = None) -> None:
        self.store.accept_mask(mask, state, ids, origin)

    def origin(self, image: Path) -> Origin | None:
        return self.store.origin(image)

    def hand_made(self) -> bool:
        return self.store.hand_made()

    def replaced(self) -> Path | None:
        return self.store.replaced()

    def restore_replaced(self) -> bool:
        return self.store.restore_replaced()

    def undo(self) -> None:
        self.store.undo()

    def redo(self) -> None:
        self.store.redo()

    def set_spec(self, spec: ClassSpec) -> None:
        self.store.set_spec(spec)

    def save(self) -> bool:
        return self.store.save()

    def save_all(self) -> bool:
        return self.store.save_all()

    def discard_unsaved(self) -> None:
        self.store.discard_unsaved()

    def save_to(self, folder: str | Path) -> int:
        return self.store.save_to(folder)

    def check_disk(self) -> None:
        self.store.check_disk()
