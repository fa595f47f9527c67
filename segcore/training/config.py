"""The one configuration object for a training job, shared by the CLI, the GUI and the Python API."""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from segcore.errors import ConfigError
from segcore.interop.physical import PixelSize
from segcore.training import records

RUNS_FOLDER = "checkpoints"  # a data folder's runs live in DATA/checkpoints/ (what the window lists)


def slug(text: str) -> str:
    """A run name made safe for a folder name: ``"Nuclei 20x / v2"`` -> ``"Nuclei-20x-v2"``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60]


def default_out_dir(data: str | os.PathLike, arch: str, name: str | None = None) -> str:
    """``DATA/checkpoints/NAME-DATE-TIME`` (``ARCH-DATE-TIME`` without a name): one place for a folder's runs,
    whether the CLI, the API or the window trained them, so the window's run list finds every one. With the
    original layout (``data/`` + ``val/`` in the working folder, ``segcore train .``) that is ``./checkpoints``."""
    return str(Path(data) / RUNS_FOLDER / f"{slug(name or '') or arch}-{time.strftime('%Y%m%d-%H%M%S')}")


def _check_writable(out: Path) -> None:
    """Raise ConfigError now, before data and model are loaded, when ``out`` cannot be created or written."""
    if blocker := next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None):
        raise ConfigError(f"{blocker}: is a file; the output (-o) must be a folder for the run's checkpoints")
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{existing} is read-only, so the run cannot be written to {out}; choose an output "
                          "folder with -o (the window: Advanced > Output)")


@dataclass
class TrainConfig:
    """Everything a training run needs. ``data`` is a folder in either supported layout."""

    data: str
    epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 4
    arch: str = "unet"
    arch_kwargs: dict = field(default_factory=dict)
    scale: float = 1.0
    patch_size: int | None = 256
    val_fraction: float = 0.15
    seed: int = 0
    out: str | None = None  # None: DATA/checkpoints/NAME-DATE-TIME, or the run's folder when resuming its last.pt
    device: str = "auto"
    fast: bool = True
    checkpoint: str | None = None  # resume (or fine-tune) from this file
    fine_tune: bool = False  # load weights only, start a fresh schedule
    weight_decay: float = 1e-4
    augment: bool = True
    workers: int | None = None  # data loader processes; None: 0 on the CPU, a few when a GPU does the maths
    time_limit: float | None = None  # minutes of training; epochs then is an upper bound
    sync_bn: bool = False  # under torchrun on GPUs: batch-norm statistics over the global batch
    # Set by the training plan (segcore.planning); the defaults are the fixed recipe.
    epoch_samples: int | None = None  # crops per epoch (how often to validate); None: about one pass per image
    oversample: float = 0.0  # share of crops centred on a pixel of a class the image holds
    jitter: float = 0.1  # brightness/contrast augmentation amplitude
    per_image_norm: bool = False  # standardise each image on its own statistics (preprocess.UnitScaling)
    deform: float = 0.0  # strength in [0, 1] of random rotation, scaling and elastic deformation of crops
    tta: bool | None = None  # the checkpoint's default for test-time augmentation at prediction (None: off)
    calibrate_crf: bool = False  # fit the dense CRF on the validation images after training
    plan: dict | None = None  # the plan this config came from (Plan.to_dict()), saved with the run
    name: str | None = None  # a label for the run (the window's run list shows it; --name)
    pixel_size: dict | None = None  # {"y_um", "x_um"}: images stating another pixel size are resampled to it
    val_images: list[str] | None = None  # validate on these images (a run's split.json "val"), e.g. to compare rounds

    def resolved(self, check_model: bool = True) -> TrainConfig:
        """A validated copy, with the output folder filled in; this config is left as it is.

        Raises ConfigError naming the first bad option. ``check_model`` also checks the architecture and its
        options, which loads the model registry and so torch: the window resolves in its UI thread without it,
        at once, and the trainer checks the model in its worker.
        """
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if not (0 < self.lr < 10):
            raise ConfigError(f"learning rate must be in (0, 10), got {self.lr}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if not (0 < self.scale <= 4):
            raise ConfigError(f"scale must be in (0, 4], got {self.scale}")
        if self.patch_size is not None and self.patch_size < 16:
            raise ConfigError(f"patch size must be at least 16 pixels, got {self.patch_size}")
        if not (0 <= self.val_fraction < 1):
            raise ConfigError(f"validation fraction must be in [0, 1), got {self.val_fraction}")
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"workers must be 0 or more, got {self.workers}")
        if not (0 <= self.seed < 2**32):
            raise ConfigError(f"seed must be in [0, 2**32), got {self.seed}")
        if self.epoch_samples is not None and self.epoch_samples < 1:
            raise ConfigError(f"epoch samples must be at least 1, got {self.epoch_samples}")
        if not (0 <= self.oversample <= 1):
            raise ConfigError(f"oversample must be a share in [0, 1], got {self.oversample}")
        if not (0 <= self.deform <= 1):
            raise ConfigError(f"deform must be a strength in [0, 1], got {self.deform}")
        if not (0 <= self.jitter < 1):
            raise ConfigError(f"jitter must be in [0, 1), got {self.jitter}")
        if self.pixel_size is not None and PixelSize.from_dict(self.pixel_size) is None:
            raise ConfigError(f"pixel size must be {{'y_um': ..., 'x_um': ...}} in micrometres, got {self.pixel_size}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ConfigError(f"time limit must be a positive number of minutes, got {self.time_limit}")
        if check_model and not self.checkpoint:  # when resuming, the checkpoint names the architecture
            from segcore.models import check_arguments

            check_arguments(self.arch, self.arch_kwargs)
        out = self.out
        if out is None:  # resuming from a run's last.pt goes on in that run's folder, beside its best.pt
            resuming = self.checkpoint and not self.fine_tune and Path(self.checkpoint).name == "last.pt"
            out = str(Path(self.checkpoint).parent) if resuming else default_out_dir(self.data, self.arch, self.name)
        _check_writable(Path(out))
        return replace(self, out=out, arch_kwargs=dict(self.arch_kwargs))

    def resuming(self, checkpoint: dict, num_classes: int) -> TrainConfig:
        """A copy for going on from ``checkpoint`` (a loaded :mod:`segcore.checkpoint` dict) on data of
        ``num_classes`` classes. Raises ConfigError when it predicts another number of classes.

        The checkpoint decides the architecture (the user need not repeat --arch) and its input normalisation
        and, unless fine-tuning, the scale and pixel size (the model learned at them). A run going on in its
        folder keeps its name (as renamed since, in its config.json) unless given a new one.
        """
        if len(checkpoint["classes"]["names"]) != num_classes:
            raise ConfigError(f"checkpoint {self.checkpoint} predicts {len(checkpoint['classes']['names'])} classes "
                              f"but {self.data} has {num_classes}")
        saved = checkpoint.get("config") or {}
        name = self.name
        if not name and not self.fine_tune and Path(self.checkpoint).parent.resolve() == Path(self.out).resolve():
            name = records.run_name(self.out) or saved.get("name")
        return replace(self, arch=checkpoint["arch"], name=name,
                       scale=self.scale if self.fine_tune else float(checkpoint.get("scale", 1.0)),
                       per_image_norm=bool((checkpoint.get("normalization") or {}).get("per_image", False)),
                       pixel_size=self.pixel_size if self.fine_tune else saved.get("pixel_size"))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
