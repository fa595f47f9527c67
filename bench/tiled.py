"""Tiled prediction of large RGB images (4096x4096, 8192x8192): seconds and peak resident memory.

Each size runs in its own fresh process (``python -m bench.tiled --child SIZE CKPT``) so that its peak RSS
(that child's own high-water mark, VmHWM) is the whole cost of predicting that image: Python, torch, the
model, the image itself (8192x8192x3 uint8 = 192 MB) and the mask; with the ONNX Runtime engine, its session
and the ONNX cache (written by the parent first, as a first use writes it) instead of torch. The child warms up on a 1024x1024 image, then
times one ``Predictor.predict`` of the big one (at this size a run is minutes; the tiles inside are the repeats).

    python -m bench.tiled [--quick] [--sizes 4096 8192]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import _vm_hwm_kb, last_json, run_python, write_checkpoint

SIZES = (4096, 8192)
QUICK_SIZES = (1024, 2048)


def big_image(size: int) -> np.ndarray:
    """Smooth RGB uint8 blobs, built in row blocks so that making it needs no float copy of the whole image."""
    rng = np.random.default_rng(size)
    cell = 64
    coarse = (rng.random((size // cell + 1, size // cell + 1, 3)) * 255).astype(np.uint8)
    image = np.empty((size, size, 3), dtype=np.uint8)
    for y in range(0, size, cell):
        row = np.repeat(coarse[y // cell:y // cell + 1], cell, axis=0)
        image[y:y + cell] = np.repeat(row, cell, axis=1)[:, :size][: size - y]
    return image


def child(size: int, checkpoint: str, device: str = "cpu") -> None:
    from segcore.inference import Predictor

    predictor = Predictor(checkpoint, device=device)
    predictor.predict(big_image(1024))  # warm-up
    image = big_image(size)
    before = (_vm_hwm_kb(os.getpid()) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
    start = time.perf_counter()
    mask = predictor.predict(image)
    seconds = time.perf_counter() - start
    print(json.dumps({"s": round(seconds, 2), "peak_rss_before_predict_mb": round(before, 1),
                      "image_mb": round(image.nbytes / 2**20, 1), "mask_mb": round(mask.nbytes / 2**20, 1),
                      "fast_mode": predictor.engine.describe(), "engine": predictor.engine.name,
                      "tile": predictor.tile}))


def measure(quick: bool, root: Path, sizes: tuple[int, ...] | None = None, device: str = "cpu") -> dict:
    """The ``tiled`` section, keyed by image side, plus the time ratio between the two sizes."""
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    checkpoint = write_checkpoint(root / "unet_default.pt", "unet")
    from segcore.inference import Predictor

    Predictor(checkpoint, device=device)  # writes the ONNX cache (when that engine is chosen), as a first use would
    report: dict = {}
    for size in sizes:
        result = run_python(["-m", "bench.tiled", "--child", str(size), str(checkpoint), "--device", device])
        if result["rc"] != 0:
            raise RuntimeError(f"tiled {size}: {result['stderr'].strip()[-300:]}")
        report[str(size)] = {**last_json(result["stdout"]), "peak_rss_mb": round(result["peak_rss_mb"], 1)}
    if len(sizes) == 2:
        small, big = (report[str(s)]["s"] for s in sizes)
        report["time_ratio"] = round(big / small, 2)
        report["pixel_ratio"] = (sizes[1] / sizes[0]) ** 2
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs=2)
    parser.add_argument("--device", default="cpu", help="cpu (the targets' figures) or cuda")
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "CHECKPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.device)
        return
    with tempfile.TemporaryDirectory(prefix="bench_tiled_") as tmp:
        sizes = tuple(args.sizes) if args.sizes else None
        print(json.dumps(measure(args.quick, Path(tmp), sizes, args.device), indent=1))


if __name__ == "__main__":
    sys.exit(main())
