"""Scribble-to-mask (segcore.scribbles): Dice of the proposal against the true mask, and its speed.

    nice -n 10 python -m bench.scribbles [--coverage 0.02 0.035 0.05] [--isbi-model CKPT] [--json FILE]

- dense-CRF examples: the published scribbles, scored against the published CRF outputs (``reference/out*.png``;
  the only dense answer there is, made by pydensecrf's example with unrecorded settings, so this is agreement
  with a reference, not accuracy); mean Dice over the labels. Both the proposal's settings and the example's own
  (``crf.SCRIBBLE_PARAMS``) are run.
- ISBI test slices 24-29 and the first 10 BBBC039 test images: synthetic skeleton scribbles
  (bench/scribble_synth.py) covering each ``--coverage`` share of the pixels, scored against the true masks (Dice
  per class). With ``--isbi-model`` (a checkpoint trained on ISBI slices 0-23 only) also scribbles plus the
  model's probabilities, and the model alone.
- Speed: one proposal on a 1024 x 1024 image (ISBI slice 24 tiled 2 x 2), median of 3: wall and CPU seconds,
  with the load average.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time

import numpy as np

from bench.common import SHARED_DATA
from bench.scribble_synth import skeleton_scribbles


def dice_per_class(pred: np.ndarray, truth: np.ndarray, k: int) -> list[float]:
    from segcore.metrics import confusion_matrix, scores

    return [round(float(d), 4) for d in scores(confusion_matrix(pred, truth, k))["dice"]]


def crf_examples() -> dict:
    from segcore import crf, crf_inputs, scribbles
    from segcore.data import io

    root = SHARED_DATA / "densecrf_examples"
    if not root.is_dir():
        return {"skipped": "data absent"}
    out = {}
    for n in (1, 2, 3):
        image = io.read_image(root / "images" / f"im{n}.png")
        labels, spec = crf_inputs.read_label_mask(root / "masks" / f"im{n}.png")
        reference = io.read_image(root / "reference" / f"out{n}.png")[..., :3].astype(int)
        colours = np.array(spec.colors, dtype=int)
        truth = np.argmin(((reference[:, :, None, :] - colours[None, None]) ** 2).sum(-1), axis=2).astype(np.uint8)
        k = spec.num_classes
        proposal = scribbles.propose(image, labels, k)
        example = crf.refine(image, crf.probabilities_from_labels(labels, k), crf.SCRIBBLE_PARAMS)[1]
        out[f"im{n}"] = {"scribbled": round(float((labels != 255).mean()), 4),
                         "proposal": dice_per_class(proposal.mask, truth, k),
                         "example_settings": dice_per_class(example, truth, k),
                         "unreached": round(proposal.unreached_fraction, 4)}
    for key in ("proposal", "example_settings"):
        out[f"mean_{key}"] = round(float(np.mean([np.mean(v[key]) for v in out.values() if isinstance(v, dict)])), 4)
    return out


def pairs(name: str) -> list:
    from segcore.data import io
    from segcore.data.classes import ClassSpec

    spec = ClassSpec(["background", "foreground"], [0, 255])
    if name == "isbi":
        root, stems = SHARED_DATA / "isbi2012_em", [str(i) for i in range(24, 30)]
    else:
        root = SHARED_DATA / "bbbc039"
        if not root.is_dir():
            return []
        with open(root / "splits.csv") as fh:
            stems = [r["stem"] for r in csv.DictReader(fh) if r["split"] == "test"][:10]
    if not root.is_dir():
        return []
    return [(s, io.read_image(root / "images" / f"{s}.png"), io.read_mask(root / "masks" / f"{s}.png", spec))
            for s in stems]


def synthetic(name: str, coverages: list[float], model_path: str | None) -> dict:
    from segcore import scribbles

    data = pairs(name)
    if not data:
        return {"skipped": "data absent"}
    predictor = None
    if model_path:
        from segcore.inference import Predictor

        predictor = Predictor(model_path, device="cpu")
    out: dict = {"images": len(data), "classes": ["background/membrane", "foreground"]}
    for coverage in coverages:
        runs: dict[str, list] = {"scribbles": []}
        drawn = []
        for i, (_, image, truth) in enumerate(data):
            labels = skeleton_scribbles(truth, coverage, seed=i)
            drawn.append(float((labels != 255).mean()))
            runs["scribbles"].append(dice_per_class(scribbles.propose(image, labels, 2).mask, truth, 2))
            if predictor is not None:
                probs = predictor.predict_proba(image)
                with_model = scribbles.propose(image, labels, 2, model_probabilities=probs).mask
                runs.setdefault("scribbles+model", []).append(dice_per_class(with_model, truth, 2))
                runs.setdefault("model alone", []).append(dice_per_class(probs.argmax(0), truth, 2))
        out[f"coverage {coverage}"] = {"scribbled": round(float(np.mean(drawn)), 4),
                                       **{k: [round(float(x), 4) for x in np.mean(v, axis=0)] for k, v in runs.items()}}
        print(name, coverage, out[f"coverage {coverage}"], file=sys.stderr, flush=True)
    return out


def speed() -> dict:
    from segcore import scribbles
    from segcore.data import io

    root = SHARED_DATA / "isbi2012_em"
    if not root.is_dir():
        return {"skipped": "data absent"}
    from segcore.data.classes import ClassSpec

    truth = io.read_mask(root / "masks" / "24.png", ClassSpec(["membrane", "cell"], [0, 255]))
    image = np.tile(io.read_image(root / "images" / "24.png"), (2, 2, 1))
    labels = skeleton_scribbles(np.tile(truth, (2, 2)), 0.03)
    times, cpu = [], []
    for _ in range(3):
        start, cpu_start = time.perf_counter(), time.process_time()
        scribbles.propose(image, labels, 2)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    # CPU seconds (all threads of this process) are what the proposal costs; wall seconds add the waiting for a
    # core on a shared machine, so they are quoted with the load average.
    return {"size": list(image.shape[:2]), "median_wall_s": round(statistics.median(times), 3),
            "median_cpu_s": round(statistics.median(cpu), 3), "wall_s": [round(t, 3) for t in times],
            "load": [round(v, 2) for v in os.getloadavg()]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coverage", nargs="+", type=float, default=[0.02, 0.035, 0.05])
    parser.add_argument("--isbi-model", help="checkpoint trained on ISBI slices 0-23 only (adds scribbles + model)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    results = {"load_before": [round(v, 2) for v in os.getloadavg()], "speed_1024": speed(),
               "densecrf_examples": crf_examples(),
               "isbi": synthetic("isbi", args.coverage, args.isbi_model),
               "bbbc039": synthetic("bbbc039", args.coverage, None),
               "load_after": [round(v, 2) for v in os.getloadavg()]}
    text = json.dumps(results, indent=2)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
