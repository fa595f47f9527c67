"""The after-training TTA check (segcore.tta_fit) for runs trained before it existed, e.g. bench.accuracy's.

    python -m bench.tta_check RUN [RUN ...] [--write]

For each run folder: the best model's probabilities on the run's own validation images (its split.json),
without and with TTA, scored by :func:`segcore.tta_fit.fit_tta`, the same function the training loop calls after
training. Prints one JSON line per run; ``--write`` records the result in best.pt and last.pt as a run trained
today would have.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from segcore import checkpoint as ckpt
from segcore.data.classes import ClassSpec
from segcore.data.layout import Sample, load_sample
from segcore.inference import Predictor
from segcore.interop.physical import of_file
from segcore.tta_fit import fit_tta


def check(run: Path) -> dict:
    best = run / "best.pt"
    split = json.loads((run / "split.json").read_text())
    raw, averaged = Predictor(best, tta=False), Predictor(best, tta=True)
    spec: ClassSpec = raw.spec
    items = []
    for name in split["val"]:
        image_path = Path(name)
        mask_path = image_path.parent.parent / "masks" / image_path.name
        image, target = load_sample(Sample(image_path, mask_path), spec)
        size = of_file(image_path)
        items.append((raw.predict_proba(image, size), averaged.predict_proba(image, size), target))
    return fit_tta(items, spec.num_classes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="record the result in the run's checkpoints")
    args = parser.parse_args()
    for run in args.runs:
        fit = check(run)
        if args.write:
            for path in (run / "best.pt", run / "last.pt"):
                if path.exists():
                    data = ckpt.load(path)
                    data["tta_fit"] = fit
                    ckpt.save(path, data)
        print(json.dumps({"run": str(run), **fit}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
