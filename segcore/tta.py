"""Test-time augmentation: average the class probabilities over the 8 flips and quarter turns of a tile.

Microscopy has no "up", so the network's output for a rotated or mirrored tile, turned back, is as valid as for
the tile itself; averaging the 8 (the dihedral group D4) cancels much of the orientation-dependent error, the
way the U-Net paper's and nnU-Net's mirroring does. Works on top of any engine: ``forward`` is any function from
a normalised batch ``(N, C, h, w)`` to probabilities ``(N, K, h, w)``; tiles of any shape (a turned non-square
tile is just another shape for a fully convolutional network).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

# (quarter turns, flip left-right) of the dihedral group D4
TRANSFORMS: tuple[tuple[int, bool], ...] = tuple((k, f) for f in (False, True) for k in range(4))


def _apply(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    if flip:
        x = x.flip(-1)
    return torch.rot90(x, turns, (-2, -1)) if turns else x


def _invert(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    if turns:
        x = torch.rot90(x, -turns, (-2, -1))
    return x.flip(-1) if flip else x


def averaged(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
             transforms=TRANSFORMS) -> torch.Tensor:
    """Mean of ``forward`` over ``transforms`` of ``x`` (N, C, h, w), each turned back: (N, K, h, w)."""
    total = None
    for turns, flip in transforms:
        out = _invert(forward(_apply(x, turns, flip)), turns, flip)
        total = out if total is None else total.add_(out)
    return total / len(transforms)
