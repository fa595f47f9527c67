"""Python's cyclic garbage collection, run on the UI thread only.

Python collects reference cycles in whichever thread happens to allocate when a threshold is crossed. In a worker
thread (training builds a model, allocating thousands of objects) that collection can finalise Qt objects owned by
the UI thread — a closed dialog or widget caught in a cycle — and Qt objects must be destroyed in their own
thread: the process dies with a segmentation fault (seen in the test suite: "Garbage-collecting" in the training
worker, inside ``UNet.__init__``). So automatic collection is switched off and a timer on the UI thread collects
instead, generation by generation with Python's own thresholds (the approach of calibre's GarbageCollector).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500  # how often the UI thread checks whether a collection is due


class UiThreadCollector(QObject):
    """While it exists and runs: no automatic collection; ``check`` on a UI-thread timer collects when due.

    ``stop()`` turns automatic collection back on (as it was) after one full collection here.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self.thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose thresholds are crossed, as the interpreter would have."""
        young, middle, old = gc.get_count()
        if young > self.thresholds[0]:
            gc.collect(0)
            if middle > self.thresholds[1]:
                gc.collect(1)
                if old > self.thresholds[2]:
                    gc.collect(2)

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
