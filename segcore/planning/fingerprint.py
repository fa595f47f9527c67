"""Dataset fingerprint: what a folder's images and masks are like, measured once before planning.

Sizes, channels, bit depth and intensity percentiles of the images; per class its pixel share, how many images
hold it, its objects' size and its thickness (twice the median distance-transform value on the class's medial
ridge, so a 5-pixel membrane measures about 5 whatever its length); how much of each mask is labelled at all
(sparse scribbles versus dense masks) and whether masks are instance ids. Large folders are sampled: at most
``MAX_IMAGES`` labelled images, spread evenly, and masks larger than ``MAX_SIDE`` are measured on a strided
subsample with lengths scaled back.

The physical pixel size each labelled image states (OME or ImageJ TIFF, OME-Zarr; from the header) is recorded.
When they differ, lengths (sizes, diameters, thickness) are given at the median pixel size, as the images will
be resampled to it for training (nnU-Net measures shapes after resampling to its target spacing the same way).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.errors import DataError
from segcore.interop.physical import PixelSize, median_pixel_size, of_file, resample_factor

MAX_IMAGES = 24  # labelled images measured at most (spread over the folder)
MAX_SIDE = 1024  # masks with a longer side are measured on a strided subsample


@dataclass
class ClassStats:
    """One class of the fingerprint. Lengths in pixels of the stored image (before any ``--scale``)."""

    name: str
    pixel_fraction: float  # share of labelled pixels
    image_fraction: float  # share of labelled images holding the class
    objects_per_image: float  # connected regions per image (median over images holding the class)
    object_diameter: float  # median equivalent diameter of its connected regions
    object_diameter_p90: float
    thickness: float  # twice the median distance-transform value on the class's ridge


@dataclass
class Fingerprint:
    """What a training folder is like. ``to_dict``/``from_dict`` round-trip through JSON."""

    data: str
    images: int  # image files found
    labelled: int  # of which have a mask
    measured: int  # labelled images measured here
    median_size: tuple[int, int]  # (height, width)
    min_size: tuple[int, int]
    max_size: tuple[int, int]
    channels: int
    dtype: str  # of the stored images, e.g. uint8, uint16
    bit_depth: int  # bits actually used (a 12-bit camera in a 16-bit file says 12)
    percentiles: list[list[float]]  # per channel: [p0.5, p50, p99.5] of the stored values
    mean_spread: float  # coefficient of variation of the per-image mean intensity (0 = all alike)
    labelled_fraction: float  # share of mask pixels that carry a class (1.0 = dense masks)
    instances: bool
    classes: list[ClassStats] = field(default_factory=list)
    seconds: float = 0.0
    # image path (relative to ``data``) -> [y, x] µm per pixel, for each labelled image that states one
    pixel_sizes: dict[str, list[float]] = field(default_factory=dict)

    def stated_pixel_sizes(self) -> list[PixelSize]:
        """The pixel sizes the labelled images state (one per image stating one)."""
        return [PixelSize(y, x) for y, x in self.pixel_sizes.values()]

    @property
    def sparse(self) -> bool:
        """Scribbles or partial masks: less than half of the pixels labelled."""
        return self.labelled_fraction < 0.5

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Fingerprint:
        d = dict(d)
        d["classes"] = [ClassStats(**c) for c in d.get("classes", [])]
        for key in ("median_size", "min_size", "max_size"):
            d[key] = tuple(d[key])
        return cls(**d)


def _spread(items: list, count: int) -> list:
    if len(items) <= count:
        return items
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count)]


def _ridge_thickness(region: np.ndarray) -> float:
    """Twice the median distance-transform value on the region's ridge (its local maxima), in pixels."""
    from scipy import ndimage

    if not region.any():
        return float("nan")
    dist = ndimage.distance_transform_edt(region)
    ridge = region & (dist >= ndimage.maximum_filter(dist, size=3))
    return float(2 * np.median(dist[ridge])) if ridge.any() else float("nan")


def _object_diameters(region: np.ndarray) -> tuple[int, list[float]]:
    """Connected regions of a boolean mask and their equivalent diameters (pixels)."""
    from scipy import ndimage

    labels, count = ndimage.label(region)
    if not count:
        return 0, []
    areas = np.bincount(labels.ravel())[1:]
    return count, [float(2 * np.sqrt(a / np.pi)) for a in areas if a > 0]


def _bit_depth(top: float, dtype: np.dtype) -> int:
    if dtype.kind == "f":
        return 32
    return max(1, int(np.ceil(np.log2(float(top) + 1)))) if top > 0 else 1


