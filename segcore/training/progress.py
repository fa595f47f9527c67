"""Console reporting of training events: a tqdm bar per epoch and one summary line per epoch."""

from __future__ import annotations

import math
import sys

from tqdm import tqdm

from segcore.training.events import BatchEvent, DoneEvent, EpochEvent, LogEvent, RunStatus, StageEvent


def _fmt(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


class ConsoleReporter:
    """Turns events into terminal output; the bar goes to stderr so stdout stays parseable."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet, self._stream, self.bar = quiet, stream, None

    @property
    def stream(self):
        return self._stream or sys.stderr  # looked up at write time: sys.stderr may be replaced (pytest, GUI)

    def show(self, event) -> None:
        if isinstance(event, LogEvent):
            self._write(event.message)
        elif isinstance(event, BatchEvent) and not self.quiet:
            if self.bar is not None and self.bar.desc != f"epoch {event.epoch}":
                self.close()  # the bar of a stage before the epoch's batches
            if self.bar is None:
                self.bar = tqdm(total=event.batches, desc=f"epoch {event.epoch}", unit="batch",
                                file=self.stream, leave=False, dynamic_ncols=True)
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{event.loss:.4f}", img_s=f"{event.images_per_s:.1f}")
        elif isinstance(event, StageEvent) and not self.quiet:  # validating, fitting the CRF: a bar of its own
            if self.bar is None or self.bar.desc != event.stage or event.done == 1:
                self.close()
                self.bar = tqdm(total=event.total, desc=event.stage, unit=event.unit, file=self.stream,
                                leave=False, dynamic_ncols=True)
            self.bar.update(1)
        elif isinstance(event, EpochEvent):
            self.close()
            best = "  (best)" if event.is_best else ""
            self._write(f"epoch {event.epoch}/{event.epochs}: train loss {_fmt(event.train_loss)}, "
                        f"val loss {_fmt(event.val_loss)}, val Dice {_fmt(event.val_dice)}, "
                        f"val IoU {_fmt(event.val_iou)}, {event.seconds:.1f}s{best}")
        elif isinstance(event, DoneEvent):
            self.close()
            stream = sys.stderr if event.status is RunStatus.FAILED else sys.stdout
            print(f"{event.status}: {event.message}", file=stream)
            if event.best_path:
                print(f"best checkpoint: {event.best_path}", file=stream)
            if event.last_path:
                print(f"last checkpoint: {event.last_path}", file=stream)
            print(f"metrics: {event.out_dir}/metrics.csv", file=stream)

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
