"""Runs a training job for the Training panel: saves the painted masks, builds the config, drives the worker.

Everything torch-related happens in the worker thread (:class:`app.jobs.tasks.TrainJob`); this object lives in the UI
thread, receives the trainer's events as signals and hands them to the panel. Errors become a dialog; the window
keeps running.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.jobs.assist_tasks import RetrainJob
from app.jobs.tasks import DeviceInfo, TrainJob
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state import settings
from app.state.session import Session
from app.state.training_progress import TrainingProgress
from app.views.panels.training_panel import TrainingPanel
from segcore.errors import SegcoreError, describe
from segcore.training.config import TrainConfig
from segcore.training.events import BatchEvent, DoneEvent, EpochEvent, Event, LogEvent, RunStatus

WORKER_NAME = "training"


class TrainingController(QObject):
    """Connects a :class:`TrainingPanel` to training workers. ``finished(DoneEvent)`` after a run that ended."""

    finished = Signal(object)  # DoneEvent

    def __init__(self, parent: QWidget, session: Session, panel: TrainingPanel, pool: WorkerPool) -> None:
        super().__init__(parent)
        self.window, self.session, self.panel, self.pool = parent, session, panel, pool
        self.job: TrainJob | None = None
        self.worker: GeneratorWorker | None = None
        self.last_done: DoneEvent | None = None
        self.last_data: str | None = None  # the folder the last run trained on: Continue goes on only there
        self.progress = TrainingProgress(0, note="")  # where the current (or last) run stands
        self.offset = 0  # x of the current run's epoch 0 on the curves: retraining rounds are drawn one after another
        self.plotted = 0  # epochs drawn so far, over all rounds
        self.round_dice: list[float] = []  # best validation Dice of each round of the current chain
        panel.trainRequested.connect(self.start)
        panel.continueRequested.connect(self.resume)
        panel.stopRequested.connect(self.stop)

    @property
    def retraining(self) -> bool:
        """The current (or last) run fine-tunes the current model (Retrain)."""
        return isinstance(self.job, RetrainJob)

    def is_running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    # -- start and stop -----------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Save the masks, then train on the open folder with the panel's settings; False when not started."""
        return self._start(None)

    def resume(self) -> bool:
        """Go on from the last run's last.pt for the Epochs box's number of epochs more, in its folder."""
        done = self.last_done
        if done is None or not done.last_path or done.epochs_done < 1:
            return False
        if self.session.folder is not None and self.last_data is not None \
                and Path(self.last_data) != Path(self.session.folder):
            self._error(f"The last run trained on {self.last_data}; continuing it on {self.session.folder} would "
                        f"mix two data sets in one run. Open that folder to continue it, or Train to start a new "
                        f"run on this one.")
            return False
        if not Path(done.last_path).is_file():  # moved or deleted since the run ended: nothing to go on from
            self.panel.offer_continue(None)
            self._error(f"{done.last_path} is gone, so the last run cannot be continued; Train starts a new one.")
            return False
        return self._start(done)

    def retrain(self, model: str | None) -> bool:
        """Fine-tune ``model`` (the current checkpoint) on the open folder, which has grown since it was trained,
        with the panel's settings and time limit; the curves go on after the previous round's."""
        if not model:
            self._error("Load or train a model first: Retrain fine-tunes the current model on the enlarged set.")
            return False
        if not Path(model).is_file():
            self._error(f"{model} is gone, so it cannot be retrained; load another checkpoint or Train.")
            return False
        return self._start(None, retrain_from=model)

    def _start(self, after: DoneEvent | None, retrain_from: str | None = None) -> bool:
        if self.is_running():
            return False
        if self.session.folder is None:
            self._error("Open a folder with annotated images first.")
            return False
        try:  # every option is checked here, at once: the worker only checks the model (that needs torch)
            config = self._config(after, retrain_from).resolved(check_model=False)
        except SegcoreError as exc:
            self._error(str(exc))
            return False
        if not self.session.save_all() and not self._train_anyway():
            return False
        settings.remember("training", self.panel.remembered())
        self.job = RetrainJob(config) if retrain_from else TrainJob(config)
        self.worker = GeneratorWorker(self.job.run, name=WORKER_NAME, on_abort=self.job.request_stop)
        self.worker.yielded.connect(self._on_event)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self.last_done, self.last_data = None, config.data
        self.progress = TrainingProgress(config.epochs, config.time_limit * 60 if config.time_limit else None)
        what = f"continuing {after.last_path} to epoch {config.epochs}" if after else f"training {config.arch}"
        round_start = None
        if retrain_from:
            what, round_start, self.offset = f"round {len(self.round_dice) + 1}: retraining {retrain_from}", \
                (self.plotted or None), self.plotted
        elif after is None:
            self.offset, self.plotted, self.round_dice = 0, 0, []
        self.panel.begin(self.progress, f"{what} on {config.data} -> {config.out}", continued=after is not None,
                         round_start=round_start)
        self.pool.start(self.worker)
        return True

    def _config(self, after: DoneEvent | None, retrain_from: str | None = None) -> TrainConfig:
        """The panel's settings on the open folder; a continued run goes on from its last.pt in its folder; a
        retraining run fine-tunes ``retrain_from`` into a new folder (its scale and recipe: see RetrainJob)."""
        values = self.panel.values()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        if after is not None:  # the checkpoint names the model; the Epochs box counts the epochs added
            values.update(checkpoint=after.last_path, out=after.out_dir, epochs=after.epochs_done + values["epochs"])
        elif retrain_from:
            out = values["out"] or str(Path(self.session.folder) / "checkpoints" / f"retrain-{stamp}")
            values.update(checkpoint=retrain_from, fine_tune=True, out=out)
        else:
            values["out"] = values["out"] or str(self.panel.default_out(self.session.folder, stamp))
        return TrainConfig(data=str(self.session.folder), **values)

    def _train_anyway(self) -> bool:
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window, "Masks not saved", f"{self.session.unsaved_count()} mask(s) could not be saved, so "
            "training would not see these changes. Train with the masks on disk?", buttons.Yes | buttons.No,
            buttons.No)
        return answer == buttons.Yes

    def stop(self) -> None:
        """End the run between batches; the trainer keeps its best and last checkpoints."""
        if self.is_running():
            self.panel.log("stop requested: ending after the current batch")
            self.panel.set_stopping()
            self.progress.note = "stopping after this batch"
            self.panel.show_progress(self.progress)
            self.worker.abort()

    # -- events from the worker (UI thread) ---------------------------------------------------------------------
    def _on_event(self, event: DeviceInfo | Event) -> None:
        if isinstance(event, BatchEvent):
            self.progress.on_batch(event)
            self.panel.add_batch(event)
            self.panel.show_progress(self.progress)
        elif isinstance(event, EpochEvent):
            self.progress.on_epoch(event)
            self.panel.add_epoch(event)
            self.panel.show_progress(self.progress)
        elif isinstance(event, LogEvent):
            self.panel.log(event.message)
        elif isinstance(event, DeviceInfo):
            self.panel.show_gpu(event.cuda, event.name)
        elif isinstance(event, DoneEvent):
            self.last_done = event
            self._end_round(event)
            self.panel.show_done(event)
            failed = event.status is RunStatus.FAILED
            self.panel.offer_continue(event.last_path if event.epochs_done > 0 and not failed else None,
                                      event.epochs_done)
            if failed:
                self._error(f"Training failed: {event.message}")
        # CheckpointEvent: one per epoch; the log names the files when the run ends

    def _end_round(self, done: DoneEvent) -> None:
        """Keep where the curves end, and say what this round gained over the previous one."""
        self.plotted = self.offset + done.epochs_done
        dice = self.progress.best_dice
        if isinstance(self.job, RetrainJob) and self.round_dice and dice == dice and self.round_dice[-1] == \
                self.round_dice[-1]:
            self.panel.log(f"round {len(self.round_dice) + 1}: best validation Dice {dice:.3f}, "
                           f"{dice - self.round_dice[-1]:+.3f} on round {len(self.round_dice)} (the validation images "
                           "grow with the set, so rounds are scored on different images)")
        if isinstance(self.job, RetrainJob) or not self.round_dice:
            self.round_dice.append(dice)
        else:
            self.round_dice[-1] = dice  # Continue: the same round, trained longer

    def _on_error(self, exc: BaseException) -> None:
        text = describe(exc)
        self.panel.show_failure(text)
        self._error(text, "Training failed")

    def _on_finished(self) -> None:
        self.panel.set_running(False)
        if self.last_done is not None:
            self.finished.emit(self.last_done)

    def _error(self, text: str, title: str = "Training") -> None:
        QMessageBox.warning(self.window, title, text)

    # -- closing ------------------------------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """While training: ask whether to stop it and close; True when the window may close."""
        if not self.is_running():
            return True
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window, "Training is running", "A model is being trained. Stop it and close the window? "
            "Its best and last checkpoints are kept.", buttons.Yes | buttons.No, buttons.No)
        return answer == buttons.Yes
