"""Dense-CRF refinement (Krähenbühl & Koltun 2011) of class probabilities, through pydensecrf.

``refine(image, probabilities, params)`` returns refined probabilities and the mask; the pairwise terms are a
Gaussian kernel on pixel position (smoothness) and a bilateral kernel on position and intensity (edges).

How images feed the bilateral term (``bilateral_features``): intensities are put on a 0-255 scale, so
``bilateral_srgb`` means the same for every image type. uint8 is used as is; uint16, float and other types are
stretched per channel between their 0.5 and 99.5 percentiles (``segcore.data.preprocess.to_unit``, the same
mapping the networks see). Greyscale images give a single intensity channel (not replicated, so a grey step of
``bilateral_srgb`` is one standard deviation); 2-3 channels are used as they are; more than 3 channels are
reduced to their first 3 principal components (an orthonormal projection, so distances keep the 0-255 scale).

pydensecrf (PyPI ``pydensecrf2``) is imported lazily: ``import segcore.crf`` always works and only asking for a
refinement raises :class:`~segcore.errors.CRFUnavailableError` with the install command.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import asdict, dataclass, fields
from types import ModuleType

import numpy as np

from segcore.data.classes import IGNORE_INDEX
from segcore.errors import ConfigError, CRFUnavailableError, DataError

INSTALL_HINT = "pip install pydensecrf2"
PROBABILITY_FLOOR = 1e-5  # as pydensecrf's unary_from_softmax: -log(0) would be an infinite energy
SUM_TOLERANCE = 1e-2  # probabilities whose class sum is further from 1 are not probabilities (logits?)


@dataclass(frozen=True)
class CRFParams:
    """Parameters of the dense CRF; one object for CLI, GUI and API.

    Widths are in pixels (``*_sxy``) and in intensity steps on the 0-255 scale (``bilateral_srgb``);
    ``*_compat`` weight each kernel (Potts compatibility); 0 switches a kernel off.
    Images with more than ``tile_size**2`` pixels are refined in overlapping tiles to bound memory.
    The defaults are deliberately gentle ("do no harm"): tuned so that they help blob-like objects (nuclei,
    histology) without eroding thin structures (EM membranes); blob-like data gains from a stronger
    ``bilateral_compat`` (3-5). See docs/crf.md for the measurements.
    """

    iterations: int = 5
    gaussian_sxy: float = 3.0
    gaussian_compat: float = 1.0
    bilateral_sxy: float = 80.0
    bilateral_srgb: float = 5.0
    bilateral_compat: float = 1.0
    tile_size: int = 2048

    def __post_init__(self) -> None:
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ConfigError(f"CRF iterations must be a positive integer, got {self.iterations!r}")
        for name in ("gaussian_sxy", "bilateral_sxy", "bilateral_srgb"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"CRF {name} must be a positive number, got {value!r}")
        for name in ("gaussian_compat", "bilateral_compat"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"CRF {name} must be a number >= 0, got {value!r}")
        if not isinstance(self.tile_size, int) or self.tile_size < 64:
            raise ConfigError(f"CRF tile_size must be an integer >= 64, got {self.tile_size!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CRFParams:
        """Build from a dict, ignoring unknown keys (forward compatibility of saved settings)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# The parameters of pydensecrf's examples/inference.py, which produced the published reference outputs.
SCRIBBLE_PARAMS = CRFParams(
    iterations=5, gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=80, bilateral_srgb=13, bilateral_compat=10
)
SCRIBBLE_CONFIDENCE = 0.7  # the examples' gt_prob: how sure a scribbled pixel is of its label


def _densecrf() -> ModuleType:
    """Import ``pydensecrf.densecrf`` or say how to install it."""
    try:
        return importlib.import_module("pydensecrf.densecrf")
    except ImportError as exc:
        raise CRFUnavailableError(
            f"dense-CRF refinement needs pydensecrf, which cannot be imported ({exc}); "
            f"install it with `{INSTALL_HINT}`"
        ) from exc


def require() -> None:
    """Raise CRFUnavailableError (with the install command) unless pydensecrf can be imported."""
    _densecrf()


def is_available() -> bool:
    """True when pydensecrf can be imported (the GUI greys out its CRF controls otherwise)."""
    try:
        _densecrf()
    except CRFUnavailableError:
        return False
    return True


