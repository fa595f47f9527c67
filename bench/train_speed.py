"""Training images/s per architecture, plain float32 against the fast path, measured side by side.

Both runs are real ``Trainer`` jobs (data loading, augmentation, forward, loss, backward, optimiser step) on the
same synthetic data at 256x256 crops, batch 4, default widths. Their batches alternate, one float32 batch then
one fast batch, so a burst of load on a shared machine hits both alike; each figure is the median batch time
after a warm-up. Also measures the input pipeline alone (is the model ever starved?) and the peak memory of a
whole ``segcore train`` process.

    python -m bench.train_speed [--quick] [--arch unet segnet] [--workers N] [--batch 16 --patch 512]

``--batch``/``--patch`` measure other shapes (on a GPU, where batch 4 at 256x256 is bound by kernel launches);
the report's figures use the defaults.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import run_python

ARCHS = ("unet", "segnet", "pspnet")
PATCH, BATCH = 256, 4


def sample_folder(root: Path, count: int = 16, size: int = 512) -> Path:
    """Synthetic data written once per folder: 512x512 images give 4 crops of 256 each per epoch."""
    from segcore.data.sample import write_sample_data

    folder = root / f"sample_{count}x{size}"
    if not (folder / "images").is_dir():
        write_sample_data(folder, count=count, size=size, seed=0)
    return folder


def _trainer(data: Path, out: Path, arch: str, fast: bool, workers: int | None = None, batch: int = BATCH,
             patch: int = PATCH):
    from segcore.training.config import TrainConfig
    from segcore.training.loop import Trainer

    config = TrainConfig(data=str(data), arch=arch, epochs=50, batch_size=batch, patch_size=patch,
                         val_fraction=0.1, out=str(out / f"{arch}-{'fast' if fast else 'fp32'}"), fast=fast, workers=workers)
    return Trainer(config)


def _sync() -> None:
    """Wait for queued GPU work. A BatchEvent comes before its backward pass has run on a GPU (only the loss was
    read), so without this the alternating runs charge each other's backward passes (the first H200 run did)."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _next_batch_time(run) -> tuple[float, float] | None:
    """Wall and process CPU seconds until the generator's next BatchEvent; None when an epoch ended between."""
    from segcore.training.events import BatchEvent, EpochEvent

    _sync()
    start, cpu, crossed = time.perf_counter(), time.process_time(), False
    for event in run:
        if isinstance(event, EpochEvent):
            crossed = True
        if isinstance(event, BatchEvent):
            _sync()
            return None if crossed else (time.perf_counter() - start, time.process_time() - cpu)
    raise RuntimeError("training ended before the benchmark had its batches")


def measure_arch(data: Path, out: Path, arch: str, repeats: int, warmup: int = 2, workers: int | None = None,
                 batch: int = BATCH, patch: int = PATCH) -> dict:
    """Alternate float32 and fast batches of two Trainers; medians of ``repeats`` batches after ``warmup``."""
    trainers = {fast_key: _trainer(data, out, arch, fast_key == "fast", workers, batch, patch)
                for fast_key in ("fp32", "fast")}
    runs = {k: t.run() for k, t in trainers.items()}
    times: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(warmup):
        for run in runs.values():
            _next_batch_time(run)
    while min(len(v) for v in times.values()) < repeats:
        for key, run in runs.items():
            t = _next_batch_time(run)
            if t is not None:
                times[key].append(t[0])
                cpu[key].append(t[1])
    for key, trainer in trainers.items():
        trainer.request_stop()
        for _ in runs[key]:  # let it finish cleanly (saves last.pt)
            pass
    fp32, fast = (statistics.median(times[k]) for k in ("fp32", "fast"))
    cpu_fp32, cpu_fast = (statistics.median(cpu[k]) for k in ("fp32", "fast"))
    return {"fp32_img_s": round(batch / fp32, 3), "fast_img_s": round(batch / fast, 3),
            "speedup": round(fp32 / fast, 2), "speedup_cpu_time": round(cpu_fp32 / cpu_fast, 2),
            "fast_mode": trainers["fast"].runtime.describe(), "workers": trainers["fast"].workers,
            "batch_s": {k: [round(t, 3) for t in v] for k, v in times.items()}}


def input_pipeline_img_s(data: Path, out: Path, batches: int = 20) -> float:
    """Images/s the data loader alone delivers (decoded once, random crops and augmentation per batch)."""
    trainer = _trainer(data, out, "unet", True)
    for _ in trainer._setup():  # builds the dataset and loader exactly as a run does
        pass
    def endless():
        while True:
            yield from trainer.loader

    loader = endless()
    next(loader)
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return round(batches * BATCH / (time.perf_counter() - start), 1)


def train_peak_rss_mb(root: Path) -> dict:
    """Peak resident memory of a whole ``segcore train`` process: U-Net, batch 4, 256x256, one epoch."""
    data = sample_folder(root, count=12, size=256)
    args = ["-m", "segcore", "train", str(data), "-e", "1", "-b", "4", "--patch-size", "256", "-q",
            "-o", str(root / "peak_run")]
    result = run_python(args)
    if result["rc"] != 0:
        raise RuntimeError(f"segcore train failed: {result['stderr'].strip()[-300:]}")
    return {"peak_rss_mb": round(result["peak_rss_mb"], 1), "wall_s": round(result["wall_s"], 2)}


def measure(quick: bool, root: Path, archs: tuple[str, ...] = ARCHS, workers: int | None = None,
            batch: int = BATCH, patch: int = PATCH) -> dict:
    """The ``train`` section of the report plus the input pipeline (at the default shape only)."""
    # enough images for several batches per epoch: a batch that crosses an epoch boundary is not timed
    count = max(16, 6 * batch * (patch // 256) ** 2 // 4)  # 512x512 images: 4 crops of 256, 1 of 512
    data = sample_folder(root, count=count)
    repeats = 3 if quick else 6
    report = {arch: measure_arch(data, root / "runs", arch, repeats, workers=workers, batch=batch, patch=patch)
              for arch in archs}
    if (batch, patch) == (BATCH, PATCH):
        report["input_pipeline_img_s"] = input_pipeline_img_s(data, root / "runs")
    else:
        report["shape"] = {"batch": batch, "patch": patch}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--arch", nargs="+", default=list(ARCHS))
    parser.add_argument("--workers", type=int, default=None, help="data loader processes (default: the trainer's)")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"batch size (default {BATCH})")
    parser.add_argument("--patch", type=int, default=PATCH, choices=(256, 512),
                        help=f"crop side (default {PATCH}; the synthetic images are 512x512)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        report = measure(args.quick, Path(tmp), tuple(args.arch), args.workers, args.batch, args.patch)
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
