"""The torch Dataset of image/mask pairs: decode once, then crop, pad and augment on the fly.

Preprocessing matches :class:`segcore.inference.Predictor` exactly: ``match_channels`` on the stored image, then
``to_unit``, then ``resize_image`` by ``scale``; masks are resized nearest-neighbour. The decoded arrays live in a
process-wide LRU cache keyed by file identity (path, size, modification time), scale and channel count, so a probe
dataset, the training set and every epoch share one decode, and an edited mask is read again.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from segcore.data import spatial
from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.data.io import read_image, read_mask, read_mask_raw, size_mismatch
from segcore.data.layout import Sample
from segcore.data.preprocess import match_channels, resize_image, resize_mask, to_unit
from segcore.data.separation import instance_target
from segcore.errors import DataError
from segcore.interop.physical import PixelSize, of_file, resample_factor

CACHE_BYTES = 2 * 1024**3  # decoded float32 images kept in memory across datasets and epochs
MIN_STD = 1e-3  # a constant channel must not blow up the normalisation
JITTER = 0.1  # default brightness/contrast jitter: +-10 % (the training plan sets it from the data)
DEFORM_P = 0.5  # share of augmented crops that are also rotated, scaled and deformed (the rest stay sharp)
LOCATIONS_KEPT = 4096  # pixel positions of each class kept per image for class-centred crops

_cache: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
_cache_bytes = 0
_cache_lock = threading.Lock()
_native_channels: dict[tuple, int] = {}  # image file id -> its stored channel count


def clear_cache() -> None:
    """Forget every decoded image (e.g. after files were replaced with the same modification time)."""
    global _cache_bytes
    with _cache_lock:
        _cache.clear()
        _native_channels.clear()
        _cache_bytes = 0


def _file_id(path: os.PathLike) -> tuple:
    try:
        stat = os.stat(path)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    return (os.fspath(path), stat.st_size, stat.st_mtime_ns)


def _cached(key: tuple, load) -> tuple[np.ndarray, ...]:
    global _cache_bytes
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = load()
    size = sum(array.nbytes for array in value)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = value
            _cache_bytes += size
        while _cache_bytes > CACHE_BYTES and len(_cache) > 1:
            _, old = _cache.popitem(last=False)
            _cache_bytes -= sum(array.nbytes for array in old)
    return value


def decode_sample(sample: Sample, spec: ClassSpec, scale: float = 1.0, channels: int | None = None,
                  per_image: bool = False) -> tuple[np.ndarray, ...]:
    """Read, check and preprocess one labelled sample: ``(float32 (h,w,C) in [0,1], uint8 (h,w) indices)``, and
    for instance masks a third array, the float32 (h,w) loss weights of :func:`instance_target`. ``per_image``:
    standardise the image on its own statistics (:func:`segcore.data.preprocess.to_unit`)."""
    if sample.mask is None:
        raise DataError(f"{sample.image}: has no mask to train on")
    image = read_image(sample.image)
    weights = None
    if spec.instances:
        spec.decode(raw := read_mask_raw(sample.mask, spec), source=str(sample.mask))  # checks the values
        mask, weights = instance_target(raw)  # touching objects drawn apart, the gaps weighted
    else:
        mask = read_mask(sample.mask, spec)
    if mask.shape != image.shape[:2]:
        raise size_mismatch(sample.mask, mask.shape, sample.image, image.shape)
    if channels is not None:
        image = match_channels(image, channels)
    arrays = (resize_image(to_unit(image, per_image), scale), resize_mask(mask, scale))
    return arrays if weights is None else (*arrays, resize_mask(weights, scale))


def common_channels(counts: dict[str, int]) -> int:
    """One channel count for images with ``counts`` (name -> channels): grey and RGB mixed become RGB."""
    found = set(counts.values())
    if len(found) <= 1:
        return found.pop() if found else 1
    if found == {1, 3}:
        return 3
    examples = ", ".join(f"{name}: {c}" for name, c in list(counts.items())[:4])
    raise DataError(f"images have different channel counts ({examples}); convert them to one count")


class SegmentationDataset(Dataset):
    """Labelled samples as ``(float32 (C,h,w) normalised, int64 (h,w) with IGNORE_INDEX unlabelled)``; with an
    instance-mask spec a third item, the float32 (h,w) loss weights (:mod:`segcore.data.separation`).

    ``patch_size``: random crop when an image is larger, reflect-pad (mask: IGNORE_INDEX) when smaller, so that
    batches stack. ``augment``: joint random flips and 90-degree rotations, plus mild brightness/contrast jitter.
    ``channels``: convert every image to this count (None: the images' own count, which must agree, grey+RGB ->
    RGB). ``mean``/``std``: per-channel normalisation of the [0,1] images (None: none). Samples without a mask
    are skipped. ``oversample``: the share of crops centred on a pixel of a class picked uniformly among the
    classes the image holds but its commonest (rare classes, and labelled pixels of sparse masks, are then seen often; nnU-Net
    uses 1/3). ``jitter``: the brightness/contrast amplitude of the augmentation. ``deform``: with ``augment``
    and a patch size, the strength in [0, 1] of the random rotation, scaling and elastic deformation applied to
    ``DEFORM_P`` of the crops (:mod:`segcore.data.spatial`; 0: none). ``pixel_size``: resample each image
    stating another physical pixel size to this one (on top of ``scale``; see
    :func:`segcore.interop.physical.resample_factor`); None: every image as stored. ``per_image``: each image
    standardised on its own statistics before anything else (:class:`segcore.data.preprocess.UnitScaling`).
    """

    def __init__(self, samples: Sequence[Sample], spec: ClassSpec, scale: float = 1.0, patch_size: int | None = None,
                 augment: bool = False, channels: int | None = None, mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None, oversample: float = 0.0, jitter: float = JITTER,
                 deform: float = 0.0, pixel_size: PixelSize | None = None, per_image: bool = False):
        self.samples = [s for s in samples if s.mask is not None]
        self.per_image = bool(per_image)
        self.pixel_size, self._scales = pixel_size, {}
        self.spec, self.scale, self.augment = spec, float(scale), augment
        if not (0 <= oversample <= 1 and 0 <= jitter < 1 and 0 <= deform <= 1):
            raise DataError(f"oversample and deform must be in [0, 1] and jitter in [0, 1), got {oversample}, "
                            f"{deform} and {jitter}")
        self.oversample, self.jitter, self.deform = float(oversample), float(jitter), float(deform)
        self._locations: dict[int, list[np.ndarray]] = {}
        if patch_size is not None and int(patch_size) < 1:
            raise DataError(f"patch size must be a positive number of pixels, got {patch_size}")
        self.patch_size = int(patch_size) if patch_size else None
        self._channels = channels
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.maximum(np.asarray(std, dtype=np.float32), MIN_STD)
        self._flips = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()])

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def channels(self) -> int:
        """Input channel count of every item (decodes all images the first time when not given)."""
        if self._channels is None:
            counts = {}
            for sample in self.samples:
                image = self._load(sample, None)[0]
                counts[sample.image.name] = image.shape[2]
            self._channels = common_channels(counts)
        return self._channels

    def _load(self, sample: Sample, channels: int | None) -> tuple[np.ndarray, ...]:
        image_id, mask_id = _file_id(sample.image), _file_id(sample.mask)
        if channels is None:  # the image's own count, once known, names the same cache entry
            channels = _native_channels.get(image_id)
        scale = self._scale_of(sample)
        arrays = None
        if channels is None:  # decoded once to learn the count; the entry below is then this decoding
            arrays = decode_sample(sample, self.spec, scale, None, self.per_image)
            channels = _native_channels[image_id] = arrays[0].shape[2]
        key = (image_id, mask_id, scale, channels, _spec_key(self.spec), self.per_image)
        return _cached(key, lambda: arrays if arrays is not None
                       else decode_sample(sample, self.spec, scale, channels, self.per_image))

    def _scale_of(self, sample: Sample) -> float:
        """``scale`` times the sample's resampling to ``pixel_size`` (its file's header read once)."""
        if self.pixel_size is None:
            return self.scale
        if sample.image not in self._scales:
            self._scales[sample.image] = self.scale * resample_factor(of_file(sample.image), self.pixel_size)
        return self._scales[sample.image]

    def arrays(self, index: int) -> tuple[np.ndarray, ...]:
        """The cached ``[0,1]`` image (h,w,C) and mask (h,w) of item ``index`` (and, for instance masks, the loss
        weights (h,w)), before cropping and normalising."""
        return self._load(self.samples[index], self.channels)

    def sizes(self) -> list[tuple[int, int]]:
        """``(h, w)`` of every item after scaling."""
        return [self.arrays(i)[1].shape for i in range(len(self))]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        image, mask, *weights = self.arrays(index)
        if self.patch_size:
            image, mask, *weights = _pad_to(self.patch_size, image, mask, *weights)
            centre = self._class_pixel(index, mask) if self.oversample and float(torch.rand(1)) < self.oversample \
                else None
            deform = self.deform if self.augment and self.deform and float(torch.rand(1)) < DEFORM_P else 0.0
            image, mask, *weights = _random_crop(self.patch_size, image, mask, *weights, centre=centre,
                                                 deform=deform)
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        y = torch.from_numpy(np.ascontiguousarray(mask)).long()
        w = [torch.from_numpy(np.ascontiguousarray(a)) for a in weights]
        if self.augment:
            x, y, *w = self._augment(x, y, *w)
        if self.mean is not None:
            if len(self.mean) != x.shape[0] or self.std is None or len(self.std) != x.shape[0]:
                raise DataError(f"normalisation has {len(self.mean)} channels but the images have {x.shape[0]}")
            x = (x - torch.from_numpy(self.mean)[:, None, None]) / torch.from_numpy(self.std)[:, None, None]
        return x.float().contiguous(), y.contiguous(), *(a.contiguous() for a in w)

    def _class_pixel(self, index: int, mask: np.ndarray) -> tuple[int, int] | None:
        """A random pixel of a class picked uniformly among those in ``mask`` (the padded mask of ``index``) but
        its commonest."""
        if index not in self._locations:
            flat = mask.ravel()
            found = [np.flatnonzero(flat == c) for c in np.unique(flat[flat != IGNORE_INDEX])]
            if len(found) > 1:  # random crops already find the image's commonest class
                found.remove(max(found, key=len))
            self._locations[index] = [w[np.linspace(0, len(w) - 1, min(len(w), LOCATIONS_KEPT)).astype(np.int64)]
                                      for w in found]
        found = self._locations[index]
        if not found:
            return None
        where = found[int(torch.randint(len(found), (1,)))]
        flat_index = int(where[int(torch.randint(len(where), (1,)))])
        return divmod(flat_index, mask.shape[1])

    def _augment(self, x: torch.Tensor, *targets: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The same flips and quarter turns for the image and its targets (mask, weights); intensity jitter for
        the image only."""
        image, *targets = self._flips(tv_tensors.Image(x), *(tv_tensors.Mask(t) for t in targets))
        square = image.shape[-1] == image.shape[-2]
        turns = int(torch.randint(4, (1,))) if square else 0  # quarter turns would change a non-square shape
        if turns:
            image, *targets = (torch.rot90(t, turns, (-2, -1)) for t in (image, *targets))
        x = image.as_subclass(torch.Tensor)
        brightness = 1 + (torch.rand(1) * 2 - 1) * self.jitter
        contrast = 1 + (torch.rand(1) * 2 - 1) * self.jitter
        mean = x.mean(dim=(-2, -1), keepdim=True)
        x = ((x * brightness - mean) * contrast + mean).clamp(0, 1)
        return x, *(t.as_subclass(torch.Tensor) for t in targets)


