"""Mask values that a lossy or resampled file produced, read back as the class values they stand for.

A binary mask saved as JPEG (quality 75) comes back with some 60 grey levels clustered around 0 and 255; a mask
resized with bilinear interpolation has ramps of in-between values along every edge; a JPEG mask converted to PNG
later keeps the JPEG's values. None of those values is a class. They are recognised by the file format (JPEG is
lossy) or by how they look (many distinct values, few pixels, all on the borders between class regions), and each
is snapped to the nearest class value; values outside the span of the class values snap only when within
``SNAP_RADIUS`` grey levels of one. Anything else is left alone, so a genuine rare class is never merged away.

``class_values`` finds the class values such noise clusters around (for folders without ``classes.json``);
``snap`` moves one mask's values. Both work on 8-bit value ranges: 16-bit and instance masks are never lossy here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

LOSSY_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")
SNAP_RADIUS = 40  # grey levels: JPEG at quality 50-90 moves a flat 0 or 255 region's edges up to ~37 levels
MIN_CLASS_SHARE = 0.001  # a cluster centre holds at least this share of all mask pixels
MIN_DOMINANCE = 0.3  # ... and at least this share of the pixels within SNAP_RADIUS of it
MAX_NOISE_SHARE = 0.2  # snapped pixels are at most this share of a file's pixels (they are edges, not regions)
MIN_NOISE_VALUES = 3  # a lossless file needs this many distinct stray values before they count as noise
MAX_INTERIOR_SHARE = 0.25  # ... and at most this share of its stray pixels inside a region of their own value


def is_lossy_file(path: str | os.PathLike) -> bool:
    """True for files in a lossy format (JPEG), whose mask values are never exact."""
    return Path(path).suffix.lower() in LOSSY_SUFFIXES


def class_values(histogram: np.ndarray, lossy: bool = False) -> list[int] | None:
    """The class values that lossy or resampled mask values cluster around, or None when they do not.

    ``histogram`` counts the pixels of each value 0..255 over the masks. Centres are taken greedily, most frequent
    first, at least ``SNAP_RADIUS + 1`` apart; each must dominate its neighbourhood (noise spreads thinly around a
    class value; classes 0, 1, 2 side by side do not cluster, and a JPEG cannot keep them apart) and together
    they must hold all but ``MAX_NOISE_SHARE`` of the pixels. For a ``lossy`` file (JPEG), whose small regions
    can be all noise, groups of values with an empty gap of ``MIN_GAP`` levels between them count as well,
    each standing for its most frequent value. None unless there are two centres and every pixel lies within reach of one.
    """
    counts = np.asarray(histogram, dtype=np.int64)
    total = int(counts.sum())
    if total == 0 or len(counts) > 256:
        return None
    counts = np.pad(counts, (0, 256 - len(counts)))
    centres = _dominant(counts, total) or (_separated(counts, total) if lossy else None)
    if not centres:
        return None
    reach = _snap_table(centres, 256)
    if (counts[reach < 0] > 0).any():
        return None  # values far from every centre: not noise around classes
    return centres


def _dominant(counts: np.ndarray, total: int) -> list[int] | None:
    remaining, centres = counts.copy(), []
    while remaining.any():
        value = int(remaining.argmax())
        near = slice(max(0, value - SNAP_RADIUS), value + SNAP_RADIUS + 1)
        if counts[value] < MIN_CLASS_SHARE * total or counts[value] < MIN_DOMINANCE * counts[near].sum():
            break
        centres.append(value)
        remaining[near] = 0
    if len(centres) < 2 or counts[centres].sum() < (1 - MAX_NOISE_SHARE) * total:
        return None
    return sorted(centres)


MIN_GAP = 16  # empty grey levels between two clusters of a JPEG mask's values


def _separated(counts: np.ndarray, total: int) -> list[int] | None:
    occupied = counts >= max(1, total * 1e-4)  # a few stray pixels do not join two clusters
    groups, start, gap = [], None, 0
    for value in range(257):
        if value < 256 and occupied[value]:
            start, gap = (value if start is None else start), 0
            end = value
        elif start is not None:
            gap += 1
            if gap >= MIN_GAP or value == 256:
                groups.append((start, end))
                start = None
    if len(groups) < 2 or any(b - a > 2 * SNAP_RADIUS for a, b in groups):
        return None
    return [a + int(counts[a:b + 1].argmax()) for a, b in groups]


def _snap_table(targets: list[int], size: int) -> np.ndarray:
    """Value -> the target value it snaps to (-1: none); between two targets the nearer one, outside them within
    ``SNAP_RADIUS``."""
    values = np.arange(size)
    targets_arr = np.asarray(targets)
    nearest = targets_arr[np.abs(values[:, None] - targets_arr[None, :]).argmin(axis=1)]
    inside = (values >= targets_arr.min()) & (values <= targets_arr.max())
    return np.where(inside | (np.abs(values - nearest) <= SNAP_RADIUS), nearest, -1)


def snap(raw: np.ndarray, targets: list[int], lossy: bool) -> tuple[np.ndarray, int]:
    """Snap the values of mask ``raw`` that are not in ``targets`` (the class values, and the unlabelled value)
    to the nearest target; returns the mask and how many pixels moved.

    A ``lossy`` file (JPEG) always snaps what lies within reach; a lossless one only when its stray values look
    like noise (see the module docstring). Values that do not snap stay, for the caller's usual error.
    """
    targets = sorted(int(t) for t in targets)
    if raw.dtype.kind not in "ui" or not raw.size or int(raw.max()) > 255 or not targets or targets[-1] > 255:
        return raw, 0
    table = _snap_table(targets, 256)
    exact = np.zeros(256, dtype=bool)
    exact[targets] = True
    stray = ~exact[raw]  # one lookup per pixel: this runs on every mask read
    if not stray.any():
        return raw, 0
    if not lossy and not _looks_like_noise(raw, stray):
        return raw, 0
    moved = stray & (table[raw] >= 0)
    out = raw.copy()
    out[moved] = table[raw[moved]].astype(raw.dtype)
    return out, int(moved.sum())


def _looks_like_noise(raw: np.ndarray, stray: np.ndarray) -> bool:
    """Stray values as lossy encoding or resampling leaves them: several distinct ones, few pixels, and those on
    borders (a region painted in a value of its own has an inside)."""
    if stray.mean() > MAX_NOISE_SHARE or len(np.unique(raw[stray])) < MIN_NOISE_VALUES:
        return False
    same = np.ones(raw.shape, dtype=bool)  # every 4-neighbour holds the same value
    same[1:] &= raw[1:] == raw[:-1]
    same[:-1] &= raw[:-1] == raw[1:]
    same[:, 1:] &= raw[:, 1:] == raw[:, :-1]
    same[:, :-1] &= raw[:, :-1] == raw[:, 1:]
    return (same & stray).sum() <= MAX_INTERIOR_SHARE * stray.sum()
