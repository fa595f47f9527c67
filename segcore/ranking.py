"""The active-learning queue, headless: score every image of a folder by uncertainty and put the unannotated
images the model is least sure about first (``segcore rank``; the window's file-list column and *Next most
uncertain* use the same scores).

Scores are those of :mod:`segcore.uncertainty` (the share of pixels whose normalised TTA entropy is above 0.8).
``score_samples`` is a generator (one image at a time, so a caller can show progress or stop); ``queue_order``
sorts; ``format_table`` and ``write_csv`` print and save.

The queue also avoids near-duplicates, after the representativeness step of *suggestive annotation* (Yang et al.
2017, MICCAI, "Suggestive Annotation: A Deep Active Learning Framework for Biomedical Image Segmentation"): an
image much like one already annotated, or one placed earlier in the queue, teaches little that is new, however
unsure the model is about it. Each image has a ``descriptor`` (its thumbnail, see :func:`descriptor`); the queue is
built greedily, each place going to the highest ``score x (1 - redundancy)``, where ``redundancy`` is the largest
similarity (thumbnail correlation, clipped at 0) to an annotated image or to one placed before it. Unrelated
images correlate near 0 and keep their order by score; on a serial-section stack neighbouring slices correlate
0.6-0.7 (ISBI 2012), and without this the queue asked for runs of adjacent slices.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CSV_COLUMNS = ["rank", "image", "annotated", "score", "redundancy", "uncertain_fraction", "foreground_fraction",
               "seconds"]
THUMBNAIL = 16  # pixels per side of the image descriptor


@dataclass
class Ranked:
    """One image's place in the queue; ``score`` is None for an image that was not scored (or failed: ``error``)."""

    image: Path
    annotated: bool
    score: float | None = None
    uncertain_fraction: float | None = None
    foreground_fraction: float | None = None  # share of pixels predicted as any class but background
    seconds: float = 0.0
    error: str = ""
    descriptor: np.ndarray | None = None  # float32 (THUMBNAIL**2,), see descriptor(); None if unread
    redundancy: float | None = None  # set by queue_order: its similarity to an annotated or earlier-queued image


def descriptor(image: np.ndarray) -> np.ndarray:
    """What an image looks like at a glance: its ``THUMBNAIL x THUMBNAIL`` thumbnail (channels averaged, box
    filter), z-scored and scaled to unit length, as float32 ``(THUMBNAIL**2,)``. The dot product of two is the
    Pearson correlation of their thumbnails, in [-1, 1]; a constant image gives zeros (similar to nothing).
    ``image``: ``(H, W)`` or ``(H, W, C)``, any dtype."""
    from PIL import Image

    plane = np.asarray(image, dtype=np.float32)
    if plane.ndim == 3:
        plane = plane.mean(axis=2)
    small = np.array(Image.fromarray(plane, mode="F").resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BOX),
                       dtype=np.float32).ravel()
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 1e-6 * max(1.0, float(np.abs(plane).max())) else np.zeros_like(small)


def full_resolution(path: Path) -> tuple[np.ndarray, object]:
    """The image at full resolution with the pixel size its file states (None when none): what ``segcore rank``
    scores, as ``segcore predict`` segments by default."""
    from segcore.annotate.levels import read_level

    return read_level(path, 0)


def score_samples(predictor, samples: Sequence, skip_annotated: bool = False,
                  read: Callable[[Path], tuple[np.ndarray, object]] = full_resolution,
                  ) -> Iterator[tuple[Ranked, object]]:
    """Yield ``(Ranked, Uncertainty or None)`` for each ``segcore.data.layout.Sample`` in turn.

    Annotated samples (a mask file) are left unscored with ``skip_annotated``. A file that cannot be read or
    segmented gives a Ranked with its one-line ``error`` instead of ending the folder. ``read(path)`` gives the
    ``(H, W, C)`` image and its pixel size (the prediction is made at the model's, as ``segcore predict`` does);
    the window passes one that reads each image at the pyramid level it shows.
    """
    from segcore.errors import SegcoreError
    from segcore.uncertainty import measure

    for sample in samples:
        row = Ranked(Path(sample.image), sample.mask is not None)
        start = time.perf_counter()
        try:
            image, pixel_size = read(Path(sample.image))
            row.descriptor = descriptor(image)
            if row.annotated and skip_annotated:  # not scored, but the queue avoids images like it
                yield row, None
                continue
            result = measure(predictor, image, pixel_size)
        except SegcoreError as exc:
            row.error = str(exc)
            yield row, None
            continue
        row.seconds = time.perf_counter() - start
        row.score, row.uncertain_fraction = result.score, result.uncertain_fraction
        row.foreground_fraction = float((result.probabilities.argmax(axis=0) != 0).mean())
        yield row, result