def _spec_key(spec: ClassSpec) -> tuple:
    return tuple(spec.values), spec.unlabelled, spec.instances


def _pad_to(size: int, image: np.ndarray, mask: np.ndarray, *weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pad to at least ``size`` in both dimensions: image by reflection, mask with IGNORE_INDEX (so weights, padded
    with 1, do not matter there)."""
    pad_h, pad_w = max(0, size - image.shape[0]), max(0, size - image.shape[1])
    if not (pad_h or pad_w):
        return image, mask, *weights
    widths = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))
    mask = np.pad(mask, widths, constant_values=IGNORE_INDEX)
    weights = tuple(np.pad(w, widths, constant_values=1) for w in weights)
    while pad_h > 0 or pad_w > 0:  # reflection can add at most (side - 1) pixels per pass
        step_h, step_w = min(pad_h, image.shape[0] - 1), min(pad_w, image.shape[1] - 1)
        if (pad_h and not step_h) or (pad_w and not step_w):  # 1-pixel side: nothing to reflect
            image = np.pad(image, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)),
                           mode="edge")
            break
        image = np.pad(image, ((step_h // 2, step_h - step_h // 2), (step_w // 2, step_w - step_w // 2), (0, 0)),
                       mode="reflect")
        pad_h, pad_w = pad_h - step_h, pad_w - step_w
    return image, mask, *weights


def _window(size: int, h: int, w: int, centre: tuple[int, int] | None = None) -> tuple[int, int]:
    """(top, left) of a random ``size`` x ``size`` window of an (h, w) array; with ``centre`` (y, x), a window
    holding that pixel at a random offset from its middle (up to a quarter of the size)."""
    if centre is None:
        top = int(torch.randint(h - size + 1, (1,))) if h > size else 0
        left = int(torch.randint(w - size + 1, (1,))) if w > size else 0
        return top, left
    shift = torch.randint(-(size // 4), size // 4 + 1, (2,))
    top = min(max(0, centre[0] - size // 2 + int(shift[0])), max(0, h - size))
    left = min(max(0, centre[1] - size // 2 + int(shift[1])), max(0, w - size))
    return top, left


def _random_crop(size: int, *arrays: np.ndarray, centre: tuple[int, int] | None = None,
                 deform: float = 0.0) -> tuple[np.ndarray, ...]:
    """The same random ``size`` x ``size`` window of every array (image, mask, weights; see ``_window``). With
    ``deform`` > 0 the window is also rotated, scaled and elastically deformed with that strength
    (:mod:`segcore.data.spatial`)."""
    top, left = _window(size, *arrays[1].shape[:2], centre)
    if deform > 0:
        middle = (top + (size - 1) / 2, left + (size - 1) / 2)
        return spatial.sample(spatial.random_grid(size, middle, deform), *arrays)
    return tuple(a[top:top + size, left:left + size] for a in arrays)


def pad_collate(batch: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    """Stack items of different sizes (whole-image training on images of mixed sizes) into one batch.

    Each item is padded at the bottom and right to the batch's largest height and width: the image by repeating
    its edge, the mask with IGNORE_INDEX (so padding counts in neither loss nor metrics), the loss weights with 1.
    Items of one size are stacked as they are.
    """
    height = max(item[1].shape[-2] for item in batch)
    width = max(item[1].shape[-1] for item in batch)
    fills = (None, IGNORE_INDEX, 1.0)  # image (edge), mask, weights
    columns = []
    for column, fill in zip(zip(*batch, strict=True), fills, strict=False):
        padded = []
        for t in column:
            pad = (0, width - t.shape[-1], 0, height - t.shape[-2])
            if not any(pad):
                padded.append(t)
            elif fill is None:
                padded.append(torch.nn.functional.pad(t[None], pad, mode="replicate")[0])
            else:
                padded.append(torch.nn.functional.pad(t, pad, value=fill))
        columns.append(torch.stack(padded))
    return tuple(columns)


def compute_stats(data: SegmentationDataset | Sequence[np.ndarray]) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation over every pixel.

    ``data`` is a dataset (its [0,1] images before normalisation) or a sequence of ``(H,W,C)`` arrays used as
    they are. Raises DataError when there is nothing to measure or channel counts differ.
    """
    if isinstance(data, SegmentationDataset):
        images = (data.arrays(i)[0] for i in range(len(data)))
    else:
        images = (a[:, :, None] if a.ndim == 2 else a for a in (np.asarray(x) for x in data))
    total = total_sq = None
    count = 0
    for image in images:
        flat = image.reshape(-1, image.shape[-1]).astype(np.float64)
        if total is None:
            total, total_sq = np.zeros(flat.shape[1]), np.zeros(flat.shape[1])
        if flat.shape[1] != len(total):
            raise DataError(f"images have {len(total)} and {flat.shape[1]} channels; cannot pool their statistics")
        total += flat.sum(0)
        total_sq += np.square(flat).sum(0)
        count += flat.shape[0]
    if not count:
        raise DataError("no labelled images to compute normalisation statistics from")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0))
    return [float(m) for m in mean], [float(max(s, MIN_STD)) for s in std]
