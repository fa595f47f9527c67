"""Events the training loop yields; the CLI prints them, the GUI worker re-emits them as signals.

``Trainer.run()`` yields :data:`Event` values: any number of LogEvent, BatchEvent, EpochEvent, StageEvent and
CheckpointEvent, then exactly one DoneEvent whose ``status`` is a :class:`RunStatus`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Union


class RunStatus(str, Enum):
    """How a run ended. A str, so it prints, compares and serialises as its value (``"completed"``)."""

    COMPLETED = "completed"  # every epoch, or the time limit, reached
    STOPPED = "stopped"  # stopped by request, between batches; the checkpoints are whole
    FAILED = "failed"  # the loss became NaN; the last good checkpoint is named in the message

    def __str__(self) -> str:
        return self.value


@dataclass
class LogEvent:
    message: str


@dataclass
class BatchEvent:
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches: int
    loss: float
    images_per_s: float


@dataclass
class EpochEvent:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_dice: float  # mean over the foreground classes (classes 1..K-1; the one class of a binary task)
    val_iou: float
    lr: float
    seconds: float
    is_best: bool
    val_scores: dict = field(default_factory=dict)  # segcore.metrics.scores (per class, "names") + "images"


@dataclass
class StageEvent:
    """A long step outside the batches, e.g. validating or fitting the CRF after the last epoch: ``done`` of
    ``total`` steps (``unit``: "image", "setting") of ``stage``, so a progress bar keeps moving meanwhile."""

    stage: str  # "Validating", "Fitting the CRF", "Scoring the model it starts from"
    done: int
    total: int
    unit: str = "image"

    def text(self) -> str:
        """``"Fitting the CRF: setting 3 of 8"``."""
        return f"{self.stage}: {self.unit} {self.done} of {self.total}"


@dataclass
class CheckpointEvent:
    path: str
    kind: str  # "best" or "last"


@dataclass
class DoneEvent:
    status: RunStatus
    message: str
    out_dir: str
    best_path: str | None
    last_path: str | None
    epochs_done: int
    # Validation score (Dice averaged over every class, what chooses best.pt) of the run's best epoch and of the
    # model a fine-tuning run started from, on the same validation images; NaN when not measured.
    best_score: float = float("nan")
    start_score: float = float("nan")

    def scored_below_start(self) -> bool:
        """Whether this fine-tuning run's best epoch scored lower than the model it started from."""
        return not math.isnan(self.best_score) and not math.isnan(self.start_score) and self.best_score < self.start_score


Event = Union[LogEvent, BatchEvent, EpochEvent, StageEvent, CheckpointEvent, DoneEvent]  # noqa: UP007 (a runtime alias on 3.10)
