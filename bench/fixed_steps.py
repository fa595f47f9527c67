"""A/B of one training setting on a set's training part, by a fixed number of optimiser steps on one thread.

    python -m bench.fixed_steps NAME [--set isbi] [--seed 0] [--steps 1258] [--normalise image] [--deform 0.5] ...

A time budget makes results depend on the machine's load; a fixed number of steps on one thread does not (same
seed, same result), so two settings can be compared by running them side by side, one per core. The default
recipe is the ISBI 10-minute plan's on this machine class (U-Net width 16, depth 4, 256-px patches, batch 4,
AdamW 1e-3, 1258 steps, validation every 34 steps). Trains on the first three quarters of the set's training part
(its own validation split inside it) and scores best.pt and last.pt, raw and with TTA, on the last quarter (the
``--dev`` folders of ``bench.accuracy``; the test part is not touched). Prints JSON (Dice per class).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", help="the run's folder name under --out")
    p.add_argument("--set", default="isbi", choices=("isbi", "bbbc039", "axondeepseg"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1258)
    p.add_argument("--validate-every", type=int, default=34, help="steps")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--jitter", type=float, default=0.19)
    p.add_argument("--deform", type=float, default=0.5)
    p.add_argument("--normalise", choices=("image", "dataset"), default="dataset")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/fixed_steps")
    args = p.parse_args(argv)

    import torch

    from bench.accuracy import layout
    from segcore.evaluation import evaluate
    from segcore.training.config import TrainConfig
    from segcore.training.loop import Trainer

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    folders = layout(args.set, out / f"{args.set}-dev", dev=True)
    if folders is None:
        print(f"skipped: the {args.set} data is absent", file=sys.stderr)
        return 0
    train, test = folders
    epochs = max(1, round(args.steps / args.validate_every))
    config = TrainConfig(data=str(train), epochs=epochs, lr=args.lr, batch_size=4,
                         arch_kwargs={"width": args.width, "depth": 4}, patch_size=256, seed=args.seed,
                         out=str(out / args.name), fast=False, epoch_samples=args.validate_every * 4,
                         jitter=args.jitter, deform=args.deform, per_image_norm=args.normalise == "image")
    start, load = time.perf_counter(), os.getloadavg()
    for event in Trainer(config).run():
        if type(event).__name__ == "DoneEvent":
            print(event.message, file=sys.stderr)
    result = {"name": args.name, "args": vars(args), "steps": epochs * args.validate_every,
              "train_s": round(time.perf_counter() - start), "load_before": [round(v, 2) for v in load],
              "dice": {}}
    for kind in ("best", "last"):
        for tta in (False, True):
            report = evaluate(out / args.name / f"{kind}.pt", test, tta=tta, device="cpu")
            mean = report.mean("raw")
            result["dice"][kind + (" TTA" if tta else "")] = dict(zip(mean["names"], (round(v, 4) for v in
                                                                                       mean["dice"]), strict=True))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
