"""Instance masks: the object id each pixel gets when a mask is saved.

The store edits class indices (1 for "object"); ids are given back at save time by :meth:`ClassSpec.encode`
from ids to keep. Those are the file's ids as first read this session, so undoing back to the original mask
writes the original file again (two touching cells a prediction merged get their own ids back), or, while an
import stands, the imported ids (not mixed with the file's, whose numbers may clash), so touching objects stay
apart. Class masks have no ids: every method then answers None.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segcore.annotate.history import IdsChange
from segcore.data import io, layout
from segcore.data.classes import ClassSpec
from segcore.errors import DataError


def check_ids(ids: np.ndarray | None, shape: tuple[int, ...]) -> None:
    """Raise DataError unless ``ids`` (None: none given) are integer object ids of ``shape``."""
    if ids is not None and (np.shape(ids) != shape or np.asarray(ids).dtype.kind not in "ui"):
        raise DataError(f"object ids must be integers of shape {shape}, got {np.shape(ids)} {np.asarray(ids).dtype}")


class ObjectIds:
    """The ids to keep per image of the open folder: first read from each file, and given by imports."""

    def __init__(self) -> None:
        self._first: dict[Path, np.ndarray | None] = {}  # ids of each file before this session's saves
        self._given: dict[Path, np.ndarray] = {}  # ids an import set (until it is undone)

    def clear(self) -> None:
        self._first.clear()
        self._given.clear()

    def to_keep(self, sample: layout.Sample, spec: ClassSpec) -> np.ndarray | None:
        """The ids a save of ``sample`` keeps: an import's while it stands, else the file's as first read this
        session, filled in with those written since; None for class masks, or without ids."""
        if not spec.instances:
            return None
        if (given := self._given.get(sample.image)) is not None:
            return given
        if sample.mask is None:
            return None
        current = io.read_ids(sample.mask)
        original = self._first.setdefault(sample.image, current)
        if current is None or original is None or original.shape != current.shape:
            return original if original is not None else current
        return np.where(original != 0, original, current)

    def to_write(self, sample: layout.Sample, spec: ClassSpec, mask: np.ndarray) -> np.ndarray | None:
        """The ids a save of ``mask`` writes; after an import, objects painted since keep the ids they are first
        saved with."""
        kept = self.to_keep(sample, spec)
        if kept is not None and sample.image in self._given:
            kept = self._given[sample.image] = spec.encode(mask, kept)
        return kept

    def encode(self, sample: layout.Sample, spec: ClassSpec, mask: np.ndarray) -> np.ndarray | None:
        """Each pixel's object id in ``mask`` (uint8 class indices, full resolution) as saving it would write;
        None for class masks, or when the ids cannot be worked out."""
        if not spec.instances:
            return None
        try:
            return spec.encode(mask, self.to_keep(sample, spec))
        except DataError:
            return None

    def change(self, image: Path, spec: ClassSpec, mask: np.ndarray, ids: np.ndarray | None,
               current: np.ndarray | None) -> IdsChange | None:
        """The change accepting ``ids`` with ``mask`` (the new mask) makes, ``current`` being the ids saving would
        write now; None without ids, for class masks, or when nothing changes."""
        if ids is None or not spec.instances:
            return None
        ids = np.where(mask == 1, np.asarray(ids), 0)
        if current is not None and np.array_equal(current, ids):
            return None
        return IdsChange(self._given.get(image), ids)

    def set_given(self, image: Path, ids: np.ndarray | None) -> None:
        """``image``'s objects keep ``ids`` (an import's, done or redone); None: the file's again (undone)."""
        if ids is None:
            self._given.pop(image, None)
        else:
            self._given[image] = ids
