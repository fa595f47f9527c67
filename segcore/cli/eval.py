"""``segcore eval``: score a checkpoint on a labelled folder, raw and (with --crf) CRF-refined side by side."""

from __future__ import annotations

import argparse
import sys

from segcore.cli.crf import add_param_arguments, add_tta_argument, model_params


def register(sub) -> None:
    p = sub.add_parser(
        "eval", help="Dice/IoU/precision/recall/accuracy of a checkpoint on a labelled folder",
        description="Predict every image of DATA that has a mask and print per-image and mean Dice, IoU, "
                    "precision, recall (per class; means over foreground classes) and pixel accuracy. "
                    "Unlabelled mask pixels count nowhere. With --crf the CRF-refined masks are scored beside "
                    "the raw ones, with the difference.",
    )
    p.add_argument("-m", "--model", "--checkpoint", dest="checkpoint", required=True, help="checkpoint (.pt)")
    p.add_argument("data", help="folder with images and masks (any layout `segcore train` reads)")
    p.add_argument("--crf", action="store_true", help="also score dense-CRF refined masks")
    p.add_argument("--split", choices=["all", "train", "val"], default="all",
                   help="'val': only the images the checkpoint's training held out (DATA must be its training "
                        "folder); default all")
    p.add_argument("--json", metavar="FILE", help="write every score as JSON")
    p.add_argument("--csv", metavar="FILE", help="write every score as CSV (one row per image, variant, class)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_tta_argument(p)
    add_param_arguments(p, "CRF parameters (with --crf; default: the settings fitted to the model in training)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segcore import checkpoint as ckpt
    from segcore import evaluation

    params = None
    if args.crf:
        params, note = model_params(args, ckpt.load(args.checkpoint).get("crf"))
        if note:
            print(note, file=sys.stderr)

    def progress(i: int, n: int, name: str) -> None:
        if not args.quiet:
            print(f"[{i + 1}/{n}] {name}", file=sys.stderr, flush=True)

    report = evaluation.evaluate(args.checkpoint, args.data, params, args.split, args.device, progress, args.tta)
    print(f"{args.checkpoint} on {args.data} ({len(report.images)} images, split {args.split}); "
          f"classes: {', '.join(report.spec.names)}")
    if params is not None:
        print("CRF: " + ", ".join(f"{k}={v}" for k, v in params.to_dict().items()))
    print()
    print(evaluation.format_table(report))
    if args.json:
        evaluation.write_json(args.json, report)
        print(f"wrote {args.json}")
    if args.csv:
        evaluation.write_csv(args.csv, report)
        print(f"wrote {args.csv}")
    return 0
