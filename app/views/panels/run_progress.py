"""The Training panel's progress bar: where a run stands (epoch, batch, time left, speed), planning, and how the
run ended, on one line whatever it says, with a short state for the window's title.

Drawn from the controller's :class:`app.state.training_progress.TrainingProgress` by a throttle: a flood of
batch events costs one repaint per ``REDRAW_MS``.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal

from app.state.training_progress import TrainingProgress
from app.views.elided import ElidedProgressBar
from segcore.training.events import DoneEvent, RunStatus

PROGRESS_STEPS = 1000
REDRAW_MS = 100  # progress text refreshed at most 10 times a second
SHORT_STATUS = {RunStatus.COMPLETED: "done", RunStatus.STOPPED: "stopped", RunStatus.FAILED: "failed"}


class RunProgressBar(ElidedProgressBar):
    """``stateChanged(text)``: the run's short state ("planning", "42%", "done"; "" when nothing runs)."""

    stateChanged = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("trainProgress")
        self.setTextVisible(True)
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self._draw)
        self._progress: TrainingProgress | None = None  # the controller's; drawn, never changed here
        self.reset()

    def reset(self, text: str = "Not started") -> None:
        """Nothing runs: an empty bar saying ``text`` (how a plan preview ended, or not started)."""
        self._stop()
        self._line(0, text)
        self.stateChanged.emit("")

    def planning(self, text: str) -> None:
        """Planning runs (a preview, or the start of a run): busy, since how long the probe takes is what it
        measures."""
        self.setRange(0, 0)
        self.setFormat(text)
        self.stateChanged.emit("planning")

    def follow(self, progress: TrainingProgress, now: bool = False) -> None:
        """Draw ``progress`` within ``REDRAW_MS`` (``now``: at once)."""
        self._progress = progress
        if now:
            self._draw()
        elif not self._timer.isActive():
            self._timer.start()

    def finish(self, event: DoneEvent) -> None:
        """The run ended: full when completed, and the run's own words on how."""
        self._stop()
        completed = event.status is RunStatus.COMPLETED
        self._line(PROGRESS_STEPS if completed else max(self.value(), 0),
                   f"{event.status.value.capitalize()}: {event.message}")
        self.stateChanged.emit(SHORT_STATUS[event.status])

    def fail(self, text: str) -> None:
        """The job raised: nothing runs any more, so nothing may say it is loading (or planning)."""
        self._stop()
        self._line(0, f"Failed: {text}")
        self.stateChanged.emit("failed")

    def _stop(self) -> None:
        self._timer.stop()
        self._progress = None

    def _line(self, value: int, text: str) -> None:
        self.setRange(0, PROGRESS_STEPS)
        self.setValue(value)
        self.setFormat(text)

    def _draw(self) -> None:
        progress = self._progress
        if progress is None:
            return
        done = progress.fraction_done()
        self._line(int(done * PROGRESS_STEPS), " · ".join(progress.parts()) or "Starting…")
        self.stateChanged.emit(f"{done:.0%}" if progress.epoch else (progress.note.split(" ")[0] or "starting"))
