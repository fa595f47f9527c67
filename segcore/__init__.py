"""segcore: the headless core of segstudio (data, models, training, prediction, CRF, metrics, CLI).

The Python API mirrors the command line::

    import segcore
    result = segcore.train("cells/", epochs=10, out="runs/cells")      # -> DoneEvent, raises on failure
    mask = segcore.predict(result.best_path, "cells/new.png")           # -> uint8 class indices

Importing ``segcore`` is cheap: torch is only imported when training or prediction is first used, so the GUI can
show its window first.
"""

from __future__ import annotations

from segcore.errors import (
    CheckpointError,
    ConfigError,
    CRFUnavailableError,
    DataError,
    SegcoreError,
    TrainingError,
)

__version__ = "0.1.0"
__all__ = [
    "train", "predict", "Predictor", "Trainer", "TrainConfig", "SegcoreError", "DataError", "CheckpointError",
    "ConfigError", "TrainingError", "CRFUnavailableError",
]

_LAZY = {
    "Predictor": ("segcore.inference", "Predictor"),
    "Trainer": ("segcore.training.loop", "Trainer"),
    "TrainConfig": ("segcore.training.config", "TrainConfig"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'segcore' has no attribute '{name}'")


def train(data: str, on_event=None, minutes: float | None = None, **options):
    """Train on folder ``data`` with :class:`TrainConfig` options; returns the final DoneEvent.

    ``minutes``: train by the plan for this folder, this machine and that budget (segcore.planning; what
    ``segcore train --minutes`` does); options given explicitly (width in ``arch_kwargs``, patch_size,
    batch_size, lr, epochs, arch, scale, per_image_norm) override the plan's. ``on_event`` (optional) is called
    with every event. Bad data or options raise DataError / ConfigError / CheckpointError; a run that fails (NaN loss)
    raises TrainingError; a stopped run returns its DoneEvent.
    """
    from segcore.training.config import TrainConfig
    from segcore.training.events import RunStatus
    from segcore.training.loop import Trainer

    config = TrainConfig(data=str(data), **options)
    if minutes is not None:
        from segcore.planning.auto import plan_training

        user = {k: v for k, v in options.items() if k in ("patch_size", "batch_size", "lr", "epochs", "arch",
                                                          "scale")}
        user.update({k: v for k, v in options.get("arch_kwargs", {}).items() if k in ("width", "depth")})
        if "per_image_norm" in options:
            user["normalisation"] = "image" if options["per_image_norm"] else "dataset"
        config = plan_training(config, minutes, user).apply(config)
    done = None
    for event in Trainer(config).run():
        if on_event is not None:
            on_event(event)
        done = event
    if done.status is RunStatus.FAILED:
        raise TrainingError(done.message)
    return done


def predict(checkpoint: str, image, device: str = "auto", pixel_size=None):
    """Segment ``image`` (a path or an (H, W, C) array) with ``checkpoint``; returns uint8 class indices.

    ``pixel_size``: the image's pixel size in µm (a number, or a :class:`segcore.interop.physical.PixelSize`);
    for a path, the file's own (OME or ImageJ TIFF, OME-Zarr) when not given. When the checkpoint knows the
    pixel size it learned at and the image's differs by more than 10 %, the image is segmented resampled to the
    model's and the mask brought back; the ``segcore`` logger says so (INFO).
    Raises CheckpointError / DataError for bad inputs, and SegcoreError (one line) for anything else."""
    import logging

    import numpy as np

    from segcore.data.io import read_image
    from segcore.inference import Predictor
    from segcore.interop.physical import PixelSize, of_file

    if isinstance(pixel_size, (int, float)):
        pixel_size = PixelSize(float(pixel_size), float(pixel_size))
    try:
        predictor = Predictor(checkpoint, device=device)
        pixels = image
        if not isinstance(image, np.ndarray):
            pixel_size = pixel_size or of_file(image)
            pixels = read_image(image)
        mask = predictor.predict(pixels, pixel_size)
    except SegcoreError:
        raise
    except Exception as exc:  # torch, the OS, memory: one typed line, the cause chained for a traceback
        from segcore.errors import describe

        raise SegcoreError(f"predicting {'an array' if isinstance(image, np.ndarray) else image} failed: "
                           f"{describe(exc, 'use a smaller tile or image')}") from exc
    if predictor.note_resampled:
        logging.getLogger("segcore").info(predictor.note_resampled)
    return mask
