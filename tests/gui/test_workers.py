"""The QThread generator worker and the pool: values in order, errors as signals, abort, waiting on close."""

from __future__ import annotations

import threading
import time

import pytest

from app.jobs.workers import GeneratorWorker, WorkerPool
from segcore.errors import DataError, describe

pytestmark = pytest.mark.gui


def counting(n: int, pause: float = 0.0):
    for i in range(n):
        time.sleep(pause)
        yield i
    return "done"


def failing():
    yield 1
    raise DataError("images/x.png: not an image")


def test_values_arrive_in_order_in_the_ui_thread_then_returned(qtbot):
    seen, threads, returned = [], [], []
    worker = GeneratorWorker(counting, 50, name="count")
    worker.yielded.connect(lambda v: (seen.append(v), threads.append(threading.current_thread())))
    worker.returned.connect(returned.append)
    with qtbot.waitSignals([worker.returned, worker.finished], order="strict", timeout=10_000):
        worker.start()
    assert seen == list(range(50))
    assert set(threads) == {threading.main_thread()}  # queued to the receiver's (UI) thread
    assert returned == ["done"]


def test_an_exception_becomes_errored_with_its_message(qtbot):
    worker = GeneratorWorker(failing)
    returned = []
    worker.returned.connect(returned.append)
    with qtbot.waitSignal(worker.errored, timeout=10_000) as blocker:
        worker.start()
    worker.wait()
    assert isinstance(blocker.args[0], DataError)
    assert describe(blocker.args[0]) == "images/x.png: not an image"
    assert describe(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert returned == []


def test_abort_closes_the_generator_between_steps(qtbot):
    closed = []

    def job():
        try:
            yield from counting(10_000, 0.001)
        finally:
            closed.append(True)

    worker = GeneratorWorker(job)
    seen = []
    worker.yielded.connect(seen.append)
    worker.start()
    qtbot.waitUntil(lambda: len(seen) > 3, timeout=10_000)
    worker.abort()
    assert worker.wait(10_000)
    qtbot.wait(20)
    assert closed == [True] and len(seen) < 10_000


def test_abort_calls_the_jobs_own_stop_and_lets_it_finish(qtbot):
    stop = threading.Event()

    def job():
        while not stop.is_set():
            time.sleep(0.002)
            yield "batch"
        yield "last event after stop"

    worker = GeneratorWorker(job, on_abort=stop.set)
    seen = []
    worker.yielded.connect(seen.append)
    worker.start()
    qtbot.waitUntil(lambda: len(seen) > 2, timeout=10_000)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.abort()
    assert seen[-1] == "last event after stop"


def test_pool_holds_workers_and_shutdown_waits_for_all(qtbot):
    pool = WorkerPool()
    busy = []
    pool.busyChanged.connect(busy.append)
    workers = [pool.start(GeneratorWorker(counting, 100_000, 0.001, name=f"w{i}")) for i in range(2)]
    assert len(pool.running()) == 2 and busy == [True]
    assert pool.shutdown(timeout_s=30)
    assert not any(w.isRunning() for w in workers)
    qtbot.waitUntil(lambda: busy == [True, False], timeout=5_000)
    assert pool.running() == []


def test_the_pool_is_idle_only_once_a_finished_job_has_been_handled(qtbot):
    pool, got = WorkerPool(), []
    worker = GeneratorWorker(lambda: "result", name="quick")
    worker.returned.connect(got.append)
    pool.start(worker)
    worker.wait()  # the thread has ended; its signals wait for the event loop
    assert pool.running() == [] and not pool.idle() and got == []  # "nothing running" is not "all handled"
    qtbot.waitUntil(pool.idle, timeout=5_000)
    assert got == ["result"]


def test_a_plain_function_runs_as_one_step(qtbot):
    worker = GeneratorWorker(lambda a, b: a + b, 2, 3)
    with qtbot.waitSignal(worker.returned, timeout=10_000) as blocker:
        worker.start()
    worker.wait()
    assert blocker.args == [5]
