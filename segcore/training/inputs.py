"""What a run learns from: the images with masks, their classes and training/validation split, the fingerprint
kept with its checkpoints, and the loader that draws training crops (how many per epoch, sharded over
torchrun's ranks, in how many processes)."""

from __future__ import annotations

import os
from collections.abc import Generator

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from segcore.data.classes import ClassSpec
from segcore.data.dataset import SegmentationDataset, pad_collate
from segcore.data.layout import Sample, find_samples, load_class_spec, split_samples
from segcore.durations import human_duration
from segcore.errors import DataError
from segcore.planning.fingerprint import fingerprint
from segcore.training.config import TrainConfig
from segcore.training.distributed import Dist
from segcore.training.events import LogEvent

MAX_REPEATS = 16  # crops drawn per image and epoch at most, for very large images


def choose_samples(cfg: TrainConfig, warnings: list[str]) -> tuple[list[Sample], ClassSpec, list[Sample],
                                                                   list[Sample]]:
    """Every sample of ``cfg.data``, its class spec, and the training and validation samples (those with a mask,
    split by ``cfg.val_fraction``/``cfg.val_images``); appends what a user should know to ``warnings``. Raises
    DataError when no image has a mask."""
    samples = find_samples(cfg.data, warnings)
    labelled = [s for s in samples if s.mask is not None]
    if not labelled:
        hint = f" ({warnings[0]})" if warnings else ""  # e.g. masks named in a way that does not pair
        raise DataError(f"{cfg.data}: no image has a mask; annotate at least one image to train{hint}")
    if len(labelled) < len(samples):  # they cannot teach anything; say so rather than drop them silently
        unlabelled = [s.image.name for s in samples if s.mask is None]
        warnings.append(f"{len(unlabelled)} of {len(samples)} images have no mask and are left out of training "
                        f"(e.g. {unlabelled[0]})")
    spec = load_class_spec(cfg.data, samples, warnings)
    train, val = split_samples(labelled, cfg.val_fraction, cfg.seed, spec, cfg.val_images, warnings)
    return samples, spec, train, val


def data_fingerprint(cfg: TrainConfig, resume: dict | None, samples: list[Sample], spec: ClassSpec, *,
                     measure: bool) -> Generator[LogEvent, None, dict | None]:
    """What the training data is like (:mod:`segcore.planning.fingerprint`), kept in every checkpoint so that any
    run, planned or by a fixed recipe, can warn about an image unlike its training data (:mod:`segcore.shift`):
    the plan's, else the resumed checkpoint's, else measured now when ``measure`` (about a second per 10
    megapixels of masks, at most 24 images). Returns the dict, or None."""
    known = (cfg.plan or {}).get("fingerprint") or (resume or {}).get("fingerprint")
    if known or not measure:
        return known or None
    measured = fingerprint(cfg.data, samples, spec)
    yield LogEvent(f"fingerprint of {measured.measured} training image(s) in {human_duration(measured.seconds)} "
                   "(kept with the checkpoints: prediction warns about images unlike them)")
    return measured.to_dict()


def training_loader(train_set: SegmentationDataset, cfg: TrainConfig, generator: torch.Generator, dist: Dist,
                    device: torch.device) -> tuple[DataLoader, int]:
    """The loader of ``train_set`` (decoding and checking every pair now) and its number of processes.

    An epoch draws each image once, or, with patches, about as many crops as cover it (at most MAX_REPEATS);
    ``cfg.epoch_samples`` overrides that.
    """
    repeats, sizes = 1, train_set.sizes()
    if cfg.patch_size:
        area = np.mean([h * w for h, w in sizes])
        repeats = int(min(MAX_REPEATS, max(1, round(area / cfg.patch_size**2))))
    per_epoch = cfg.epoch_samples or len(train_set) * repeats
    sampler = RandomSampler(train_set, num_samples=per_epoch, generator=generator)
    sampler = dist.shard_batches(sampler, cfg.batch_size)
    workers = cfg.workers if cfg.workers is not None else _auto_workers(device, dist.local_world_size)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=workers,
                        drop_last=per_epoch > cfg.batch_size, collate_fn=pad_collate,  # whole images of mixed sizes
                        pin_memory=device.type == "cuda", persistent_workers=workers > 0)
    return loader, workers


def _auto_workers(device: torch.device, local_world_size: int) -> int:
    """No loader processes on the CPU (they would take cores from the model, which is the bottleneck); on a GPU
    the single-threaded crops and augmentation are the bottleneck, so up to 4 per process."""
    if device.type != "cuda":
        return 0
    per_process = (os.cpu_count() or 1) // max(1, local_world_size)
    return max(0, min(4, per_process - 1))
