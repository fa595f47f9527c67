"""Cyclic garbage is collected on the UI thread only, never in a worker (app.ui_thread_gc)."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject


class _Cycle(QObject):
    """A Qt object in a reference cycle, recording the thread that destroys it."""

    destroyed_in: list[str] = []

    def __init__(self):
        super().__init__()
        self.me = self

    def __del__(self):
        _Cycle.destroyed_in.append(threading.current_thread().name)


def test_a_worker_allocating_heavily_never_collects_ui_objects(qtbot, ui_thread_gc):
    _Cycle.destroyed_in.clear()
    _Cycle()  # unreachable at once, reclaimable only by the cyclic collector

    kept = []

    def allocate():  # far past generation 0's threshold: Python alone would collect in this thread
        kept.extend([i] for i in range(50 * ui_thread_gc.thresholds[0]))

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert _Cycle.destroyed_in == []
    qtbot.waitUntil(lambda: bool(_Cycle.destroyed_in), timeout=5000)
    gc.collect()
    assert _Cycle.destroyed_in == ["MainThread"]


def test_stopping_gives_python_its_collector_back(qapp):
    from app.ui_thread_gc import UiThreadCollector

    enabled = gc.isenabled()
    collector = UiThreadCollector()
    assert not gc.isenabled()
    collector.stop()
    assert gc.isenabled() == enabled
