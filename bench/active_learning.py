"""A simulated annotation study: does the uncertainty queue reach a given Dice with fewer annotated images than
annotating in random order?

    nice -n 10 python -m bench.active_learning [--sets isbi bbbc039] [--seeds 0 1 2] [--start 2] [--k 2]
                                               [--orders queue queue-by-score random]
                                               [--rounds 4] [--steps 60] [--width 8] [--json FILE]

For each set a *pool* (images a user could annotate) and a fixed *test part* (never annotated, never used to
choose anything) are taken from its training and test parts (ISBI: slices 0-23 / 24-29; BBBC039: the first
``--pool`` rows of `splits.csv` train / the first ``--test`` rows of its test). Per seed, ``--start`` pool images
chosen at random are annotated (their true masks are "painted") and a small U-Net is trained; then, in each of
``--rounds`` rounds, ``--k`` more images are annotated, chosen

- by the queue (``queue``): what *Next most uncertain* opens and ``segcore rank`` lists first: the highest
  uncertainty score of the current model (the share of pixels whose normalised entropy of the TTA-averaged
  probabilities is above 0.8, segcore.uncertainty) times one minus the image's similarity to an annotated or
  already chosen image (segcore.ranking: near-duplicates teach little),
- by the uncertainty score alone (``queue-by-score``, the queue before the similarity term), or
- at random (same seed, same start),

and the model is retrained the way the window's *Retrain* does it: fine-tuned from the previous round's model,
for the same fixed budget of optimisation steps (steps, not minutes: the machine is shared, and a time budget
would give each run a different amount of training). After every round the model is scored on the test part by
``segcore.evaluation`` (foreground Dice, raw, no TTA). Prints JSON: the Dice curve per seed and order, their means,
and how many annotated images the queue needed to reach the random order's final mean Dice, with the load
average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from bench.accuracy import _link, _pairs, _split_csv
from bench.common import SHARED_DATA


def pool_and_test(name: str, pool_size: int, test_size: int) -> tuple[list, list] | None:
    """(pool pairs, test pairs) of (image, mask) paths, or None when the set is absent."""
    if name == "isbi":
        root = SHARED_DATA / "isbi2012_em"
        if not root.is_dir():
            return None
        return _pairs(root, [str(i) for i in range(24)])[:pool_size], _pairs(root, [str(i) for i in range(24, 30)])
    root = SHARED_DATA / "bbbc039"
    if not root.is_dir():
        return None
    split = _split_csv(root)
    return _pairs(root, split["train"][:pool_size]), _pairs(root, split["test"][:test_size])


def train_round(folder: Path, out: Path, start_from: Path | None, args, seed: int) -> Path:
    """Train (or fine-tune from ``start_from``) for the fixed step budget; returns best.pt (= last: no val)."""
    import segcore

    done = segcore.train(
        str(folder), epochs=args.epochs, epoch_samples=args.steps * args.batch // args.epochs, lr=args.lr,
        batch_size=args.batch, patch_size=args.patch, arch="unet",
        arch_kwargs={"width": args.width, "depth": args.depth}, val_fraction=0.0, seed=seed, out=str(out),
        checkpoint=str(start_from) if start_from else None, fine_tune=start_from is not None, device="cpu")
    return Path(done.best_path)


def test_dice(checkpoint: Path, test_folder: Path) -> list[float]:
    """Dice of each class (background first), averaged over the test images."""
    from segcore import evaluation

    report = evaluation.evaluate(checkpoint, test_folder, device="cpu", tta=False)
    return [round(d, 4) for d in report.mean("raw")["dice"]]


def most_uncertain(checkpoint: Path, candidates: list, annotated: list, k: int, diverse: bool) -> list:
    """The first ``k`` candidate pairs of the queue (``diverse``: avoiding images like the annotated ones and each
    other, as ``segcore rank`` and the window do; else by uncertainty alone, the queue before that)."""
    from segcore import ranking
    from segcore.data.layout import Sample
    from segcore.inference import Predictor

    predictor = Predictor(checkpoint, device="cpu", tta=True)
    by_image = {image: (image, mask) for image, mask in candidates}
    samples = [Sample(i, None, None) for i, _ in candidates] + [Sample(i, m, None) for i, m in annotated]
    rows = [row for row, _ in ranking.score_samples(predictor, samples, skip_annotated=True)]
    return [by_image[row.image] for row in ranking.queue_order(rows, diverse=diverse)[:k]]


def run_order(order: str, pool: list, start: list, test_folder: Path, out: Path, args, seed: int,
              first_model: Path, first_dice: float) -> list[dict]:
    rng = random.Random(seed * 1000 + 7)
    annotated, model = list(start), first_model
    curve = [{"annotated": len(annotated), "dice": first_dice}]
    for r in range(1, args.rounds + 1):
        left = [p for p in pool if p not in annotated]
        if not left:
            break
        t0 = time.perf_counter()
        chosen = (rng.sample(left, min(args.k, len(left))) if order == "random" else
                  most_uncertain(model, left, annotated, args.k, diverse=order == "queue"))
        choose_s = time.perf_counter() - t0
        annotated += chosen
        folder = _link(annotated, out / f"{order}-round{r}" / "data")
        t0 = time.perf_counter()
        model = train_round(folder, out / f"{order}-round{r}" / "run", model, args, seed + r)
        curve.append({"annotated": len(annotated), "dice": test_dice(model, test_folder),
                      "choose_s": round(choose_s, 1), "train_s": round(time.perf_counter() - t0, 1),
                      "added": [Path(i).stem[:24] for i, _ in chosen]})
        print(f"  {order} round {r}: {curve[-1]}", file=sys.stderr, flush=True)
    return curve


def summarise(curves: dict[str, list[list[dict]]], c: int) -> dict:
    """For class ``c``: mean Dice per number of annotated images, and for each queue the images it needs to reach
    the random order's final mean."""
    means = {}
    for order, runs in curves.items():
        counts = [p["annotated"] for p in runs[0]]
        means[order] = {n: round(float(np.mean([run[i]["dice"][c] for run in runs])), 4)
                        for i, n in enumerate(counts)}
    out: dict = {"mean_dice": means}
    if "random" not in means:
        return out
    target, final_n = list(means["random"].values())[-1], list(means["random"])[-1]
    out["random_final"] = {"annotated": final_n, "dice": target}
    for order in (o for o in means if o != "random"):
        reached = next((n for n, d in means[order].items() if d >= target), None)
        out[order] = {"reaches_it_at": reached, "images_saved": None if reached is None else final_n - reached}
    return out


