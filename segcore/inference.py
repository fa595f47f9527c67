"""Prediction: checkpoint -> class probabilities -> mask, tiled so memory follows the tile, not the image.

Tiles overlap and are blended with a smooth window (high in the middle, low at the borders), so no tile seams
show; rows are finished band by band (``segcore.tiles``). The Predictor normalises one tile at a time and
``predict`` keeps only the mask, so memory follows the tile size. ``sliding_window`` is also what validation
uses, so scores during training match prediction.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from segcore import checkpoint as ckpt
from segcore.data.classes import ClassSpec
from segcore.data.preprocess import (
    apply_unit,
    match_channels,
    resize_image_to,
    scaled_size,
    unit_limits,
)
from segcore.device import Runtime, for_inference, resolve
from segcore.interop.physical import PixelSize
from segcore.tiles import run_banded
from segcore.tta import averaged as tta_averaged

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64


def _forward(model, x: torch.Tensor, runtime: Runtime, tta: bool = False) -> torch.Tensor:
    """Softmax probabilities (float32, on the device) for a normalised batch ``(N, C, h, w)``; with ``tta`` the
    mean over the 8 flips and quarter turns (:mod:`segcore.tta`)."""
    dtype = next(model.parameters()).dtype  # bfloat16 once for_inference cast the weights
    x = x.to(runtime.device, dtype=dtype, non_blocking=True)

    def once(batch: torch.Tensor) -> torch.Tensor:
        if runtime.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with runtime.autocast():
            out = model(batch)
        out = out[0] if isinstance(out, tuple) else out
        return out.float().softmax(dim=1)

    return tta_averaged(once, x) if tta else once(x)


def _multiple(model) -> int:
    return int(getattr(model, "multiple", 8))  # the model's padding unit: tiles of this multiple waste nothing


@torch.inference_mode()
def sliding_window(model, image: torch.Tensor, runtime: Runtime, num_classes: int,
                   tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP, tta: bool = False) -> torch.Tensor:
    """Probabilities ``(K, H, W)`` (float32, CPU) for a normalised ``(C, H, W)`` tensor, tile by tile (each tile
    test-time augmented with ``tta``)."""
    _, h, w = image.shape
    if h <= tile and w <= tile:
        return _forward(model, image[None], runtime, tta)[0].cpu()
    probs = torch.empty((num_classes, h, w), dtype=torch.float32)

    def predict(y: int, x: int, th: int, tw: int) -> torch.Tensor:
        return _forward(model, image[None, :, y:y + th, x:x + tw], runtime, tta)[0].cpu()

    def emit(y: int, band: torch.Tensor) -> None:
        probs[:, y:y + band.shape[1]] = band

    run_banded(predict, h, w, num_classes, emit, tile, overlap, _multiple(model))
    return probs


def resize_rows(probs: torch.Tensor, height: int, width: int, rows: int = 256) -> Iterator[tuple[int, torch.Tensor]]:
    """``(y, band)`` pieces of ``F.interpolate(probs[None], (height, width), mode="bilinear")[0]``, top to bottom.

    Each band is ``rows`` output rows: blended from the two source rows each maps to (the same coordinates as
    PyTorch's ``align_corners=False``), then resized across. Memory is one band, not ``K x height x width``.
    """
    k, src_h, _ = probs.shape
    scale = src_h / height
    for y in range(0, height, rows):
        dst = torch.arange(y, min(y + rows, height), dtype=torch.float32)
        src = ((dst + 0.5) * scale - 0.5).clamp_min(0)
        top = src.long()
        weight = (src - top)[None, :, None]
        band = probs[:, top] * (1 - weight) + probs[:, (top + 1).clamp_max(src_h - 1)] * weight
        yield y, torch.nn.functional.interpolate(band[None], size=(band.shape[1], width), mode="bilinear",
                                                 align_corners=False)[0]


class _TileNormaliser:
    """Normalised ``(C, h, w)`` tiles cut from an image as stored, with no full-size float32 copy.

    Gives exactly ``(to_unit(match_channels(image)) - mean) / std`` on each tile: the stretch limits are those
    ``to_unit`` computes for the whole image, computed once here.
    """

    def __init__(self, image: np.ndarray, channels: int, mean: np.ndarray, std: np.ndarray):
        self.image = np.asarray(match_channels(image, channels))
        self.mean, self.std = mean, std
        self.limits = unit_limits(self.image)

    def unit_channel(self, c: int) -> np.ndarray:
        """Channel ``c`` of the whole image scaled to [0, 1] as ``to_unit`` scales it, ``(H, W)`` float32."""
        return apply_unit(self.image[..., c], None if self.limits is None else self.limits[c:c + 1])[..., 0]

    def __call__(self, y: int, x: int, h: int, w: int) -> torch.Tensor:
        unit = apply_unit(self.image[y:y + h, x:x + w], self.limits)
        unit = (unit - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(unit.transpose(2, 0, 1)))


class Predictor:
    """Rebuilds a model from a checkpoint alone and segments images of any size.

    >>> predictor = Predictor("checkpoints/run/best.pt")
    >>> mask = predictor.predict(read_image("cells.png"))     # uint8 class indices
    """

    def __init__(self, checkpoint_path: str | os.PathLike, device: str = "auto", fast: bool = True,
                 tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP, tta: bool | None = None):
        self.path = Path(checkpoint_path)
        data = ckpt.load(self.path)
        self.runtime = resolve(device, fast)
        self.model = for_inference(ckpt.build_model(data, self.path), self.runtime)
        self.spec = ClassSpec.from_dict(data["classes"])
        self.in_channels = int(data["in_channels"])
        self.scale = float(data["scale"])
        self.mean = np.asarray(data["normalization"]["mean"], dtype=np.float32)
        self.std = np.asarray(data["normalization"]["std"], dtype=np.float32)
        self.arch = data["arch"]
        self.metrics = data.get("metrics", {})
        self.pixel_size = PixelSize.from_dict(data.get("pixel_size"))  # µm the model learned at (None: unknown)
        self.tile, self.overlap = tile, overlap
        # Test-time augmentation: the caller's choice, else the training plan's (measured to fit this machine).
        self.tta = bool((data.get("config") or {}).get("tta")) if tta is None else bool(tta)
        self.crf_fit = data.get("crf")  # the CRF fitted on the validation images (segcore.crf_fit), if any

    def prepare(self, image: np.ndarray) -> torch.Tensor:
        """(H,W,C) image as stored -> normalised (C,h,w) tensor at the training scale.

        One channel at a time, so a large image never has a float32 copy of all its channels at full size.
        """
        source = _TileNormaliser(image, self.in_channels, self.mean, self.std)
        size = scaled_size(*source.image.shape[:2], self.scale)
        out = torch.empty((self.in_channels, *size), dtype=torch.float32)
        for c in range(self.in_channels):
            plane = resize_image_to(source.unit_channel(c), size)
            out[c] = torch.from_numpy((plane - self.mean[c]) / self.std[c])
        return out

    def predict_proba(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities ``(K, H, W)`` float32 at the input's original size."""
        h, w = image.shape[:2]
        probs = np.empty((self.spec.num_classes, h, w), dtype=np.float32)

        def keep(y: int, band: torch.Tensor) -> None:
            probs[:, y:y + band.shape[1]] = band.numpy()

        self._run(image, keep)
        return probs

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Class indices ``uint8 (H, W)`` at the input's original size.

        Equals ``predict_proba(image).argmax(0)`` but holds one band of probabilities at a time, so an 8192x8192
        image needs the image, the mask and a few tiles' worth of memory, not ``K x H x W`` floats.
        """
        mask = np.empty(image.shape[:2], dtype=np.uint8)

        def keep(y: int, band: torch.Tensor) -> None:
            mask[y:y + band.shape[1]] = band.argmax(dim=0).numpy()

        self._run(image, keep)
        return mask

    @torch.inference_mode()
    def _run_scaled(self, image: np.ndarray, emit) -> None:
        """A checkpoint trained at ``scale`` != 1 sees the image resized as a whole (resizing needs neighbours
        across tile borders); its probabilities are resized back to the image's size a band of rows at a time."""
        probs = sliding_window(self.model, self.prepare(image), self.runtime, self.spec.num_classes, self.tile,
                               self.overlap, self.tta)
        for y, band in resize_rows(probs, *image.shape[:2]):
            emit(y, band)

    @torch.inference_mode()
    def _run(self, image: np.ndarray, emit) -> None:
        """Hand ``emit(y, band)`` the ``(K, rows, W)`` probabilities of each finished band of rows, top to bottom."""
        if self.scale != 1.0:
            self._run_scaled(image, emit)
            return
        normalise = _TileNormaliser(image, self.in_channels, self.mean, self.std)
        h, w = normalise.image.shape[:2]

        def predict(y: int, x: int, th: int, tw: int) -> torch.Tensor:
            return _forward(self.model, normalise(y, x, th, tw)[None], self.runtime, self.tta)[0].cpu()

        run_banded(predict, h, w, self.spec.num_classes, emit, self.tile, self.overlap, _multiple(self.model))
