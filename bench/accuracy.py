"""Accuracy of the training plan against the fixed recipe, at the same time budget, on the real data sets.

    python -m bench.accuracy [--sets isbi bbbc039 axondeepseg dsb] [--minutes 5] [--extra-isbi-minutes 10] [--dev]
                             [--recipes plan fixed] [--train-args "FLAGS"] [--out runs/accuracy] [--json FILE]

For each set a training folder is built from its **training part only** (symlinks; the run's own validation
split is drawn from it) and a test folder from its test part; then, as a user would:
- plan:  ``segcore train TRAIN --minutes M`` (planning and CRF fitting inside the M minutes);
- fixed: ``segcore train TRAIN -e 1000 --time-limit M`` (today's recipe: U-Net width 32, 256 crops, batch 4);
and ``segcore eval`` of each best.pt on the test part, raw (no TTA), with TTA, and with the CRF (the fitted
settings for the plan, the default ones for the fixed recipe) on the TTA probabilities. Per-class Dice, wall
times and the load average before/after each run are printed as JSON. Set SEGCORE_NO_FAST=1 to measure the
float32 path of CPUs without bfloat16 on a machine that has it. ``--dev`` scores on the last quarter of each
training part instead of its test part, for choosing settings (``--train-args`` adds flags to every training run).

Test parts: ISBI slices 24-29 (train 0-23); BBBC039 `splits.csv` test (train: its train rows); AxonDeepSeg the
`sub-rat6` image (train: the other 9); the DSB sample is one image, so its left half trains and its right half
tests.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, SHARED_DATA

SETS = ("isbi", "bbbc039", "axondeepseg", "dsb")


def _link(files: list[tuple[Path, Path]], folder: Path) -> Path:
    for kind in ("images", "masks"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
    for image, mask in files:
        for src, kind in ((image, "images"), (mask, "masks")):
            link = folder / kind / src.name
            if not link.exists():
                link.symlink_to(src.resolve())
    return folder


def _pairs(root: Path, stems: list[str]) -> list[tuple[Path, Path]]:
    return [(root / "images" / f"{s}.png", root / "masks" / f"{s}.png") for s in stems]


def _split_csv(root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with open(root / "splits.csv") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["split"], []).append(row["stem"])
    return out


def layout(name: str, out: Path, dev: bool = False) -> tuple[Path, Path] | None:
    """(train folder, test folder) for a set, or None when its data is absent. ``dev``: for choosing settings,
    the test folder is the last quarter of the training part instead (the test part is not touched)."""
    if name == "isbi":
        root = SHARED_DATA / "isbi2012_em"
        if not root.is_dir():
            return None
        train, test = [str(i) for i in range(24)], [str(i) for i in range(24, 30)]
    elif name in ("bbbc039", "axondeepseg"):
        root = SHARED_DATA / ("bbbc039" if name == "bbbc039" else "axondeepseg_sem")
        if not root.is_dir():
            return None
        split = _split_csv(root)
        train, test = split["train"], split["test"]
    elif name == "dsb":
        if dev:
            raise SystemExit("--dev needs a set with several training images; the DSB sample is one image")
        return _dsb_halves(SHARED_DATA / "dsb2018_stardist_sample", out)
    else:
        raise SystemExit(f"unknown set {name}; choose from {', '.join(SETS)}")
    if dev:
        keep = len(train) - max(1, len(train) // 4)
        train, test = train[:keep], train[keep:]
    return _link(_pairs(root, train), out / "train"), _link(_pairs(root, test), out / "test")


def _dsb_halves(root: Path, out: Path) -> tuple[Path, Path] | None:
    from PIL import Image

    if not root.is_dir():
        return None
    image_path = next((root / "images").iterdir())
    image = np.asarray(Image.open(image_path))
    mask = np.asarray(Image.open(root / "masks" / image_path.name))
    half = image.shape[1] // 2
    folders = []
    for part, cols in (("train", slice(0, half)), ("test", slice(half, None))):
        for kind, array in (("images", image), ("masks", mask)):
            (out / part / kind).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.ascontiguousarray(array[:, cols])).save(out / part / kind / image_path.name)
        folders.append(out / part)
    return folders[0], folders[1]


def segcore(*args: str) -> subprocess.CompletedProcess:
    print("$ segcore " + " ".join(args), file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "segcore", *args], text=True, capture_output=True, env=env,
                          cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"segcore {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def _dice(report: Path, variant: str) -> dict:
    mean = json.loads(report.read_text())["mean"][variant]
    return {name: round(v, 4) for name, v in zip(mean["names"], mean["dice"], strict=True)}


def train_and_score(train: Path, test: Path, recipe: str, minutes: float, out: Path,
                    extra: list[str] | None = None) -> dict:
    extra = extra or []
    run = out / (f"{recipe}-{minutes:g}min" + "".join(extra).replace("-", "_").replace("/", "_"))
    flags = ["--minutes", f"{minutes:g}"] if recipe == "plan" else ["-e", "1000", "--time-limit", f"{minutes:g}"]
    flags += extra
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = segcore("train", str(train), *flags, "-o", str(run), "-q")
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    result = {"recipe": recipe, "minutes": minutes, "extra_flags": extra, "train_wall_s": round(wall, 1),
              "load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in load_after]}
    plan_file = run / "plan.json"
    if plan_file.exists():
        plan = json.loads(plan_file.read_text())
        result["plan"] = {k: v["value"] for k, v in plan["entries"].items()}
        result["planning_s"] = round(plan["planning_s"], 1)
    result["epochs_line"] = [line for line in proc.stdout.splitlines() if line.startswith("done")
                             or "time limit" in line][-1:]
    best = run / "best.pt"
    for tta in ("no-tta", "tta"):
        report = out / f"{run.name}.{tta}.json"
        segcore("eval", "-m", str(best), str(test), f"--{tta}", "--crf", "--json", str(report), "-q")
        key = "raw" if tta == "no-tta" else "tta"
        result[key] = _dice(report, "raw")
        result[f"crf_on_{key}"] = _dice(report, "crf")
    import torch

    data = torch.load(best, weights_only=True)
    fit, tta_fit = data.get("crf"), data.get("tta_fit")
    result["crf_fit"] = None if fit is None else {k: fit[k] for k in ("helps", "delta_dice", "images", "tried")}
    result["tta_fit"] = None if tta_fit is None else {k: tta_fit[k] for k in ("helps", "delta_dice", "images")}
    return result


def _tta_text(plan: dict, tta_fit: dict | None) -> str:
    """What the checkpoint does by default: the plan's TTA choice, then the validation images' check."""
    if not plan["tta"]:
        return "TTA off"
    if tta_fit is None:
        return "TTA on"
    return f"TTA {'kept' if tta_fit['helps'] else 'dropped'} ({tta_fit['delta_dice']:+.3f} on val)"


def markdown(results: dict) -> str:
    """The results as the Markdown table of docs/accuracy.md: one row per set, budget and recipe."""
    lines = ["| set | budget | recipe | network | planning | Dice raw | Dice TTA | Dice CRF (on TTA) | CRF fit |",
             "|---|---|---|---|---|---|---|---|---|"]

    def cell(scores: dict) -> str:
        return " / ".join(f"{v:.3f}" for v in scores.values())

    for name, rows in results["sets"].items():
        if isinstance(rows, dict):
            lines.append(f"| {name} | | {rows.get('skipped', '')} | | | | | | |")
            continue
        for r in rows:
            plan = r.get("plan")
            net = (f"U-Net w{plan['width']}, {plan['patch_size']} px, {_tta_text(plan, r.get('tta_fit'))}"
                   if plan else "U-Net w32, 256 px")
            fit = r.get("crf_fit")
            fit_text = "-" if fit is None else (f"{'kept' if fit['helps'] else 'refused'} "
                                                f"({fit['delta_dice']:+.3f} on {fit['images']} val)")
            lines.append(f"| {name} | {r['minutes']:g} min | {r['recipe']} | {net} | "
                         f"{r.get('planning_s', 0):.0f} s | {cell(r['raw'])} | {cell(r['tta'])} | "
                         f"{cell(r['crf_on_tta'])} | {fit_text} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--recipes", nargs="+", default=["plan", "fixed"], choices=["plan", "fixed"])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--extra-isbi-minutes", type=float, nargs="*", default=[10.0],
                        help="further budgets for ISBI (default 10)")
    parser.add_argument("--dev", action="store_true",
                        help="score on the last quarter of each training part (for choosing settings; the test "
                             "parts are for the final table only)")
    parser.add_argument("--train-args", default="",
                        help="extra flags for every `segcore train`, e.g. '--deform 0' (an A/B of one setting)")
    parser.add_argument("--out", default="runs/accuracy")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--markdown", metavar="JSON", help="only print the table of an earlier --json file")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return 0
    out = Path(args.out)
    from segcore.device import cpu_has_bf16

    results = {"machine": {"cpu_count": os.cpu_count(), "bf16": cpu_has_bf16(),
                           "no_fast": os.environ.get("SEGCORE_NO_FAST", "") == "1"}, "dev": args.dev, "sets": {}}
    for name in args.sets:
        folders = layout(name, out / (name + ("-dev" if args.dev else "")), args.dev)
        if folders is None:
            results["sets"][name] = {"skipped": "data absent"}
            continue
        budgets = [args.minutes] + (args.extra_isbi_minutes if name == "isbi" else [])
        rows = []
        for minutes in budgets:
            for recipe in args.recipes:
                rows.append(train_and_score(*folders, recipe, minutes, folders[0].parent, args.train_args.split()))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        results["sets"][name] = rows
        if args.json:  # after every set: a long run that is cut short keeps what it measured
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
