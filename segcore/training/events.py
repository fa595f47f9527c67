"""Events the training loop yields; the CLI prints them, the GUI worker re-emits them as signals."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    val_dice: float  # mean over foreground classes
    val_iou: float
    lr: float
    seconds: float
    is_best: bool
    val_scores: dict = field(default_factory=dict)  # full per-class scores from segcore.metrics.scores


@dataclass
class CheckpointEvent:
    path: str
    kind: str  # "best" or "last"


@dataclass
class DoneEvent:
    status: str  # "completed", "stopped" or "failed"
    message: str
    out_dir: str
    best_path: str | None
    last_path: str | None
    epochs_done: int
