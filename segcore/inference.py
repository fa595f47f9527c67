"""Prediction: checkpoint -> class probabilities -> mask, tiled so memory follows the tile, not the image.

Tiles overlap and are blended with a smooth window (high in the middle, low at the borders), so no tile seams
show. ``sliding_window`` is also what validation uses, so scores during training match prediction.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from segcore import checkpoint as ckpt
from segcore.data.classes import ClassSpec
from segcore.data.preprocess import match_channels, resize_image_to, scaled_size, to_unit
from segcore.device import Runtime, resolve

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64


def _blend_window(h: int, w: int) -> torch.Tensor:
    """Separable Hann-like weights, floored so border pixels of the image (covered once) keep some weight."""
    def ramp(n: int) -> torch.Tensor:
        return (torch.hann_window(n + 2, periodic=False)[1:-1]).clamp_min(1e-3)

    return ramp(h)[:, None] * ramp(w)[None, :]


def _starts(size: int, tile: int, step: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, step))
    return starts + [size - tile]


def _forward(model, x: torch.Tensor, runtime: Runtime) -> torch.Tensor:
    if runtime.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with runtime.autocast():
        out = model(x)
    out = out[0] if isinstance(out, tuple) else out
    return out.float().softmax(dim=1)


@torch.inference_mode()
def sliding_window(model, image: torch.Tensor, runtime: Runtime, num_classes: int,
                   tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP) -> torch.Tensor:
    """Probabilities ``(K, H, W)`` (float32, CPU) for a normalised ``(C, H, W)`` tensor, tile by tile."""
    _, h, w = image.shape
    if h <= tile and w <= tile:
        return _forward(model, image[None].to(runtime.device), runtime)[0].cpu()
    th, tw = min(tile, h), min(tile, w)
    step = max(tile - overlap, tile // 2)
    probs = torch.zeros((num_classes, h, w), dtype=torch.float32)
    weight = torch.zeros((h, w), dtype=torch.float32)
    window = _blend_window(th, tw)
    for y in _starts(h, th, step):
        for x in _starts(w, tw, step):
            patch = image[:, y:y + th, x:x + tw][None].to(runtime.device)
            p = _forward(model, patch, runtime)[0].cpu()
            probs[:, y:y + th, x:x + tw] += p * window
            weight[y:y + th, x:x + tw] += window
    probs /= weight
    return probs


class Predictor:
    """Rebuilds a model from a checkpoint alone and segments images of any size.

    >>> predictor = Predictor("checkpoints/run/best.pt")
    >>> mask = predictor.predict(read_image("cells.png"))     # uint8 class indices
    """

    def __init__(self, checkpoint_path: str | os.PathLike, device: str = "auto", fast: bool = True,
                 tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP):
        self.path = Path(checkpoint_path)
        data = ckpt.load(self.path)
        self.runtime = resolve(device, fast)
        self.model = ckpt.build_model(data).to(self.runtime.device).eval()
        if self.runtime.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.spec = ClassSpec.from_dict(data["classes"])
        self.in_channels = int(data["in_channels"])
        self.scale = float(data["scale"])
        self.mean = np.asarray(data["normalization"]["mean"], dtype=np.float32)
        self.std = np.asarray(data["normalization"]["std"], dtype=np.float32)
        self.arch = data["arch"]
        self.metrics = data.get("metrics", {})
        self.tile, self.overlap = tile, overlap

    def prepare(self, image: np.ndarray) -> torch.Tensor:
        """(H,W,C) image as stored -> normalised (C,h,w) tensor at the training scale."""
        unit = to_unit(match_channels(image, self.in_channels))
        h, w = unit.shape[:2]
        if self.scale != 1.0:
            unit = resize_image_to(unit, scaled_size(h, w, self.scale))
        unit = (unit - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(unit.transpose(2, 0, 1)))

    def predict_proba(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities ``(K, H, W)`` float32 at the input's original size."""
        h, w = image.shape[:2]
        probs = sliding_window(self.model, self.prepare(image), self.runtime, self.spec.num_classes,
                               self.tile, self.overlap)
        if probs.shape[1:] != (h, w):
            probs = torch.nn.functional.interpolate(probs[None], size=(h, w), mode="bilinear",
                                                    align_corners=False)[0]
        return probs.numpy()

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Class indices ``uint8 (H, W)`` at the input's original size."""
        return self.predict_proba(image).argmax(axis=0).astype(np.uint8)
