"""ISBI 2012 accuracy target: train on images 0-23 within a time budget, score on 24-29.

    python bench/isbi_target.py [--minutes 10] [--out runs/isbi] [-- extra segcore train flags]

Builds the original data/ + val/ layout (symlinks, with data.txt/val.txt lists via `segcore create-txt`) in the
output folder, runs `segcore train` as a user would, then `segcore eval` on the held-out slices, and prints JSON:
per-class Dice (membrane = mask value 0, cell = 255), wall time and the commands used.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ISBI = ROOT.parent / "shared" / "data" / "isbi2012_em"


def link_layout(out: Path) -> Path:
    data = out / "isbi_layout"
    for split, ids in (("data", range(0, 24)), ("val", range(24, 30))):
        for kind in ("", "masks"):
            (data / split / kind).mkdir(parents=True, exist_ok=True)
        for i in ids:
            for kind, sub in (("images", ""), ("masks", "masks")):
                link = data / split / sub / f"{i}.png"
                if not link.exists():
                    link.symlink_to(ISBI / kind / f"{i}.png")
    held_out = out / "isbi_heldout"
    for kind in ("images", "masks"):
        (held_out / kind).mkdir(parents=True, exist_ok=True)
        for i in range(24, 30):
            link = held_out / kind / f"{i}.png"
            if not link.exists():
                link.symlink_to(ISBI / kind / f"{i}.png")
    return data


def segcore(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "segcore", *args]
    print("$ segcore " + " ".join(args), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--out", default="runs/isbi")
    parser.add_argument("extra", nargs="*", help="extra `segcore train` flags (after --)")
    args = parser.parse_args()
    if not ISBI.exists():
        print(f"skipped: {ISBI} is absent", file=sys.stderr)
        return 0
    out = Path(args.out)
    data = link_layout(out)
    segcore("create-txt", str(data))
    train_args = ["train", str(data), "-e", "1000", "--time-limit", f"{args.minutes:g}", "-o", str(out / "run"),
                  "-q", *args.extra]
    t0 = time.perf_counter()
    segcore(*train_args)
    wall = time.perf_counter() - t0
    report = out / "eval.json"
    segcore("eval", "-m", str(out / "run" / "best.pt"), str(out / "isbi_heldout"), "--json", str(report))
    scores = json.loads(report.read_text())
    result = {"train_command": "segcore " + " ".join(train_args), "train_wall_s": round(wall, 1),
              "eval": scores.get("mean", scores), "cpu_count": os.cpu_count()}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