def _name(data, image) -> str:
    return os.path.relpath(image, data) if os.path.isdir(data) else os.path.basename(image)


def fingerprint(data: str | os.PathLike, samples=None, spec: ClassSpec | None = None) -> Fingerprint:
    """Measure the folder ``data`` (any layout ``segcore train`` reads).

    ``samples``/``spec`` may be passed when the caller has them already. Raises DataError when no image has a
    mask. Takes about a second per 10 megapixels of sampled masks.
    """
    from segcore.data.io import read_image, read_mask, read_mask_raw
    from segcore.data.layout import find_samples, load_class_spec

    start = time.perf_counter()
    samples = samples if samples is not None else find_samples(data)
    labelled = [s for s in samples if s.mask is not None]
    if not labelled:
        raise DataError(f"{data}: no image has a mask; annotate at least one image to plan a training run")
    spec = spec or load_class_spec(data, samples)
    chosen = _spread(labelled, MAX_IMAGES)
    stated = {s.image: size for s in labelled if (size := of_file(s.image)) is not None}  # headers only
    target = median_pixel_size(list(stated.values()))
    k = spec.num_classes
    sizes, means, counts = [], [], np.zeros(k, dtype=np.int64)
    holds = np.zeros(k)
    objects, diameters, thickness = ([[] for _ in range(k)] for _ in range(3))
    channels, dtype, values, labelled_px, total_px = 1, np.dtype(np.uint8), [], 0, 0
    for sample in chosen:
        image = read_image(sample.image)
        resample = resample_factor(stated.get(sample.image), target)  # lengths at the median pixel size
        sizes.append(tuple(round(n * resample) for n in image.shape[:2]))
        channels, dtype = (image.shape[2] if image.ndim == 3 else 1), image.dtype
        flat = image.reshape(-1, channels)
        step = max(1, flat.shape[0] // 200_000)
        values.append(flat[::step].astype(np.float64))
        means.append(float(flat[::step].mean()))
        mask = read_mask(sample.mask, spec)
        if spec.instances:  # objects are the ids, not the connected regions of "object"
            ids = read_mask_raw(sample.mask, spec)
        stride = max(1, int(np.ceil(max(mask.shape) / MAX_SIDE)))
        mask = mask[::stride, ::stride]
        valid = mask != IGNORE_INDEX
        labelled_px += int(valid.sum())
        total_px += mask.size
        counts += np.bincount(mask[valid].ravel(), minlength=k)[:k]
        for c in range(k):
            region = mask == c
            if not region.any():
                continue
            holds[c] += 1
            if spec.instances and c == 1:
                sub = ids[::stride, ::stride]
                areas = np.bincount(sub[sub > 0].ravel().astype(np.int64))
                areas = areas[areas > 0]
                n, d = len(areas), [float(2 * np.sqrt(a / np.pi)) for a in areas]
            else:
                n, d = _object_diameters(region)
            objects[c].append(n)
            diameters[c].extend(x * stride * resample for x in d)
            thickness[c].append(_ridge_thickness(region) * stride * resample)
    pooled = np.concatenate(values)
    pct = np.percentile(pooled, [0.5, 50, 99.5], axis=0).T
    classes = []
    for c in range(k):
        d = diameters[c]
        t = [x for x in thickness[c] if np.isfinite(x)]
        classes.append(ClassStats(
            name=spec.names[c], pixel_fraction=float(counts[c] / max(1, counts.sum())),
            image_fraction=float(holds[c] / len(chosen)),
            objects_per_image=float(np.median(objects[c])) if objects[c] else 0.0,
            object_diameter=float(np.median(d)) if d else 0.0,
            object_diameter_p90=float(np.percentile(d, 90)) if d else 0.0,
            thickness=float(np.median(t)) if t else 0.0))
    hw = np.array(sizes)
    return Fingerprint(
        data=str(data), images=len(samples), labelled=len(labelled), measured=len(chosen),
        median_size=tuple(int(v) for v in np.median(hw, axis=0)), min_size=tuple(int(v) for v in hw.min(0)),
        max_size=tuple(int(v) for v in hw.max(0)), channels=int(channels), dtype=str(dtype),
        bit_depth=_bit_depth(float(pooled.max()), dtype), percentiles=[[float(v) for v in row] for row in pct],
        mean_spread=float(np.std(means) / max(abs(np.mean(means)), 1e-9)),
        labelled_fraction=float(labelled_px / max(1, total_px)), instances=bool(spec.instances),
        classes=classes, seconds=time.perf_counter() - start,
        pixel_sizes={_name(data, image): [size.y, size.x] for image, size in stated.items()})