def bilateral_features(image_hwc: np.ndarray) -> np.ndarray:
    """Intensity features ``float32 (C', H, W)`` on a 0-255 scale with ``C' <= 3`` (see the module docstring)."""
    image = np.asarray(image_hwc)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] < 1:
        raise DataError(f"image must be (H, W) or (H, W, C), got shape {image_hwc.shape}")
    if image.dtype == np.uint8:
        scaled = image.astype(np.float32)
    else:
        from segcore.data.preprocess import to_unit

        scaled = to_unit(image).astype(np.float32) * 255.0
    if scaled.shape[2] > 3:
        scaled = _principal_components(scaled, 3)
    return np.ascontiguousarray(scaled.transpose(2, 0, 1))


def _principal_components(image: np.ndarray, count: int) -> np.ndarray:
    """Project ``(H, W, C)`` on its first ``count`` principal axes (orthonormal, so distances keep their scale)."""
    h, w, c = image.shape
    flat = image.reshape(-1, c).astype(np.float64)
    centred = flat - flat.mean(axis=0)
    _, _, axes = np.linalg.svd(np.cov(centred, rowvar=False))
    projected = centred @ axes[:count].T
    projected -= projected.min(axis=0)  # keep features non-negative like plain intensities
    return projected.reshape(h, w, count).astype(np.float32)


