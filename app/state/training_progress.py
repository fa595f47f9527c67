"""Where a training run stands, built from the trainer's events; the Training panel only draws it.

Qt-free: the controller feeds it events and hands it to :meth:`TrainingPanel.show_progress`, which repaints at
most ten times a second however fast the events come.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from segcore.durations import human_duration
from segcore.training.events import BatchEvent, EpochEvent, StageEvent

MAX_NAMED = 3  # a mean over more foreground classes than this is said as "mean of N classes"


def dice_scope(names: list[str]) -> str:
    """What a run's one Dice figure is (the mean over the foreground classes, segcore.metrics): the class of a
    binary task (``"nucleus"``), ``"mean of axon, myelin"``, or ``"mean of 5 classes"``."""
    foreground = list(names[1:]) if len(names) > 1 else list(names)
    if len(foreground) == 1:
        return foreground[0]
    if not foreground:
        return "foreground"
    return f"mean of {', '.join(foreground)}" if len(foreground) <= MAX_NAMED else f"mean of {len(foreground)} classes"


def val_images(count: int | None) -> str:
    """``"3 val images"`` (``"? val images"`` when unknown)."""
    return f"{'?' if count is None else count} val image{'' if count == 1 else 's'}"


def dice_text(scores: dict) -> str:
    """One validation's Dice, said with what it averages and over how many images: ``"Dice 0.912 (nucleus, 3 val
    images)"``, ``"Dice 0.850 (mean of axon 0.830, myelin 0.870; 3 val images)"``. ``scores``: an EpochEvent's
    ``val_scores``."""
    names, per_class = scores.get("names") or [], scores.get("dice") or []
    mean, images = scores.get("mean_dice", math.nan), val_images(scores.get("images"))
    foreground = list(zip(names, per_class, strict=False))[1:]
    if len(foreground) > 1:
        listed = ", ".join(f"{name} {value:.3f}" for name, value in foreground[:MAX_NAMED])
        more = f" and {len(foreground) - MAX_NAMED} more" if len(foreground) > MAX_NAMED else ""
        return f"Dice {mean:.3f} (mean of {listed}{more}; {images})"
    return f"Dice {mean:.3f} ({dice_scope(names)}, {images})"


def selection_text(scores: dict) -> str:
    """What chooses best.pt, beside the Dice shown: ``"every-class Dice 0.882"`` (background included, as
    segcore.training.loop's selection score); "" without per-class scores. The newcomer check found "★ best" on an
    epoch whose shown Dice was lower than the epoch before, with nothing to say why."""
    values = [v for v in scores.get("dice") or [] if not math.isnan(v)]
    return f"every-class Dice {sum(values) / len(values):.3f}" if values else ""


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
    scope: str = ""  # what the Dice figure is (dice_scope), known from the first validation
    val_images: int | None = None
    stage: str = ""  # a long step outside the batches under way ("Fitting the CRF: setting 3 of 8"), else ""

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
        self.images_per_s, self.stage = event.images_per_s, ""

    def on_stage(self, event: StageEvent) -> None:
        """Validating, scoring the starting model, fitting the CRF: said instead of the batch, which is over."""
        self.stage = event.text()

    def stopping(self) -> None:
        """A stop was asked for: say when it takes effect."""
        self.note = "stopping after this image or setting" if self.stage else "stopping after this batch"

    def on_epoch(self, event: EpochEvent) -> None:
        self.epochs, self.stage = event.epochs, ""
        self.scope = dice_scope(event.val_scores.get("names") or [])
        self.val_images = event.val_scores.get("images")
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
        """What the progress bar says, in pieces: epoch and batch, time left, speed, the note."""
        parts = []
        if self.epoch:
            of = "" if self.expected_epochs else f"/{self.epochs}"  # planned: the time, not a count, ends it
            parts.append(f"Epoch {self.epoch}{of}" + ("" if self.stage else f" · batch {self.batch}/{self.batches}"))
        if self.stage:  # the batches' pace says nothing about this step
            return [*parts, self.stage, *([self.note] if self.note else [])]
        if (left := self.seconds_left()) is not None:
            parts.append(f"{human_duration(left)} left")
        if not math.isnan(self.images_per_s):  # in the bar, not beside it: a label appearing widened the panel
            parts.append(f"{self.images_per_s:.0f} patches/s")
        if self.note:
            parts.append(self.note)
        return parts

    def best_text(self) -> str:
        """The best epoch for a status line, or why best.pt is simply the last epoch."""
        if self.best_epoch and not math.isnan(self.best_dice):
            return (f", best validation Dice {self.best_dice:.3f} ({self.scope}, {val_images(self.val_images)}, "
                    f"epoch {self.best_epoch})")
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
