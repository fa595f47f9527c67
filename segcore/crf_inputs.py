"""Files that feed the CRF: class-probability files and sparse label (scribble) masks.

Probability file format (written by ``segcore predict --probabilities``, read by ``segcore crf -p``):

- ``.npy``: one float array ``(K, H, W)``, class probabilities summing to 1 over K per pixel, classes in the order
  of the checkpoint's class list. float32 is written; float16/float64 are read too.
- ``.npz``: the same array under ``probabilities`` plus ``classes``, the :class:`ClassSpec` as a JSON string, so a
  later refinement writes masks with the right file values, names and colours.
- A 2-D ``(H, W)`` array is read as the foreground probability of a binary problem (``[1 - p, p]``).

Label masks: file values (palette indices, grey levels) or colours (RGB / palette PNGs with coloured scribbles);
one value (``unlabelled``, 0 by default, i.e. black for coloured files, as in pydensecrf's examples) means
"no label", every other value or colour is a class, in increasing order.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from segcore.atomic import atomic_path
from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.errors import DataError

PROBABILITY_SUFFIXES = (".npy", ".npz")


def write_probabilities(path: str | os.PathLike, probabilities: np.ndarray, spec: ClassSpec | None = None) -> Path:
    """Save ``(K, H, W)`` probabilities as float32 ``.npy``, or ``.npz`` with the class list; atomic."""
    path = Path(path)
    probs = np.asarray(probabilities, dtype=np.float32)
    if probs.ndim != 3:
        raise DataError(f"{path}: probabilities must be (K, H, W), got shape {probs.shape}")
    suffix = path.suffix.lower()
    if suffix not in PROBABILITY_SUFFIXES:
        raise DataError(f"{path}: probability files are .npy or .npz, not '{path.suffix}'")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        if suffix == ".npy":
            np.save(fh, probs, allow_pickle=False)
        else:
            extra = {"classes": np.array(json.dumps(spec.to_dict()))} if spec is not None else {}
            np.savez_compressed(fh, probabilities=probs, **extra)
    return path


def read_probabilities(path: str | os.PathLike) -> tuple[np.ndarray, ClassSpec | None]:
    """Load a probability file -> (float32 array as stored, ClassSpec or None). DataError on anything else.

    The array may be in any layout :func:`segcore.crf.classes_first` takes; that function, given the image, turns
    it into ``(K, H, W)``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: probability file not found")
    if path.suffix.lower() not in PROBABILITY_SUFFIXES:
        raise DataError(f"{path}: probability files are .npy (K, H, W) or .npz, not '{path.suffix}'")
    spec = None
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                arrays = [name for name in loaded.files if name != "classes"]
                name = "probabilities" if "probabilities" in loaded.files else arrays[0] if len(arrays) == 1 else None
                if name is None:  # np.savez(f, probs) names its one array arr_0: any single array will do
                    raise DataError(f"{path}: .npz without a 'probabilities' array (has {loaded.files})")
                probs = loaded[name]
                if "classes" in loaded.files:
                    spec = ClassSpec.from_dict(json.loads(str(loaded["classes"])))
        else:
            probs = loaded
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable probability file ({exc})") from exc
    if probs.dtype.kind != "f":
        raise DataError(f"{path}: probabilities must be floating point, got {probs.dtype}")
    if probs.ndim == 2:  # one foreground map
        probs = np.stack([1 - probs, probs])
    if probs.ndim < 2 or probs.ndim > 4:
        raise DataError(f"{path}: probabilities must be (K, H, W), (H, W, K) or (H, W), got shape {probs.shape}")
    if spec is not None and spec.num_classes not in probs.shape:
        raise DataError(f"{path}: probabilities of shape {probs.shape} but {spec.num_classes} classes in its class list")
    return probs.astype(np.float32, copy=False), spec


def default_spec(num_classes: int) -> ClassSpec:
    """Class list for probabilities that came without one: binary 0/255, else values 0..K-1."""
    if num_classes == 2:
        return ClassSpec(names=["background", "foreground"], values=[0, 255])
    return ClassSpec(names=["background"] + [f"class {i}" for i in range(1, num_classes)],
                     values=list(range(num_classes)))


def read_label_mask(path: str | os.PathLike, unlabelled: int = 0) -> tuple[np.ndarray, ClassSpec]:
    """Read sparse labels -> (uint8 class indices with IGNORE_INDEX where unlabelled, ClassSpec of the labels).

    Coloured files (RGB, or palettes with colours) identify labels by colour and black means unlabelled when
    ``unlabelled`` is 0; the spec keeps the colours, so refined masks look like the scribbles. Other files use
    their values, and the spec keeps them as class values.
    """
    from segcore.data import io

    path = Path(path)
    rgb = io.read_image(path)
    colored = rgb.shape[2] == 3 and not (np.array_equal(rgb[..., 0], rgb[..., 1])
                                          and np.array_equal(rgb[..., 1], rgb[..., 2]))
    if colored:
        key = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    else:
        key = io.read_mask_raw(path).astype(np.int64)
    found, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(key.shape)
    classes = [int(v) for v in found if int(v) != unlabelled]
    if len(classes) < 2:
        raise DataError(f"{path}: label mask has {len(classes)} label(s) besides the unlabelled value "
                        f"{unlabelled}; the CRF needs at least two")
    if len(classes) > 255:
        raise DataError(f"{path}: {len(classes)} distinct labels; at most 255 are supported")
    lut = np.full(len(found), IGNORE_INDEX, dtype=np.uint8)
    for index, value in enumerate(classes):
        lut[int(np.searchsorted(found, value))] = index
    labels = lut[inverse]
    if colored:
        colors = [((v >> 16) & 255, (v >> 8) & 255, v & 255) for v in classes]
        spec = ClassSpec(names=[f"label {i + 1}" for i in range(len(classes))], values=list(range(len(classes))),
                         colors=colors)
    else:
        spec = ClassSpec(names=[f"label {v}" for v in classes], values=classes)
    return labels, spec
