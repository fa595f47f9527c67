"""What the window knows of a model's uncertainty: each scored image's score and map, for one model at a time.

Maps are kept as colour-table indices (``uint8 (H, W)``, :func:`segcore.colormap.to_index`), a quarter of their
float32 size, in a :class:`PredictionStore` (spilled to disk beyond a memory budget). Thread-safe to fill from a
worker; read in the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from app.state.prediction_store import PredictionStore

MAP_BUDGET = 256 * 2**20  # bytes of maps kept in memory


class UncertaintyScores:
    """Image path -> score and map, measured with ``model`` (a checkpoint path)."""

    def __init__(self) -> None:
        self.model: str | None = None
        self._scores: dict[Path, float] = {}
        self._lock = threading.Lock()
        self.maps = PredictionStore(MAP_BUDGET)

    def reset(self, model: str | None) -> None:
        """Forget everything; the scores to come are ``model``'s."""
        with self._lock:
            self.model = model
            self._scores.clear()
        self.maps.clear()

    def put(self, model: str, image: Path, score: float, indices: np.ndarray) -> bool:
        """Keep ``model``'s measure of ``image``; False (dropped) when the scores are now another model's."""
        if model != self.model:  # a job of the previous model, ending
            return False
        self.maps.put(image, indices)
        with self._lock:
            self._scores[image] = score
        return True

    def score(self, image: Path | None) -> float | None:
        with self._lock:
            return self._scores.get(image)

    def map(self, image: Path | None) -> np.ndarray | None:
        return self.maps.get(image)

    def __len__(self) -> int:
        with self._lock:
            return len(self._scores)

    def most_uncertain(self, candidates: Iterable[tuple[int, Path]]) -> tuple[int, Path] | None:
        """The scored candidate ``(index, path)`` with the highest score (None when none is scored)."""
        scored = [(self.score(path), index, path) for index, path in candidates]
        scored = [s for s in scored if s[0] is not None]
        if not scored:
            return None
        _, index, path = max(scored, key=lambda s: (s[0], -s[1]))
        return index, path
