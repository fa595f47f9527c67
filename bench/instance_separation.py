"""Does the U-Net paper's target for instance masks (gaps between touching objects, weighted) separate nuclei?

The Data Science Bowl 2018 sample (``../shared/data/dsb2018_stardist_sample``: one 512x512 fluorescence image with
125 nuclei ids) is cut into quadrants: three train a U-Net, the fourth (the one where most nuclei touch) is held
out. Two runs, the same in everything but the training target: ``separated`` (segcore's default for instance
masks, :mod:`segcore.data.separation`: where two nuclei touch, their touching pixels are background and weigh
~10x in the loss) and ``plain`` (every nucleus pixel is foreground, every pixel weighs the same). Each prediction
is written as an instance mask (one id per connected region, as ``segcore predict`` writes it) and matched to the
true nuclei one to one at IoU >= 0.5, the DSB 2018 criterion: reported are precision, recall, F1 and the object
counts, plus the pixel Dice.

    python -m bench.instance_separation [--epochs 60] [--width 16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import SHARED_DATA

DSB = SHARED_DATA / "dsb2018_stardist_sample"


def _quadrants(root: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """data/ (three quadrants, instance masks) + the held-out quadrant (the one where most nuclei touch) and its
    true ids."""
    from PIL import Image

    from segcore.data import io
    from segcore.data.separation import touching_another

    name = sorted(p.name for p in (DSB / "images").iterdir())[0]
    image = io.read_image(DSB / "images" / name)[..., 0]
    ids = io.read_mask_raw(DSB / "instances" / name)
    h, w = ids.shape[0] // 2, ids.shape[1] // 2
    corners = [(0, 0), (0, w), (h, 0), (h, w)]
    touching = [len(np.unique(q[touching_another(q)])) for q in (ids[y:y + h, x:x + w] for y, x in corners)]
    held = corners.pop(int(np.argmax(touching)))
    data = root / "data"
    for k, (y, x) in enumerate(corners):
        io.write_image(data / "images" / f"q{k}.png", image[y:y + h, x:x + w])
        (data / "masks").mkdir(parents=True, exist_ok=True)
        Image.fromarray(ids[y:y + h, x:x + w].astype(np.uint16)).save(data / "masks" / f"q{k}.png")
    (data / "classes.json").write_text(json.dumps({"instances": True, "names": ["background", "nucleus"]}))
    y, x = held
    return data, image[y:y + h, x:x + w], ids[y:y + h, x:x + w]


def _train(data: Path, out: Path, separate: bool, epochs: int, width: int):
    from segcore.data import dataset
    from segcore.training.config import TrainConfig
    from segcore.training.loop import Trainer

    original = dataset.instance_target
    if not separate:  # the same run with every nucleus pixel as foreground, all pixels weighted alike
        dataset.instance_target = lambda ids: ((ids != 0).view(np.uint8), None)
    dataset.clear_cache()
    try:
        config = TrainConfig(data=str(data), arch="unet", arch_kwargs={"width": width}, epochs=epochs, batch_size=3,
                             patch_size=256, val_fraction=0.0, seed=0, out=str(out), device="cpu")
        for _ in Trainer(config).run():
            pass
    finally:
        dataset.instance_target = original
        dataset.clear_cache()
    return out / "last.pt"


def _match(truth: np.ndarray, pred: np.ndarray) -> dict:
    """segcore's object scores (one to one at IoU >= 0.5), how many of the true nuclei that touch another one
    were matched, and the pixel Dice."""
    from segcore.data.separation import touching_another
    from segcore.metrics import match_objects, object_scores

    counts = match_objects(truth, pred)
    touching = set(np.unique(truth[touching_another(truth)]).tolist())
    dice = 2 * ((truth > 0) & (pred > 0)).sum() / max((truth > 0).sum() + (pred > 0).sum(), 1)
    scores = {k: round(v, 3) if isinstance(v, float) else v for k, v in object_scores(counts).items()}
    return {**scores, "touching_true_objects": len(touching),
            "touching_matched": len(touching & set(counts["matched_ids"])), "pixel_dice": round(float(dice), 4)}


def measure(root: Path, epochs: int = 60, width: int = 16) -> dict:
    if not DSB.is_dir():
        return {"note": f"skipped: {DSB} is absent"}
    from segcore.data import io
    from segcore.inference import Predictor

    data, image, truth = _quadrants(root)
    io.write_image(root / "held_out.png", image)
    report = {"schedule": f"unet width {width}, {epochs} epochs, batch 3, 256 crops, 3 quadrants, seed 0"}
    for name, separate in (("separated", True), ("plain", False)):
        start = time.perf_counter()
        checkpoint = _train(data, root / name, separate, epochs, width)
        predictor = Predictor(checkpoint, device="cpu")
        io.write_mask(root / f"{name}.png", predictor.predict(io.read_image(root / "held_out.png")), predictor.spec)
        report[name] = {**_match(truth, io.read_mask_raw(root / f"{name}.png")),
                        "wall_s": round(time.perf_counter() - start, 1)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_instances_") as tmp:
        print(json.dumps(measure(Path(tmp), args.epochs, args.width), indent=1))


if __name__ == "__main__":
    main()
