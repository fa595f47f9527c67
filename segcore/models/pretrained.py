"""ImageNet weights from the local torch hub cache (never downloaded here) and first-conv adaptation.

Pretrained weights are only a starting point: a checkpoint's own weights replace them, so the registry does not
record ``pretrained`` in a model's arguments and predicting never needs the ImageNet files.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from segcore.errors import ConfigError


def _weights_file(weights) -> str:
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))


def load_local_weights(name: str, weights) -> dict:
    """ImageNet state dict from the torch hub cache; never downloads, a missing file is a ConfigError."""
    path = _weights_file(weights)
    if not os.path.isfile(path):
        raise ConfigError(
            f"ImageNet weights for {name} not found at {path}; download them once on a machine with internet "
            f"(python -c \"import torchvision; torchvision.models.{name}(weights='IMAGENET1K_V1')\") or copy "
            f"{weights.url} there (TORCH_HOME changes the folder), or train with pretrained=False"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError) as exc:
        raise ConfigError(
            f"cannot read ImageNet weights {path}: {exc}; delete it and download again"
        ) from exc


def adapt_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A copy of ``conv`` for ``in_channels`` inputs; RGB filters are summed (grey) or repeated and rescaled."""
    if in_channels == conv.in_channels:
        return conv
    new = nn.Conv2d(
        in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
        rgb = conv.weight
        if in_channels == 1:
            new.weight.copy_(rgb.sum(dim=1, keepdim=True))  # a grey image is R = G = B
        else:
            reps = -(-in_channels // rgb.shape[1])
            new.weight.copy_(rgb.repeat(1, reps, 1, 1)[:, :in_channels] * (rgb.shape[1] / in_channels))
    return new
