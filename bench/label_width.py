"""How wide ISBI 2012's membranes are drawn on each slice, and how wide a model draws them (issue 13's evidence).

    python -m bench.label_width [-m RUN/best.pt] [--json OUT]

For each of the 30 slices: the annotated membranes' mean width (twice the mean distance-transform value on their
ridge, in pixels; the fingerprint's thickness uses the median, too coarse to tell 5.7 from 6.4 px), their share of
the pixels, and how many standard deviations the width lies from the training slices' (0-23). With a checkpoint,
also the predicted membranes' width and the membrane Dice on each test slice (24-29), at the model's own decision
and at the slice's best membrane-probability threshold (0.30-0.90: an oracle that looks at the slice's labels,
for the diagnosis only). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from bench.common import SHARED_DATA

ISBI = SHARED_DATA / "isbi2012_em"
TRAIN, TEST = range(0, 24), range(24, 30)


def mean_width(region: np.ndarray) -> float:
    """Twice the mean distance-transform value on the ridge of a boolean (H, W) region, in pixels."""
    dist = ndimage.distance_transform_edt(region)
    ridge = region & (dist >= ndimage.maximum_filter(dist, size=3))
    return float(2 * dist[ridge].mean()) if ridge.any() else float("nan")


def membranes(index: int) -> np.ndarray:
    return np.asarray(Image.open(ISBI / "masks" / f"{index}.png")) == 0  # membrane = 0, cell = 255


def dice(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Membrane Dice of two boolean masks, by :mod:`segcore.metrics` (what ``segcore eval`` reports)."""
    from segcore.metrics import confusion_matrix, scores

    return scores(confusion_matrix(predicted.astype(np.uint8), truth.astype(np.uint8), 2))["dice"][1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", help="a checkpoint to compare on the test slices 24-29")
    parser.add_argument("--json", help="also write the JSON here")
    args = parser.parse_args(argv)
    if not ISBI.is_dir():
        raise SystemExit(f"no ISBI 2012 data at {ISBI}")
    masks = {i: membranes(i) for i in range(30)}  # read once
    widths = {i: mean_width(mask) for i, mask in masks.items()}
    train = np.array([widths[i] for i in TRAIN])
    mean, std = float(train.mean()), float(train.std())
    predictor = None
    if args.model:
        from segcore.data.io import read_image
        from segcore.inference import Predictor

        predictor = Predictor(args.model, tta=False)  # the network alone, as "raw" in docs/accuracy.md
    slices = []
    for i in range(30):
        row = {"slice": i, "part": "train" if i in TRAIN else "test", "width_px": round(widths[i], 2),
               "sd_from_train": round((widths[i] - mean) / std, 1),
               "membrane_share": round(float(masks[i].mean()), 3)}
        if predictor is not None and i in TEST:
            probability = predictor.predict_proba(read_image(str(ISBI / "images" / f"{i}.png")))[0]  # membrane
            predicted, truth = probability > 0.5, masks[i]  # two classes: the argmax
            oracle = max((dice(probability > t, truth), t) for t in np.round(np.arange(0.30, 0.91, 0.05), 2))  # 0.5 included
            row |= {"predicted_width_px": round(mean_width(predicted), 2),
                    "membrane_dice": round(dice(predicted, truth), 4),
                    "oracle_dice": round(oracle[0], 4), "oracle_threshold": round(float(oracle[1]), 2)}
        slices.append(row)
    result = {"train_width_px": {"mean": round(mean, 2), "std": round(std, 2), "min": round(float(train.min()), 2),
                                 "max": round(float(train.max()), 2)},
              "model": args.model, "slices": slices}
    text = json.dumps(result, indent=1)
    if args.json:
        Path(args.json).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
