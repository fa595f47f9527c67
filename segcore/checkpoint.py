"""Self-describing checkpoints, written atomically and loaded without executing code.

A checkpoint is a plain dict of tensors and primitives, so ``torch.load(weights_only=True)`` reads it safely. It
carries everything needed to predict (architecture and its arguments, class list, input channels, normalisation,
scale) and to resume training (optimizer, scheduler, epoch, history).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from segcore.atomic import atomic_path
from segcore.errors import CheckpointError

if TYPE_CHECKING:
    import torch

FORMAT = "segstudio-checkpoint"
VERSION = 1
REQUIRED = ("arch", "arch_kwargs", "in_channels", "classes", "normalization", "scale", "model")
# What prediction needs besides the weights: small, JSON-able, kept with an exported model (segcore.engines).
PREDICTION_KEYS = ("arch", "arch_kwargs", "in_channels", "classes", "normalization", "scale", "metrics", "crf",
                   "pixel_size")


def save(path: str | os.PathLike, payload: dict) -> Path:
    """Write ``payload`` (see module doc) to ``path`` atomically; returns the path."""
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise CheckpointError(f"refusing to save an incomplete checkpoint (missing {', '.join(missing)})")
    import torch

    data = {"format": FORMAT, "version": VERSION, **payload}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return path


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint safely; anything that is not one raises CheckpointError with the reason."""
    import torch  # here, not above: a prediction engine that does not need torch reads no checkpoint

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    try:
        with warnings.catch_warnings():  # torch's advice about pickle protocols is not for the user
            warnings.simplefilter("ignore", UserWarning)
            data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - arbitrary bytes make torch.load raise almost anything
        if isinstance(exc, MemoryError):
            raise
        raise CheckpointError(f"{path}: not a readable checkpoint ({_load_failure(exc)})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a segstudio checkpoint (no '{FORMAT}' marker)")
    if data.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: written by a newer version (format {data['version']} > {VERSION})")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise CheckpointError(f"{path}: checkpoint is incomplete (missing {', '.join(missing)})")
    if problem := _damaged_field(data):
        raise CheckpointError(f"{path}: checkpoint is damaged ({problem})")
    return data


def _load_failure(exc: Exception) -> str:
    """Why ``torch.load`` failed, in words for the user: torch's own text advises turning off ``weights_only``
    (unsafe, and no help for a PNG), quotes internal miniz errors, or is a bare pickle opcode."""
    text = str(exc)
    if "Weights only load failed" in text:
        if "can still be loaded" in text:
            return "it holds Python objects, which are never loaded; segstudio checkpoints hold none"
        return "not a PyTorch checkpoint file"
    if "zip archive" in text or "central directory" in text or isinstance(exc, OSError):
        return "damaged or cut short, e.g. by an interrupted copy"  # a truncated zip gives EINVAL on seek
    if isinstance(exc, (KeyError, EOFError)) or type(exc).__name__ == "UnpicklingError":
        return "not a PyTorch checkpoint file"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return re.sub(r"\x1b\[[0-9;]*m", "", first)[:160]


def _damaged_field(data: dict) -> str:
    """What is wrong with the fields every reader relies on (empty when nothing), so a hand-edited or damaged
    file fails here with its name rather than deep inside prediction."""
    from segcore.data.classes import ClassSpec
    from segcore.errors import DataError

    try:
        channels, norm = int(data["in_channels"]), data["normalization"]
        if channels < 1 or not float(data["scale"]) > 0:
            return f"in_channels {data['in_channels']!r}, scale {data['scale']!r}"
        if not (len(norm["mean"]) == len(norm["std"]) == channels and all(float(v) > 0 for v in norm["std"])):
            return f"normalization {norm!r} does not fit {channels} channels"
        if not isinstance(data["model"], dict) or not isinstance(data["arch_kwargs"], dict):
            return "model weights or architecture options are not tables"
        ClassSpec.from_dict(data["classes"])
    except (TypeError, ValueError, KeyError, IndexError, DataError) as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return ""


def build_model(data: dict, source: str | os.PathLike | None = None):
    """Rebuild the model a checkpoint describes and load its weights; ``source`` (the file) names it in errors."""
    import torch

    from segcore.data.classes import ClassSpec
    from segcore.models import create_model

    spec = ClassSpec.from_dict(data["classes"])
    with torch.device("meta"):  # every initial value is replaced below: skip computing them (50 ms for a U-Net)
        model = create_model(data["arch"], data["in_channels"], spec.num_classes, **data["arch_kwargs"])
    try:
        model.load_state_dict(data["model"], assign=True)  # strict: a weight left on "meta" is an error here
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())  # torch lists one mismatch a line; the CLI prints one line
        where = f"{source}: " if source is not None else ""
        raise CheckpointError(f"{where}checkpoint weights do not fit a {data['arch']} model: {detail[:200]}") from exc
    return model


def prediction_info(data: dict) -> dict:
    """The fields of a loaded checkpoint that prediction needs besides the weights (:data:`PREDICTION_KEYS`),
    ``tta`` (the training plan's default for test-time augmentation) and its reason, the epoch, the run's name and
    the training data's fingerprint (every run keeps one; checkpoints of fixed-recipe runs made before it did have
    None)."""
    info = {key: data.get(key) for key in PREDICTION_KEYS}
    info["metrics"] = info["metrics"] or {}
    config = data.get("config") or {}
    plan = config.get("plan") or {}
    tta_fit = data.get("tta_fit")  # the check on the validation images after training (segcore.tta_fit), if any
    info["tta"] = bool(config.get("tta")) and (tta_fit is None or bool(tta_fit["helps"]))
    # For describing the model and checking images against its training data (segcore.shift):
    info["epoch"] = int(data.get("epoch") or 0)
    info["name"] = config.get("name")
    info["fingerprint"] = data.get("fingerprint") or plan.get("fingerprint")  # every run's since #19; plans' before
    if tta_fit is None:
        info["tta_reason"] = ((plan.get("entries") or {}).get("tta") or {}).get("reason", "")
    else:
        from segcore.tta_fit import describe

        info["tta_reason"] = describe(tta_fit)
    return info
