"""Where a training run stands, built from the trainer's events; the Training panel only draws it.

Qt-free: the controller feeds it events and hands it to :meth:`TrainingPanel.show_progress`, which repaints at
most ten times a second however fast the events come.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from segcore.training.events import BatchEvent, EpochEvent


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class TrainingProgress:
    """One run: ``epochs`` to train, the current ``epoch``/``batch`` (1-based), speed, best epoch so far."""

    epochs: int
    time_limit_s: float | None = None  # the run ends then at the latest
    note: str = "loading data and model"  # shown after the numbers ("stopping after this batch")
    epoch: int = 0
    batch: int = 0
    batches: int = 0
    started: float | None = None  # time.monotonic() of the first batch
    images_per_s: float = math.nan
    best_epoch: int | None = None
    best_dice: float = math.nan  # NaN without validation images (best.pt then follows the last epoch)
    expected_epochs: int | None = None  # a planned run: epochs is only a bound, the time decides

    def plan(self, epochs: int, time_limit_s: float | None, expected_epochs: int | None) -> None:
        """The run's plan is known (it is made in the worker once the run has started)."""
        self.epochs, self.time_limit_s, self.expected_epochs = epochs, time_limit_s, expected_epochs

    def axis_epochs(self) -> int:
        """How far the curves' epoch axis should reach."""
        return self.expected_epochs or self.epochs

    def on_batch(self, event: BatchEvent) -> None:
        if self.started is None:
            self.started, self.note = time.monotonic(), ""
        self.epoch, self.batch, self.batches = event.epoch, event.batch, event.batches
        self.images_per_s = event.images_per_s

    def on_epoch(self, event: EpochEvent) -> None:
        self.epochs = event.epochs
        if event.is_best:
            self.best_epoch, self.best_dice = event.epoch, float(event.val_dice)

    def fraction_done(self, now: float | None = None) -> float:
        if not self.epochs or not self.batches:
            return 0.0
        done = (self.epoch - 1 + self.batch / self.batches) / self.epochs
        if self.time_limit_s and self.started is not None:  # whichever ends the run first
            done = max(done, ((time.monotonic() if now is None else now) - self.started) / self.time_limit_s)
        return min(1.0, done)

    def seconds_left(self, now: float | None = None) -> float | None:
        """Estimated from the pace so far (None before there is one), capped by the time limit."""
        done = self.fraction_done(now)
        if self.started is None or done <= 0.002:
            return None
        elapsed = (time.monotonic() if now is None else now) - self.started
        left = elapsed / done * (1 - done)
        if self.time_limit_s is not None:
            left = min(left, max(self.time_limit_s - elapsed, 0))
        return left

    def parts(self) -> list[str]:
        """What the progress bar says, in pieces: epoch and batch, time left, the note."""
        parts = []
        if self.epoch:
            of = "" if self.expected_epochs else f"/{self.epochs}"  # planned: the time, not a count, ends it
            parts.append(f"Epoch {self.epoch}{of} · batch {self.batch}/{self.batches}")
        if (left := self.seconds_left()) is not None:
            parts.append(f"{format_duration(left)} left")
        if self.note:
            parts.append(self.note)
        return parts

    def best_text(self) -> str:
        """The best epoch for a status line, or why best.pt is simply the last epoch."""
        if self.best_epoch and not math.isnan(self.best_dice):
            return f", best validation Dice {self.best_dice:.3f} (epoch {self.best_epoch})"
        if self.best_epoch:
            return "; no validation images, so best.pt is the last epoch"
        return ""

    def kept_on_stop(self) -> str:
        """What stopping now keeps, in words (a run stopped in its first epoch has nothing trained to keep)."""
        finished = self.epoch - 1 if self.epoch else 0  # the epoch under way is not saved when it is cut short
        if self.best_epoch:
            return f"best.pt (epoch {self.best_epoch}) and last.pt (epoch {max(finished, self.best_epoch)}) are kept"
        if finished > 0:
            return f"last.pt (epoch {finished}) is kept"
        return "no epoch has finished yet, so nothing trained is kept"
