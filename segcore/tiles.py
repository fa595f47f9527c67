"""Overlapping tiles, blended row band by row band, so memory follows the tile size and not the image size.

Tiles are spread evenly over each axis with at least the requested overlap (the last tile is not pushed back
onto its neighbour, so no area is computed three times) and shrunk to what that spacing needs. Each tile's
probabilities are weighted by a separable Hann window, so seams fade out. Rows are finished one band of tiles at
a time: once the next band starts below them nothing can change them, and ``emit`` receives them, in order.
Only one band (``K x tile x W``) is ever held, never the whole ``K x H x W`` probability map.

Plain numpy, so that a prediction engine that does not need torch (ONNX Runtime) runs without importing it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Emit = Callable[[int, np.ndarray], None]  # (first row, probabilities (K, rows, W) float32) -> None


def blend_window(h: int, w: int) -> np.ndarray:
    """Separable Hann-like weights ``(h, w)`` float32, floored so border pixels of the image (covered once) keep
    some weight."""
    def ramp(n: int) -> np.ndarray:
        return np.maximum(np.hanning(n + 2)[1:-1], 1e-3).astype(np.float32)

    return ramp(h)[:, None] * ramp(w)[None, :]


def layout(size: int, tile: int, overlap: int, multiple: int = 1) -> tuple[int, list[int]]:
    """Tile length and start offsets covering ``size`` with tiles of at most ``tile``, overlapping >= ``overlap``.

    The tile shrinks to the smallest length (rounded up to ``multiple``, the model's padding unit) that still
    covers the axis with the same number of tiles; the starts are then spread evenly.
    """
    if size <= tile:
        return size, [0]
    overlap = min(overlap, tile // 2)
    count = math.ceil((size - overlap) / (tile - overlap))
    length = min(tile, overlap + math.ceil((size - overlap) / count))
    length = min(tile, size, -(-length // multiple) * multiple)
    if count == 1:
        return length, [0]
    starts = [round(i * (size - length) / (count - 1)) for i in range(count)]
    return length, starts


def run_banded(predict: Callable[[int, int, int, int], np.ndarray], height: int, width: int,
               num_classes: int, emit: Emit, tile: int, overlap: int, multiple: int = 1) -> None:
    """Blend ``predict(y, x, h, w) -> (K, h, w)`` probabilities over the image; ``emit`` finished row bands.

    Every row of the image is emitted exactly once, top to bottom, as a ``(K, rows, width)`` float32 tensor of
    blended probabilities (the array is reused afterwards: copy what you keep).
    """
    th, ys = layout(height, tile, overlap, multiple)
    tw, xs = layout(width, tile, overlap, multiple)
    window = blend_window(th, tw)
    acc = np.zeros((num_classes, th, width), dtype=np.float32)
    weight = np.zeros((th, width), dtype=np.float32)
    top = ys[0]
    for band, y in enumerate(ys):
        shift = y - top
        if shift:  # the rows above y were emitted: move the overlap up, clear the rest
            acc[:, :th - shift] = acc[:, shift:].copy()
            weight[:th - shift] = weight[shift:].copy()
            acc[:, th - shift:] = 0
            weight[th - shift:] = 0
            top = y
        for x in xs:
            acc[:, :, x:x + tw] += predict(y, x, th, tw) * window
            weight[:, x:x + tw] += window
        done = ys[band + 1] if band + 1 < len(ys) else height
        rows = done - top
        emit(top, acc[:, :rows] / weight[:rows])