def queue_order(rows: Sequence[Ranked], diverse: bool = True) -> list[Ranked]:
    """Unannotated images first, then the annotated ones; unscored images last in their group.

    The scored unannotated images are placed greedily by ``score x (1 - redundancy)`` (module docstring), each
    row's ``redundancy`` being set; ``diverse=False`` orders them by score alone (what the queue did before, kept
    for the simulated study in ``bench.active_learning``). The annotated ones follow by descending score.
    """
    def key(row: Ranked) -> tuple:
        return (row.annotated, row.score is None, -(row.score or 0.0), str(row.image))

    ordered = sorted(rows, key=key)
    queue = [r for r in ordered if not r.annotated and r.score is not None]
    rest = [r for r in ordered if r.annotated or r.score is None]
    if not diverse or not queue:
        return ordered
    size = THUMBNAIL ** 2
    vectors = np.stack([r.descriptor if r.descriptor is not None else np.zeros(size, np.float32) for r in queue])
    scores = np.array([r.score for r in queue])
    seen = [r.descriptor for r in rest if r.annotated and r.descriptor is not None]
    alike = np.array([redundancy(r.descriptor, seen) for r in queue])
    left = list(range(len(queue)))
    placed: list[Ranked] = []
    while left:  # each place to the highest score x (1 - likeness so far); ties to the earlier in score order
        best = max(left, key=lambda k: (scores[k] * (1.0 - alike[k]), -k))
        left.remove(best)
        queue[best].redundancy = float(alike[best])
        placed.append(queue[best])
        alike = np.maximum(alike, np.clip(vectors @ vectors[best], 0.0, 1.0))  # a zero vector is like nothing
    return placed + rest


def most_alike(vector: np.ndarray | None, seen: Sequence[np.ndarray]) -> tuple[float, int | None]:
    """The largest similarity of ``vector`` to any of ``seen`` (descriptors), clipped to [0, 1], and the index of
    that one; ``(0.0, None)`` when ``vector`` or ``seen`` is missing."""
    if vector is None or not len(seen):
        return 0.0, None
    similarities = np.stack(seen) @ vector
    index = int(np.argmax(similarities))
    return float(np.clip(similarities[index], 0.0, 1.0)), index


def redundancy(vector: np.ndarray | None, seen: Sequence[np.ndarray]) -> float:
    """The largest similarity of ``vector`` to any of ``seen``, clipped to [0, 1] (0 when unknown)."""
    return most_alike(vector, seen)[0]


def _cell(value: float | None, fmt: str = ".4f") -> str:
    return "" if value is None or np.isnan(value) else format(value, fmt)


def format_table(rows: Sequence[Ranked]) -> str:
    """The queue as text: rank, image, annotated, score, alike (redundancy: similarity to an annotated or
    earlier-queued image), % uncertain pixels, % foreground, seconds."""
    ordered = queue_order(rows)
    width = max([5] + [len(r.image.name) for r in ordered])
    lines = [f"{'rank':>4}  {'image':<{width}}  {'annotated':<9}  {'score':>6}  {'alike':>5}  {'uncertain':>9}  "
             f"{'foreground':>10}  {'s':>5}"]
    for rank, r in enumerate(ordered, start=1):
        if r.error:
            detail = f"error: {r.error}"
        elif r.score is None:
            detail = "not scored"
        else:
            alike = "" if r.redundancy is None else f"{r.redundancy:.2f}"
            detail = (f"{r.score:6.4f}  {alike:>5}  {100 * r.uncertain_fraction:8.2f}%  "
                      f"{100 * r.foreground_fraction:9.2f}%  {r.seconds:5.1f}")
        lines.append(f"{rank:>4}  {r.image.name:<{width}}  {'yes' if r.annotated else 'no':<9}  {detail}")
    return "\n".join(lines)


def write_csv(path: str | os.PathLike, rows: Sequence[Ranked]) -> Path:
    """The queue as CSV (``CSV_COLUMNS``, queue order, full image paths), written atomically."""
    from segcore.atomic import write_text_atomic

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS + ["error"])
    for rank, r in enumerate(queue_order(rows), start=1):
        writer.writerow([rank, str(r.image), int(r.annotated), _cell(r.score, ".6f"), _cell(r.redundancy, ".4f"),
                         _cell(r.uncertain_fraction, ".6f"), _cell(r.foreground_fraction, ".6f"),
                         f"{r.seconds:.3f}", r.error])
    write_text_atomic(path, buffer.getvalue())
    return Path(path)
