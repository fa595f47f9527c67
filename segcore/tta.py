"""Test-time augmentation: average the class probabilities over the 8 flips and quarter turns of a tile.

Microscopy has no "up", so the network's output for a rotated or mirrored tile, turned back, is as valid as for
the tile itself; averaging the 8 (the dihedral group D4) cancels much of the orientation-dependent error, the
way the U-Net paper's and nnU-Net's mirroring does. Works on top of any engine: ``forward`` is any function from
a normalised batch ``(N, C, h, w)`` to probabilities ``(N, K, h, w)``, numpy arrays (the prediction engines,
``segcore.engines``) or torch tensors; tiles of any shape (a turned non-square tile is just another shape for a
fully convolutional network).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# (quarter turns, flip left-right) of the dihedral group D4
TRANSFORMS: tuple[tuple[int, bool], ...] = tuple((k, f) for f in (False, True) for k in range(4))


def _flip(x):
    return np.flip(x, -1) if isinstance(x, np.ndarray) else x.flip(-1)


def _turn(x, turns: int):
    if isinstance(x, np.ndarray):
        return np.rot90(x, turns, (-2, -1))
    import torch

    return torch.rot90(x, turns, (-2, -1))


def _apply(x, turns: int, flip: bool):
    if flip:
        x = _flip(x)
    x = _turn(x, turns) if turns else x
    return np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x  # engines take contiguous batches


def _invert(x, turns: int, flip: bool):
    if turns:
        x = _turn(x, -turns)
    return _flip(x) if flip else x


def averaged(forward: Callable, x, transforms=TRANSFORMS):
    """Mean of ``forward`` over ``transforms`` of ``x`` (N, C, h, w), each turned back: (N, K, h, w)."""
    total = None
    for turns, flip in transforms:
        out = _invert(forward(_apply(x, turns, flip)), turns, flip)
        total = out + 0 if total is None else total.__iadd__(out)  # ``+ 0``: a copy the sum can own
    return total / len(transforms)
