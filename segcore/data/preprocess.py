"""Image preprocessing shared by training and prediction: intensity scaling, resizing, channel matching.

Everything here is plain numpy/Pillow (no torch), so the GUI and the predictor use the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from segcore.errors import DataError

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
# Percentiles are computed on a strided subsample of at most this many pixels (big slides would be slow).
_PERCENTILE_SAMPLES = 1_000_000
_GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as Pillow's "L"
# Per-image standardisation (nnU-Net's z-score for non-CT images) keeps [0, 1] images: each channel gets mean
# UNIT_MEAN and std UNIT_STD, so values beyond STANDARD_CLIP standard deviations are clipped.
UNIT_MEAN, UNIT_STD = 0.5, 1.0 / 6.0
STANDARD_CLIP = UNIT_MEAN / UNIT_STD  # 3
STD_EPS = 1e-6  # added to the std, as bioimage.io's zero_mean_unit_variance does


def _as_hwc(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        return image[:, :, None]
    if image.ndim != 3:
        raise DataError(f"expected an (H, W, C) image, got shape {image.shape}")
    return image


def to_unit(image: np.ndarray, per_image: bool = False) -> np.ndarray:
    """Scale an image to float32 ``(H, W, C)`` in [0, 1].

    uint8 is divided by 255; every other dtype gets a per-channel percentile stretch (0.5 % -> 0, 99.5 % -> 1),
    falling back to min/max when the percentiles coincide. A constant channel becomes 0. ``per_image``: then
    each channel is standardised on its own statistics (:class:`UnitScaling`).
    """
    image = _as_hwc(image)
    return unit_scaling(image, per_image)(image)


@dataclass(frozen=True)
class UnitScaling:
    """How one image's values map to float32 [0, 1], measured on the whole image once so that its tiles can be
    scaled exactly as the whole (prediction cuts tiles; training crops).

    ``limits``: per channel ``(low, high)`` of the percentile stretch, None for uint8 (divided by 255).
    ``stats``: per channel ``(mean, std)`` of the values as stored when the image is instead standardised on its
    own: ``clip((x - mean) / (std + STD_EPS) * UNIT_STD + UNIT_MEAN, 0, 1)``, a per-image z-score clipped at
    ``STANDARD_CLIP`` and moved into [0, 1] (nnU-Net's normalisation for non-CT images, Isensee et al., Nature
    Methods 2021; bioimage.io's ``zero_mean_unit_variance`` + ``clip``). It removes brightness and contrast
    differences between acquisitions. None: not standardised.
    """

    limits: list[tuple[float, float]] | None
    stats: list[tuple[float, float]] | None = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """``image`` (or a tile of it), ``(H, W, C)`` or ``(H, W)`` as stored -> float32 ``(H, W, C)`` in [0, 1]."""
        if self.stats is None:
            return apply_unit(image, self.limits)
        image = _as_hwc(image)
        out = np.empty(image.shape, dtype=np.float32)
        for c, (mean, std) in enumerate(self.stats):
            plane = out[..., c]
            plane[...] = _finite(image[..., c])
            plane -= mean
            plane *= UNIT_STD / (std + STD_EPS)
            plane += UNIT_MEAN
            np.clip(plane, 0.0, 1.0, out=plane)
        return out

    def channel(self, c: int) -> UnitScaling:
        """The scaling of channel ``c`` alone (for an ``(H, W)`` plane of it)."""
        return UnitScaling(None if self.limits is None else self.limits[c:c + 1],
                           None if self.stats is None else self.stats[c:c + 1])


def unit_scaling(image: np.ndarray, per_image: bool = False) -> UnitScaling:
    """The :class:`UnitScaling` of a whole ``(H, W, C)`` or ``(H, W)`` image (statistics of a strided subsample
    of at most a million pixels for big slides)."""
    image = _as_hwc(image)
    if not per_image:
        return UnitScaling(unit_limits(image))
    flat = image.reshape(-1, image.shape[2])
    sample = flat[:: max(1, flat.shape[0] // _PERCENTILE_SAMPLES)]
    return UnitScaling(None, [(float(v.mean()), float(v.std())) for v in
                              (_finite(sample[:, c]).astype(np.float64) for c in range(sample.shape[1]))])


def unit_limits(image: np.ndarray) -> list[tuple[float, float]] | None:
    """The per-channel ``(low, high)`` stretch limits ``to_unit`` uses; None for uint8/bool (fixed scaling).

    Computed once for a whole image, they let a caller scale tiles of it exactly as ``to_unit`` scales the whole.
    """
    image = _as_hwc(image)
    if image.dtype in (np.uint8, np.bool_):
        return None
    flat = image.reshape(-1, image.shape[2])  # a view: H*W rows of C values
    step = max(1, flat.shape[0] // _PERCENTILE_SAMPLES)  # big slides: percentiles of a strided subsample
    return [_stretch_limits(_finite(flat[::step, c])) for c in range(flat.shape[1])]


def apply_unit(image: np.ndarray, limits: list[tuple[float, float]] | None) -> np.ndarray:
    """Scale ``image`` (or a tile of it) to float32 [0, 1] with limits from :func:`unit_limits`."""
    image = _as_hwc(image)
    if limits is None:
        out = image.astype(np.float32)
        if image.dtype == np.uint8:
            out /= 255.0  # in place: no second full-size float copy
        return out
    out = np.empty(image.shape, dtype=np.float32)
    for c, (lo, hi) in enumerate(limits):
        out[..., c] = np.clip((_finite(image[..., c]) - lo) / (hi - lo), 0.0, 1.0) if hi > lo else 0.0
    return out


def _finite(values: np.ndarray) -> np.ndarray:
    return np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def _stretch_limits(sample: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(sample, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if hi <= lo:  # sparse bright objects on a flat background: use the full range
        lo, hi = float(sample.min()), float(sample.max())
    return float(lo), float(hi)


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """``(int(scale * height), int(scale * width))``; DataError for a bad scale or a result under 1 pixel."""
    if not (scale > 0 and np.isfinite(scale)):
        raise DataError(f"scale must be a positive number, got {scale}")
    h, w = int(scale * height), int(scale * width)
    if h < 1 or w < 1:
        raise DataError(f"scale {scale} shrinks a {width}x{height} image (width x height) below one pixel")
    return h, w


def resize_image(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize by ``scale`` (bilinear, anti-aliased when shrinking), keeping dtype and channel layout."""
    image = np.asarray(image)
    size = scaled_size(image.shape[0], image.shape[1], scale)
    if size == image.shape[:2]:
        return image
    return resize_image_to(image, size)


def resize_image_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``(height, width)`` bilinearly; works for any dtype and channel count, keeps the dtype."""
    image = np.asarray(image)
    h, w = int(size[0]), int(size[1])
    if (h, w) == image.shape[:2]:
        return image
    hwc = _as_hwc(image)
    out = np.empty((h, w, hwc.shape[2]), dtype=np.float32)
    for c in range(hwc.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(hwc[..., c], dtype=np.float32))
        out[..., c] = np.asarray(plane.resize((w, h), Image.BILINEAR))
    if image.dtype.kind in "ui":
        info = np.iinfo(image.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    elif image.dtype == bool:
        out = out >= 0.5
    out = out.astype(image.dtype, copy=False)
    return out if image.ndim == 3 else out[..., 0]


def resize_mask(mask: np.ndarray, scale: float) -> np.ndarray:
    """Resize a label mask by ``scale`` with nearest-neighbour sampling (labels are never blended)."""
    mask = np.asarray(mask)
    size = scaled_size(mask.shape[0], mask.shape[1], scale)
    return resize_mask_to(mask, size)


def resize_mask_to(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D (or H,W,...) array to ``(height, width)``, sampling pixel centres."""
    mask = np.asarray(mask)
    h, w = int(size[0]), int(size[1])
    if (h, w) == mask.shape[:2]:
        return mask
    rows = np.minimum(((np.arange(h) + 0.5) * mask.shape[0] / h).astype(np.int64), mask.shape[0] - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * mask.shape[1] / w).astype(np.int64), mask.shape[1] - 1)
    return np.ascontiguousarray(mask[rows][:, cols])


def match_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Convert an ``(H, W, C)`` image to ``channels`` channels.

    1 -> 3 repeats the grey channel, 3 -> 1 takes luma, 4 -> 3 drops alpha, 4 -> 1 drops alpha then takes
    luma. Any other change raises DataError. The dtype is kept.
    """
    image = _as_hwc(image)
    have = image.shape[2]
    if have == channels:
        return image
    if have == 4 and channels in (1, 3):
        return match_channels(image[..., :3], channels)
    if have == 1 and channels == 3:
        return np.repeat(image, 3, axis=2)
    if have == 3 and channels == 1:
        grey = image.astype(np.float32) @ _GREY_WEIGHTS
        if image.dtype.kind in "ui":
            info = np.iinfo(image.dtype)
            grey = np.clip(np.rint(grey), info.min, info.max)
        return grey.astype(image.dtype)[:, :, None]
    raise DataError(f"cannot convert an image with {have} channels to {channels} channels")
