"""Footprints of the annotation tools on numpy masks: brush strokes, flood fill, polygon fill.

Coordinates are floats in image pixels, ``(x, y)`` with pixel ``(col, row)`` covering ``[col, col+1) x
[row, row+1)``, so pixel centres sit at ``col + 0.5``. A footprint is the set of pixels a tool touches, as a
bounding box plus a boolean selection; :func:`apply_footprint` writes a value there.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import NamedTuple

import numpy as np

from segcore.data.classes import IGNORE_INDEX
from segcore.errors import DataError

Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), end exclusive


class Tool(str, Enum):
    """The annotation tools; the first three paint along a stroke, fill and polygon act on a region."""

    BRUSH = "brush"
    ERASER = "eraser"
    UNLABELLED = "unlabelled"
    FILL = "fill"
    POLYGON = "polygon"

    @property
    def paints(self) -> bool:
        return self in (Tool.BRUSH, Tool.ERASER, Tool.UNLABELLED)


def tool_value(tool: Tool, class_index: int) -> int:
    """The mask value ``tool`` writes: 0 for the eraser, IGNORE_INDEX for unlabelled, else the chosen class."""
    if tool is Tool.ERASER:
        return 0
    if tool is Tool.UNLABELLED:
        return IGNORE_INDEX
    return class_index


class Footprint(NamedTuple):
    """Pixels a tool touches: ``sel`` (bool, h x w) placed at row ``y0``, column ``x0``."""

    y0: int
    x0: int
    sel: np.ndarray

    @property
    def box(self) -> Box:
        h, w = self.sel.shape
        return (self.y0, self.x0, self.y0 + h, self.x0 + w)


def check_mask(mask: np.ndarray) -> None:
    """Raise DataError unless ``mask`` is a 2-D uint8 array of class indices."""
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise DataError(f"a mask must be a 2-D uint8 array, got {mask.dtype} with shape {mask.shape}")


def _trimmed(y0: int, x0: int, sel: np.ndarray) -> Footprint | None:
    """The footprint cropped to the bounding box of its selected pixels (None when empty)."""
    rows, cols = np.flatnonzero(sel.any(axis=1)), np.flatnonzero(sel.any(axis=0))
    if len(rows) == 0:
        return None
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return Footprint(y0 + r0, x0 + c0, sel[r0:r1, c0:c1])


def line_footprint(shape: tuple[int, int], p0: Sequence[float], p1: Sequence[float],
                   size: float) -> Footprint | None:
    """Pixels whose centre lies within ``size / 2`` of the segment ``p0 -> p1`` (a disc swept along it).

    A click is a segment of length zero (one disc). Returns None when the stroke lies outside the image.
    """
    radius = max(float(size), 1.0) / 2.0
    (x0, y0), (x1, y1) = (float(p0[0]), float(p0[1])), (float(p1[0]), float(p1[1]))
    h, w = shape
    c0 = max(int(np.floor(min(x0, x1) - radius)), 0)
    c1 = min(int(np.ceil(max(x0, x1) + radius)) + 1, w)
    r0 = max(int(np.floor(min(y0, y1) - radius)), 0)
    r1 = min(int(np.ceil(max(y0, y1) + radius)) + 1, h)
    if c0 >= c1 or r0 >= r1:
        return None
    px = np.arange(c0, c1, dtype=np.float64)[None, :] + 0.5 - x0
    py = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5 - y0
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    # Projection of each pixel centre on the segment, clamped to its ends.
    t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 > 0 else np.zeros((1, 1))
    dist2 = (px - t * dx) ** 2 + (py - t * dy) ** 2
    return _trimmed(r0, c0, dist2 <= radius * radius)


def _runs(match: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of True as (row, start, end) arrays, sorted row-major (end exclusive)."""
    h, w = match.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = match
    diff = np.diff(padded, axis=1)
    rows, starts = np.nonzero(diff == 1)
    _, ends = np.nonzero(diff == -1)
    return rows, starts, ends


