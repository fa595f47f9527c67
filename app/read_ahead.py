"""Decode the next image in the background while the user works on this one.

Paging through a folder (PgDown) spent most of each switch decoding the next file on the UI thread: 0.2 s for a
4096 x 4096 PNG, seconds for a large TIFF. One worker thread decodes the image the user will most likely open next
(Pillow and tifffile release the GIL while they decompress, so the window keeps painting); ``read`` hands it over
if the file is unchanged since, else reads it as before. At most one decoded image is held ahead.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from segcore.data import io


def _stamp(path: Path) -> tuple[int, int] | None:
    """What must not change between the read-ahead and its use: modification time and size."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class ReadAhead:
    """``prefetch(path)`` starts decoding; ``read(path)`` returns the decoded image, waiting if need be."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
        self._path: Path | None = None
        self._stamp: tuple[int, int] | None = None
        self._future: Future | None = None
        self.hits = 0  # for tests and benchmarks

    def prefetch(self, path: Path) -> None:
        stamp = _stamp(path)
        if stamp is None or (path == self._path and stamp == self._stamp):
            return
        self.clear()
        self._path, self._stamp, self._future = path, stamp, self._pool.submit(io.read_image, path)

    def read(self, path: Path) -> np.ndarray:
        """The image at ``path`` (raises DataError as ``io.read_image`` does)."""
        future, fresh = self._future, path == self._path and _stamp(path) == self._stamp
        self._path = self._stamp = self._future = None  # handed over (or stale): hold nothing decoded
        if future is not None and fresh:
            self.hits += 1
            return future.result()
        if future is not None:
            future.cancel()
        return io.read_image(path)

    def clear(self) -> None:
        if self._future is not None:
            self._future.cancel()
        self._path = self._stamp = self._future = None

    def shutdown(self) -> None:
        self.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
