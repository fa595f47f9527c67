"""Decode the next image and its mask in the background while the user works on this one.

Paging through a folder (PgDown) spent most of each switch decoding the next files on the UI thread: 0.2 s or
more for a 4096 x 4096 PNG and its mask, seconds for a large TIFF. One worker thread decodes the pair the user
will most likely open next (Pillow and tifffile release the GIL while they decompress, so the window keeps
painting). ``read_image`` and then ``read_mask`` hand them over if neither file nor the class list changed since,
else read as before; errors surface exactly as a direct read raises them. At most one pair is held ahead.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcore.annotate.disk import (
    file_stamp as _stamp,  # what must not change between the read-ahead and its use
)
from segcore.data import io
from segcore.data.classes import ClassSpec
from segcore.errors import DataError


def _read_pair(image: Path, mask: Path | None, spec: ClassSpec) -> tuple[np.ndarray, np.ndarray | DataError | None]:
    """The decoded image (its DataError raises), and the mask or the DataError reading it gave."""
    pixels = io.read_image(image)
    if mask is None:
        return pixels, None
    try:
        return pixels, io.read_mask(mask, spec)
    except DataError as exc:
        return pixels, exc


@dataclass
class _Job:
    image: Path
    mask: Path | None
    stamps: tuple
    spec: dict
    future: Future

    def fresh(self) -> bool:
        return (_stamp(self.image), _stamp(self.mask)) == self.stamps


class ReadAhead:
    """``prefetch(image, mask, spec)`` starts decoding; ``read_image`` and ``read_mask`` take the results."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self._job: _Job | None = None
        self._mask: tuple[Path, dict, np.ndarray | DataError] | None = None  # handed over with its image
        self.hits = 0  # images served from the read-ahead (for tests and benchmarks)

    def prefetch(self, image: Path, mask: Path | None, spec: ClassSpec) -> None:
        stamps, snapshot = (_stamp(image), _stamp(mask)), spec.to_dict()
        if stamps[0] is None:
            return
        job = self._job
        if job is not None and (job.image, job.mask, job.stamps, job.spec) == (image, mask, stamps, snapshot):
            return
        self.clear()
        future = self._pool.submit(_read_pair, image, mask, ClassSpec.from_dict(snapshot))  # a copy: the UI edits
        self._job = _Job(image, mask, stamps, snapshot, future)

    def read_image(self, path: Path) -> np.ndarray:
        """The image at ``path`` (raises DataError as ``io.read_image`` does)."""
        job, self._job, self._mask = self._job, None, None
        if job is None or job.image != path or not job.fresh():
            if job is not None:
                job.future.cancel()
            return io.read_image(path)
        self.hits += 1
        pixels, mask = job.future.result()
        if job.mask is not None:
            self._mask = (job.mask, job.spec, mask)
        return pixels

    def read_mask(self, path: Path, spec: ClassSpec) -> np.ndarray:
        """The mask at ``path`` as class indices (raises DataError as ``io.read_mask`` does)."""
        ready, self._mask = self._mask, None
        if ready is None or ready[0] != path or ready[1] != spec.to_dict():
            return io.read_mask(path, spec)
        if isinstance(ready[2], DataError):
            raise ready[2]
        return ready[2]

    def clear(self) -> None:
        if self._job is not None:
            self._job.future.cancel()
        self._job = self._mask = None
