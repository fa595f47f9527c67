"""Prediction engines: what runs the network on a batch of normalised tiles.

An engine is called with a ``(N, C, h, w)`` float32 batch of normalised tiles and returns ``(N, K, h, w)`` float32
class probabilities (softmax over K). Tiling, blending, test-time augmentation and rescaling live above it in
:class:`segcore.inference.Predictor`, so they work the same on every engine.

Engines:

- ``pytorch``: the checkpoint's model in PyTorch with batch norm folded into the convolutions. On CUDA, autocast
  and channels_last; on a CPU with bfloat16 in hardware (AVX512-BF16, AMX), bf16 weights and channels_last; on
  other CPUs float32 in channels_last (``fast=False``: plain float32, the reference).
- ``onnxruntime``: the model exported to ONNX (softmax included, dynamic height/width) and run by ONNX Runtime on
  the CPU. The ONNX file is cached beside the checkpoint; with the cache in place prediction never imports torch,
  which alone takes 1-2.5 s to import.

``auto`` (the default; ``SEGCORE_ENGINE`` or ``engine=`` forces one) takes ``pytorch`` on CUDA and with
``fast=False``, and
``onnxruntime`` on CPUs where it is installed, else ``pytorch``: measured side by side by ``python -m bench``
(``docs/performance.md``), ONNX Runtime's float32 was faster than PyTorch's float32 channels_last and also faster
than bf16 on the AVX512-BF16 CPU measured, with masks equal to PyTorch float32's.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from segcore.errors import ConfigError

NAMES = ("auto", "pytorch", "onnxruntime")
ENV_ENGINE = "SEGCORE_ENGINE"
ENV_DISABLE = "SEGCORE_NO_FAST"  # as segcore.device reads it (that module imports torch)


class Engine(Protocol):
    """Runs the network on a batch of tiles (see module doc)."""

    name: str
    multiple: int  # the model's padding unit: tiles of a multiple of it waste no computation

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Choice:
    """The engine to build and why."""

    name: str
    reason: str


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def _wants_cuda(device: str) -> bool:
    """Whether ``device`` asks for a GPU or finds one (auto); asks torch only where a GPU may exist."""
    from segcore.hardware import gpu_may_exist

    if device != "auto":
        return device.startswith("cuda")  # no GPU there: the PyTorch engine says so and runs on the CPU
    if not gpu_may_exist():
        return False
    import torch

    return torch.cuda.is_available()


def choose(requested: str | None = None, device: str = "auto", fast: bool = True) -> Choice:
    """Pick the engine for ``requested`` (auto, pytorch, onnxruntime; None reads ``SEGCORE_ENGINE``) on ``device``.

    ``fast=False`` (or ``SEGCORE_NO_FAST=1``) makes ``auto`` the reference, PyTorch in plain float32. Raises ConfigError for an unknown name, for onnxruntime when it is not installed, and for onnxruntime with
    an explicit CUDA device (it runs on the CPU here).
    """
    from segcore.hardware import check_device_name

    device = check_device_name(device)
    name = (requested or os.environ.get(ENV_ENGINE) or "auto").strip().lower()
    if name not in NAMES:
        raise ConfigError(f"unknown prediction engine '{name}'; choose one of: {', '.join(NAMES)}")
    if name == "pytorch":
        return Choice("pytorch", "requested")
    if name == "onnxruntime":
        if device.startswith("cuda"):
            raise ConfigError("the onnxruntime engine runs on the CPU; use the pytorch engine on a GPU, or the CPU")
        if not onnxruntime_available():
            raise ConfigError("the onnxruntime engine needs ONNX Runtime: pip install 'segstudio[export]'")
        return Choice("onnxruntime", "requested")
    if not fast or os.environ.get(ENV_DISABLE, "") in ("1", "true", "yes"):
        return Choice("pytorch", "plain float32 reference")
    if _wants_cuda(device):
        return Choice("pytorch", "CUDA")
    if not onnxruntime_available():
        return Choice("pytorch", "ONNX Runtime is not installed")
    return Choice("onnxruntime", "fastest measured on CPUs")


def pad_batch(batch: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad H and W of ``(N, C, H, W)`` up to a multiple, as the models pad themselves (reflect, or edge where
    the image is too small to reflect): ``segcore.models.blocks.pad_to_multiple`` in numpy."""
    h, w = batch.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "edge"
        batch = np.pad(batch, ((0, 0), (0, 0), (0, ph), (0, pw)), mode=mode)
    return batch, (h, w)
