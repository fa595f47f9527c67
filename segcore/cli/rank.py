"""``segcore rank``: the images of a folder in the order to annotate them: unannotated first, least sure first."""

from __future__ import annotations

import argparse
import sys

from segcore.cli.crf import add_tta_argument


def register(sub) -> None:
    p = sub.add_parser(
        "rank", help="order a folder's images by the model's uncertainty (what to annotate next)",
        description="Segment every image of FOLDER with the checkpoint and score how unsure the model is: the "
                    "share of pixels whose normalised entropy of the test-time-augmented probabilities is above 0.8 "
                    "(0 = sure everywhere; see docs/active_learning.md). Prints the images unannotated first, most "
                    "uncertain first, as a table, and writes it as CSV with --csv. An image much like an annotated "
                    "one or one placed before it (its 'alike' column: thumbnail correlation) moves down the queue "
                    "by that much: it would teach little that is new.")
    p.add_argument("-m", "--model", "--checkpoint", dest="checkpoint", required=True, help="checkpoint (.pt)")
    p.add_argument("folder", help="folder of images (any layout `segcore train` reads; masks mark annotated ones)")
    p.add_argument("--csv", metavar="FILE", help="also write the queue as CSV")
    p.add_argument("--skip-annotated", action="store_true",
                   help="score only the images without a mask (annotated ones are listed last, unscored)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_tta_argument(p, "on: the uncertainty is the entropy of the TTA average; --no-tta is 8 times faster and "
                        "measures a single pass")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segcore import ranking
    from segcore.data.layout import find_samples
    from segcore.inference import Predictor

    samples = find_samples(args.folder)
    tta = True if args.tta is None else args.tta  # the uncertainty is the TTA entropy unless --no-tta
    predictor = Predictor(args.checkpoint, device=args.device, tta=tta)
    if predictor.note:
        print(f"segcore rank: {predictor.note}", file=sys.stderr)
    rows = []
    for i, (row, _) in enumerate(ranking.score_samples(predictor, samples, args.skip_annotated), start=1):
        rows.append(row)
        if not args.quiet:
            state = f"error: {row.error}" if row.error else ("skipped" if row.score is None else f"{row.score:.4f}")
            print(f"[{i}/{len(samples)}] {row.image.name}: {state}", file=sys.stderr, flush=True)
    if args.csv:  # before the table: minutes of scoring are kept even when its reader stops early (| head)
        ranking.write_csv(args.csv, rows)
    unannotated = sum(not r.annotated for r in rows)
    print(f"{args.checkpoint} on {args.folder}: {len(rows)} images, {unannotated} unannotated; score = share of "
          f"pixels whose normalised entropy of the {'TTA-averaged (8 views)' if tta else 'single-pass'} "
          "probabilities is above 0.8; alike = similarity to an annotated or earlier-queued image; the queue places "
          "the highest score x (1 - alike) first")
    print()
    print(ranking.format_table(rows))
    if args.csv:
        print(f"wrote {args.csv}")
    failed = sum(bool(r.error) for r in rows)
    if failed:
        print(f"segcore rank: {failed} of {len(rows)} images could not be scored", file=sys.stderr)
    return 1 if failed else 0
