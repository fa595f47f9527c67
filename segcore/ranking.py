"""The active-learning queue, headless: score every image of a folder by uncertainty and put the unannotated
images the model is least sure about first (``segcore rank``; the window's file-list column and *Next most
uncertain* use the same scores).

Scores are those of :mod:`segcore.uncertainty` (the share of pixels whose normalised TTA entropy is above 0.8). ``score_samples`` is a generator
(one image at a time, so a caller can show progress or stop); ``queue_order`` sorts; ``format_table`` and
``write_csv`` print and save.
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

CSV_COLUMNS = ["rank", "image", "annotated", "score", "uncertain_fraction", "foreground_fraction", "seconds"]


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
        if row.annotated and skip_annotated:
            yield row, None
            continue
        start = time.perf_counter()
        try:
            result = measure(predictor, *read(Path(sample.image)))
        except SegcoreError as exc:
            row.error = str(exc)
            yield row, None
            continue
        row.seconds = time.perf_counter() - start
        row.score, row.uncertain_fraction = result.score, result.uncertain_fraction
        row.foreground_fraction = float((result.probabilities.argmax(axis=0) != 0).mean())
        yield row, result


def queue_order(rows: Sequence[Ranked]) -> list[Ranked]:
    """Unannotated images first, each group by descending score; unscored images last in their group."""
    def key(row: Ranked) -> tuple:
        return (row.annotated, row.score is None, -(row.score or 0.0), str(row.image))

    return sorted(rows, key=key)


def _cell(value: float | None, fmt: str = ".4f") -> str:
    return "" if value is None or np.isnan(value) else format(value, fmt)


def format_table(rows: Sequence[Ranked]) -> str:
    """The queue as text: rank, image, annotated, score, % uncertain pixels, % foreground, seconds."""
    ordered = queue_order(rows)
    width = max([5] + [len(r.image.name) for r in ordered])
    lines = [f"{'rank':>4}  {'image':<{width}}  {'annotated':<9}  {'score':>6}  {'uncertain':>9}  "
             f"{'foreground':>10}  {'s':>5}"]
    for rank, r in enumerate(ordered, start=1):
        if r.error:
            detail = f"error: {r.error}"
        elif r.score is None:
            detail = "not scored"
        else:
            detail = (f"{r.score:6.4f}  {100 * r.uncertain_fraction:8.2f}%  {100 * r.foreground_fraction:9.2f}%  "
                      f"{r.seconds:5.1f}")
        lines.append(f"{rank:>4}  {r.image.name:<{width}}  {'yes' if r.annotated else 'no':<9}  {detail}")
    return "\n".join(lines)


def write_csv(path: str | os.PathLike, rows: Sequence[Ranked]) -> Path:
    """The queue as CSV (``CSV_COLUMNS``, queue order, full image paths), written atomically."""
    from segcore.atomic import write_text_atomic

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS + ["error"])
    for rank, r in enumerate(queue_order(rows), start=1):
        writer.writerow([rank, str(r.image), int(r.annotated), _cell(r.score, ".6f"),
                         _cell(r.uncertain_fraction, ".6f"), _cell(r.foreground_fraction, ".6f"),
                         f"{r.seconds:.3f}", r.error])
    write_text_atomic(path, buffer.getvalue())
    return Path(path)
