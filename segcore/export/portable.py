"""The network as other runtimes run it: eval mode, batch norm folded, softmax included, exportable pooling.

Every exported format (ONNX, TorchScript, the bioimage.io package) wraps the checkpoint's model in
:class:`Probabilities`, so each gives the class probabilities ``(N, K, H, W)`` that segcore's own engines give
and nobody downstream has to know that a softmax follows.

PSPNet's adaptive average pooling has no ONNX form for sizes not known when exporting: ONNX's AveragePool needs a
fixed kernel, and torch's decomposition bakes the example's window indices in. :class:`SumTableAdaptivePool`
computes the same windows (PyTorch's: bin i covers ``[floor(i*n/b), ceil((i+1)*n/b))``) from a cumulative-sum
table whose gather indices follow the input size, so one exported file serves every height and width.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class Probabilities(nn.Module):
    """``softmax(model(x), dim=1)``: ``(N, C, H, W)`` float32 in, ``(N, K, H, W)`` class probabilities out."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.multiple = int(getattr(model, "multiple", 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if isinstance(out, tuple):  # PSPNet in training mode adds its auxiliary logits; exports run in eval
            out = out[0]
        return torch.softmax(out, dim=1)


def _window_sums(x: torch.Tensor, bins: int, dim: int) -> torch.Tensor:
    """Means over PyTorch's adaptive-pooling windows along ``dim`` (2 or 3), from a cumulative-sum table."""
    n = x.shape[dim]
    index = torch.arange(bins, device=x.device)
    start = torch.div(index * n, bins, rounding_mode="floor")
    end = torch.div((index + 1) * n + bins - 1, bins, rounding_mode="floor")
    table = torch.cat([torch.zeros_like(x.narrow(dim, 0, 1)), torch.cumsum(x, dim)], dim)
    sums = table.index_select(dim, end) - table.index_select(dim, start)
    shape = [1, 1, 1, 1]
    shape[dim] = bins
    return sums / (end - start).to(x.dtype).reshape(shape)


class SumTableAdaptivePool(nn.Module):
    """``nn.AdaptiveAvgPool2d(bins)`` that exports to ONNX with dynamic input sizes (see module doc)."""

    def __init__(self, bins: tuple[int, int]):
        super().__init__()
        self.bins = bins

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _window_sums(_window_sums(x, self.bins[0], 2), self.bins[1], 3)


def _swap_adaptive_pools(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.AdaptiveAvgPool2d):
            size = child.output_size
            bins = (size, size) if isinstance(size, int) else tuple(size)
            if None in bins:
                raise ValueError("adaptive pooling that keeps an input size cannot be exported")
            setattr(module, name, SumTableAdaptivePool(bins))
        else:
            _swap_adaptive_pools(child)


def for_export(model: nn.Module, onnx: bool = False) -> Probabilities:
    """A float32 CPU copy of ``model`` in eval mode with batch norm folded, wrapped in :class:`Probabilities`;
    ``onnx=True`` also swaps adaptive pooling for :class:`SumTableAdaptivePool`."""
    from segcore.device import fuse_conv_bn

    model = fuse_conv_bn(copy.deepcopy(model).float().cpu().eval())
    if onnx:
        _swap_adaptive_pools(model)
    for p in model.parameters():
        p.requires_grad_(False)
    return Probabilities(model).eval()
