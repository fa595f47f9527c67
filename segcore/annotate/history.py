"""Undo history of mask edits that stores only the changed bounding box of each action, before and after."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcore.annotate.tools import Box, Footprint, apply_footprint, check_mask
from segcore.errors import DataError


@dataclass
class IdsChange:
    """Instance masks: the object ids an action set (an import, whose touching objects must stay apart) and
    those set before it (None: the mask file's own ids), each ``(H, W)`` integer ids, 0 for background."""

    before: np.ndarray | None
    after: np.ndarray


@dataclass
class Edit:
    """One undoable change: the pixels of a bounding box before and after (and the object ids it set, if any;
    and, for a full-resolution mask accepted at a coarser pyramid level, the full-resolution masks the shown one
    maps onto before and after it: see :mod:`segcore.annotate.levels`)."""

    y0: int
    x0: int
    before: np.ndarray
    after: np.ndarray
    ids: IdsChange | None = None
    base: tuple[np.ndarray | None, np.ndarray] | None = None

    @property
    def box(self) -> Box:
        h, w = self.before.shape
        return (self.y0, self.x0, self.y0 + h, self.x0 + w)

    @property
    def nbytes(self) -> int:
        ids = 0 if self.ids is None else self.ids.after.nbytes + getattr(self.ids.before, "nbytes", 0)
        base = 0 if self.base is None else sum(getattr(b, "nbytes", 0) for b in self.base)
        return self.before.nbytes + self.after.nbytes + ids + base

    def undo(self, mask: np.ndarray) -> Box:
        y0, x0, y1, x1 = self.box
        mask[y0:y1, x0:x1] = self.before
        return self.box

    def redo(self, mask: np.ndarray) -> Box:
        y0, x0, y1, x1 = self.box
        mask[y0:y1, x0:x1] = self.after
        return self.box


class EditSession:
    """Groups the writes of one user action into one :class:`Edit`.

    Before a write touches a tile of the mask for the first time, that tile is copied; :meth:`finish` rebuilds
    the "before" pixels of the changed box from those copies. Memory stays proportional to what the stroke
    touched, never to the whole mask.
    """

    TILE = 128

    def __init__(self, mask: np.ndarray) -> None:
        check_mask(mask)
        self.mask = mask
        self._tiles: dict[tuple[int, int], np.ndarray] = {}
        self._box: Box | None = None

    def _backup(self, box: Box) -> None:
        t = self.TILE
        y0, x0, y1, x1 = box
        for ty in range(y0 // t, (y1 - 1) // t + 1):
            for tx in range(x0 // t, (x1 - 1) // t + 1):
                if (ty, tx) not in self._tiles:
                    self._tiles[ty, tx] = self.mask[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t].copy()

    def _grow(self, box: Box) -> None:
        if self._box is None:
            self._box = box
        else:
            a = self._box
            self._box = (min(a[0], box[0]), min(a[1], box[1]), max(a[2], box[2]), max(a[3], box[3]))

    def apply(self, footprint: Footprint | None, value: int) -> Box | None:
        """Write ``value`` over ``footprint``; returns the box that changed (for a partial redraw) or None."""
        if footprint is None:
            return None
        self._backup(footprint.box)
        box = apply_footprint(self.mask, footprint, value)
        if box is not None:
            self._grow(box)
        return box

    def replace(self, new_mask: np.ndarray) -> Box | None:
        """Replace the whole mask (accepting a prediction, clearing) as part of this action."""
        if new_mask.shape != self.mask.shape:
            raise DataError(f"new mask is {new_mask.shape}, the image needs {self.mask.shape}")
        diff = np.nonzero(new_mask != self.mask)
        if len(diff[0]) == 0:
            return None
        box = (int(diff[0].min()), int(diff[1].min()), int(diff[0].max()) + 1, int(diff[1].max()) + 1)
        self._backup(box)
        y0, x0, y1, x1 = box
        self.mask[y0:y1, x0:x1] = new_mask[y0:y1, x0:x1]
        self._grow(box)
        return box

    def _before(self, box: Box) -> np.ndarray:
        y0, x0, y1, x1 = box
        out = self.mask[y0:y1, x0:x1].copy()  # untouched tiles are unchanged, so the current pixels are right
        t = self.TILE
        for (ty, tx), tile in self._tiles.items():
            ty0, tx0 = ty * t, tx * t
            a0, a1 = max(y0, ty0), min(y1, ty0 + tile.shape[0])
            b0, b1 = max(x0, tx0), min(x1, tx0 + tile.shape[1])
            if a0 < a1 and b0 < b1:
                out[a0 - y0:a1 - y0, b0 - x0:b1 - x0] = tile[a0 - ty0:a1 - ty0, b0 - tx0:b1 - tx0]
        return out

    def finish(self) -> Edit | None:
        """The action as one Edit trimmed to the pixels that really changed, or None if none did."""
        if self._box is None:
            return None
        y0, x0, y1, x1 = self._box
        before = self._before(self._box)
        after = self.mask[y0:y1, x0:x1]
        changed = before != after
        if not changed.any():
            return None
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        return Edit(y0 + int(r0), x0 + int(c0), before[r0:r1, c0:c1].copy(), after[r0:r1, c0:c1].copy())


class History:
    """Undo and redo stacks of one image's edits, bounded in steps and bytes (oldest dropped first)."""

    def __init__(self, max_steps: int = 200, max_bytes: int = 128 * 2**20) -> None:
        self.max_steps = max_steps
        self.max_bytes = max_bytes
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self._clean: int | None = 0  # undo-stack depth at which the mask equals its file (None: no longer reachable)

    @property
    def clean(self) -> bool:
        """The mask is as last read or saved: undoing back to it leaves nothing to save."""
        return self._clean == len(self._undo)

    def mark_clean(self) -> None:
        """The mask as it is now has been saved."""
        self._clean = len(self._undo)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self._undo) + sum(e.nbytes for e in self._redo)

    @property
    def last_done(self) -> Edit | None:
        """The edit :meth:`undo` would take back (None when there is none)."""
        return self._undo[-1] if self._undo else None

    @property
    def next_redo(self) -> Edit | None:
        """The edit :meth:`redo` would apply again (None when there is none)."""
        return self._redo[-1] if self._redo else None

    def push(self, edit: Edit | None) -> None:
        """Record a finished action; a new action clears the redo stack."""
        if edit is None:
            return
        if self._clean is not None and self._clean > len(self._undo):  # the saved state was on the redo stack
            self._clean = None
        self._undo.append(edit)
        self._redo.clear()
        while len(self._undo) > self.max_steps or (len(self._undo) > 1 and self.nbytes > self.max_bytes):
            self._undo.pop(0)
            if self._clean is not None:
                self._clean = self._clean - 1 if self._clean > 0 else None

    def undo(self, mask: np.ndarray) -> Box | None:
        """Undo the last action on ``mask``; the box that changed, or None when there is nothing to undo."""
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._redo.append(edit)
        return edit.undo(mask)

    def redo(self, mask: np.ndarray) -> Box | None:
        """Redo the last undone action; the box that changed, or None."""
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._undo.append(edit)
        return edit.redo(mask)
