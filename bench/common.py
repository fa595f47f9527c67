"""Shared helpers for the benchmarks: medians after a warm-up, subprocess timing, a throw-away checkpoint."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` untimed ones; also all times."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def _vm_hwm_kb(pid: int) -> int:
    """The process's own resident high-water mark (kB) from /proc, 0 where unavailable.

    ``ru_maxrss`` from wait4 is not enough: Linux carries the parent's peak into a forked child's figure, so a
    child of a large process (pytest with torch loaded) reports at least the parent's peak.
    """
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_python(args: list[str], env: dict | None = None, timeout: float = 1800) -> dict:
    """Run ``python ARGS`` in a fresh process: wall and CPU seconds, its peak RSS (MB), stdout, stderr, rc.

    Peak RSS is the child's VmHWM polled from /proc every 5 ms (a high-water mark, so polling misses at most the
    last few milliseconds), falling back to wait4's ``ru_maxrss`` off Linux.
    """
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH", "")]))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=full_env, text=True, stdout=out, stderr=err)
        deadline = start + timeout
        hwm_kb = 0
        while True:
            hwm_kb = max(hwm_kb, _vm_hwm_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": (hwm_kb or usage.ru_maxrss) / 1024,
                "stdout": out.read(), "stderr": err.read(), "rc": proc.returncode}


def write_checkpoint(path: Path, arch: str = "unet", in_channels: int = 3, num_classes: int = 2,
                     **arch_kwargs) -> Path:
    """An untrained but complete checkpoint (timing does not depend on the weights' values)."""
    import torch

    from segcore import checkpoint as ckpt
    from segcore.data.classes import ClassSpec
    from segcore.models import create_model

    torch.manual_seed(0)
    model = create_model(arch, in_channels, num_classes, **arch_kwargs)
    names = ["background"] + [f"class {i}" for i in range(1, num_classes)]
    values = [0, 255] if num_classes == 2 else list(range(num_classes))
    spec = ClassSpec(names=names, values=values)
    payload = {"arch": arch, "arch_kwargs": model.arch[1], "in_channels": in_channels, "classes": spec.to_dict(),
               "normalization": {"mean": [0.5] * in_channels, "std": [0.25] * in_channels}, "scale": 1.0,
               "config": {}, "metrics": {}, "epoch": 0,
               "model": {k: v.contiguous() for k, v in model.state_dict().items()}}
    return ckpt.save(path, payload)


def last_json(text: str) -> dict:
    """The JSON object a child process printed last (the children print one object each)."""
    start = text.rfind("\n{")
    return json.loads(text[start + 1 if start >= 0 else text.index("{"):])
