"""The PyTorch engine: the checkpoint's model, batch norm folded, in the device's fastest safe precision."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import torch

from segcore import checkpoint as ckpt
from segcore.device import Runtime, for_inference, resolve


def forward(model, x: torch.Tensor, runtime: Runtime) -> torch.Tensor:
    """Softmax probabilities (float32, on the device) for a normalised batch ``(N, C, h, w)``."""
    dtype = next(model.parameters()).dtype  # bfloat16 once for_inference cast the weights
    x = x.to(runtime.device, dtype=dtype, non_blocking=True)
    if runtime.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with runtime.autocast():
        out = model(x)
    out = out[0] if isinstance(out, tuple) else out
    return out.float().softmax(dim=1)


def prediction_runtime(device: str, fast: bool) -> Runtime:
    """The training runtime for ``device``, plus channels_last for float32 on the CPU: with batch norm folded it
    predicted a 512x512 U-Net 1.4-1.6x faster than the default layout (docs/performance.md), and prediction has
    no backward pass whose speed it could cost."""
    runtime = resolve(device, fast)
    if fast and runtime.device.type == "cpu" and runtime.amp_dtype is None:
        runtime = dataclasses.replace(runtime, channels_last=True)
    return runtime


class TorchEngine:
    """``(N, C, h, w)`` float32 numpy -> ``(N, K, h, w)`` float32 probabilities with a PyTorch model."""

    name = "pytorch"

    def __init__(self, model, runtime: Runtime):
        self.model, self.runtime = model, runtime
        self.multiple = int(getattr(model, "multiple", 8))

    @torch.inference_mode()
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return forward(self.model, torch.from_numpy(batch), self.runtime).cpu().numpy()

    def describe(self) -> str:
        return f"pytorch {self.runtime.describe()}"


def open_checkpoint(path: str | os.PathLike, device: str, fast: bool) -> tuple[TorchEngine, dict, str]:
    """The engine for checkpoint ``path``, its :func:`segcore.checkpoint.prediction_info`, and the runtime's note."""
    data = ckpt.load(path)
    runtime = prediction_runtime(device, fast)
    model = for_inference(ckpt.build_model(data, path), runtime)
    return TorchEngine(model, runtime), ckpt.prediction_info(data), runtime.note
