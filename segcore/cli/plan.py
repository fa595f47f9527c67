"""``segcore plan``: show the training plan for a folder, this machine and a time budget, without training."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub) -> None:
    p = sub.add_parser("plan", help="show the training plan for a folder and a time budget",
                       description="Fingerprint DATA, measure this machine's training speed, and print the plan "
                                   "`segcore train DATA --minutes M` would follow: every setting with its reason, "
                                   "as a table and as JSON. Settings given here override the plan's, as in train.")
    p.add_argument("data", help="folder with images and masks")
    p.add_argument("--minutes", type=float, default=10.0, help="time budget in minutes, planning included "
                                                                "(default 10)")
    p.add_argument("--json", metavar="FILE", help="write the plan's JSON to FILE instead of printing it")
    g = p.add_argument_group("overrides (as in segcore train)")
    g.add_argument("-e", "--epochs", type=int)
    g.add_argument("-l", "--learning-rate", "--lr", dest="lr", type=float)
    g.add_argument("-b", "--batch-size", type=int)
    g.add_argument("--arch")
    g.add_argument("--width", type=int)
    g.add_argument("-s", "--scale", type=float)
    g.add_argument("--patch-size", type=int)
    g.add_argument("--normalise", "--normalize", dest="normalisation", choices=("image", "dataset"))
    g.add_argument("-v", "--val-fraction", "--validation", dest="val_fraction", type=float, default=0.15)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    g.add_argument("-g", "--gpu", action="store_true", help="plan for the GPU")
    g.add_argument("--no-fast", action="store_true", help="plan for plain float32")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segcore.atomic import write_text_atomic
    from segcore.cli.train import explicit_settings
    from segcore.planning.auto import plan_training
    from segcore.training.config import TrainConfig

    config = TrainConfig(data=args.data, val_fraction=args.val_fraction, seed=args.seed,
                         device="cuda" if args.gpu else args.device, fast=not args.no_fast)
    plan = plan_training(config, args.minutes, explicit_settings(args),
                         log=lambda line: print(line, file=sys.stderr))
    print(plan.table())
    text = json.dumps(plan.to_dict(), indent=2)
    if args.json:
        write_text_atomic(args.json, text + "\n")
        print(f"wrote {args.json}")
    else:
        print(text)
    return 0
