"""What this machine computes fast, read without importing torch (importing it alone costs 1-2.5 s).

The machine *class* decides which prediction engine runs by default (:mod:`segcore.engines`): a CUDA GPU, a CPU
with bfloat16 in hardware (AVX512-BF16 or AMX), or a CPU with float32 only (most laptops).
"""

from __future__ import annotations

import functools
import glob
import os
import re
import sys

from segcore.errors import ConfigError

CUDA, CPU_AMX, CPU_BF16, CPU_FP32 = "cuda", "cpu-amx", "cpu-bf16", "cpu-fp32"


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo``; empty off Linux (callers then ask oneDNN through torch)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_bf16_flag() -> bool | None:
    """True/False from the CPU flags (avx512_bf16 or amx_bf16); None when the flags cannot be read here."""
    flags = cpu_flags()
    if not flags:
        return None
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what the platform module says."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def check_device_name(device: str) -> str:
    """``device`` lower-cased; ConfigError unless it is auto, cpu, cuda or cuda:N."""
    want = device.lower()
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", want):
        raise ConfigError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N")
    return want


def gpu_may_exist() -> bool:
    """False only where no CUDA device can exist (Linux without /dev/nvidia*), so CPU-only machines never import
    torch just to learn that; True elsewhere, and the caller asks torch."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if sys.platform.startswith("linux"):
        return bool(glob.glob("/dev/nvidia[0-9]*"))
    return sys.platform != "darwin"  # macOS has no CUDA; Windows cannot be told without asking the driver


def machine_class(cuda: bool | None = None) -> str:
    """``cuda``, ``cpu-amx``, ``cpu-bf16`` or ``cpu-fp32``; ``cuda`` is asked of torch only where a GPU may exist."""
    if cuda is None:
        cuda = False
        if gpu_may_exist():
            import torch

            cuda = torch.cuda.is_available()
    if cuda:
        return CUDA
    if "amx_bf16" in cpu_flags():
        return CPU_AMX
    bf16 = cpu_has_bf16_flag()
    if bf16 is None:
        from segcore.device import cpu_has_bf16  # off Linux: oneDNN knows

        bf16 = cpu_has_bf16()
    return CPU_BF16 if bf16 else CPU_FP32
