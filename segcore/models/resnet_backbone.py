"""Dilated torchvision ResNets (output stride 8) for PSPNet, with optional local ImageNet weights.

torchvision dilates Bottleneck ResNets (50/101) through ``replace_stride_with_dilation`` but refuses BasicBlock
ones (18/34); for those we turn the strides of layer3/layer4 into dilations ourselves, with torchvision's rule
(the formerly strided 3x3 convolution keeps the previous dilation, every later 3x3 gets the new one: 2 in
layer3, 4 in layer4), which is also the rule of the PSPNet authors' dilated ResNets.
"""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet

from segcore.errors import ConfigError
from segcore.models.pretrained import adapt_first_conv, load_local_weights

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
