"""Dilated torchvision ResNets (output stride 8) for PSPNet, with optional local ImageNet weights.

torchvision dilates Bottleneck ResNets (50/101) through ``replace_stride_with_dilation`` but refuses BasicBlock
ones (18/34); for those we turn the strides of layer3/layer4 into dilations ourselves, with the same rule
torchvision uses (the first block of a dilated layer keeps the previous dilation, the others get the new one).
"""

from __future__ import annotations

import os

import torch
from torch import nn
from torchvision.models import resnet

from segcore.errors import ConfigError

BACKBONES = {
    "resnet18": (resnet.resnet18, resnet.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (resnet.resnet34, resnet.ResNet34_Weights.IMAGENET1K_V1),
    "resnet50": (resnet.resnet50, resnet.ResNet50_Weights.IMAGENET1K_V1),
    "resnet101": (resnet.resnet101, resnet.ResNet101_Weights.IMAGENET1K_V1),
}


def _dilate_basic_layer(layer: nn.Sequential, dilation: int) -> None:
    """Stride 1 instead of 2 in a BasicBlock layer, with dilated 3x3 convolutions keeping the receptive field."""
    for index, block in enumerate(layer):
        first = dilation // 2 if index == 0 else dilation
        for conv, d in ((block.conv1, first), (block.conv2, dilation)):
            conv.stride, conv.dilation, conv.padding = (1, 1), (d, d), (d, d)
        if block.downsample is not None:
            block.downsample[0].stride = (1, 1)
        block.stride = 1


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
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False)
    with torch.no_grad():
        rgb = conv.weight
        if in_channels == 1:
            new.weight.copy_(rgb.sum(dim=1, keepdim=True))  # a grey image is R = G = B
        else:
            reps = -(-in_channels // rgb.shape[1])
            new.weight.copy_(rgb.repeat(1, reps, 1, 1)[:, :in_channels] * (rgb.shape[1] / in_channels))
    return new


def dilated_resnet(name: str, in_channels: int, pretrained: bool) -> tuple[nn.Module, int]:
    """ResNet stem + layer1..4 at output stride 8 (no pooling/fc); returns it and layer4's channel count."""
    if name not in BACKBONES:
        raise ConfigError(f"unknown backbone '{name}'; choose one of: {', '.join(BACKBONES)}")
    build, weights = BACKBONES[name]
    bottleneck = name in ("resnet50", "resnet101")
    net = build(weights=None, replace_stride_with_dilation=[False, True, True] if bottleneck else None)
    if pretrained:
        net.load_state_dict(load_local_weights(name, weights))
    if not bottleneck:
        _dilate_basic_layer(net.layer3, 2)
        _dilate_basic_layer(net.layer4, 4)
    net.conv1 = adapt_first_conv(net.conv1, in_channels)
    stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
    body = nn.ModuleDict(
        {"stem": stem, "layer1": net.layer1, "layer2": net.layer2, "layer3": net.layer3, "layer4": net.layer4}
    )
    return body, net.fc.in_features
