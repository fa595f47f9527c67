"""The open folder and the image being annotated, without Qt: what the window shows and the save policy.

:class:`AnnotationStore` owns the samples of a folder, the class list, the current image and mask, one undo
history per image (kept when moving between images) and the save policy: a mask is written atomically when the
user moves to another image, on :meth:`~AnnotationStore.save`, and by :meth:`~AnnotationStore.autosave`. A
mask whose save fails (read-only folder, full disk) is *parked* in memory, marked "modified", and reported; no
edit is ever dropped silently. Every change is announced through plain callbacks (:class:`StoreCallbacks`);
the window wraps the store in a QObject that re-emits them as signals and owns the autosave timer.

The store keeps the current image and its edits; it leaves the writing of masks and the parked ones to
:class:`~segcore.annotate.save_policy.SavePolicy`, where each mask came from to
:class:`~segcore.annotate.provenance.Provenance`, and the object ids of instance masks to
:class:`~segcore.annotate.object_ids.ObjectIds`.

A pyramidal TIFF is shown at one of its levels (:mod:`segcore.annotate.levels`): the finest that is not too
large, or the one chosen with :meth:`~AnnotationStore.set_level`; its mask is edited at that level and saved at
full resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from segcore.annotate.events import ImageState, StoreCallbacks
from segcore.annotate.history import Edit, EditSession, History
from segcore.annotate.levels import LevelView, level_to_show
from segcore.annotate.object_ids import ObjectIds, check_ids
from segcore.annotate.provenance import Origin, Provenance
from segcore.annotate.reading import DirectReader, Reader, fits, read_folder, read_shown
from segcore.annotate.save_policy import SavePolicy
from segcore.annotate.saving import find_replaced, read_replaced, remove_interrupted_saves
from segcore.annotate.tools import Box, Footprint, flood_footprint, line_footprint, polygon_footprint
from segcore.data import io, layout
from segcore.data.classes import ClassSpec
from segcore.errors import DataError, describe
from segcore.interop.ome_tiff import ImageInfo
from segcore.interop.physical import PixelSize


class AnnotationStore:
    """Folder, class list, current image and mask, histories and saving; ``callbacks`` hears of every change."""

    def __init__(self, callbacks: StoreCallbacks | None = None, reader: Reader | None = None) -> None:
        self.on = callbacks or StoreCallbacks()
        self.reader = reader or DirectReader()
        self.folder: Path | None = None
        self.samples: list[layout.Sample] = []
        self.spec = ClassSpec(["background", "foreground"], [0, 255])
        self.index = -1
        self.image: np.ndarray | None = None  # (H, W, C) as read (at the shown pyramid level)
        self.mask: np.ndarray | None = None  # uint8 (H, W) class indices, IGNORE_INDEX for unlabelled
        # What an image without a mask starts as, asked per folder: 0 background (a full mask) or IGNORE_INDEX.
        self.new_mask_value: Callable[[Path | None], int] = lambda _folder: 0
        self.view = LevelView()  # the shown pyramid level, and how its mask maps to the file's
        self.pyramid: ImageInfo | None = None  # levels and pixel size of a pyramidal image, None for others
        self.pixel_size: PixelSize | None = None  # µm per pixel of the image as shown, None when unknown
        self._levels: dict[Path, int] = {}  # pyramid levels the user chose, per image
        self.locked_reason: str | None = None  # editing refused (e.g. the mask file has the wrong size)
        self.dirty = False  # the current mask differs from its file
        self._edit: EditSession | None = None
        self._histories: dict[Path, History] = {}
        self._provenance = Provenance()  # what made each mask, kept across sessions (.segstudio/provenance.json)
        self._ids = ObjectIds()  # instance masks: the object ids saves keep
        self._saving = SavePolicy(self, self._provenance, self._ids, self._histories)  # parked masks, all writes

    # -- folder -------------------------------------------------------------------------------------------------
    def open_folder(self, folder: str | Path, start_at: str | None = None) -> None:
        """Load the samples and class list of ``folder`` and show its image named ``start_at`` (where the user
        was last time), else its first; raises DataError when the folder cannot be used.

        The current masks are saved first; when that fails DataError is raised and nothing changes.
        """
        folder = Path(folder).expanduser().resolve()
        samples, spec, warnings = read_folder(folder)
        if not self.save_all():
            raise DataError("unsaved masks of the current folder could not be written; save or discard them first")
        self.folder, self.samples, self.spec = folder, samples, spec
        self.reader.clear()
        for kept in (self._histories, self._ids, self._levels):
            kept.clear()
        self._saving.open(spec)
        self._provenance.open(folder, {s.image: s.mask for s in samples if s.mask is not None})
        self.index, self.image, self.mask = -1, None, None
        self.on.folder_opened(folder)
        self.on.spec_changed()
        for message in reversed(warnings[:3]):  # the first, often what is wrong with the masks, shown last
            self.on.warning(message)
        if removed := remove_interrupted_saves(folder, samples):
            self.on.message(f"removed {len(removed)} unfinished temporary file(s) left by an interrupted save")
        names = [sample.image.name for sample in samples]
        self.select(names.index(start_at) if start_at in names else 0)

    # -- images -------------------------------------------------------------------------------------------------
    def state(self, index: int) -> ImageState:
        sample = self.samples[index]
        if sample.image in self._saving.parked:
            return ImageState.MODIFIED
        if self.is_predicted(index):  # accepted and not corrected yet, saved or not
            return ImageState.PREDICTED
        if index == self.index and self.dirty:
            return ImageState.MODIFIED
        if sample.mask is None:
            return ImageState.NO_MASK
        # Known for the masks read or written here (kept across sessions); one never opened shows as annotated.
        return ImageState.STROKES if self._provenance.is_strokes(sample.image) else ImageState.ANNOTATED

    def is_predicted(self, index: int) -> bool:
        """True while image ``index`` holds an accepted prediction not yet corrected by hand."""
        return self._provenance.is_predicted(self.samples[index].image)

    def origin(self, image: Path) -> Origin | None:
        """What made ``image``'s mask when it was accepted from a prediction or proposal (also once corrected by
        hand, see :attr:`Origin.corrected`); None for a hand-made mask. Kept across sessions."""
        return self._provenance.origin(image)

    def current_path(self) -> Path | None:
        """The image on screen (None when none is, or it could not be read)."""
        return self.samples[self.index].image if 0 <= self.index < len(self.samples) and self.image is not None \
            else None

    def select(self, index: int) -> bool:
        """Show sample ``index``: saves the current mask, then reads the image and its mask (or starts empty)."""
        if not 0 <= index < len(self.samples) or index == self.index:
            return False
        self._finish_edit()
        self._saving.park_current()
        previous, self.index = self.index, index
        if 0 <= previous < len(self.samples):
            self.on.state_changed(previous, self.state(previous))
        sample = self.samples[index]
        self.locked_reason = None
        ahead = index + (1 if index > previous else -1)  # the next one in the direction of travel
        try:
            self._read_image(sample, self._level_for(sample.image))
        except DataError as exc:
            self.image, self.mask = None, None
            self.on.error(str(exc))
            self.on.image_loaded(-1)
        else:
            self.dirty = False
            self.mask = self._load_mask(sample)  # dirty again when the mask comes back from the parked ones
            self.on.image_loaded(index)
        self._emit_history()
        if 0 <= ahead < len(self.samples) and fits(self.samples[ahead].image) \
                and self._level_for(self.samples[ahead].image) == 0:  # read ahead at full resolution only
            self.reader.prefetch(self.samples[ahead].image, self.samples[ahead].mask, self.spec)
        return True

    def _level_for(self, image: Path) -> int:
        """The pyramid level to show ``image`` at: the user's choice, else the finest not too large; 0 for an
        image without levels."""
        return level_to_show(image, self._levels.get(image))

    def chosen_levels(self) -> dict[Path, int]:
        """The pyramid levels the user chose, per image (a copy: a worker may read it)."""
        return dict(self._levels)

    def _read_image(self, sample: layout.Sample, level: int) -> None:
        """Read ``sample``'s image at pyramid ``level`` into ``image``, with its ``view``, ``pyramid`` and
        ``pixel_size``; raises DataError (nothing changed then)."""
        shown = read_shown(self.reader, sample.image, level)
        self.image, self.view = shown.image, shown.view
        self.pyramid, self.pixel_size = shown.pyramid, shown.pixel_size

    def set_level(self, level: int) -> bool:
        """Show pyramid level ``level`` (0: full resolution) of the current image; the mask is saved first (or
        kept in memory when that fails) and read again at the new level. The image's undo history is cleared: its
        steps were at the other level's size. False when nothing changed; a level that cannot be read is
        reported through ``error`` and the current one stays."""
        pyramid = self.pyramid
        if pyramid is None or self.image is None or not 0 <= level < len(pyramid.levels) \
                or level == self.view.level:
            return False
        self._finish_edit()
        sample = self.samples[self.index]
        previous = self.view.level
        self._saving.park_current()
        try:
            self._read_image(sample, level)
        except DataError as exc:
            self.on.error(str(exc))
            level = previous  # shown before, so it reads again
            self._read_image(sample, level)
        self._levels[sample.image] = level
        self._reload_mask(sample)
        return level != previous

    def _reload_mask(self, sample: layout.Sample) -> None:
        """Read the current ``sample``'s mask again (at another level, or changed on disk); its history goes,
        its steps being of the mask before."""
        self._histories.pop(sample.image, None)
        self.locked_reason = None
        self.dirty = False
        self.mask = self._load_mask(sample)
        self.on.image_loaded(self.index)
        self.on.state_changed(self.index, self.state(self.index))
        self._emit_history()

    def _load_mask(self, sample: layout.Sample) -> np.ndarray:
        """The mask at the shown level (its full-resolution source becomes the view's base)."""
        full = self._load_full_mask(sample)
        self.view.set_base(full)
        if self.view.active and self.spec.instances and not self.locked_reason:
            self.locked_reason = (f"instance masks are edited at full resolution, and this is {self.view.describe()}"
                                  ": choose level 0 to edit its objects")
        if full is None:
            return np.full(self.image.shape[:2], self.new_mask_value(self.folder), dtype=np.uint8)
        return self.view.shown(full)

    def _load_full_mask(self, sample: layout.Sample) -> np.ndarray | None:
        """The mask at full resolution: kept in memory after a failed save, else the file's; None when there is
        none (or it cannot be used: editing is then locked)."""
        shape = self.view.full_shape
        if sample.image in self._saving.parked:
            self.dirty = True
            return self._saving.parked.pop(sample.image)
        if sample.mask is None:
            return None
        try:
            self._saving.seen(sample.mask)
            mask = self.reader.read_mask(sample.mask, self.spec)
            if mask.shape != shape:
                raise io.size_mismatch(sample.mask, mask.shape, sample.image, shape)
            self._saving.note_file(sample, mask)
            return mask
        except DataError as exc:
            self.locked_reason = f"{exc}; editing is off so the file is not overwritten"
            self.on.error(self.locked_reason)
            return None

    # -- editing ------------------------------------------------------------------------------------------------
    def can_edit(self) -> bool:
        """Whether the current mask may change; says why not through ``error``."""
        if self.mask is None:
            return False
        if self.locked_reason:
            self.on.error(self.locked_reason)
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
            self._mark_dirty()
            self.on.mask_edited(box)
        return box

    def end_edit(self) -> None:
        self._finish_edit()

    def stroke(self, start: Sequence[float], end: Sequence[float], size: float, value: int) -> Box | None:
        """Paint a line of discs ``size`` pixels wide from ``start`` to ``end`` ((x, y) image coordinates)."""
        if self.mask is None:
            return None
        return self.apply(line_footprint(self.mask.shape, start, end, size), value)

    def fill(self, point: Sequence[float], value: int) -> None:
        """Flood-fill the 4-connected region under ``point`` ((x, y)) as one action.

        On an object of an instance mask the region is the clicked object alone, not every object touching it
        (they are one region of the object class); numbering the objects reads the file, so only then.
        """
        if self.mask is None:
            return
        region = self.mask
        row, col = int(np.floor(point[1])), int(np.floor(point[0]))
        if 0 <= row < region.shape[0] and 0 <= col < region.shape[1] and region[row, col] == 1 \
                and (ids := self.object_ids()) is not None:
            region = (ids == ids[row, col]).view(np.uint8)
        self.begin_edit()
        self.apply(flood_footprint(region, point), value)
        self.end_edit()

    def polygon(self, points: Sequence[Sequence[float]], value: int) -> None:
        """Fill the closed polygon through ``points`` ((x, y) each) as one action."""
        if self.mask is None:
            return
        self.begin_edit()
        self.apply(polygon_footprint(self.mask.shape, points), value)
        self.end_edit()

    def _finish_edit(self) -> None:
        if self._edit is None:
            return
        edit, self._edit = self._edit.finish(), None
        if edit is not None:
            self._history().push(edit)
            self._emit_history()

    def hand_made(self) -> bool:
        """Whether the current mask is an annotation someone made: a mask file not from an accepted prediction,
        or painted pixels. Replacing one should be asked first (:meth:`accept_mask` keeps it)."""
        if self.mask is None or not 0 <= self.index < len(self.samples) or self.is_predicted(self.index):
            return False
        return self.samples[self.index].mask is not None or (self.dirty and bool(self.mask.any()))

    def replaced(self) -> Path | None:
        """The annotation of the current image that an accepted prediction replaced, kept on disk (or None)."""
        if self.folder is None or not 0 <= self.index < len(self.samples):
            return None
        return find_replaced(self.samples[self.index], self.folder)

    def restore_replaced(self) -> bool:
        """Put the kept annotation back as the current mask (one undoable step); False when there is none."""
        path = self.replaced()
        if path is None or not self.can_edit():
            return False
        try:
            mask = read_replaced(path, self.spec, self.view.full_shape)
        except DataError as exc:
            self.on.error(str(exc))
            return False
        self.accept_mask(self.view.shown(mask), ImageState.MODIFIED)
        self.on.message(f"the annotation kept in {path.parent.name}/{path.name} is back (Ctrl+Z undoes)")
        return True

    def accept_mask(self, mask: np.ndarray, state: ImageState = ImageState.PREDICTED,
                    ids: np.ndarray | None = None, origin: Origin | None = None) -> None:
        """Replace the current mask (a prediction, an import) as one undoable step.

        ``state`` PREDICTED: ``mask`` is a model's (or a proposal's) work, described by ``origin`` (a network
        output of an unknown model when None), and marked "predicted" until corrected by hand; any other state:
        it is the user's (an import, a restored annotation) and what made the mask before is forgotten.

        ``ids`` (instance masks; ``(H, W)`` integer object ids, 0 for background) are the ids the objects are
        saved with, so touching objects stay apart; they are part of the step: undo brings back the ids before
        it. A step that changes only the ids (the same pixels, split differently) is a step too. Raises
        DataError when ``mask`` or ``ids`` does not fit the image (nothing changes then).

        A hand-made annotation replaced by a prediction is first kept on disk (``.segstudio/replaced/`` in the
        folder, :func:`segcore.annotate.saving.keep_replaced`), beyond undo, until another prediction replaces
        that image's annotation again. At a coarser pyramid level a full-resolution ``mask`` is shown read down
        and saved as it is, every pixel (undo brings back the mask before it, also at full resolution).
        """
        mask = np.asarray(mask)
        base = (self.view.base, mask) if self.view.active and mask.shape == self.view.full_shape else None
        mask = self.view.shown(mask)
        if self.mask is not None:
            check_ids(ids, self.mask.shape)
        predicted = state is ImageState.PREDICTED
        made_by = (origin or Origin("network", "a prediction")) if predicted else None
        if predicted and self.hand_made():
            self._saving.keep_replaced(self.samples[self.index], self.view.full(self.mask), not self.dirty)
        self.begin_edit()
        if self._edit is None:
            return
        replaced = self._edit.replace(np.asarray(mask, dtype=np.uint8)) is not None
        image = self.samples[self.index].image
        change = self._ids.change(image, self.spec, self.mask, ids, self.object_ids())
        if base is not None:
            self.view.set_base(base[1])
        if replaced or change is not None or base is not None:
            self._mark_dirty(made_by, whole=True)
            self.on.mask_replaced()
        elif self.samples[self.index].mask is None and not self.dirty:
            # An image without a mask file starts all background: accepting an all-background answer changes no
            # pixel, yet it is an answer ("nothing here"), so the image gets its mask file like any other.
            self._mark_dirty(made_by, whole=True)
        edit, self._edit = self._edit.finish(), None
        if change is not None or base is not None:
            corner = self.mask[:1, :1].copy()
            edit = edit or Edit(0, 0, corner, corner.copy())  # no pixel shown changed: the step holds the rest
            edit.ids, edit.base = change, base
        if change is not None:
            self._ids.set_given(image, change.after)
        if edit is not None:
            self._history().push(edit)
            self._emit_history()

    def _mark_dirty(self, origin: Origin | None = None, whole: bool = False) -> None:
        """The current mask changed (see :meth:`Provenance.changed` for ``origin`` and ``whole``)."""
        was = self.state(self.index)
        self.dirty = True
        self._provenance.changed(self.samples[self.index].image, origin, whole)
        if (now := self.state(self.index)) is not was:  # "predicted" when accepted, "modified" once corrected
            self.on.state_changed(self.index, now)

    def _history(self) -> History:
        return self._histories.setdefault(self.samples[self.index].image, History())

    def _emit_history(self) -> None:
        if self.index < 0 or self.mask is None:
            self.on.history_changed(False, False)
            return
        history = self._history()
        self.on.history_changed(history.can_undo, history.can_redo)

    def undo(self) -> None:
        self._step(redo=False)

    def redo(self) -> None:
        self._step(redo=True)

    def _step(self, redo: bool) -> None:
        self._finish_edit()
        if self.mask is None or self.locked_reason:
            return
        history = self._history()
        edit = history.next_redo if redo else history.last_done
        box = history.redo(self.mask) if redo else history.undo(self.mask)
        if box is not None:
            if edit.ids is not None:  # an import's ids come and go with its pixels
                self._ids.set_given(self.samples[self.index].image, edit.ids.after if redo else edit.ids.before)
            if edit.base is not None:  # so does a full-resolution mask accepted at a coarser level
                self.view.set_base(edit.base[1] if redo else edit.base[0])
            self._mark_dirty()
            # Back to the mask on disk: nothing to save, and the image is not "modified". Also back to the empty
            # mask of an image with no mask file: saving it would turn "no mask" into an annotation saying "no
            # object here", which training would learn.
            if history.clean or (self.samples[self.index].mask is None and not self.mask.any()):
                self.dirty = False
                self._provenance.back_to_file(self.samples[self.index].image)
                self.on.state_changed(self.index, self.state(self.index))
            self.on.mask_edited(box)
        self._emit_history()

    def object_ids(self) -> np.ndarray | None:
        """Instance masks: each pixel's object id in the current mask, as saving it now would write (else None)."""
        if self.mask is None or self.view.active:  # ids live at full resolution
            return None
        return self._ids.encode(self.samples[self.index], self.spec, self.mask)

    def full_resolution(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The current mask as saving would write it (at full resolution, whatever level is shown) and, for
        instance masks, its object ids; None without a mask."""
        if self.mask is None:
            return None
        full = self.view.full(self.mask)
        return full, self._ids.encode(self.samples[self.index], self.spec, full)

    # -- class list ---------------------------------------------------------------------------------------------
    def set_spec(self, spec: ClassSpec) -> None:
        """Change names/colours/classes and store them with the folder as classes.json."""
        self.spec = spec
        self.on.spec_changed()
        if self.folder is not None:
            try:
                self._saving.save_spec(spec)
            except OSError as exc:
                self.on.error(f"cannot save the class list: {describe(exc)}")

    # -- saving -------------------------------------------------------------------------------------------------
    def unsaved_count(self) -> int:
        return self._saving.unsaved_count()

    def autosave(self) -> None:
        """Save now unless a stroke is under way (never cut one in two; the next tick saves it)."""
        if self._edit is None:
            self.save()

    def save(self) -> bool:
        """Write the current mask if it changed; True when nothing is left unsaved for it."""
        self._finish_edit()
        error = self._saving.save_current()
        if error is not None:
            self.on.save_failed(f"mask not saved: {error}")
        return error is None

    def save_all(self) -> bool:
        """Save the current mask and the parked ones; True when everything is on disk (failures are reported once,
        see :meth:`SavePolicy.save_all`)."""
        self._finish_edit()
        return self._saving.save_all()

    def discard_unsaved(self) -> None:
        """Forget edits not yet on disk (the user chose to close without saving)."""
        self._saving.parked.clear()
        self.dirty = False

    def save_to(self, folder: str | Path) -> int:
        """Write the current mask and the parked ones into ``folder`` as ``IMAGE_STEM.png`` (with a classes.json),
        for when the open folder cannot take them (read-only, gone); later saves of those images go there too.

        Returns how many masks were written. Raises OutputError / DataError naming the file that failed; the
        masks not written stay in memory.
        """
        self._finish_edit()
        return self._saving.save_to(Path(folder))

    # -- the files on disk, changed by other programs -----------------------------------------------------------
    def check_disk(self) -> None:
        """Notice what another program did since the folder and the current mask file were read.

        The folder gone (moved, unplugged): said once; the edits stay in memory and saving is refused rather than
        recreating the folder. The mask file replaced: read again when there are no edits, else ``ask_reload``
        decides between reloading it (losing the edits) and keeping them (the next save overwrites the file).
        """
        if self._saving.folder_vanished() or not 0 <= self.index < len(self.samples) or self.image is None:
            return
        sample = self.samples[self.index]
        if (change := self._saving.file_change(sample.mask)) is None:
            return
        name = sample.mask.name
        if change == "deleted":
            self.on.message(f"{name} was deleted by another program; saving writes it again")
            return
        if self.dirty and not self.on.ask_reload(f"{name} was changed on disk by another program. Reload it? "
                                                 "Your edits to it are then lost; else saving replaces that file."):
            self.on.message(f"kept your edits of {name}; saving replaces the file changed on disk")
            return
        self.reader.clear()
        self._provenance.changed(sample.image, whole=True)  # another program's mask: not known to be a prediction
        self._reload_mask(sample)
        self.on.message(f"{name} was changed on disk by another program; reloaded")
