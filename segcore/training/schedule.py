"""Learning-rate schedule: linear warm-up, then cosine decay, driven by steps or by a time budget.

With a time budget (``--time-limit``) progress is the larger of steps done / steps planned and time spent /
time allowed, so a run given ten minutes anneals fully in ten minutes on a fast or a slow machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WARMUP_STEPS = 50
FINAL_FACTOR = 0.02  # the rate ends at 2 % of the peak


@dataclass
class Schedule:
    base_lr: float
    total_steps: int
    time_limit_s: float | None = None
    step: int = 0
    elapsed_s: float = 0.0  # training time already spent (carried over on resume)

    @property
    def warmup(self) -> int:
        return max(1, min(WARMUP_STEPS, self.total_steps // 20))

    def progress(self) -> float:
        p = self.step / max(1, self.total_steps)
        if self.time_limit_s:
            p = max(p, self.elapsed_s / self.time_limit_s)
        return min(1.0, p)

    def factor(self) -> float:
        if self.step < self.warmup:
            return (self.step + 1) / self.warmup
        t = self.progress()
        return FINAL_FACTOR + (1 - FINAL_FACTOR) * 0.5 * (1 + math.cos(math.pi * t))

    def apply(self, optimizer) -> float:
        lr = self.base_lr * self.factor()
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def out_of_time(self) -> bool:
        return bool(self.time_limit_s) and self.elapsed_s >= self.time_limit_s

    def state_dict(self) -> dict:
        return {"step": self.step, "elapsed_s": self.elapsed_s}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.elapsed_s = int(state.get("step", 0)), float(state.get("elapsed_s", 0.0))
