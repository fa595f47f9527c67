"""Time ``segcore.crf.refine`` against calling pydensecrf directly on a 512x512 image; prints JSON.

"Directly" is what a user would write: ``DenseCRF2D`` with ``addPairwiseGaussian``/``addPairwiseBilateral`` for
RGB, and the generic ``DenseCRF`` with pydensecrf's feature helpers for greyscale (one intensity channel, as
segcore does). Both sides get the same parameters and return a mask; runs alternate and the median counts.

    python bench/crf_speed.py [--repeats 15] [--size 512]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pydensecrf.densecrf as dcrf  # noqa: E402
from pydensecrf.utils import create_pairwise_bilateral, create_pairwise_gaussian, unary_from_softmax  # noqa: E402

from segcore import crf  # noqa: E402


def test_inputs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """An ISBI slice when available (else smooth noise) and smooth two-class probabilities of it."""
    path = ROOT.parent / "shared" / "data" / "isbi2012_em" / "images" / "0.png"
    if path.is_file():
        from segcore.data.io import read_image

        grey = read_image(path)[:size, :size, 0]
    else:
        grey = (np.random.default_rng(0).random((size, size)) * 255).astype(np.uint8)
    p = 1 / (1 + np.exp(-(grey.astype(np.float32) - 110) / 25))
    return grey, np.stack([1 - p, p]).astype(np.float32)


def direct_rgb(rgb: np.ndarray, probs: np.ndarray, p: crf.CRFParams) -> np.ndarray:
    h, w = rgb.shape[:2]
    d = dcrf.DenseCRF2D(w, h, probs.shape[0])
    d.setUnaryEnergy(unary_from_softmax(probs))
    d.addPairwiseGaussian(sxy=p.gaussian_sxy, compat=p.gaussian_compat)
    d.addPairwiseBilateral(sxy=p.bilateral_sxy, srgb=p.bilateral_srgb, rgbim=rgb, compat=p.bilateral_compat)
    return np.argmax(d.inference(p.iterations), axis=0).reshape(h, w)


def direct_grey(grey: np.ndarray, probs: np.ndarray, p: crf.CRFParams) -> np.ndarray:
    h, w = grey.shape
    d = dcrf.DenseCRF(h * w, probs.shape[0])
    d.setUnaryEnergy(unary_from_softmax(probs))
    d.addPairwiseEnergy(create_pairwise_gaussian((p.gaussian_sxy,) * 2, (h, w)), compat=p.gaussian_compat)
    feats = create_pairwise_bilateral((p.bilateral_sxy,) * 2, (p.bilateral_srgb,), grey, chdim=-1)
    d.addPairwiseEnergy(feats, compat=p.bilateral_compat)
    return np.argmax(d.inference(p.iterations), axis=0).reshape(h, w)


def timed(fn, *args) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    grey, probs = test_inputs(args.size)
    rgb = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    params = crf.CRFParams()
    pairs = {"rgb": (direct_rgb, rgb), "grey": (direct_grey, grey)}
    report = {"size": f"{args.size}x{args.size}", "params": params.to_dict(), "repeats": args.repeats}
    for name, (direct, image) in pairs.items():
        times = {"direct": [], "segcore": []}
        for _ in range(args.repeats):
            t, reference = timed(direct, image, probs, params)
            times["direct"].append(t)
            t, (_, ours) = timed(crf.refine, image, probs, params)
            times["segcore"].append(t)
        median = {k: statistics.median(v) for k, v in times.items()}
        report[name] = {"direct_s": median["direct"], "segcore_s": median["segcore"],
                        "overhead": median["segcore"] / median["direct"] - 1,
                        "mask_agreement": float((reference == ours).mean())}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
