"""U-Net (Ronneberger et al., 2015) with batch norm.

Same-padded convolutions so the output matches the input size (the paper's valid convolutions and overlap-tile
strategy are replaced by padding and our own tiled inference). Inputs of any size are padded to a multiple of
``2**depth`` and cropped back.
"""

from __future__ import annotations

import torch
from torch import nn

from segcore.models import register
from segcore.models.blocks import ConvBNReLU, pad_to_multiple


class DoubleConv(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, dropout: float = 0.0):
        layers = [ConvBNReLU(in_ch, out_ch), ConvBNReLU(out_ch, out_ch)]
        if dropout:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class Up(nn.Module):
    """Upsample (transposed conv as in the paper, or bilinear), concatenate the skip, double conv."""

    def __init__(self, in_ch: int, out_ch: int, bilinear: bool):
        super().__init__()
        if bilinear:
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_ch, in_ch // 2, 1, bias=False),
            )
        else:
            self.up = nn.ConvTranspose2d(in_ch, in_ch // 2, 2, stride=2)
        self.conv = DoubleConv(in_ch, out_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


@register("unet", "U-Net (Ronneberger 2015) with batch norm; the default, strong on thin structures and cells")
class UNet(nn.Module):
    """U-Net with configurable ``width`` (channels of the first level, doubled per level) and ``depth``."""

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        width: int = 32,
        depth: int = 4,
        bilinear: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError("depth and width must be at least 1")
        chans = [width * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, chans[0])
        self.downs = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), DoubleConv(chans[i], chans[i + 1], dropout if i == depth - 1 else 0))
            for i in range(depth)
        )
        self.ups = nn.ModuleList(Up(chans[i + 1], chans[i], bilinear) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], num_classes, 1)
        self.multiple = 2**depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, self.multiple)
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.ups:
            y = up(y, skips.pop())
        return self.head(y)[..., :h, :w]


__all__ = ["UNet"]
