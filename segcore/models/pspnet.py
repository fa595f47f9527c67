"""PSPNet (Zhao, Shi, Qi, Wang and Jia, 2017): dilated ResNet, pyramid pooling, auxiliary loss.

The backbone is a torchvision ResNet with layer3/layer4 dilated instead of strided (output stride 8). The
pyramid pooling module average-pools the last feature map to 1x1, 2x2, 3x3 and 6x6 bins, reduces each to
``1/len(bins)`` of the features with a 1x1 convolution, upsamples them bilinearly and concatenates them with the
features; a 3x3 conv + BN + ReLU, dropout 0.1 and a 1x1 classifier give logits at 1/8 resolution, upsampled
bilinearly to the input size. In training an auxiliary head on layer3 adds deep supervision (the training loop
weights it 0.4, as in the paper); the model then returns ``(main_logits, aux_logits)``, in eval only the main.

Deviations, on purpose: torchvision's 7x7 stem instead of the paper's three 3x3 convolutions (so torchvision's
ImageNet weights fit); the 1x1 bin has no batch norm, because BN over one value per channel fails in training
with batch size 1 and is meaningless with small batches.

Default backbone: ResNet-50, the depth of the paper's ablation studies (48.9 M parameters, 2.4 M of them in the
training-only aux head), so ``--arch pspnet`` is the paper's model. It is the heaviest default in the registry:
on a 2-core CPU (about 3x slower than the default U-Net per image) or a small GPU pass ``backbone=resnet18``
(12.8 M) or ``resnet34`` (22.9 M); the head then narrows with the backbone (features / 4, as mmsegmentation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segcore.errors import ConfigError
from segcore.models import register
from segcore.models.blocks import ConvBNReLU, pad_to_multiple
from segcore.models.resnet_backbone import dilated_resnet

OUTPUT_STRIDE = 8


class PyramidPooling(nn.Module):
    """Pool to each bin size, 1x1 conv, upsample, concatenate with the input features."""

    def __init__(self, in_ch: int, bins: tuple[int, ...], branch_ch: int):
        super().__init__()
        self.branches = nn.ModuleList(self._branch(in_ch, b, branch_ch) for b in bins)
        self.out_channels = in_ch + len(bins) * branch_ch

    @staticmethod
    def _branch(in_ch: int, bin_size: int, out_ch: int) -> nn.Sequential:
        pool = nn.AdaptiveAvgPool2d(bin_size)
        if bin_size == 1:  # one value per channel: BN would fail with batch 1, so a biased conv instead
            return nn.Sequential(pool, nn.Conv2d(in_ch, out_ch, 1), nn.ReLU(inplace=True))
        return nn.Sequential(pool, ConvBNReLU(in_ch, out_ch, kernel=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = [x.shape[-2], x.shape[-1]]
        pooled = [x]
        for branch in self.branches:
            pooled.append(F.interpolate(branch(x), size=size, mode="bilinear", align_corners=False))
        return torch.cat(pooled, dim=1)


def _classifier(in_ch: int, mid_ch: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(ConvBNReLU(in_ch, mid_ch), nn.Dropout2d(dropout), nn.Conv2d(mid_ch, num_classes, 1))


@register(
    "pspnet", "PSPNet (Zhao 2017): dilated ResNet-50 + pyramid pooling, aux loss; context for large objects"
)
class PSPNet(nn.Module):
    """PSPNet; ``backbone`` is resnet18/34/50/101, ``channels`` the head width (default: backbone features / 4)."""

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        backbone: str = "resnet50",
        pretrained: bool = False,
        bins: tuple[int, ...] = (1, 2, 3, 6),
        channels: int | None = None,
        aux: bool = True,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.multiple = OUTPUT_STRIDE
        bins = tuple(int(b) for b in bins)  # a checkpoint's kwargs may hold a list
        if not bins or min(bins) < 1:
            raise ConfigError(f"pspnet bins must be positive sizes, got {bins}")
        self.backbone, features = dilated_resnet(backbone, in_channels, pretrained)
        channels = channels or features // 4
        self.ppm = PyramidPooling(features, bins, max(1, features // len(bins)))
        self.head = _classifier(self.ppm.out_channels, channels, num_classes, dropout)
        self.aux_head = (
            _classifier(features // 2, max(1, channels // 2), num_classes, dropout) if aux else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x, (h, w) = pad_to_multiple(x, self.multiple)
        size = [x.shape[-2], x.shape[-1]]
        body = self.backbone
        mid = body["layer3"](body["layer2"](body["layer1"](body["stem"](x))))
        logits = self._upsample(self.head(self.ppm(body["layer4"](mid))), size, h, w)
        if self.training and self.aux_head is not None:
            return logits, self._upsample(self.aux_head(mid), size, h, w)
        return logits

    @staticmethod
    def _upsample(logits: torch.Tensor, size: list[int], h: int, w: int) -> torch.Tensor:
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)[..., :h, :w]


__all__ = ["PSPNet"]