def _expand(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Concatenate the index ranges ``[first[i], last[i])`` without a Python loop."""
    counts = np.maximum(last - first, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(first, counts) + (np.arange(total) - offsets)


def flood_footprint(mask: np.ndarray, point: Sequence[float]) -> Footprint | None:
    """The 4-connected region of pixels equal to the value under ``point`` ((x, y) floats).

    Works on runs of equal pixels: each run's overlapping runs in the rows above and below are found with
    vectorised binary searches, then a breadth-first search over runs, one whole frontier per numpy step.
    An empty 4096 x 4096 mask fills in under half a second; pure noise (3.5 million runs) in a few seconds.
    Returns None when the point is outside the mask.
    """
    check_mask(mask)
    h, w = mask.shape
    col, row = int(np.floor(point[0])), int(np.floor(point[1]))
    if not (0 <= row < h and 0 <= col < w):
        return None
    rows, starts, ends = _runs(mask == mask[row, col])
    # Row-major keys make the searches global: run j overlaps run i of the next row when end_j > start_i and
    # start_j < end_i, and both keys are sorted over the whole image.
    stride = w + 1
    start_key, end_key = rows * stride + starts, rows * stride + ends
    neighbours = []
    for step in (1, -1):
        first = np.searchsorted(end_key, (rows + step) * stride + starts, side="right")
        last = np.searchsorted(start_key, (rows + step) * stride + ends, side="left")
        neighbours.append((first, last))
    seed = int(np.searchsorted(start_key, row * stride + col, side="right")) - 1
    seen = np.zeros(len(rows), dtype=bool)
    seen[seed] = True
    frontier = np.array([seed])
    while frontier.size:
        found = np.concatenate([_expand(first[frontier], last[frontier]) for first, last in neighbours])
        frontier = np.unique(found[~seen[found]])
        seen[frontier] = True
    fr, fs, fe = rows[seen], starts[seen], ends[seen]
    y0, x0 = int(fr.min()), int(fs.min())
    # Runs in a row never touch, so +1 at each start and -1 at each end never collide; a cumulative sum
    # along the row then marks the inside of every run.
    edges = np.zeros((int(fr.max()) - y0 + 1, int(fe.max()) - x0 + 1), dtype=np.int8)
    edges[fr - y0, fs - x0] = 1
    edges[fr - y0, fe - x0] = -1
    sel = np.cumsum(edges, axis=1, dtype=np.int8)[:, :-1] > 0
    return Footprint(y0, x0, sel)


def polygon_footprint(shape: tuple[int, int], points: Sequence[Sequence[float]]) -> Footprint | None:
    """Pixels whose centre lies inside the closed polygon ``points`` ((x, y) floats), even-odd rule.

    Scanline rasterisation: per pixel row, the crossings of every edge with the row's centre line, sorted and
    filled in pairs. Fewer than three points or a polygon outside the image gives None.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return None
    h, w = shape
    r0 = max(int(np.floor(pts[:, 1].min())), 0)
    r1 = min(int(np.ceil(pts[:, 1].max())) + 1, h)
    c0 = max(int(np.floor(pts[:, 0].min())), 0)
    c1 = min(int(np.ceil(pts[:, 0].max())) + 1, w)
    if r0 >= r1 or c0 >= c1:
        return None
    xa, ya = pts[:, 0], pts[:, 1]
    xb, yb = np.roll(xa, -1), np.roll(ya, -1)
    yc = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5  # (rows, 1) against (edges,)
    crosses = (ya <= yc) != (yb <= yc)  # half-open rule: a vertex on the line counts once
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = xa + (yc - ya) * (xb - xa) / (yb - ya)
    xs = np.where(crosses, xs, np.inf)
    xs.sort(axis=1)
    sel = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    centres = np.arange(c0, c1, dtype=np.float64) + 0.5
    counts = crosses.sum(axis=1)
    for i in np.flatnonzero(counts):
        row_x = xs[i, : counts[i]]
        # A centre is inside when an odd number of crossings lie left of it.
        inside = (np.searchsorted(row_x, centres, side="right") % 2).astype(bool)
        sel[i] = inside
    return _trimmed(r0, c0, sel)


def apply_footprint(mask: np.ndarray, footprint: Footprint | None, value: int) -> Box | None:
    """Write ``value`` over the footprint in place; the box that changed, or None if nothing did."""
    check_mask(mask)
    if footprint is None:
        return None
    y0, x0, y1, x1 = footprint.box
    region = mask[y0:y1, x0:x1]
    changed = footprint.sel & (region != value)
    if not changed.any():
        return None
    region[changed] = value
    return footprint.box
