"""The Training panel: settings, Train / Stop, a progress bar with time left, live curves and a log.

The panel only shows; :class:`app.controllers.training.TrainingController` runs the job and feeds it events. Progress
text is refreshed by the same kind of throttle as the curves, so a flood of batch events costs one repaint per
100 ms.
"""

from __future__ import annotations

import math
import time

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

from app.views.panels.training_form import TrainingForm

PROGRESS_STEPS = 1000
LOG_LINES = 5000
LOG_MIN_CHARS = 30  # minimum width of the log, in characters
REDRAW_MS = 100  # progress text refreshed at most 10 times a second
PLOTS_DELAY_MS = 250  # pyqtgraph (~0.5-1 s to import) loads just after the window is on screen, not before


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingPanel(QWidget):
    """Emits ``trainRequested``, ``continueRequested`` and ``stopRequested``; shows what the controller passes in."""

    trainRequested = Signal()
    continueRequested = Signal()
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
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setToolTip("Save the masks and train a model on the open folder")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setObjectName("continueButton")
        self.continue_button.setVisible(False)  # offered once a run has a last.pt to go on from
        self.stop_button = QPushButton("Stop")
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
        self.stop_button.clicked.connect(self._stop_clicked)
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self._show_progress)
        self.reset()

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

    # -- run state ----------------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.epoch, self.epochs, self.batch, self.batches = 0, 0, 0, 0
        self.started: float | None = None
        self.images_per_s = math.nan
        self.time_limit_s: float | None = None
        self.status = ""

    def offer_continue(self, checkpoint: str | None, epochs_done: int = 0) -> None:
        """Show Continue for a run that can go on from ``checkpoint`` (its last.pt); None hides it."""
        self.continue_button.setVisible(checkpoint is not None)
        if checkpoint is not None:
            self.continue_button.setToolTip(
                f"Train the Epochs box's number of epochs more, from where the last run ended (epoch {epochs_done}: "
                f"{checkpoint}), in the same folder, with its optimiser and schedule")

    def set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.continue_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.stop_button.setText("Stop")
        self.form.setEnabled(not running)

    def _stop_clicked(self) -> None:
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.status = "stopping after this batch"
        self._show_progress()
        self.stopRequested.emit()

    def begin(self, epochs: int, description: str, time_limit_min: float | None = None,
              continued: bool = False) -> None:
        """A run starts: clear curves (a continued run keeps them) and progress, say what runs."""
        self.reset()
        self.epochs = epochs
        self.time_limit_s = time_limit_min * 60 if time_limit_min else None
        self.plots.begin(epochs, keep=continued)
        self.status = "loading data and model"
        self.progress.setValue(0)
        self.log(description)
        self.set_running(True)
        self._show_progress()

    def log(self, text: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    # -- events -------------------------------------------------------------------------------------------------
    def on_batch(self, event) -> None:
        if self.started is None:
            self.started = time.monotonic()
            self.status = ""
        self.epoch, self.batch, self.batches = event.epoch, event.batch, event.batches
        self.images_per_s = event.images_per_s
        self.plots.add_batch(event.epoch, event.batch, event.batches, event.loss)
        self._schedule()

    def on_epoch(self, event) -> None:
        self.epochs = event.epochs
        self.plots.add_epoch(event)
        if event.val_scores.get("pixels") == 0:  # no validation images: best.pt follows the last epoch
            scores, best = "no validation images", ""
        else:
            scores = f"val loss {event.val_loss:.4f}, Dice {event.val_dice:.3f}, IoU {event.val_iou:.3f}"
            best = "  ★ best" if event.is_best else ""
        self.log(f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f}, {scores}, "
                 f"lr {event.lr:.2e}, {event.seconds:.1f} s{best}")
        self._schedule()

    def on_done(self, event) -> None:
        self._timer.stop()
        self.plots.redraw()
        self.status = event.status
        if event.status == "completed":
            self.progress.setValue(PROGRESS_STEPS)
        self.progress.setFormat(f"{event.status.capitalize()}: {event.message}")
        self.summaryChanged.emit(event.status)
        self.speed_label.setText("")
        self.log(f"{event.status}: {event.message}")
        for kind, path in (("best", event.best_path), ("last", event.last_path)):
            if path:
                self.log(f"{kind} checkpoint: {path}")

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def fraction_done(self) -> float:
        if not self.epochs or not self.batches:
            return 0.0
        return min(1.0, (self.epoch - 1 + self.batch / self.batches) / self.epochs)

    def _show_progress(self) -> None:
        done = self.fraction_done()
        self.progress.setValue(int(done * PROGRESS_STEPS))
        parts = []
        if self.epoch:
            parts.append(f"Epoch {self.epoch}/{self.epochs} · batch {self.batch}/{self.batches}")
        if self.started is not None and done > 0.002:
            elapsed = time.monotonic() - self.started
            left = elapsed / done * (1 - done)
            if self.time_limit_s is not None:  # the run ends at the time limit at the latest
                left = min(left, max(self.time_limit_s - elapsed, 0))
            parts.append(f"{format_duration(left)} left")
        if self.status:
            parts.append(self.status)
        self.progress.setFormat(" · ".join(parts) or "Starting…")
        self.summaryChanged.emit(" · ".join(parts[:2]) or "starting")
        if not math.isnan(self.images_per_s):
            self.speed_label.setText(f"{self.images_per_s:.0f} patches/s")
