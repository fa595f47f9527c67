"""File > Export Model…: the dialog (:class:`app.views.export_dialog.ExportDialog`) and the export job.

The export runs in a worker (:func:`app.jobs.tasks.export_model`, which imports torch there); its progress lines,
result and errors come back as signals and the dialog shows them. The dialog starts with the checkpoint the
Segment panel has loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from app.jobs import tasks
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.views.export_dialog import ExportDialog
from segcore.errors import describe


class ExportController:
    """Opens the dialog and runs one export at a time; ``current_checkpoint()`` names the loaded model."""

    def __init__(self, parent: QWidget, pool: WorkerPool, current_checkpoint: Callable[[], Path | None]) -> None:
        self.parent, self.pool, self.current_checkpoint = parent, pool, current_checkpoint
        self.dialog: ExportDialog | None = None
        self.worker: GeneratorWorker | None = None

    def open(self) -> ExportDialog:
        if self.dialog is None:
            self.dialog = ExportDialog(self.parent)
            self.dialog.exportRequested.connect(self.start)
        self.refresh()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def refresh(self) -> None:
        """The dialog shows the model loaded now (unless the user picked another file in it) and no verdict of an
        earlier export; an export under way keeps showing."""
        if self.dialog is not None and not self.busy():
            self.dialog.start_over(self.current_checkpoint())

    def busy(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def start(self, options: dict) -> None:
        if self.busy() or self.dialog is None:
            return
        worker = GeneratorWorker(tasks.export_model, options, name="export")
        worker.yielded.connect(self.dialog.add_progress)
        worker.returned.connect(self.dialog.show_result)
        worker.errored.connect(lambda exc: self.dialog.show_error(describe(exc)))
        worker.finished.connect(lambda: self.dialog.set_running(False))
        self.worker = worker
        self.dialog.set_running(True)
        if self.pool.start(worker) is None:
            self.dialog.set_running(False)
