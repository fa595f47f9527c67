"""The Training panel: the time budget, Train / Stop, a progress bar with time left; live curves, the plan, a log
and the Advanced settings as tabs.

The panel only shows: :class:`app.controllers.training.TrainingController` runs the job, keeps where it stands
(:class:`app.state.training_progress.TrainingProgress`) and passes it in; the progress bar
(:class:`app.views.panels.run_progress.RunProgressBar`) draws it, throttled like the curves.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.state.training_progress import TrainingProgress, dice_scope, dice_text, selection_text
from app.views.elided import MessageLabel, keep_place
from app.views.icons import button
from app.views.log_view import LogView
from app.views.panels.budget_line import budget_line, planned_model
from app.views.panels.plan_view import PlanView, summary
from app.views.panels.run_progress import RunProgressBar
from app.views.panels.training_form import TrainingForm
from segcore.durations import human_duration
from segcore.planning.plan import Plan
from segcore.training.events import BatchEvent, DoneEvent, EpochEvent

LOG_LINES = 5000
PLOTS_DELAY_MS = 250  # pyqtgraph (~0.5-1 s to import) loads just after the window is on screen, not before


class TrainingPanel(QWidget):
    """Emits ``trainRequested``, ``continueRequested``, ``stopRequested`` and ``planRequested``; shows what the
    controller passes in. The essentials (budget, buttons, progress) sit on top and fit a small dock; curves,
    plan, log and the Advanced settings are tabs below them."""

    trainRequested = Signal()
    continueRequested = Signal()
    stopRequested = Signal()
    planRequested = Signal()
    summaryChanged = Signal(str)  # a short state for the window title, readable while another tab is in front

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = TrainingForm()
        self._plots = None
        self.plot_area = QWidget()
        self.plot_area.setMinimumSize(200, 140)
        QVBoxLayout(self.plot_area).setContentsMargins(0, 0, 0, 0)
        self.plan_view = PlanView()
        self.log_view = LogView(LOG_LINES)
        self.log_view.setObjectName("trainLog")
        self.log_view.setPlaceholderText("Messages of the training run appear here.")
        self.train_button = button("Train", "trainButton", "Save the masks and train a model on the open folder "
                                    "(with a time budget: planned first)", "train")
        self.continue_button = button("Continue", "continueButton", "", "continue")
        self.continue_button.setVisible(False)  # offered once a run has a last.pt to go on from
        keep_place(self.continue_button)  # its coming and going moves nothing
        self.stop_button = button("Stop", "stopButton", "End the run after the current batch; best.pt (once an "
                                   "epoch is validated) and last.pt are kept", "stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")  # as wide as it will get: its text changing moves nothing
        self.stop_button.setMinimumWidth(self.stop_button.sizeHint().width())
        self.stop_button.setText("Stop")
        self.plan_button = button("Show plan", "planButton", "Plan a run for this folder and budget now (a few "
                                   "seconds: the images are measured and this machine's speed is probed), "
                                   "without training")
        self.progress = RunProgressBar()  # one line whatever it says: the run's end moves nothing
        self.progress.stateChanged.connect(self.summaryChanged)
        self.plan_summary = MessageLabel(lines=3)  # a plan's summary, or a remark on the budget, whole
        self.plan_summary.setObjectName("planSummary")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("trainingTabs")
        self._build_layout()
        for widget, signal in ((self.train_button, self.trainRequested), (self.stop_button, self.stopRequested),
                               (self.continue_button, self.continueRequested), (self.plan_button, self.planRequested)):
            widget.clicked.connect(signal)
        self._plan = None  # the plan shown (a segcore Plan), to tell whether the budget still matches it
        self.form.minutes.valueChanged.connect(self._budget_changed)
        self._budget_changed()

    def _build_layout(self) -> None:
        advanced = QScrollArea()
        advanced.setObjectName("advancedScroll")
        advanced.setWidget(self.form.advanced)
        advanced.setWidgetResizable(True)
        advanced.setFrameShape(QFrame.Shape.NoFrame)
        advanced.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for widget, title in ((self.plot_area, "Curves"), (self.plan_view, "Plan"), (self.log_view, "Log"),
                              (advanced, "Advanced")):
            self.tabs.addTab(widget, title)
        buttons = QHBoxLayout()
        for widget in (self.train_button, self.stop_button, self.continue_button):  # Continue's room last
            buttons.addWidget(widget)
        buttons.addStretch(1)
        self.form.budget_row.layout().addWidget(self.plan_button)  # beside the budget it plans for
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.form.essentials)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.plan_summary)
        layout.addWidget(self.tabs, 1)

    def _budget_changed(self) -> None:
        """The line under Train follows the budget field at once, a plan shown included: it says whether that
        plan is still the one Train would run, and when a budget is too short to give a usable model."""
        minutes = self.form.budget_minutes()
        self.plan_button.setEnabled(minutes > 0 and self.train_button.isEnabled())
        plan = self._plan if self.plan_view.has_plan else None
        self.plan_summary.setText(budget_line(minutes, plan, summary(plan) if plan is not None else ""))
        current = plan is not None and abs(plan.budget_s - minutes * 60) < 0.5
        self.form.show_planned_model(planned_model(plan) if current else None)

    @property
    def plots(self):
        """The curves (:class:`app.views.panels.training_plots.TrainingPlots`), created on first use."""
        if self._plots is None:
            from app.views.panels.training_plots import TrainingPlots

            self._plots = TrainingPlots()
            self.plot_area.layout().addWidget(self._plots)
        return self._plots

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._plots is None:
            QTimer.singleShot(PLOTS_DELAY_MS, self, self._load_plots)  # dropped if the panel goes first

    def _load_plots(self) -> None:
        self.plots  # noqa: B018 - the property creates them

    # -- another folder -------------------------------------------------------------------------------------------
    def start_over(self) -> None:
        """Another folder is open and nothing runs: no curve, plan, message, log line or Continue of the last one
        stays (the controller offers Continue again when the last run's folder comes back)."""
        if self._plots is not None:
            self._plots.begin(1)
            self._plots.describe_validation("", None)  # the last folder's class and image count go too
        self.plan_view.clear_plan()
        self.progress.reset()
        self.log_view.clear()
        self.offer_continue(None)
        self._budget_changed()

    def show_running_elsewhere(self, folder_name: str) -> None:
        """A run goes on training on another folder: its progress stays, said to be that folder's."""
        self.plan_summary.setText(f"This run trains on {folder_name}, not on the open folder; it goes on until it "
                                  "ends or you stop it.")

    def show_running_here(self, plan: Plan | None) -> None:
        """Back in the folder a run trains on: its plan line again."""
        if plan is not None:
            self.plan_summary.setText(summary(plan))
        else:
            self._budget_changed()

    # -- a run ----------------------------------------------------------------------------------------------------
    def offer_continue(self, checkpoint: str | None, epochs_done: int = 0, more: str = "") -> None:
        """Show Continue for a run that can go on from ``checkpoint`` (its last.pt); None hides it. ``more``
        says how much more it would train ("10 minutes", "20 epochs")."""
        self.continue_button.setVisible(checkpoint is not None)
        if checkpoint is not None:
            self.continue_button.setToolTip(
                f"Train {more} more from where the last run ended (epoch {epochs_done}: {checkpoint}), in the "
                "same folder, with its optimiser and schedule")

    def set_running(self, running: bool) -> None:
        """A job (a run, or planning alone) holds the form until it ends."""
        self.train_button.setEnabled(not running)
        self.continue_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.stop_button.setText("Stop")
        for part in (self.form.essentials, self.form.advanced):
            part.setEnabled(not running)
        self.plan_button.setEnabled(not running and self.form.budget_minutes() > 0)

    def show_plan(self, plan: Plan, note: str = "", front: bool = False) -> None:
        """Show ``plan`` (a :class:`segcore.planning.plan.Plan`); ``front`` brings the Plan tab forward."""
        self._plan = plan
        self.plan_view.show_plan(plan, note)
        self.plan_summary.setText(summary(plan))
        self.form.show_planned_model(planned_model(plan))  # what an empty Model options field trains
        if front:
            self.tabs.setCurrentWidget(self.plan_view)

    def set_planning(self, text: str) -> None:
        """Planning runs (a preview, or the start of a run): say so in the progress bar."""
        self.progress.planning(text)

    def set_stopping(self) -> None:
        """Stop was clicked: the run ends after the current batch."""
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")

    def begin(self, progress: TrainingProgress, description: str, continued: bool = False,
              round_start: float | None = None) -> None:
        """A run starts: clear curves (kept when continued; a retraining round drawn from ``round_start``)."""
        self.plots.begin(progress.axis_epochs(), keep=continued, round_start=round_start)
        self.log(description)
        self.set_running(True)
        self.progress.follow(progress, now=True)

    def log(self, text: str) -> None:
        self.log_view.append_line(f"{time.strftime('%H:%M:%S')}  {text}")

    def show_progress(self, progress: TrainingProgress) -> None:
        """Draw ``progress`` (throttled by the progress bar: a flood of calls costs one repaint)."""
        self.progress.follow(progress)

    def add_batch(self, event: BatchEvent) -> None:
        self.plots.add_batch(event.epoch, event.batch, event.batches, event.loss)

    def add_epoch(self, event: EpochEvent, bounded: bool = True) -> None:
        """Draw and log an epoch; ``bounded`` False for a planned run, whose epoch count is only a cap. The Dice
        is said with what it averages (the foreground class, or their mean) and on how many images."""
        self.plots.add_epoch(event)
        self.plots.describe_validation(dice_scope(event.val_scores.get("names") or []), event.val_scores.get("images"))
        if event.val_scores.get("pixels") == 0:  # no validation images: best.pt follows the last epoch
            scores, best = "no validation images", ""
        else:
            chooses = selection_text(event.val_scores)
            scores = f"val loss {event.val_loss:.4f}, {dice_text(event.val_scores)}, IoU {event.val_iou:.3f}" \
                + (f", {chooses}" if chooses else "")
            best = "" if not event.is_best else \
                "  ★ best (the highest every-class Dice: what chooses best.pt)" if chooses else "  ★ best"
        of = f"/{event.epochs}" if bounded else ""
        self.log(f"epoch {event.epoch}{of}: train loss {event.train_loss:.4f}, {scores}, "
                 f"lr {event.lr:.2e}, {human_duration(event.seconds)}{best}")

    def show_done(self, event: DoneEvent) -> None:
        self.progress.finish(event)
        self.plots.redraw()
        self.log(f"{event.status}: {event.message}")
        for kind, path in (("best", event.best_path), ("last", event.last_path)):
            if path:
                self.log(f"{kind} checkpoint: {path}")

    def show_history(self, name: str, rows: list[dict], classes: list[str], images: int | None) -> None:
        """The curves of an earlier run (the model remembered for this folder): metrics.csv rows, its ``classes``
        and number of validation ``images`` (None: unknown)."""
        self.plots.show_history(rows)
        self.plots.describe_validation(dice_scope(classes) if classes else "", images)
        epochs = f"{len(rows)} epoch{'' if len(rows) == 1 else 's'}"
        self.progress.reset(f"Earlier run {name}: {epochs} (its curves below)")  # it said "Not started" over them
        self.log(f"curves of the run {name} ({len(rows)} epochs)")

    def show_failure(self, text: str) -> None:
        """The job raised: nothing runs any more, so nothing may say it is loading (or planning)."""
        self.log(f"error: {text}")
        self.progress.fail(text)

    def end_planning(self, text: str) -> None:
        """A plan preview ended (``text``: what came of it)."""
        self.progress.reset(text)