def run_set(name: str, args, out: Path) -> dict:
    parts = pool_and_test(name, args.pool, args.test)
    if parts is None:
        return {"skipped": "data absent"}
    pool, test = parts
    test_folder = _link(test, out / "test")
    curves: dict[str, list] = {order: [] for order in args.orders}
    for seed in args.seeds:
        start = random.Random(seed).sample(pool, args.start)
        seed_out = out / f"seed{seed}"
        model = train_round(_link(start, seed_out / "start" / "data"), seed_out / "start" / "run", None, args, seed)
        dice = test_dice(model, test_folder)
        print(f"{name} seed {seed}: start with {args.start} images, test Dice per class {dice}", file=sys.stderr,
              flush=True)
        for order in curves:
            curves[order].append(run_order(order, pool, start, test_folder, seed_out, args, seed, model, dice))
    classes = {"cell interior" if name == "isbi" else "nuclei": 1}
    if name == "isbi":  # the membranes are the thin structure; their Dice moves more than the interior's
        classes["membrane"] = 0
    return {"pool": len(pool), "test": len(test), "curves": curves,
            "summary": {label: summarise(curves, c) for label, c in classes.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["isbi", "bbbc039"], choices=["isbi", "bbbc039"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--orders", nargs="+", default=["queue", "queue-by-score", "random"],
                        choices=["queue", "queue-by-score", "random"],
                        help="queue: the window's (uncertainty, avoiding near-duplicates); queue-by-score: "
                             "uncertainty alone; random")
    parser.add_argument("--start", type=int, default=2, help="images annotated before the first round")
    parser.add_argument("--k", type=int, default=2, help="images added per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pool", type=int, default=24, help="pool size (BBBC039; ISBI has 24)")
    parser.add_argument("--test", type=int, default=10, help="test images (BBBC039; ISBI has 6)")
    parser.add_argument("--steps", type=int, default=100, help="optimisation steps per round (the fixed budget)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs the steps are split into")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--out", default="runs/active_learning")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # a shared 2-core machine: one core for this study
    results = {"settings": {k: v for k, v in vars(args).items() if k not in ("json", "out")},
               "load_before": [round(v, 2) for v in os.getloadavg()], "sets": {}}
    start = time.perf_counter()
    for name in args.sets:
        results["sets"][name] = run_set(name, args, Path(args.out) / name)
        results["load_after"] = [round(v, 2) for v in os.getloadavg()]
        results["wall_s"] = round(time.perf_counter() - start, 1)
        if args.json:  # after every set: a run cut short keeps what it measured
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
