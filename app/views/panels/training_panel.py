"""The Training panel: settings, Train / Stop, a progress bar with time left, live curves and a log.

The panel only shows: :class:`app.controllers.training.TrainingController` runs the job, keeps where it stands
(:class:`app.state.training_progress.TrainingProgress`) and passes it in. Progress text is refreshed by the same
kind of throttle as the curves, so a flood of batch events costs one repaint per 100 ms.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.state.training_progress import TrainingProgress
from app.views.icons import icon
from app.views.panels.training_form import TrainingForm
from segcore.training.events import BatchEvent, DoneEvent, EpochEvent, RunStatus

PROGRESS_STEPS = 1000
LOG_LINES = 5000
LOG_MIN_CHARS = 30  # minimum width of the log, in characters
REDRAW_MS = 100  # progress text refreshed at most 10 times a second
PLOTS_DELAY_MS = 250  # pyqtgraph (~0.5-1 s to import) loads just after the window is on screen, not before


class TrainingPanel(QWidget):
    """Emits ``trainRequested``, ``continueRequested``, ``retrainRequested`` and ``stopRequested``; shows what the
    controller passes in."""

    trainRequested = Signal()
    continueRequested = Signal()
    retrainRequested = Signal()
    stopRequested = Signal()
    summaryChanged = Signal(str)  # a short state for the dock title, readable while another tab is in front

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = TrainingForm()
        self._plots = None
        self.plot_area = QWidget()
        self.plot_area.setMinimumSize(350, 160)
        QVBoxLayout(self.plot_area).setContentsMargins(0, 0, 0, 0)
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setObjectName("trainLog")
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_view.setPlaceholderText("Messages of the training run appear here.")
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        # Room for a readable line: the splitter otherwise left it ~70 px, a word per line, below 1400 px windows.
        self.log_view.setMinimumWidth(LOG_MIN_CHARS * self.log_view.fontMetrics().averageCharWidth())
        self.train_button = QPushButton(icon("train"), "Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setToolTip("Save the masks and train a model on the open folder")
        self.continue_button = QPushButton(icon("continue"), "Continue")
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setVisible(False)  # offered once a run has a last.pt to go on from
        self.retrain_button = QPushButton(icon("retrain"), "Retrain")
        self.retrain_button.setObjectName("retrainButton")
        self.retrain_button.setEnabled(False)  # offered once there is a model to go on from
        self._retrain_model: str | None = None
        self.retrain_button.setToolTip("Load or train a model first: Retrain fine-tunes the current model")
        self.stop_button = QPushButton(icon("stop"), "Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("End the run after the current batch; best.pt and last.pt are kept")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        self.progress.setTextVisible(True)
        self.speed_label = QLabel()
        self.speed_label.setObjectName("trainSpeedLabel")
        self._build_layout()
        self.train_button.clicked.connect(self.trainRequested)
        self.continue_button.clicked.connect(self.continueRequested)
        self.retrain_button.clicked.connect(self.retrainRequested)
        self.stop_button.clicked.connect(self.stopRequested)
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self._show_progress)
        self._progress: TrainingProgress | None = None  # the controller's; drawn, never changed here

    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.form.sizeHint().width() + 24)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(self.plot_area)
        split.addWidget(self.log_view)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 1)
        split.setSizes([scroll.minimumWidth(), 900, 380])  # proportions; the curves get most of the width
        split.setChildrenCollapsible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.continue_button)
        buttons.addWidget(self.retrain_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.speed_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

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

    # -- the form (what the controller reads and the window remembers) ----------------------------------------
    def values(self) -> dict:
        """TrainConfig keyword arguments from the form (raises ConfigError on bad model options)."""
        return self.form.values()

    def default_out(self, folder: Path, stamp: str) -> Path:
        return self.form.default_out(folder, stamp)

    def remembered(self) -> dict:
        return self.form.remembered()

    def set_remembered(self, values: dict) -> None:
        self.form.set_remembered(values)

    def show_gpu(self, available: bool, name: str) -> None:
        self.form.show_gpu(available, name)

    # -- a run ----------------------------------------------------------------------------------------------------
    def offer_continue(self, checkpoint: str | None, epochs_done: int = 0) -> None:
        """Show Continue for a run that can go on from ``checkpoint`` (its last.pt); None hides it."""
        self.continue_button.setVisible(checkpoint is not None)
        if checkpoint is not None:
            self.continue_button.setToolTip(
                f"Train the Epochs box's number of epochs more, from where the last run ended (epoch {epochs_done}: "
                f"{checkpoint}), in the same folder, with its optimiser and schedule")

    def offer_retrain(self, model: str | None) -> None:
        """Enable Retrain to fine-tune ``model`` (a checkpoint path; None: no model to go on from)."""
        self._retrain_model = model
        self.retrain_button.setEnabled(model is not None and not self.stop_button.isEnabled())
        self.retrain_button.setToolTip(
            f"Fine-tune the current model ({model}) on every annotated image of the folder, corrected proposals "
            "included, with the settings and time limit above; its curves follow this run's" if model else
            "Load or train a model first: Retrain fine-tunes the current model")

    def set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.continue_button.setEnabled(not running)
        self.retrain_button.setEnabled(not running and self._retrain_model is not None)
        self.stop_button.setEnabled(running)
        self.stop_button.setText("Stop")
        self.form.setEnabled(not running)

    def set_stopping(self) -> None:
        """Stop was clicked: the run ends after the current batch."""
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")

    def begin(self, progress: TrainingProgress, description: str, continued: bool = False,
              round_start: float | None = None) -> None:
        """A run starts: clear curves (a continued run keeps them; a retraining round draws after them from
        ``round_start``) and progress, say what runs."""
        self.plots.begin(progress.epochs, keep=continued, round_start=round_start)
        self.speed_label.setText("")
        self.log(description)
        self.set_running(True)
        self.show_progress(progress)
        self._show_progress()

    def log(self, text: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def show_progress(self, progress: TrainingProgress) -> None:
        """Draw ``progress`` within ``REDRAW_MS``; a flood of calls costs one repaint."""
        self._progress = progress
        if not self._timer.isActive():
            self._timer.start()

    def add_batch(self, event: BatchEvent) -> None:
        self.plots.add_batch(event.epoch, event.batch, event.batches, event.loss)

    def add_epoch(self, event: EpochEvent) -> None:
        self.plots.add_epoch(event)
        if event.val_scores.get("pixels") == 0:  # no validation images: best.pt follows the last epoch
            scores, best = "no validation images", ""
        else:
            scores = f"val loss {event.val_loss:.4f}, Dice {event.val_dice:.3f}, IoU {event.val_iou:.3f}"
            best = "  ★ best" if event.is_best else ""
        self.log(f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f}, {scores}, "
                 f"lr {event.lr:.2e}, {event.seconds:.1f} s{best}")

    def show_done(self, event: DoneEvent) -> None:
        self._timer.stop()
        self.plots.redraw()
        if event.status is RunStatus.COMPLETED:
            self.progress.setValue(PROGRESS_STEPS)
        self.progress.setFormat(f"{event.status.value.capitalize()}: {event.message}")
        self.summaryChanged.emit(event.status.value)
        self.speed_label.setText("")
        self.log(f"{event.status}: {event.message}")
        for kind, path in (("best", event.best_path), ("last", event.last_path)):
            if path:
                self.log(f"{kind} checkpoint: {path}")

    def show_failure(self, text: str) -> None:
        self._timer.stop()
        self.log(f"error: {text}")
        self.progress.setFormat(f"Failed: {text}")

    def _show_progress(self) -> None:
        progress = self._progress
        if progress is None:
            return
        parts = progress.parts()
        self.progress.setValue(int(progress.fraction_done() * PROGRESS_STEPS))
        self.progress.setFormat(" · ".join(parts) or "Starting…")
        self.summaryChanged.emit(" · ".join(parts[:2]) or "starting")
        if not math.isnan(progress.images_per_s):
            self.speed_label.setText(f"{progress.images_per_s:.0f} patches/s")
