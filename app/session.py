"""The open folder and the image being annotated: the state every panel listens to.

The session owns the samples of a folder, the class list, the current image and mask, one undo history per image
(kept when moving between images) and the save policy: a mask is written atomically when the user moves to
another image, on close, and by autosave. A mask whose save fails (read-only folder, full disk) stays in memory,
marked "modified", and the error is reported; no edit is ever dropped silently.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.paths import new_mask_path
from app.read_ahead import ReadAhead
from segcore.annotate import IGNORE_INDEX, Box, EditSession, Footprint, History
from segcore.data import io, layout
from segcore.data.classes import ClassSpec
from segcore.errors import DataError


class ImageState(str, Enum):
    NO_MASK = "no mask"
    ANNOTATED = "annotated"
    PREDICTED = "predicted"
    MODIFIED = "modified"


class Session(QObject):
    """Folder, class list, current image and mask, histories and saving; emits a signal for every change."""

    folderOpened = Signal(object)  # Path
    imageLoaded = Signal(int)  # index, -1 when nothing could be shown
    maskEdited = Signal(object)  # box (y0, x0, y1, x1) that changed
    maskReplaced = Signal()  # the whole mask changed
    stateChanged = Signal(int, str)  # sample index, ImageState value
    specChanged = Signal()
    historyChanged = Signal(bool, bool)  # can undo, can redo
    message = Signal(str)  # for the status bar
    error = Signal(str)  # a user-facing one-line error

    def __init__(self, parent: QObject | None = None, autosave_ms: int = 30_000) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.samples: list[layout.Sample] = []
        self.spec = ClassSpec(["background", "foreground"], [0, 255])
        self.index = -1
        self.image: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.locked_reason: str | None = None  # editing refused (e.g. the mask file has the wrong size)
        self._dirty = False
        self._edit: EditSession | None = None
        self._read_ahead = ReadAhead()
        self._spec_unsaved = False  # the class list changed but classes.json could not be written yet
        self._histories: dict[Path, History] = {}
        self._unsaved: dict[Path, np.ndarray] = {}
        self._predicted: set[Path] = set()
        self._original_ids: dict[Path, np.ndarray | None] = {}  # instance masks: ids before this session's saves
        self.autosave = QTimer(self)
        self.autosave.setInterval(autosave_ms)
        self.autosave.timeout.connect(self._autosave)
        if autosave_ms > 0:
            self.autosave.start()

    # -- folder -------------------------------------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> None:
        """Load the samples and class list of ``folder``; raises DataError when it cannot be used.

        The current mask is saved first; unsaved masks of the previous folder are kept only if they saved.
        """
        folder = Path(folder).expanduser().resolve()
        warnings: list[str] = []
        samples = layout.find_samples(folder, warnings)
        spec = layout.load_class_spec(folder, samples, warnings)
        if not self.save_all():
            raise DataError("unsaved masks of the current folder could not be written; save or discard them first")
        self.folder, self.samples, self.spec = folder, samples, spec
        self._read_ahead.clear()
        self._spec_unsaved = False
        self._histories.clear()
        self._unsaved.clear()
        self._predicted.clear()
        self._original_ids.clear()
        self.index, self.image, self.mask = -1, None, None
        self.folderOpened.emit(folder)
        self.specChanged.emit()
        for message in warnings[:3]:
            self.message.emit(message)
        if removed := _remove_stale_temporaries(folder, samples):
            self.message.emit(f"removed {len(removed)} unfinished temporary file(s) left by an interrupted save")
        self.select(0)

    # -- images -------------------------------------------------------------------------------------------------
    def state(self, index: int) -> ImageState:
        sample = self.samples[index]
        if sample.image in self._unsaved or (index == self.index and self._dirty):
            return ImageState.MODIFIED
        if sample.image in self._predicted:
            return ImageState.PREDICTED
        return ImageState.ANNOTATED if sample.mask is not None else ImageState.NO_MASK

    def is_predicted(self, index: int) -> bool:
        """True while image ``index`` holds an accepted prediction not yet corrected by hand."""
        return self.samples[index].image in self._predicted

    def select(self, index: int) -> bool:
        """Show sample ``index``: saves the current mask, then reads the image and its mask (or starts empty)."""
        if not 0 <= index < len(self.samples) or index == self.index:
            return False
        self._finish_edit()
        self._park_current()
        previous, self.index = self.index, index
        if 0 <= previous < len(self.samples):
            self.stateChanged.emit(previous, self.state(previous).value)
        sample = self.samples[index]
        self.locked_reason = None
        ahead = index + (1 if index > previous else -1)  # the next one in the direction of travel
        try:
            self.image = self._read_ahead.read_image(sample.image)
        except DataError as exc:
            self.image, self.mask = None, None
            self.error.emit(str(exc))
            self.imageLoaded.emit(-1)
            self._emit_history()
            self._prefetch(ahead)
            return True
        self._dirty = False
        self.mask = self._load_mask(sample)  # may set _dirty when the mask comes back from memory
        self.imageLoaded.emit(index)
        self._emit_history()
        self._prefetch(ahead)
        return True

    def _prefetch(self, index: int) -> None:
        if 0 <= index < len(self.samples):
            sample = self.samples[index]
            self._read_ahead.prefetch(sample.image, sample.mask, self.spec)

    def _load_mask(self, sample: layout.Sample) -> np.ndarray:
        shape = self.image.shape[:2]
        if sample.image in self._unsaved:
            self._dirty = True
            return self._unsaved.pop(sample.image)
        if sample.mask is None:
            return np.zeros(shape, dtype=np.uint8)
        try:
            mask = self._read_ahead.read_mask(sample.mask, self.spec)
            if mask.shape != shape:
                raise DataError(f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                                f"{shape[1]}x{shape[0]}")
            return mask
        except DataError as exc:
            self.locked_reason = f"{exc}; editing is off so the file is not overwritten"
            self.error.emit(self.locked_reason)
            return np.zeros(shape, dtype=np.uint8)

    def _park_current(self) -> None:
        """Save the current mask; if that fails keep it in memory so moving on never loses it."""
        if self.mask is None or not self._dirty:
            return
        if not self.save():
            self._unsaved[self.samples[self.index].image] = self.mask
        self._dirty = False

    # -- editing ------------------------------------------------------------------------------------------------
    def can_edit(self) -> bool:
        if self.mask is None:
            return False
        if self.locked_reason:
            self.error.emit(self.locked_reason)
            return False
        return True

    def begin_edit(self) -> None:
        """Start one undoable action (a stroke, a fill)."""
        self._finish_edit()
        if self.can_edit():
            self._edit = EditSession(self.mask)

    def apply(self, footprint: Footprint | None, value: int) -> Box | None:
        """Write ``value`` (a class index or IGNORE_INDEX) over ``footprint`` in the current action."""
        if self._edit is None:
            return None
        box = self._edit.apply(footprint, value)
        if box is not None:
            self._mark_dirty(predicted=False)
            self.maskEdited.emit(box)
        return box

    def end_edit(self) -> None:
        self._finish_edit()

    def _finish_edit(self) -> None:
        if self._edit is None:
            return
        edit, self._edit = self._edit.finish(), None
        if edit is not None:
            self._history().push(edit)
            self._emit_history()

    def accept_mask(self, mask: np.ndarray, state: ImageState = ImageState.PREDICTED,
                    ids: np.ndarray | None = None) -> None:
        """Replace the current mask (e.g. by a prediction or an import) as one undoable step; ``ids`` (instance
        masks) are the object ids to save it with, so touching imported objects stay apart."""
        if ids is not None and self.spec.instances and self.index >= 0:
            self._original_ids[self.samples[self.index].image] = np.asarray(ids)
        self.begin_edit()
        if self._edit is None:
            return
        if self._edit.replace(np.asarray(mask, dtype=np.uint8)) is not None:
            self._mark_dirty(predicted=state is ImageState.PREDICTED)
            self.maskReplaced.emit()
        self._finish_edit()

    def _mark_dirty(self, predicted: bool) -> None:
        image = self.samples[self.index].image
        was = self.state(self.index)
        self._dirty = True
        (self._predicted.add if predicted else self._predicted.discard)(image)
        if was is not ImageState.MODIFIED:
            self.stateChanged.emit(self.index, ImageState.MODIFIED.value)

    def _history(self) -> History:
        return self._histories.setdefault(self.samples[self.index].image, History())

    def _emit_history(self) -> None:
        if self.index < 0 or self.mask is None:
            self.historyChanged.emit(False, False)
            return
        history = self._history()
        self.historyChanged.emit(history.can_undo, history.can_redo)

    def undo(self) -> None:
        self._step(History.undo)

    def redo(self) -> None:
        self._step(History.redo)

    def _step(self, method) -> None:
        self._finish_edit()
        if self.mask is None or self.locked_reason:
            return
        box = method(self._history(), self.mask)
        if box is not None:
            self._mark_dirty(predicted=False)
            if self.samples[self.index].mask is None and not self.mask.any():
                # Undone back to the empty mask of an image that has no mask file: nothing to write. Saving it
                # would turn "no mask" into an annotation saying "no object here", which training would learn.
                self._dirty = False
                self.stateChanged.emit(self.index, self.state(self.index).value)
            self.maskEdited.emit(box)
        self._emit_history()

    # -- class list ---------------------------------------------------------------------------------------------
    def set_spec(self, spec: ClassSpec) -> None:
        """Change names/colours/classes and store them with the folder as classes.json."""
        self.spec = spec
        self.specChanged.emit()
        if self.folder is not None:
            try:
                spec.save(self.folder)
                self._spec_unsaved = False
            except OSError as exc:  # tried again with the next mask save: masks must not outlive their list
                self._spec_unsaved = True
                self.error.emit(f"{self.folder}: cannot save the class list ({exc.strerror or exc})")

    # -- saving -------------------------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._dirty

    def unsaved_count(self) -> int:
        return len(self._unsaved) + (1 if self._dirty else 0)

    def _autosave(self) -> None:
        if self._edit is None:  # never cut a stroke in two; the next tick saves it
            self.save()

    def save(self) -> bool:
        """Write the current mask if it changed; True when nothing is left unsaved for it."""
        self._finish_edit()
        error = self._save_current()
        if error is not None:
            self.error.emit(f"mask not saved: {error}")
        return error is None

    def _save_current(self) -> str | None:
        """Write the current mask if it changed; the reason when that failed."""
        if not self._dirty or self.mask is None:
            return None
        try:
            self._write(self.index, self.mask)
        except (DataError, OSError) as exc:
            return _describe(exc)
        self._dirty = False
        self.stateChanged.emit(self.index, self.state(self.index).value)
        return None

    def save_all(self) -> bool:
        """Save the current mask and any kept in memory; True when everything is on disk.

        Failures are reported once, not once per mask (each report is a dialog in the window).
        """
        self._finish_edit()
        errors = [error] if (error := self._save_current()) is not None else []
        for image, mask in list(self._unsaved.items()):
            index = next(i for i, s in enumerate(self.samples) if s.image == image)
            try:
                self._write(index, mask)
            except (DataError, OSError) as exc:
                errors.append(_describe(exc))
                continue
            del self._unsaved[image]
            self.stateChanged.emit(index, self.state(index).value)
        if len(errors) == 1:
            self.error.emit(f"mask not saved: {errors[0]}")
        elif errors:
            self.error.emit(f"{len(errors)} masks not saved; the first: {errors[0]}")
        return not errors

    def discard_unsaved(self) -> None:
        """Forget edits not yet on disk (the user chose to close without saving)."""
        self._unsaved.clear()
        self._dirty = False

    def _write(self, index: int, mask: np.ndarray) -> None:
        sample = self.samples[index]
        target = sample.mask if sample.mask is not None and sample.mask.suffix.lower() == ".png" else None
        target = target or new_mask_path(sample, self.folder)
        unlabelled_before = self.spec.unlabelled
        io.write_mask(target, mask, self.spec, ids_from=self._ids_to_keep(sample))
        if sample.mask is not None and sample.mask != target and not layout.is_cellpose_mask(sample.mask):
            # a TIFF/JPEG mask: keep the original aside (a Cellpose file stays for Cellpose; the new mask wins)
            sample.mask.rename(sample.mask.with_name(sample.mask.name + ".orig"))
            self.message.emit(f"{sample.mask.name} now saved as {target.name}; the original is kept as .orig")
        self.samples[index] = dataclasses.replace(sample, mask=target)
        if (self._spec_unsaved or self.spec.unlabelled != unlabelled_before
                or not (self.folder / "classes.json").exists()):
            self.spec.save(self.folder)  # the folder must say which classes (and "unlabelled") the values mean
            self._spec_unsaved = False
        self.message.emit(f"saved {target.name}")

    def object_ids(self) -> np.ndarray | None:
        """Instance masks: each pixel's object id in the current mask, as saving it now would write (else None)."""
        if not self.spec.instances or self.mask is None:
            return None
        try:
            return self.spec.encode(self.mask, self._ids_to_keep(self.samples[self.index]))
        except DataError:
            return None

    def _ids_to_keep(self, sample: layout.Sample) -> np.ndarray | None:
        """Instance masks: the ids a save must keep. The file's ids as first read in this session win over those
        written since, so undoing back to the original mask writes the original file again (two touching cells a
        prediction merged get their own ids back); ids written since fill the rest."""
        if not self.spec.instances or sample.mask is None:
            return None
        current = io.read_ids(sample.mask)
        original = self._original_ids.setdefault(sample.image, current)
        if current is None or original is None or original.shape != current.shape:
            return original if original is not None else current
        return np.where(original != 0, original, current)

    def unlabelled_fraction(self) -> float:
        return 0.0 if self.mask is None else float((self.mask == IGNORE_INDEX).mean())


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _remove_stale_temporaries(folder: Path, samples: list[layout.Sample]) -> list[Path]:
    """Clean the temporaries of saves that were killed, in every folder this session may write masks to.

    Those are the folders ``new_mask_path`` can pick (an image's folder or its ``masks/``) and those of existing
    masks; listed from the paths alone, since a missing folder simply has nothing to clean.
    """
    from segcore.atomic import remove_stale_temporaries

    image_dirs = {s.image.parent for s in samples}
    folders = {folder, folder / "masks"} | image_dirs | {d / "masks" for d in image_dirs} | {
        s.mask.parent for s in samples if s.mask is not None}
    return [path for f in sorted(folders) for path in remove_stale_temporaries(f)]
