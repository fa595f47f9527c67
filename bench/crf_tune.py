"""Grid search of the dense-CRF defaults across image types; writes JSON (see docs/crf.md for the results).

Cases, each dataset weighted equally so that no single folder decides:
- ``isbi``: U-Net probabilities (``--checkpoint``, trained with `segcore train` on isbi2012_em) on the slices its
  training held out (same val fraction and seed);
- ``dsb``: the DSB 2018 fluorescence image, ``he``: synthetic H&E-like tiles (`segcore sample-data`), both with
  simulated network probabilities (the truth blurred, shifted by smooth and pixel noise) since no network was
  trained on them.
Selection ("do no harm"): the largest mean over datasets of the foreground-Dice gain among the parameters that
lose at most ``--tolerance`` Dice on every dataset; a leave-one-dataset-out check applies the same rule without
a dataset and reports the result on it.

    python bench/crf_tune.py --checkpoint ckpt/best.pt --out crf_tune.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from segcore import crf  # noqa: E402
from segcore.metrics import confusion_matrix, scores  # noqa: E402

GRID = {
    "bilateral_sxy": [5, 10, 20, 40, 80],
    "bilateral_srgb": [3, 5, 10, 20],
    "bilateral_compat": [1, 3, 5, 10],
    "gaussian_compat": [1, 3],
}


def simulate_probabilities(target: np.ndarray, seed: int) -> np.ndarray:
    """Network-like foreground probabilities: blurred boundaries, blobby and pixel errors, a slight bias."""
    rng = np.random.default_rng(seed)
    h, w = target.shape
    soft = np.asarray(Image.fromarray((target > 0).astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(3)))
    coarse = rng.normal(0, 1.2, (h // 24 + 2, w // 24 + 2)).astype(np.float32)
    blobs = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC))
    logit = 6 * (soft / 255.0 - 0.5) + blobs + rng.normal(0, 0.8, (h, w)) + rng.normal(0, 0.4)
    p = 1 / (1 + np.exp(-logit))
    return np.stack([1 - p, p]).astype(np.float32)


def isbi_cases(checkpoint: str) -> list[tuple]:
    from segcore import checkpoint as ckpt
    from segcore.data.layout import load_sample
    from segcore.evaluation import select_samples
    from segcore.inference import Predictor

    predictor = Predictor(checkpoint, device="cpu")
    samples = select_samples(DATA / "isbi2012_em", "val", ckpt.load(checkpoint).get("config"))
    cases = []
    for sample in samples:
        image, target = load_sample(sample, predictor.spec)
        cases.append(("isbi", sample.image.name, image, predictor.predict_proba(image), target))
    return cases


def simulated_cases() -> list[tuple]:
    from segcore.data.classes import ClassSpec
    from segcore.data.io import read_image, read_mask
    from segcore.data.sample import write_sample_data

    binary = ClassSpec(["background", "foreground"], [0, 255])
    dsb = DATA / "dsb2018_stardist_sample"
    image, target = read_image(dsb / "images/img2d.png"), read_mask(dsb / "masks/img2d.png", binary)
    cases = [("dsb", f"img2d-{s}", image, simulate_probabilities(target, s), target) for s in range(3)]
    with tempfile.TemporaryDirectory() as tmp:
        for i, sample in enumerate(write_sample_data(tmp, count=6, size=256, seed=7)):
            target = read_mask(sample.mask, binary)
            cases.append(("he", sample.image.name, read_image(sample.image), simulate_probabilities(target, 10 + i), target))
    return cases


def dice(mask: np.ndarray, target: np.ndarray) -> float:
    return scores(confusion_matrix(mask, target, 2))["mean_dice"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="U-Net trained on isbi2012_em (skips ISBI without it)")
    parser.add_argument("--out", default="crf_tune.json")
    parser.add_argument("--grid", type=json.loads, default=GRID, help="JSON {CRFParams field: [values]}")
    parser.add_argument("--tolerance", type=float, default=0.002,
                        help="largest Dice loss on any dataset that the selection accepts (default 0.002)")
    args = parser.parse_args()
    cases = (isbi_cases(args.checkpoint) if args.checkpoint else []) + simulated_cases()
    datasets = sorted({c[0] for c in cases})
    raw = {c[1]: dice(c[3].argmax(0), c[4]) for c in cases}
    results = []
    keys = list(args.grid)
    start = time.perf_counter()
    for values in itertools.product(*args.grid.values()):
        params = crf.CRFParams(**dict(zip(keys, values, strict=True)))
        gains = {d: [] for d in datasets}
        for dataset, name, image, probs, target in cases:
            gains[dataset].append(dice(crf.refine(image, probs, params)[1], target) - raw[name])
        per_dataset = {d: float(np.mean(g)) for d, g in gains.items()}
        results.append({"params": params.to_dict(), "gain": per_dataset,
                        "mean_gain": float(np.mean(list(per_dataset.values())))})
        print(f"{values} {per_dataset} mean {results[-1]['mean_gain']:+.4f}", flush=True)
    results.sort(key=lambda r: -r["mean_gain"])
    safe = [r for r in results if min(r["gain"].values()) >= -args.tolerance]
    held_out = {}
    for d in datasets:  # the selection rule without dataset d, judged on d
        safe_without = [r for r in results if min(g for k, g in r["gain"].items() if k != d) >= -args.tolerance]
        best = max(safe_without or results, key=lambda r: np.mean([g for k, g in r["gain"].items() if k != d]))
        held_out[d] = {"params": best["params"], "gain_on_held_out": best["gain"][d],
                       "best_possible": max(r["gain"][d] for r in results)}
    current = {k: getattr(crf.CRFParams(), k) for k in keys}
    defaults = next((r for r in results if all(r["params"][k] == v for k, v in current.items())), None)
    per_dataset_best = {d: max(results, key=lambda r: r["gain"][d]) for d in datasets}
    summary = {"raw_dice": {d: float(np.mean([raw[c[1]] for c in cases if c[0] == d])) for d in datasets},
               "cases": {d: [c[1] for c in cases if c[0] == d] for d in datasets},
               "selected": safe[0] if safe else None, "best_safe": safe[:10], "best": results[:10], "current_defaults": defaults, "per_dataset_best": per_dataset_best, "leave_one_dataset_out": held_out,
               "seconds": time.perf_counter() - start, "all": results}
    Path(args.out).write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: summary[k] for k in ("raw_dice", "selected", "current_defaults", "leave_one_dataset_out")},
                     indent=1))


if __name__ == "__main__":
    main()
