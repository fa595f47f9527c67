"""QThread workers that drive the generators of :mod:`segcore` and re-emit what they yield as Qt signals.

After superqt's ``GeneratorWorker``: the job is a generator function run in the worker thread; every value it
yields is emitted as ``yielded`` (delivered queued to the UI thread), an exception becomes ``errored`` (never
swallowed: the window shows it), and the value it returns becomes ``returned``. ``abort()`` is honoured between
yields; a job with its own stop mechanism (the trainer's ``request_stop``) gets it called instead, so it can end
cleanly and still yield its last events. A :class:`WorkerPool` keeps a reference to every running worker (a
QThread collected while running crashes the process) and stops and waits for all of them when the window closes.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, Signal

# Leave one core to the UI thread: torch's intra-op threads would otherwise take every core and the window,
# though never blocked on the GIL (torch releases it), would wait for the OS scheduler. See bench/gui_responsiveness.
JOB_THREADS = max(1, (os.cpu_count() or 2) - 1)


def limit_torch_threads(count: int | None = None) -> None:
    """Give torch ``count`` intra-op threads (default: all cores but one); call from a worker, after import."""
    import torch

    wanted = count or JOB_THREADS
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


class GeneratorWorker(QThread):
    """Runs ``job(*args)`` (a generator function, or a plain function for one-step jobs) in its own thread.

    Signals: ``yielded(value)`` for each value, ``errored(exception)``, ``returned(value)`` when the generator
    finishes by itself; QThread's ``finished`` always comes last.
    """

    yielded = Signal(object)
    errored = Signal(object)
    returned = Signal(object)

    def __init__(self, job: Callable[..., Iterator], *args, name: str = "", on_abort: Callable[[], None] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job, self.args, self.name = job, args, name or getattr(job, "__name__", "job")
        self.setObjectName(f"{self.name}Worker")
        self._abort = threading.Event()
        self._on_abort = on_abort
        self.error: BaseException | None = None

    def abort(self) -> None:
        """Ask the job to end: its own stop hook if it has one, else the generator is closed at the next yield."""
        self._abort.set()
        if self._on_abort is not None:
            self._on_abort()

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    def run(self) -> None:  # runs in the worker thread
        try:
            generator = self.job(*self.args)
            if not inspect.isgenerator(generator):  # a plain function: one step, its result is returned
                self.returned.emit(generator)
                return
            while True:
                if self._abort.is_set() and self._on_abort is None:
                    generator.close()
                    return
                try:
                    value = next(generator)
                except StopIteration as stop:
                    self.returned.emit(stop.value)
                    return
                self.yielded.emit(value)
                time.sleep(0)  # hand the GIL to the UI thread between steps
        except Exception as exc:  # noqa: BLE001 - re-emitted to the UI thread, which shows it; never swallowed
            if not _is_expected(exc):
                traceback.print_exc()  # unexpected: keep the traceback for bug reports
            self.error = exc
            self.errored.emit(exc)


def _is_expected(exc: BaseException) -> bool:
    """Errors with a one-line message for the user (bad data, options, checkpoints) need no traceback."""
    from segcore.errors import SegcoreError

    return isinstance(exc, SegcoreError | OSError)


class WorkerPool(QObject):
    """Keeps every running worker referenced; ``shutdown`` aborts them all and waits."""

    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers: list[GeneratorWorker] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        """After :meth:`shutdown` no worker starts: the window is closing, its widgets are going away."""
        return self._closed

    def start(self, worker: GeneratorWorker) -> GeneratorWorker | None:
        """Start ``worker`` and hold it until it has finished; None (not started) once the pool is shut down."""
        if self._closed:
            return None
        self._workers.append(worker)
        worker.finished.connect(self._prune)  # a bound slot: disconnected if the pool goes first
        worker.start()
        if len(self._workers) == 1:
            self.busyChanged.emit(True)
        return worker

    def _prune(self) -> None:
        """Let go of the worker whose ``finished`` this is, and of any other that has ended.

        ``finished`` is emitted just before the thread ends, so the worker is waited for (briefly) rather than
        asked whether it has ended: one left in the list would keep the pool busy until the next job ends.
        """
        ended = self.sender()
        done = [w for w in self._workers if w is ended or w.isFinished()]
        for worker in done:
            worker.wait()
            self._workers.remove(worker)
        if done and not self._workers:
            self.busyChanged.emit(False)

    def idle(self) -> bool:
        """True when every started worker has ended and its signals have been handled (what it returned too):
        unlike ``not running()``, which is already true while a finished job's result waits to be delivered."""
        return not self._workers

    def running(self, name: str | None = None) -> list[GeneratorWorker]:
        return [w for w in self._workers if w.isRunning() and (name is None or w.name == name)]

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Abort every worker and wait for all (UI events still drawn, user input held); True when all ended.

        Without a timeout it waits as long as it takes: a thread must never outlive its QThread object.
        """
        self._closed = True
        for worker in list(self._workers):
            worker.abort()
        deadline = time.monotonic() + timeout_s if timeout_s is not None else float("inf")
        for worker in list(self._workers):
            while not worker.wait(50):
                # Deliver the workers' queued signals (last checkpoint, done) and keep the window painted.
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
                if time.monotonic() > deadline:
                    return False
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        return True
