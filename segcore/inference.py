"""Prediction: checkpoint -> class probabilities -> mask, tiled so memory follows the tile, not the image.

Tiles overlap and are blended with a smooth window (high in the middle, low at the borders), so no tile seams
show; rows are finished band by band (``segcore.tiles``). The Predictor normalises one tile at a time and
``predict`` keeps only the mask, so memory follows the tile size. ``sliding_window`` is also what validation
uses, so scores during training match prediction.

The network itself runs in a prediction engine (:mod:`segcore.engines`): PyTorch, or ONNX Runtime on CPUs. The
engine only turns a batch of normalised tiles into probabilities; normalising, tiling, blending and resizing
happen here, in numpy, the same for every engine. This module imports torch only when the engine needs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segcore.data.classes import ClassSpec
from segcore.data.preprocess import match_channels, resize_image_to, scaled_size, unit_scaling
from segcore.interop.physical import PixelSize, resample_factor, resampling_note
from segcore.tiles import Emit, run_banded

if TYPE_CHECKING:
    import torch

    from segcore.device import Runtime
    from segcore.engines import Engine

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64


def tiled(engine: Engine, tile_at, height: int, width: int, num_classes: int, emit: Emit,
          tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP, tta: bool = False) -> None:
    """Hand ``emit(y, band)`` the blended ``(K, rows, W)`` probabilities of an image, band by band.

    ``tile_at(y, x, h, w)`` gives the normalised ``(C, h, w)`` float32 tile there; ``engine`` runs it (with
    ``tta``, averaged over the 8 flips and quarter turns, :mod:`segcore.tta`). An image no larger than one tile
    runs whole.
    """
    from segcore.tta import averaged

    def predict(y: int, x: int, th: int, tw: int) -> np.ndarray:
        batch = tile_at(y, x, th, tw)[None]
        return (averaged(engine, batch) if tta else engine(batch))[0]

    if height <= tile and width <= tile:
        emit(0, predict(0, 0, height, width))
        return
    run_banded(predict, height, width, num_classes, emit, tile, overlap, engine.multiple)


def sliding_window(model, image: torch.Tensor, runtime: Runtime, num_classes: int,
                   tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP, tta: bool = False) -> torch.Tensor:
    """Probabilities ``(K, H, W)`` (float32, CPU) of a PyTorch ``model`` for a normalised ``(C, H, W)`` CPU tensor,
    tile by tile (training's validation; each tile test-time augmented with ``tta``)."""
    import torch

    from segcore.engines.torch_engine import TorchEngine

    array = image.numpy()
    _, h, w = array.shape
    probs = np.empty((num_classes, h, w), dtype=np.float32)

    def keep(y: int, band: np.ndarray) -> None:
        probs[:, y:y + band.shape[1]] = band

    tiled(TorchEngine(model, runtime), lambda y, x, th, tw: array[:, y:y + th, x:x + tw], h, w, num_classes, keep,
          tile, overlap, tta)
    return torch.from_numpy(probs)


def _linear_source(size: int, src_size: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For output positions ``start..stop`` of a bilinear resize ``src_size -> size``: the two source indices and
    the weight of the second, with PyTorch's ``align_corners=False`` coordinates."""
    src = np.maximum((np.arange(start, stop, dtype=np.float32) + 0.5) * np.float32(src_size / size) - 0.5, 0)
    low = src.astype(np.int64)
    return low, np.minimum(low + 1, src_size - 1), (src - low).astype(np.float32)


def resize_rows(probs: np.ndarray, height: int, width: int, rows: int = 256) -> Iterator[tuple[int, np.ndarray]]:
    """``(y, band)`` pieces of ``probs`` ``(K, h, w)`` resized bilinearly to ``(K, height, width)``, top to bottom.

    Equal (to float rounding) to ``F.interpolate(probs[None], (height, width), mode="bilinear")[0]``; memory is
    one band of ``rows`` output rows, not ``K x height x width``.
    """
    _, src_h, src_w = probs.shape
    left, right, wx = _linear_source(width, src_w, 0, width)
    for y in range(0, height, rows):
        top, bottom, wy = _linear_source(height, src_h, y, min(y + rows, height))
        band = probs[:, top] * (1 - wy)[None, :, None] + probs[:, bottom] * wy[None, :, None]
        yield y, band[:, :, left] * (1 - wx) + band[:, :, right] * wx


class _TileNormaliser:
    """Normalised ``(C, h, w)`` float32 tiles cut from an image as stored, with no full-size float32 copy.

    Gives exactly ``(to_unit(match_channels(image), per_image) - mean) / std`` on each tile: the scaling is
    measured on the whole image, once, here.
    """

    def __init__(self, image: np.ndarray, channels: int, mean: np.ndarray, std: np.ndarray, per_image: bool):
        self.image = np.asarray(match_channels(image, channels))
        self.mean, self.std = mean, std
        self.scaling = unit_scaling(self.image, per_image)

    def unit_channel(self, c: int) -> np.ndarray:
        """Channel ``c`` of the whole image scaled to [0, 1] as ``to_unit`` scales it, ``(H, W)`` float32."""
        return self.scaling.channel(c)(self.image[..., c])[..., 0]

    def __call__(self, y: int, x: int, h: int, w: int) -> np.ndarray:
        unit = self.scaling(self.image[y:y + h, x:x + w])
        unit = (unit - self.mean) / self.std
        return np.ascontiguousarray(unit.transpose(2, 0, 1))


class Predictor:
    """Rebuilds a model from a checkpoint alone and segments images of any size.

    ``engine`` is auto, pytorch or onnxruntime (:mod:`segcore.engines`; None reads ``SEGCORE_ENGINE``); ``tta``
    averages each tile over its 8 flips and quarter turns (None: the checkpoint's training plan decides);
    ``threads`` limits ONNX Runtime's threads (PyTorch's are set with ``torch.set_num_threads``). Raises
    CheckpointError for an unusable checkpoint, ConfigError for an unknown or unavailable engine, ExportError when
    the onnxruntime engine was asked for and the model cannot be exported.

    >>> predictor = Predictor("checkpoints/run/best.pt")
    >>> mask = predictor.predict(read_image("cells.png"))     # uint8 class indices
    """

    def __init__(self, checkpoint_path: str | os.PathLike, device: str = "auto", fast: bool = True,
                 tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP, engine: str | None = None,
                 threads: int | None = None, tta: bool | None = None):
        from segcore.engines import choose

        self.path = Path(checkpoint_path)
        self.choice = choose(engine, device, fast)
        self.engine, info, self.note = self._open(device, fast, threads)
        self.spec = ClassSpec.from_dict(info["classes"])
        self.in_channels = int(info["in_channels"])
        self.scale = float(info["scale"])
        self.mean = np.asarray(info["normalization"]["mean"], dtype=np.float32)
        self.std = np.asarray(info["normalization"]["std"], dtype=np.float32)
        self.per_image = bool(info["normalization"].get("per_image", False))  # older checkpoints: never
        self.arch = info["arch"]
        self.metrics = info.get("metrics") or {}
        self.pixel_size = PixelSize.from_dict(info.get("pixel_size"))  # µm the model learned at (None: unknown)
        # What the window says about the model and checks images against (older caches lack them: defaults).
        self.arch_kwargs = info.get("arch_kwargs") or {}
        self.epoch = int(info.get("epoch") or 0)
        self.name = info.get("name")  # the run's label (TrainConfig.name)
        self.fingerprint = info.get("fingerprint")  # the training data's (every run keeps it), for segcore.shift
        self.tta_reason = info.get("tta_reason") or ""
        self.tile, self.overlap = tile, overlap
        # Test-time augmentation: the caller's choice, else the training plan's (measured to fit this machine).
        self.tta = bool(info.get("tta")) if tta is None else bool(tta)
        self.crf_fit = info.get("crf")  # the CRF fitted on the validation images (segcore.crf_fit), if any
        self.note_resampled = ""  # what the last predict did about the image's pixel size, "" when nothing

    def _open(self, device: str, fast: bool, threads: int | None) -> tuple[Engine, dict, str]:
        """The chosen engine, the checkpoint's prediction info and a note; ``auto`` falls back to PyTorch, with
        the reason in the note, when the ONNX export fails."""
        from segcore.errors import ExportError

        if self.choice.name == "onnxruntime":
            from segcore.engines import onnx_engine

            try:
                return onnx_engine.open_checkpoint(self.path, threads)
            except ExportError as exc:
                if self.choice.reason == "requested":
                    raise
                fallback = f"{exc}; predicting with PyTorch instead"
        else:
            fallback = ""
        from segcore.engines import torch_engine

        engine, info, note = torch_engine.open_checkpoint(self.path, device, fast)
        return engine, info, "; ".join(filter(None, [fallback, note]))

    def prepare(self, image: np.ndarray, scale: float | None = None) -> np.ndarray:
        """(H,W,C) image as stored -> normalised ``(C, h, w)`` float32 at the training scale (or ``scale``).

        One channel at a time, so a large image never has a float32 copy of all its channels at full size.
        """
        source = _TileNormaliser(image, self.in_channels, self.mean, self.std, self.per_image)
        size = scaled_size(*source.image.shape[:2], self.scale if scale is None else scale)
        out = np.empty((self.in_channels, *size), dtype=np.float32)
        for c in range(self.in_channels):
            plane = resize_image_to(source.unit_channel(c), size)
            out[c] = (plane - self.mean[c]) / self.std[c]
        return out

    def predict_proba(self, image: np.ndarray, pixel_size: PixelSize | None = None) -> np.ndarray:
        """Class probabilities ``(K, H, W)`` float32 at the input's original size (``pixel_size``: see
        :meth:`predict`)."""
        h, w = image.shape[:2]
        probs = np.empty((self.spec.num_classes, h, w), dtype=np.float32)

        def keep(y: int, band: np.ndarray) -> None:
            probs[:, y:y + band.shape[1]] = band

        self._run(image, keep, pixel_size)
        return probs

    def predict(self, image: np.ndarray, pixel_size: PixelSize | None = None) -> np.ndarray:
        """Class indices ``uint8 (H, W)`` at the input's original size.

        Equals ``predict_proba(image).argmax(0)`` but holds one band of probabilities at a time, so an 8192x8192
        image needs the image, the mask and a few tiles' worth of memory, not ``K x H x W`` floats.
        ``pixel_size``: the image's (µm); when the checkpoint knows the pixel size it learned at and the two
        differ by more than 10 %, the image is segmented resampled to the model's pixel size and the result
        brought back (:func:`segcore.interop.physical.resample_factor`); ``note_resampled`` then says so.
        """
        mask = np.empty(image.shape[:2], dtype=np.uint8)

        def keep(y: int, band: np.ndarray) -> None:
            mask[y:y + band.shape[1]] = band.argmax(axis=0)

        self._run(image, keep, pixel_size)
        return mask

    def _run(self, image: np.ndarray, emit: Emit, pixel_size: PixelSize | None = None) -> None:
        """Hand ``emit(y, band)`` the ``(K, rows, W)`` probabilities of each finished band of rows, top to bottom.

        A checkpoint trained at ``scale`` != 1 (or an image resampled to the model's pixel size) sees the image
        resized as a whole (resizing needs neighbours across tile borders); its probabilities are resized back to
        the image's size a band of rows at a time.
        """
        k = self.spec.num_classes
        factor = resample_factor(pixel_size, self.pixel_size)
        self.note_resampled = "" if factor == 1.0 else \
            resampling_note(pixel_size, self.pixel_size, image.shape[:2], factor)
        scale = self.scale * factor
        if scale == 1.0:
            tiles = _TileNormaliser(image, self.in_channels, self.mean, self.std, self.per_image)
            tiled(self.engine, tiles, *tiles.image.shape[:2], k, emit, self.tile, self.overlap, self.tta)
            return
        prepared = self.prepare(image, scale)
        _, h, w = prepared.shape
        probs = np.empty((k, h, w), dtype=np.float32)

        def keep(y: int, band: np.ndarray) -> None:
            probs[:, y:y + band.shape[1]] = band

        tiled(self.engine, lambda y, x, th, tw: prepared[:, y:y + th, x:x + tw], h, w, k, keep, self.tile,
              self.overlap, self.tta)
        for y, band in resize_rows(probs, *image.shape[:2]):
            emit(y, band)
