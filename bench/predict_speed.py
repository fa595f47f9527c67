"""Prediction of one 512x512 image: model time in-process (fast and float32), and a whole ``segcore predict``.

Model time is ``Predictor.predict`` on a decoded image (normalisation, forward, softmax, argmax), the median over
repeats after a warm-up, fast and float32 alternating. The process time is the wall time of
``python -m segcore predict -m CKPT -i IMAGE -o OUT`` from start to exit (imports, checkpoint, decode, predict,
write), median over repeats after one warm-up run; its CPU seconds are reported too.

    python -m bench.predict_speed [--quick] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import run_python, write_checkpoint

SIZE = 512


def test_image(size: int = SIZE) -> np.ndarray:
    """An RGB uint8 image with structure at several scales (smooth blobs plus noise)."""
    rng = np.random.default_rng(0)
    coarse = rng.random((size // 32 + 1, size // 32 + 1, 3))
    blobs = np.kron(coarse, np.ones((32, 32, 1)))[:size, :size]
    return np.clip((0.7 * blobs + 0.3 * rng.random((size, size, 3))) * 255, 0, 255).astype(np.uint8)


def model_time(checkpoint: Path, repeats: int, device: str = "cpu") -> dict:
    from segcore.inference import Predictor

    image = test_image()
    predictors = {"fast": Predictor(checkpoint, device=device, fast=True),
                  "fp32": Predictor(checkpoint, device=device, fast=False)}
    times: dict[str, list[float]] = {k: [] for k in predictors}
    for p in predictors.values():
        p.predict(image)  # warm-up: oneDNN builds its kernels on first use
    for _ in range(repeats):
        for key, p in predictors.items():
            start = time.perf_counter()
            p.predict(image)
            times[key].append(time.perf_counter() - start)
    fast, fp32 = statistics.median(times["fast"]), statistics.median(times["fp32"])
    agree = float((predictors["fast"].predict(image) == predictors["fp32"].predict(image)).mean())
    return {"model_s": round(fast, 3), "model_fp32_s": round(fp32, 3), "speedup": round(fp32 / fast, 2),
            "fast_mode": predictors["fast"].runtime.describe(), "mask_agreement_fast_vs_fp32": round(agree, 5)}


def process_time(checkpoint: Path, root: Path, repeats: int, device: str = "cpu") -> dict:
    from segcore.data.io import write_image

    image = root / "predict_512.png"
    write_image(image, test_image())
    args = ["-m", "segcore", "predict", "-m", str(checkpoint), "-i", str(image), "-o", str(root / "mask.png")]
    args += ["-c"] if device == "cpu" else []  # on a GPU machine the CPU figure stays a CPU figure
    runs = [run_python(args) for _ in range(repeats + 1)][1:]  # the first warms the file cache
    failed = [r for r in runs if r["rc"] != 0]
    if failed:
        raise RuntimeError(f"segcore predict failed: {failed[0]['stderr'].strip()[-300:]}")
    imports = run_python(["-X", "importtime", *args])["stderr"]
    heavy = sorted({line.split("|")[-1].strip().split(".")[0] for line in imports.splitlines()
                    if "import time:" in line} & {"torchvision", "PySide6", "pyqtgraph", "scipy", "pydensecrf"})
    return {"process_s": round(statistics.median(r["wall_s"] for r in runs), 3),
            "process_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
            "process_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
            "unneeded_imports": heavy}


def measure(quick: bool, root: Path, device: str = "cpu") -> dict:
    """The ``predict_512`` section: U-Net at its default width."""
    checkpoint = write_checkpoint(root / "unet_default.pt", "unet")
    return {**model_time(checkpoint, 3 if quick else 7, device),
            **process_time(checkpoint, root, 2 if quick else 5, device)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu (the targets' figures) or cuda")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        print(json.dumps(measure(args.quick, Path(tmp), args.device), indent=1))


if __name__ == "__main__":
    main()
