"""When and how :class:`~segcore.annotate.store.AnnotationStore` writes masks, and what it keeps in step with them.

The current mask is written when the user moves on, saves or the autosave ticks; a mask whose save fails is
*parked* in memory (reported, never dropped) and written with the next :meth:`SavePolicy.save_all`, or elsewhere
with :meth:`SavePolicy.save_to`. Each write (:func:`segcore.annotate.saving.write_sample_mask`) carries the
object ids to keep (:mod:`.object_ids`), the record of where the mask came from (:mod:`.provenance`) and a
classes.json that says what its values mean. A folder that vanished is never recreated by a save, and a mask file
another program replaced is not overwritten unasked (:meth:`SavePolicy.file_change`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segcore.annotate.disk import file_stamp, folder_gone, spec_home
from segcore.annotate.history import History
from segcore.annotate.object_ids import ObjectIds
from segcore.annotate.provenance import Provenance
from segcore.annotate.saving import keep_replaced, write_sample_mask
from segcore.data import layout
from segcore.data.classes import CLASSES_FILE, ClassSpec
from segcore.errors import DataError, OutputError, describe

if TYPE_CHECKING:
    from segcore.annotate.store import AnnotationStore


class SavePolicy:
    """The masks of ``store``'s folder not on disk yet, and every write of a mask or class list into it.

    It saves the store's current mask (``index``, ``mask``, ``dirty``), reports through the store's callbacks and
    keeps ``provenance``, ``ids`` and the per-image ``histories`` (the store's own) in step with each file.
    """

    def __init__(self, store: AnnotationStore, provenance: Provenance, ids: ObjectIds,
                 histories: dict[Path, History]) -> None:
        self.store, self.provenance, self.ids, self.histories = store, provenance, ids, histories
        self.parked: dict[Path, np.ndarray] = {}  # full-resolution masks of other images whose save failed
        self.open(None)

    def open(self, spec: ClassSpec | None) -> None:
        """A folder was opened with the class list ``spec`` (as its classes.json says, or as guessed)."""
        self.parked.clear()
        self.spec_unsaved = False  # the class list changed but classes.json could not be written yet
        self._unlabelled_saved = spec.unlabelled if spec is not None else None  # as classes.json last recorded
        self._stamp: tuple | None = None  # the current mask file as last read or written here
        self._gone_said = False  # the folder vanished and the user has been told

    # -- the current mask and the parked ones -------------------------------------------------------------------
    def unsaved_count(self) -> int:
        return len(self.parked) + (1 if self.store.dirty else 0)

    def park_current(self) -> None:
        """Save the current mask; if that fails keep it in memory so moving on never loses it."""
        store = self.store
        if store.mask is None or not store.dirty:
            return
        if not store.save():
            self.parked[store.samples[store.index].image] = store.view.full(store.mask)
        store.dirty = False

    def save_current(self) -> str | None:
        """Write the current mask if it changed; the reason when that failed."""
        store = self.store
        if store.dirty and store.mask is not None:
            store.check_disk()  # another program's change to the file is not overwritten unasked
        if not store.dirty or store.mask is None:
            return None
        try:
            self.write(store.index, store.view.full(store.mask))
        except (DataError, OSError) as exc:
            return describe(exc)
        self.histories.setdefault(store.samples[store.index].image, History()).mark_clean()
        store.dirty = False
        store.on.state_changed(store.index, store.state(store.index))
        return None

    def save_all(self) -> bool:
        """Save the current mask and the parked ones; True when everything is on disk.

        Failures are reported once, not once per mask (each report is a dialog in the window).
        """
        store = self.store
        errors = [error] if (error := self.save_current()) is not None else []
        for image, mask in list(self.parked.items()):
            index = next(i for i, s in enumerate(store.samples) if s.image == image)
            try:
                self.write(index, mask)
            except (DataError, OSError) as exc:
                errors.append(describe(exc))
                continue
            del self.parked[image]
            if image in self.histories:
                self.histories[image].mark_clean()
            store.on.state_changed(index, store.state(index))
        if len(errors) == 1:
            store.on.save_failed(f"mask not saved: {errors[0]}")
        elif errors:
            store.on.save_failed(f"{len(errors)} masks not saved; the first: {errors[0]}")
        return not errors

    def save_to(self, folder: Path) -> int:
        """Write the current mask and the parked ones into ``folder`` (see :meth:`AnnotationStore.save_to`)."""
        store = self.store
        todo = [store.index] if store.dirty and store.mask is not None else []
        todo += [i for i, s in enumerate(store.samples) if s.image in self.parked]
        for index in todo:
            image = store.samples[index].image
            self.write(index, store.view.full(store.mask) if index == store.index else self.parked[image],
                       to=folder / f"{image.stem}.png")
            self.parked.pop(image, None)
            store.dirty = store.dirty and index != store.index
            store.on.state_changed(index, store.state(index))
        return len(todo)

    # -- files ----------------------------------------------------------------------------------------------------
    def write(self, index: int, mask: np.ndarray, to: Path | None = None) -> None:
        """Write sample ``index``'s full-resolution ``mask`` (to ``to`` when given); raises DataError/OSError."""
        store = self.store
        if store.folder is not None and not store.folder.is_dir() and to is None:  # never recreate a folder that
            raise OutputError(folder_gone(store.folder))  # was moved or unplugged, with only masks in it
        sample = store.samples[index]
        sample, note = write_sample_mask(sample, store.folder, mask, store.spec,
                                         self.ids.to_write(sample, store.spec, mask), to)
        store.samples[index] = sample
        self.note_file(sample, mask)
        if note:
            store.on.message(note)
        if index == store.index:
            self.seen(sample.mask)
        self._explain_values(spec_home(store.folder, sample.mask))
        store.on.message(f"saved {sample.mask.name}")

    def note_file(self, sample: layout.Sample, mask: np.ndarray) -> None:
        """``sample``'s mask file was just read or written as ``mask`` (see :meth:`Provenance.note_file`)."""
        if (trouble := self.provenance.note_file(sample.image, sample.mask, mask)) is not None:
            self.store.on.message(trouble)

    def save_spec(self, spec: ClassSpec) -> None:
        """Write ``spec`` as the folder's classes.json; raises OSError, and the next mask save tries again (masks
        must not outlive their list)."""
        self.spec_unsaved = True
        spec.save(self.store.folder)
        self.spec_unsaved, self._unlabelled_saved = False, spec.unlabelled

    def keep_replaced(self, sample: layout.Sample, mask: np.ndarray, on_disk: bool) -> None:
        """Keep ``sample``'s annotation ``mask`` that an accepted prediction replaces, beyond undo (``on_disk``: it
        is the file's; see :func:`segcore.annotate.saving.keep_replaced`); says where, or why it could not."""
        folder, spec, on = self.store.folder, self.store.spec, self.store.on
        try:
            kept = keep_replaced(sample, folder, mask, spec, on_disk=on_disk, ids_from=self.ids.to_keep(sample, spec))
            self._explain_values(folder)  # the kept file may hold the "unlabelled" value just assigned
        except (DataError, OSError) as exc:  # Ctrl+Z still brings it back while the folder is open
            on.error(f"the replaced annotation could not be kept on disk: {describe(exc)}")
            return
        on.message(f"your annotation is kept as {kept.relative_to(folder)}; Edit > Restore Replaced Annotation "
                   "brings it back")

    def _explain_values(self, home: Path) -> None:
        """Write classes.json into ``home`` when it may not say what the written values mean: the class list is
        unsaved or absent there, or the "unlabelled" value is not the one it last recorded. ClassSpec.encode
        assigns that value at the first unlabelled pixel of whichever file it writes (a kept replaced annotation
        too), so comparing with the value before one save missed it: training then refused the mask."""
        spec = self.store.spec
        recorded = spec.unlabelled == self._unlabelled_saved and (home / CLASSES_FILE).exists()
        if self.spec_unsaved or not recorded:
            spec.save(home)
            self.spec_unsaved, self._unlabelled_saved = False, spec.unlabelled

    # -- what other programs did ------------------------------------------------------------------------------
    def seen(self, mask: Path | None) -> None:
        """The current mask file is ``mask`` as it is now (just read or written here)."""
        self._stamp = file_stamp(mask)

    def folder_vanished(self) -> bool:
        """Whether the open folder is gone (moved, unplugged); said through ``error`` the first time only."""
        folder = self.store.folder
        if folder is None or folder.is_dir():
            return False
        if not self._gone_said:
            self._gone_said = True
            self.store.on.error(folder_gone(folder))
        return True

    def file_change(self, mask: Path | None) -> str | None:
        """What another program did to the current mask file ``mask`` since it was read or written here:
        ``"deleted"``, ``"changed"`` or None (nothing, or it was never read); it counts as seen from now on."""
        if mask is None or self._stamp is None:
            return None
        stamp = file_stamp(mask)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        return "changed" if stamp is not None else "deleted"
