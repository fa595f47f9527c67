"""Runs a training job for the Training panel: saves the painted masks, builds the config, drives the worker.

Torch runs in the worker thread (:class:`app.jobs.tasks.TrainJob`), planning included (``--minutes``); *Show plan*
plans alone. This object lives in the UI thread, hands the worker's events to the panel; errors become dialogs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.jobs.assist_tasks import RetrainJob, retrain_values
from app.jobs.tasks import DeviceInfo, Planned, TrainJob, preview_plan
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state import settings
from app.state.session import Session
from app.state.training_progress import TrainingProgress
from app.state.training_rounds import TrainingRounds, accepted_note, start_note
from app.views.panels.training_form import SETTINGS_GROUP
from app.views.panels.training_panel import TrainingPanel
from segcore.durations import human_minutes
from segcore.errors import SegcoreError, describe
from segcore.training.config import TrainConfig
from segcore.training.events import BatchEvent, DoneEvent, EpochEvent, Event, LogEvent, RunStatus, StageEvent

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
        self.run_config: TrainConfig | None = None  # what the last run trained by (its plan applied)
        self.progress = TrainingProgress(0, note="")  # where the current (or last) run stands
        self.rounds = TrainingRounds()  # retraining rounds, drawn one after another
        self.plan = None  # the plan of the current (or last) run, shown again when its folder comes back
        self.folder: Path | None = None  # the folder on screen, as this controller last saw it
        panel.trainRequested.connect(self.start)
        panel.continueRequested.connect(self.resume)
        panel.stopRequested.connect(self.stop)
        panel.planRequested.connect(self.preview)
        session.folderOpened.connect(self._on_folder)

    def is_running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def _trains_here(self) -> bool:
        """Whether the last (or running) run trained on the folder on screen."""
        return self.last_data is not None and self.session.folder is not None \
            and Path(self.last_data) == Path(self.session.folder)

    # -- another folder -----------------------------------------------------------------------------------------
    def _on_folder(self, folder: Path) -> None:
        """Everything the panel shows belongs to the folder on screen: the last folder's message, plan, curves,
        log and Continue go. A run still training on another folder keeps its progress, said to be elsewhere."""
        previous, self.folder = self.folder, Path(folder)
        self.panel.form.forget_output_in(previous)  # a run on this folder must not write into the last one
        if self.is_running() and self.worker.name == "preview":  # a plan for the last folder: no longer wanted
            self.worker.abort()
        if self.is_running() and self.worker.name == WORKER_NAME:
            if self._trains_here():
                self.panel.show_running_here(self.plan)
            else:
                self.panel.show_running_elsewhere(Path(self.last_data).name)
            return
        self.panel.start_over()
        if self._trains_here() and self.plan is not None:
            self.panel.show_plan(self.plan)
        self._offer_continue()

    def show_history(self, name: str, rows: list[dict], classes: list[str], images: int | None) -> None:
        """The curves of an earlier run of this folder (the model remembered for it); not over a running one."""
        if not self.is_running():
            self.panel.show_history(name, rows, classes, images)

    def run_renamed(self, folder: Path, name: str) -> None:
        """The run in ``folder`` was renamed: a Continue of it keeps the new name in its config.json."""
        config = self.run_config
        if config is not None and config.out and Path(config.out) == Path(folder):
            self.run_config = replace(config, name=name)

    def _offer_continue(self) -> None:
        """Continue is offered for the last run when it trained an epoch, did not fail, and its folder is open."""
        done = self.last_done
        usable = done is not None and done.last_path and done.epochs_done > 0 and done.status is not RunStatus.FAILED
        self.panel.offer_continue(done.last_path if usable and self._trains_here() else None,
                                  done.epochs_done if done else 0, self.continue_amount())

    # -- start and stop -----------------------------------------------------------------------------------------
    def start(self, retrain_from: str | None = None) -> bool:
        """Save the masks, then train on the open folder with the panel's settings (``retrain_from``: fine-tune
        that checkpoint, Retrain in :mod:`app.window.assist_docks`); False when not started."""
        return self._start(None, retrain_from)

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

    def _start(self, after: DoneEvent | None, retrain_from: str | None = None) -> bool:
        if self.is_running():
            return False
        if self.session.folder is None:
            self._error("Open a folder with annotated images first.")
            return False
        checked = self._checked(lambda: self._config(after, retrain_from))
        if checked is None:
            return False
        config, user = checked
        settings.remember(SETTINGS_GROUP, self.panel.form.remembered())
        minutes = self.panel.form.budget_minutes() if after is None else 0.0  # Continue goes on by the run's plan
        self.job = (RetrainJob if retrain_from else TrainJob)(config, minutes, user)
        self.worker = GeneratorWorker(self.job.run, name=WORKER_NAME, on_abort=self.job.request_stop)
        self.worker.yielded.connect(self._on_event)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self.last_done, self.last_data, self.run_config, self.plan = None, config.data, config, None
        self.progress = TrainingProgress(config.epochs, config.time_limit * 60 if config.time_limit else None)
        self.progress.note = start_note(minutes, bool(retrain_from)) or self.progress.note
        what = f"continuing {after.last_path}" if after else \
            (f"planning and training {human_minutes(minutes)}" if minutes else f"training {config.arch}")
        what = (f"{self.rounds.label()}: retraining {retrain_from}" if retrain_from else what) + accepted_note(self.session)
        self.panel.begin(self.progress, f"{what} on {config.data} -> {config.out}", continued=after is not None,
                         round_start=self.rounds.begin(self.progress, bool(retrain_from), minutes, after is not None))
        self.pool.start(self.worker)
        return True

    def _checked(self, make_config) -> tuple[TrainConfig, dict] | None:
        """The config ``make_config()`` gives, checked, and the settings that override a plan; the masks painted
        in the window saved first. None (after saying why) when a setting is bad or the user stops there."""
        try:  # every option is checked here, at once: the worker only checks the model (that needs torch)
            config = make_config().resolved(check_model=False)
            user = self.panel.form.explicit()
        except SegcoreError as exc:
            self._error(str(exc))
            return None
        if not self.session.save_all() and not self._train_anyway():
            return None
        return config, user

    def _config(self, after: DoneEvent | None, retrain_from: str | None = None) -> TrainConfig:
        """The panel's settings on the open folder; a continued run goes on from its last.pt in its folder, by
        the config it trained with (its plan's settings), for the budget (or the Epochs box) more."""
        if after is not None and self.run_config is not None:
            base = self.run_config
            minutes = self.panel.form.budget_minutes()
            if base.time_limit and base.plan and minutes:  # planned: more time, the epochs stay a bound
                return replace(base, checkpoint=after.last_path, out=after.out_dir, fine_tune=False,
                               time_limit=base.time_limit + minutes)
            more = self.panel.form.values().get("epochs", TrainConfig.epochs)
            return replace(base, checkpoint=after.last_path, out=after.out_dir, fine_tune=False,
                           epochs=after.epochs_done + more, time_limit=None)
        values = self.panel.form.values()  # out None: DATA/checkpoints/NAME-DATE-TIME (TrainConfig.resolved)
        values = retrain_values(values, self.session.folder, retrain_from) if retrain_from else values
        return TrainConfig(data=str(self.session.folder), **values)

    def continue_amount(self) -> str:
        """What Continue would add, in words."""
        base, minutes = self.run_config, self.panel.form.budget_minutes()
        if base is not None and base.time_limit and base.plan and minutes:
            return human_minutes(minutes)
        more = self.panel.form.values().get("epochs", TrainConfig.epochs)
        return f"{more} epochs"

    # -- a plan without a run -----------------------------------------------------------------------------------
    def preview(self) -> bool:
        """Plan the budget for the open folder in a worker and show the plan; nothing trains."""
        if self.is_running() or self.session.folder is None or not self.panel.form.budget_minutes():
            return False
        checked = self._checked(lambda: TrainConfig(data=str(self.session.folder), **self.panel.form.values()))
        if checked is None:
            return False
        config, user = checked
        minutes = self.panel.form.budget_minutes()
        self.worker = GeneratorWorker(preview_plan, config, minutes, user, name="preview")
        self.worker.yielded.connect(self._on_event)
        self.worker.returned.connect(self._on_preview)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self.panel.set_running(True)
        self.panel.set_planning(f"Planning {human_minutes(minutes)}: measuring the images and this machine…")
        self.pool.start(self.worker)
        return True

    def _on_preview(self, planned: Planned | None) -> None:
        if planned is None or self.session.folder is None or Path(planned.config.data) != Path(self.session.folder):
            return  # planned for a folder no longer open (or stopped): start_over has said what there is
        self.panel.show_plan(planned.plan, "A preview: Train plans again, with this machine's speed measured "
                             "again at that moment.", front=True)
        self.panel.end_planning("Planned: click Train to train by it")

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
            self.progress.stopping()
            self.panel.log(f"stop requested: {self.progress.note}")
            self.panel.set_stopping()
            self.panel.show_progress(self.progress)
            self.worker.abort()

    # -- events from the worker (UI thread) ---------------------------------------------------------------------
    def _on_event(self, event: DeviceInfo | Event) -> None:
        if self.worker is not None and self.worker.name == "preview" and self.worker.aborted:
            return  # planning a folder no longer open
        if isinstance(event, BatchEvent):
            self.progress.on_batch(event)
            self.panel.add_batch(event)
            self.panel.show_progress(self.progress)
        elif isinstance(event, EpochEvent):
            self.progress.on_epoch(event)
            self.panel.add_epoch(event, bounded=self.progress.expected_epochs is None)
            self.panel.show_progress(self.progress)
        elif isinstance(event, StageEvent):
            self.progress.on_stage(event)
            self.panel.show_progress(self.progress)
        elif isinstance(event, LogEvent):
            self.panel.log(event.message)
        elif isinstance(event, DeviceInfo):
            self.panel.form.show_gpu(event.cuda, event.name)
        elif isinstance(event, Planned):
            self._on_planned(event)
        elif isinstance(event, DoneEvent):
            self.last_done = event
            if (retrain := isinstance(self.job, RetrainJob)) and event.epochs_done == 0:
                self.panel.plots.drop_round()  # no epoch of it on the curves: no marker either
            if gain := self.rounds.end(event.epochs_done, self.progress.best_dice, retrain):
                self.panel.log(gain)
            self.panel.show_done(event)
            self._offer_continue()
            if event.status is RunStatus.FAILED:
                self._error(f"Training failed: {event.message}")  # CheckpointEvent: the log names files at the end

    def _on_planned(self, planned: Planned) -> None:
        """The worker planned the run that is starting: show the plan and pace the progress by its time."""
        config, plan = planned.config, planned.plan
        self.run_config, self.plan = config, plan
        expected = None
        if config.epoch_samples and "steps" in plan.entries:
            expected = max(1, round(plan["steps"] * config.batch_size / config.epoch_samples))
        self.progress.plan(config.epochs, config.time_limit * 60 if config.time_limit else None, expected)
        self.progress.note = "loading data and model"
        self.panel.show_plan(plan)
        self.panel.begin(self.progress, f"trains by the plan: {config.out}", continued=False)

    def _on_error(self, exc: BaseException) -> None:
        text = describe(exc)
        if self.worker is not None and self.worker.name == "preview" and self.worker.aborted:
            return  # a plan for a folder no longer open
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
            f"Stopping now: {self.progress.kept_on_stop()}.", buttons.Yes | buttons.No, buttons.No)
        return answer == buttons.Yes
