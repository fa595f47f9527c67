"""Predicted masks of a folder, kept in memory up to a budget and compressed to a temporary folder beyond it.

*Segment all* on a folder of large images would otherwise hold every mask in memory (a 4096 x 4096 mask is
16 MB; a thousand of them would not fit). ``put`` is called from the worker thread, so the compression happens
there; ``get`` reads a spilled mask back (a few tens of milliseconds for a large one). Thread-safe.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np

MEMORY_BUDGET = 512 * 2**20  # bytes of masks kept in memory


class PredictionStore:
    """Image path -> predicted mask."""

    def __init__(self, budget: int = MEMORY_BUDGET) -> None:
        self.budget = budget
        self._memory: dict[Path, np.ndarray] = {}
        self._spilled: dict[Path, Path] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._folder: tempfile.TemporaryDirectory | None = None
        self._origins: dict[Path, str] = {}  # what made a mask, when it was not the loaded model alone

    def put(self, image: Path, mask: np.ndarray, origin: str = "") -> None:
        """Keep ``mask`` for ``image`` (replacing any earlier one); ``origin`` says what made it when it was not the
        network ("" : the loaded model's prediction), e.g. "the mask the CRF completed from your strokes"."""
        self.pop(image)
        with self._lock:
            if origin:
                self._origins[image] = origin
            if self._bytes + mask.nbytes <= self.budget:
                self._memory[image] = mask
                self._bytes += mask.nbytes
                return
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="segstudio_predictions_")
            target = Path(self._folder.name) / f"{len(self._spilled)}_{abs(hash(image))}.npz"
        np.savez_compressed(target, mask=mask)  # outside the lock: compression takes a while
        with self._lock:
            self._spilled[image] = target

    def get(self, image: Path | None) -> np.ndarray | None:
        with self._lock:
            if image in self._memory:
                return self._memory[image]
            spilled = self._spilled.get(image)
        if spilled is None:
            return None
        with np.load(spilled) as data:
            return data["mask"]

    def origin(self, image: Path | None) -> str:
        """What made ``image``'s mask: "" for the loaded model's prediction (see :meth:`put`)."""
        with self._lock:
            return self._origins.get(image, "")

    def pop(self, image: Path | None) -> np.ndarray | None:
        """Forget the mask of ``image``; returns it (None when there was none)."""
        mask = self.get(image)
        with self._lock:
            self._origins.pop(image, None)
            if image in self._memory:
                self._bytes -= self._memory.pop(image).nbytes
            spilled = self._spilled.pop(image, None)
        if spilled is not None:
            spilled.unlink(missing_ok=True)
        return mask

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
            self._spilled.clear()
            self._origins.clear()
            self._bytes = 0
            folder, self._folder = self._folder, None
        if folder is not None:
            folder.cleanup()

    def __contains__(self, image: Path) -> bool:
        with self._lock:
            return image in self._memory or image in self._spilled

    def __len__(self) -> int:
        with self._lock:
            return len(self._memory) + len(self._spilled)

    @property
    def memory_bytes(self) -> int:
        return self._bytes
