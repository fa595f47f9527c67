"""What the window knows of a model's uncertainty: each scored image's score and map, for one model at a time,
and what each image looks like at a glance (its descriptor, :func:`segcore.ranking.descriptor`: the model's
business not, so kept across models), for the queue to pass over near-duplicates of annotated images.

Maps are kept as colour-table indices (``uint8 (H, W)``, :func:`segcore.colormap.to_index`), a quarter of their
float32 size, in a :class:`PredictionStore` (spilled to disk beyond a memory budget). Thread-safe to fill from a
worker; read in the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from app.state.prediction_store import PredictionStore

MAP_BUDGET = 256 * 2**20  # bytes of maps kept in memory


class Ranked(NamedTuple):
    """A scored candidate: its index and path, its largest likeness ``alike`` to an annotated image and that
    image (``like``, None when none is described)."""
    index: int
    path: Path
    alike: float
    like: Path | None


class QueueHead(NamedTuple):
    """The image the queue opens next, and the highest-scoring one when the likeness put it further down."""
    head: Ranked
    passed_over: Ranked | None


class UncertaintyScores:
    """Image path -> score and map, measured with ``model`` (a checkpoint path)."""

    def __init__(self) -> None:
        self.model: str | None = None
        self._scores: dict[Path, float] = {}
        self._descriptors: dict[Path, np.ndarray] = {}
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

    def put_descriptor(self, image: Path, vector: np.ndarray | None) -> None:
        if vector is not None:
            with self._lock:
                self._descriptors[image] = vector

    def has_descriptor(self, image: Path) -> bool:
        with self._lock:
            return image in self._descriptors

    def forget_images(self) -> None:
        """Another folder: its images' descriptors are not these."""
        with self._lock:
            self._descriptors.clear()

    def score(self, image: Path | None) -> float | None:
        with self._lock:
            return self._scores.get(image)

    def map(self, image: Path | None) -> np.ndarray | None:
        return self.maps.get(image)

    def __len__(self) -> int:
        with self._lock:
            return len(self._scores)

    def most_uncertain(self, candidates: Iterable[tuple[int, Path]], annotated: Iterable[Path] = ()
                       ) -> QueueHead | None:
        """The head of the queue: the scored candidate ``(index, path)`` with the highest ``score x (1 -
        alike)``, ``alike`` being its largest similarity to an ``annotated`` image (:mod:`segcore.ranking`); and
        the candidate with the highest score alone when that is another one. None when no candidate is scored."""
        from segcore.ranking import most_alike

        with self._lock:
            seen = [p for p in annotated if p in self._descriptors]
            vectors = [self._descriptors[p] for p in seen]
            scored = [(self._scores[p], i, p, self._descriptors.get(p)) for i, p in candidates if p in self._scores]
        if not scored:
            return None
        ranked = []
        for score, index, path, vector in scored:
            alike, like = most_alike(vector, vectors)
            ranked.append((score, -index, Ranked(index, path, alike, None if like is None else seen[like])))
        head = max(ranked, key=lambda t: (t[0] * (1 - t[2].alike), t[1]))[2]
        top = max(ranked, key=lambda t: (t[0], t[1]))[2]
        return QueueHead(head, None if top.index == head.index else top)
