"""Prediction of one 512x512 image: model time of every engine in-process, and a whole ``segcore predict``.

Model time is ``Predictor.predict`` on a decoded image (normalisation, forward, softmax, argmax), the median over
repeats after a warm-up, every engine alternating image by image (``segcore.engines``: PyTorch float32, PyTorch's
fast path, float32 channels_last, ONNX Runtime). The process time is the wall time of
``python -m segcore predict -m CKPT -i IMAGE -o OUT`` from start to exit (imports, checkpoint, decode, predict,
write) with the automatic engine and with ``--engine pytorch``, alternating, median over repeats after one run
that warms the file cache and writes the ONNX cache (``process_first_s``); its CPU seconds are reported too.

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


def _predictors(checkpoint: Path, device: str) -> dict:
    """Every engine this machine has, by name; the no-bf16 class's PyTorch path (float32 channels_last) is built
    here even on a bf16 CPU, so that both classes' PyTorch paths are measured side by side."""
    from segcore.device import Runtime, for_inference
    from segcore.engines import onnxruntime_available
    from segcore.engines.torch_engine import TorchEngine
    from segcore.inference import Predictor

    predictors = {"pytorch_fp32": Predictor(checkpoint, device=device, fast=False),
                  "pytorch": Predictor(checkpoint, device=device, engine="pytorch")}
    runtime = predictors["pytorch"].engine.runtime
    if runtime.device.type == "cpu" and runtime.amp_dtype is not None:
        import torch

        from segcore import checkpoint as ckpt

        cl = Runtime(torch.device("cpu"), None, True)
        predictor = Predictor(checkpoint, device=device, fast=False)
        predictor.engine = TorchEngine(for_inference(ckpt.build_model(ckpt.load(checkpoint)), cl), cl)
        predictors["pytorch_fp32_channels_last"] = predictor
    if runtime.device.type == "cpu" and onnxruntime_available():
        predictors["onnxruntime"] = Predictor(checkpoint, device=device, engine="onnxruntime")
    return predictors


def model_time(checkpoint: Path, repeats: int, device: str = "cpu") -> dict:
    """Every engine side by side, image by image: median seconds, speed-up and mask agreement against float32."""
    from segcore.engines import choose

    image = test_image()
    predictors = _predictors(checkpoint, device)
    times: dict[str, list[float]] = {k: [] for k in predictors}
    for p in predictors.values():
        p.predict(image)  # warm-up: oneDNN builds its kernels on first use, ONNX Runtime plans its memory
    for _ in range(repeats):
        for key, p in predictors.items():
            start = time.perf_counter()
            p.predict(image)
            times[key].append(time.perf_counter() - start)
    fp32 = statistics.median(times["pytorch_fp32"])
    reference = predictors["pytorch_fp32"].predict(image)
    engines = {key: {"s": round(statistics.median(t), 3), "speedup_vs_fp32": round(fp32 / statistics.median(t), 2),
                     "mask_agreement_vs_fp32": round(float((predictors[key].predict(image) == reference).mean()), 5),
                     "describe": predictors[key].engine.describe()}
               for key, t in times.items()}
    auto = choose(None, device)
    chosen = engines["onnxruntime" if auto.name == "onnxruntime" else "pytorch"]
    return {"model_s": chosen["s"], "model_fp32_s": engines["pytorch_fp32"]["s"], "speedup": chosen["speedup_vs_fp32"],
            "fast_mode": chosen["describe"], "engine_auto": auto.name, "engine_reason": auto.reason,
            "mask_agreement_fast_vs_fp32": chosen["mask_agreement_vs_fp32"], "engines": engines}


def process_time(checkpoint: Path, root: Path, repeats: int, device: str = "cpu") -> dict:
    from segcore.data.io import write_image

    image = root / "predict_512.png"
    write_image(image, test_image())
    args = ["-m", "segcore", "predict", "-m", str(checkpoint), "-i", str(image), "-o", str(root / "mask.png")]
    args += ["-c"] if device == "cpu" else []  # on a GPU machine the CPU figure stays a CPU figure
    variants = {"auto": args, "pytorch": [*args, "--engine", "pytorch"]}
    first = run_python(args)  # warms the file cache and, with onnxruntime, writes the ONNX cache (once)
    runs: dict[str, list[dict]] = {k: [] for k in variants}
    for _ in range(repeats):  # side by side, so that load hits both alike
        for key, command in variants.items():
            runs[key].append(run_python(command))
    failed = [r for r in [first, *runs["auto"], *runs["pytorch"]] if r["rc"] != 0]
    if failed:
        raise RuntimeError(f"segcore predict failed: {failed[0]['stderr'].strip()[-300:]}")
    imports = run_python(["-X", "importtime", *args])["stderr"]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in imports.splitlines() if "import time:" in line}
    heavy = sorted(imported & {"torchvision", "PySide6", "pyqtgraph", "scipy", "pydensecrf"})
    auto = runs["auto"]
    return {"process_s": round(statistics.median(r["wall_s"] for r in auto), 3),
            "process_cpu_s": round(statistics.median(r["cpu_s"] for r in auto), 3),
            "process_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in auto), 1),
            "process_pytorch_s": round(statistics.median(r["wall_s"] for r in runs["pytorch"]), 3),
            "process_first_s": round(first["wall_s"], 3), "process_imports_torch": "torch" in imported,
            "unneeded_imports": heavy}


def measure(quick: bool, root: Path, device: str = "cpu") -> dict:
    """The ``predict_512`` section: U-Net at its default width."""
    checkpoint = write_checkpoint(root / "unet_default.pt", "unet")
    process = process_time(checkpoint, root, 2 if quick else 5, device)  # first: its first run exports the ONNX
    return {**model_time(checkpoint, 3 if quick else 7, device), **process}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu (the targets' figures) or cuda")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        print(json.dumps(measure(args.quick, Path(tmp), args.device), indent=1))


if __name__ == "__main__":
    main()