def probabilities_from_labels(
    labels: np.ndarray, num_classes: int, confidence: float = SCRIBBLE_CONFIDENCE, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """Sparse labels (scribbles) -> ``float32 (K, H, W)`` probabilities, as pydensecrf's ``unary_from_labels``.

    A labelled pixel gets ``confidence`` for its class and shares the rest among the others; a pixel equal to
    ``ignore_index`` (unlabelled) gets the uniform ``1/K``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise DataError(f"label mask must be 2-D (H, W), got shape {labels.shape}")
    if num_classes < 2:
        raise DataError(f"label mask needs at least 2 classes, got {num_classes}")
    if not 0 < confidence < 1:
        raise ConfigError(f"label confidence must be between 0 and 1 (exclusive), got {confidence}")
    known = labels != ignore_index
    if (labels[known] >= num_classes).any() or (labels[known] < 0).any():
        raise DataError(f"label mask holds values outside 0..{num_classes - 1} (and {ignore_index} = unlabelled)")
    other = (1.0 - confidence) / (num_classes - 1)
    probs = np.full((num_classes, *labels.shape), other, dtype=np.float32)
    rows, cols = np.nonzero(known)
    probs[labels[rows, cols].astype(np.intp), rows, cols] = confidence
    probs[:, ~known] = 1.0 / num_classes
    return probs


def classes_first(probabilities: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Probabilities as ``(K, H, W)`` for an image of ``image_shape`` ``(H, W, ...)``, from the layouts other tools
    save: ``(K, H, W)`` (PyTorch), ``(H, W, K)`` (Keras, scikit-image), either with a leading batch of one, and a
    single ``(H, W)`` or ``(H, W, 1)`` / ``(1, H, W)`` foreground map (sigmoid output, read as ``[1 - p, p]``).

    The image's size decides which axis holds the classes; when it cannot (a square image with as many classes as
    pixels a side), the axis whose values sum to 1 does. Raises DataError naming the expected layout otherwise.
    """
    probs = np.asarray(probabilities)
    h, w = int(image_shape[0]), int(image_shape[1])
    while probs.ndim > 3 and probs.shape[0] == 1:  # a batch of one
        probs = probs[0]
    if probs.shape == (1, h, w) or probs.shape == (h, w, 1):
        probs = probs.reshape(h, w)
    if probs.ndim == 2 and probs.shape == (h, w):
        return np.stack([1 - probs, probs])
    if probs.ndim == 3:
        first, last = probs.shape[1:] == (h, w), probs.shape[:2] == (h, w)
        if first and last:  # (K, K, K) for a K x K image: the classes are the axis that sums to 1
            last = bool(np.abs(probs.sum(axis=-1) - 1).max() < np.abs(probs.sum(axis=0) - 1).max())
            first = not last
        if first:
            return probs
        if last:
            return np.moveaxis(probs, -1, 0)
    raise DataError(f"probabilities of shape {probs.shape} do not fit the {w}x{h} image (width x height); expected "
                    f"(K, {h}, {w}) or ({h}, {w}, K), K classes")


def _check_probabilities(probabilities: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Validate probabilities against the image and return float32 ``(K, H, W)`` summing to 1."""
    probs = classes_first(probabilities, image_shape)
    if probs.shape[0] < 2:
        raise DataError(f"probabilities need at least 2 classes, got {probs.shape[0]}")
    if probs.shape[0] > 255:
        raise DataError(f"at most 255 classes are supported, got {probs.shape[0]}")
    probs = probs.astype(np.float32, copy=False)
    if not np.isfinite(probs).all():
        raise DataError("probabilities contain NaN or infinite values")
    sums = probs.sum(axis=0)
    if probs.min() < -1e-6 or np.abs(sums - 1).max() > SUM_TOLERANCE:
        raise DataError(f"probabilities must lie in [0, 1] and sum to 1 over classes (sums span "
                        f"{sums.min():.3g}..{sums.max():.3g}); pass softmax outputs, not logits")
    return np.clip(probs, 0, None) / sums  # absorb rounding so the unary is exact


def refine(
    image_hwc: np.ndarray, probabilities_khw: np.ndarray, params: CRFParams | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Refine class probabilities with a fully connected CRF over the image.

    Parameters
    ----------
    image_hwc : (H, W) or (H, W, C) array of any dtype (see the module docstring for non-RGB images).
    probabilities_khw : float (K, H, W) class probabilities summing to 1 per pixel, K >= 2; (H, W, K) and the
        other layouts of :func:`classes_first` are accepted.
    params : CRFParams, defaults when None.

    Returns
    -------
    (probabilities float32 (K, H, W), mask uint8 (H, W)) with the input's shape and classes.
    Raises CRFUnavailableError without pydensecrf, DataError on bad inputs.
    """
    params = params or CRFParams()
    dcrf = _densecrf()
    image = np.asarray(image_hwc)
    probs = _check_probabilities(probabilities_khw, image.shape)
    features = bilateral_features(image)
    _, h, w = probs.shape
    if h * w <= params.tile_size**2:
        refined = _refine_window(dcrf, features, probs, params)
    else:
        refined = np.empty_like(probs)
        for core, window in _tiles(h, w, params):
            window_q = _refine_window(dcrf, features[(slice(None), *window)], probs[(slice(None), *window)], params)
            inner = tuple(slice(c.start - wi.start, c.stop - wi.start) for c, wi in zip(core, window, strict=True))
            refined[(slice(None), *core)] = window_q[(slice(None), *inner)]
    return refined, refined.argmax(axis=0).astype(np.uint8)


def _tiles(h: int, w: int, params: CRFParams):
    """Yield (core, window) slice pairs: cores tile the image, windows add a margin of 2 kernel widths."""
    margin = int(math.ceil(2 * max(params.bilateral_sxy, params.gaussian_sxy)))
    step = params.tile_size
    for y in range(0, h, step):
        for x in range(0, w, step):
            core = (slice(y, min(y + step, h)), slice(x, min(x + step, w)))
            window = (slice(max(y - margin, 0), min(y + step + margin, h)),
                      slice(max(x - margin, 0), min(x + step + margin, w)))
            yield core, window


def _refine_window(dcrf: ModuleType, features: np.ndarray, probs: np.ndarray, params: CRFParams) -> np.ndarray:
    """Mean-field inference on one window; features (C', h, w) on 0-255, probs (K, h, w) -> Q (K, h, w)."""
    k, h, w = probs.shape
    crf = dcrf.DenseCRF(h * w, k)
    unary = -np.log(np.maximum(probs, PROBABILITY_FLOOR)).reshape(k, -1)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    yx = np.mgrid[0:h, 0:w].astype(np.float32).reshape(2, -1)
    if params.gaussian_compat > 0:
        crf.addPairwiseEnergy(np.ascontiguousarray(yx / np.float32(params.gaussian_sxy)),
                              compat=float(params.gaussian_compat))
    if params.bilateral_compat > 0:
        bilateral = np.concatenate([yx / np.float32(params.bilateral_sxy),
                                    features.reshape(features.shape[0], -1) / np.float32(params.bilateral_srgb)])
        crf.addPairwiseEnergy(np.ascontiguousarray(bilateral, dtype=np.float32),
                              compat=float(params.bilateral_compat))
    q = np.asarray(crf.inference(params.iterations), dtype=np.float32)
    return q.reshape(k, h, w)
