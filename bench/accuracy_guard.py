"""Accuracy guard: the same ISBI 2012 training schedule in float32 and on the fast path ends within 0.01 Dice.

Both runs use the ISBI data/ + val/ layout of ``bench/isbi_target.py`` (train on slices 0-23, validate on 24-29),
the same seed, crops, augmentation and number of epochs; only ``TrainConfig.fast`` differs. Reported: the final
and the best validation mean Dice of each, the difference of the final ones, and their wall times.

    python -m bench.accuracy_guard [--epochs 6] [--width 16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import SHARED_DATA

ISBI = SHARED_DATA / "isbi2012_em"
TOLERANCE = 0.01


def _train(data: Path, out: Path, fast: bool, epochs: int, width: int) -> dict:
    from segcore.training.config import TrainConfig
    from segcore.training.events import DoneEvent, EpochEvent
    from segcore.training.loop import Trainer

    config = TrainConfig(data=str(data), arch="unet", arch_kwargs={"width": width}, epochs=epochs, batch_size=4,
                         patch_size=256, seed=0, fast=fast, out=str(out))
    trainer, dice, done = Trainer(config), [], None
    start = time.perf_counter()
    for event in trainer.run():
        if isinstance(event, EpochEvent):
            dice.append(round(float(event.val_dice), 4))
        if isinstance(event, DoneEvent):
            done = event
    return {"final_dice": dice[-1], "best_dice": max(dice), "dice_per_epoch": dice,
            "wall_s": round(time.perf_counter() - start, 1), "mode": trainer.runtime.describe(),
            "status": done.status if done else "unknown"}


def measure(root: Path, epochs: int = 6, width: int = 16) -> dict:
    """The ``accuracy`` section, or a note when the ISBI data is absent."""
    if not ISBI.is_dir():
        return {"note": f"skipped: {ISBI} is absent"}
    from bench.isbi_target import link_layout
    from segcore.data.layout import create_txt

    data = link_layout(root)
    create_txt(data)
    fp32 = _train(data, root / "fp32", False, epochs, width)
    fast = _train(data, root / "fast", True, epochs, width)
    diff = round(fast["final_dice"] - fp32["final_dice"], 4)
    return {"schedule": f"unet width {width}, {epochs} epochs, batch 4, 256 crops, seed 0",
            "fp32": fp32, "fast": fast, "final_dice_difference": diff, "within_tolerance": abs(diff) <= TOLERANCE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_accuracy_") as tmp:
        print(json.dumps(measure(Path(tmp), args.epochs, args.width), indent=1))


if __name__ == "__main__":
    main()
