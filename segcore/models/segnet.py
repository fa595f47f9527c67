"""SegNet (Badrinarayanan, Kendall and Cipolla, 2015/2017).

The encoder is the 13 convolutional layers of VGG16 with batch norm, in five stages of 2, 2, 3, 3, 3 layers,
each followed by 2x2 max pooling that also returns the indices of the maxima. The decoder mirrors it: each stage
max-unpools with the indices of the matching encoder stage (so boundaries are placed where the encoder saw them,
with no skip features stored), then applies 3x3 conv + BN + ReLU layers. As in the authors' Caffe model, the
last decoder layer is a 3x3 convolution straight to the class logits (soft-max is left to the loss).

``width`` is the channels of the first stage (64 in the paper, doubled per stage up to ``8 * width``);
5 poolings mean inputs are padded to a multiple of 32 and the logits cropped back. ``pretrained=True`` (width 64
only) starts the encoder from torchvision's ImageNet VGG16-BN, as the paper does, if the file is cached locally.
"""

from __future__ import annotations

import torch
from torch import nn

from segcore.errors import ConfigError
from segcore.models import register
from segcore.models.blocks import ConvBNReLU, pad_to_multiple
from segcore.models.pretrained import adapt_first_conv, load_local_weights

STAGE_LAYERS = (2, 2, 3, 3, 3)  # VGG16 convolutions per stage
STAGE_FACTORS = (1, 2, 4, 8, 8)  # channels per stage, in units of `width`


class EncoderStage(nn.Module):
    """Conv layers, then max pooling that returns the indices for the decoder."""

    def __init__(self, in_ch: int, out_ch: int, layers: int):
        super().__init__()
        self.convs = nn.Sequential(*(ConvBNReLU(in_ch if i == 0 else out_ch, out_ch) for i in range(layers)))
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pool(self.convs(x))


class Unpool2x(nn.Module):
    """``max_unpool2d`` with 2x2 windows to exactly twice the size, without ``nn.MaxUnpool2d``'s output-size
    checks: torch 2.14 cannot trace those (a tensor where a bool is needed) nor script them (an int where a
    list is needed), and TorchScript is what Java tools (deepImageJ) run. The inputs are padded to a multiple of
    32, so every pooled size is exactly half and twice it is the size before pooling."""

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten.max_unpool2d(x, indices, [x.shape[-2] * 2, x.shape[-1] * 2])


class DecoderStage(nn.Module):
    """Max-unpooling with the encoder's indices, then conv layers; the last one changes the channel count."""

    def __init__(self, in_ch: int, out_ch: int, layers: int, final: nn.Module | None = None):
        super().__init__()
        self.unpool = Unpool2x()
        convs = [ConvBNReLU(in_ch, in_ch) for _ in range(layers - 1)]
        convs.append(final if final is not None else ConvBNReLU(in_ch, out_ch))
        self.convs = nn.Sequential(*convs)

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return self.convs(self.unpool(x, indices))


@register(
    "segnet", "SegNet (Badrinarayanan 2015): VGG16-BN encoder, decoder upsamples with max-pooling indices"
)
class SegNet(nn.Module):
    """SegNet with a VGG16-BN encoder; ``width=64`` is the paper's model (29.4 M parameters at 3 in / 2 out)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 2, width: int = 64, pretrained: bool = False):
        super().__init__()
        if width < 1:
            raise ConfigError(f"segnet width must be at least 1, got {width}")
        if pretrained and width != 64:
            raise ConfigError(f"segnet pretrained=True needs width=64 (VGG16), got width={width}")
        chans = [width * f for f in STAGE_FACTORS]
        ins = [in_channels, *chans[:-1]]
        self.encoder = nn.ModuleList(
            EncoderStage(i, o, n) for i, o, n in zip(ins, chans, STAGE_LAYERS, strict=True)
        )
        # Decoder stage k undoes encoder stage k and ends with that stage's input channels.
        head = nn.Conv2d(chans[0], num_classes, 3, padding=1)
        self.decoder = nn.ModuleList(
            DecoderStage(chans[k], ins[k], STAGE_LAYERS[k], final=head if k == 0 else None)
            for k in reversed(range(len(chans)))
        )
        self.multiple = 2 ** len(chans)
        if pretrained:
            self._load_vgg16_bn(in_channels)

    def _load_vgg16_bn(self, in_channels: int) -> None:
        """Copy ImageNet VGG16-BN convolutions and batch norms into the encoder, in order."""
        from torchvision.models import VGG16_BN_Weights, vgg

        state = load_local_weights("vgg16_bn", VGG16_BN_Weights.IMAGENET1K_V1)
        features = vgg.make_layers(vgg.cfgs["D"], batch_norm=True)
        features.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith("features.")})
        theirs = [m for m in features if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
        ours = [m for m in self.encoder.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
        theirs[0] = adapt_first_conv(theirs[0], in_channels)
        with torch.no_grad():
            for src, dst in zip(theirs, ours, strict=True):
                if isinstance(src, nn.Conv2d):
                    dst.weight.copy_(src.weight)
                    bias = src.bias if src.bias is not None else torch.zeros(src.out_channels)
                else:
                    dst.load_state_dict(src.state_dict())
                    dst.running_mean.sub_(bias)  # our convs have no bias: fold VGG's into the BN statistics

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, self.multiple)
        pools: list[torch.Tensor] = []
        for stage in self.encoder:
            x, indices = stage(x)
            pools.append(indices)
        for stage in self.decoder:
            x = stage(x, pools.pop())
        return x[..., :h, :w]


__all__ = ["SegNet"]
