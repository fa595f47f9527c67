"""Deterministic synthetic H&E-like nuclei images with exact masks, for demos, tests and first runs.

Each image is composed in optical density (Beer-Lambert) space, as real stains are: an eosin (pink) stroma with
low-frequency texture, fibres and a few pale lumen-like holes, plus hematoxylin (purple-blue) nuclei of varied
size and irregular elliptical outline, some touching, with darker rims and granular chromatin. A slight blur
and sensor noise finish it. Masks are the exact union of the nucleus outlines, stored 0/255.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from segcore.data.classes import ClassSpec
from segcore.data.io import write_image
from segcore.data.layout import Sample
from segcore.errors import ConfigError

# Stain optical-density vectors (Ruifrok & Johnston 2001), RGB order.
HEMATOXYLIN = np.array([0.65, 0.70, 0.29], dtype=np.float32)
EOSIN = np.array([0.07, 0.99, 0.11], dtype=np.float32)
SPEC = ClassSpec(names=["background", "nucleus"], values=[0, 255], colors=[(0, 0, 0), (86, 180, 233)])


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Noise in [-1, 1] varying over about ``size / cells`` pixels (bicubic upsampling of a small grid)."""
    grid = rng.uniform(-1, 1, (cells + 1, cells + 1)).astype(np.float32)
    return np.asarray(Image.fromarray(grid).resize((size, size), Image.BICUBIC))


def _nucleus(rng: np.random.Generator, size: int, cy: float, cx: float, radius: float):
    """Bounding box and (normalised radius, inside) maps of one irregular ellipse."""
    aspect = rng.uniform(0.55, 1.0)
    angle = rng.uniform(0, np.pi)
    harmonics = [(k, rng.uniform(0, 0.09), rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5)]
    reach = int(np.ceil(radius * 1.3)) + 1
    y0, y1 = max(0, int(cy) - reach), min(size, int(cy) + reach + 1)
    x0, x1 = max(0, int(cx) - reach), min(size, int(cx) + reach + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    u = (dx * np.cos(angle) + dy * np.sin(angle)) / radius
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / (radius * aspect)
    theta = np.arctan2(v, u)
    outline = 1.0 + sum(amp * np.cos(k * theta + phase) for k, amp, phase in harmonics)
    rho = np.hypot(u, v) / outline
    return (slice(y0, y1), slice(x0, x1)), rho, rho <= 1.0


def _nucleus_centres(rng: np.random.Generator, size: int) -> list[tuple[float, float, float]]:
    """(cy, cx, radius) triples: scattered nuclei, about a third placed touching an earlier one.

    Nuclei keep their size in pixels whatever the image size (a fixed magnification); their number grows with
    the area, so about 10 % of the pixels are nucleus.
    """
    count = int(rng.integers(45, 75) * (size / 256) ** 2) + 2
    nuclei: list[tuple[float, float, float]] = []
    while len(nuclei) < count:
        radius = float(rng.uniform(4.5, 11.0))  # pixels, like a fixed magnification
        if nuclei and rng.random() < 0.33:  # touching cluster: next to an earlier nucleus
            py, px, pr = nuclei[int(rng.integers(len(nuclei)))]
            direction = rng.uniform(0, 2 * np.pi)
            distance = (pr + radius) * rng.uniform(0.75, 0.95)
            cy = float(np.clip(py + distance * np.sin(direction), 0, size - 1))
            cx = float(np.clip(px + distance * np.cos(direction), 0, size - 1))
        else:
            cy, cx = rng.uniform(0, size, 2)
        nuclei.append((float(cy), float(cx), radius))
    return nuclei


def make_sample(size: int = 256, seed: int | tuple[int, ...] = 0) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic H&E-like image ``uint8 (size, size, 3)`` and its mask ``uint8 (size, size)`` in {0, 1}."""
    rng = np.random.default_rng(seed)
    eosin = rng.uniform(0.30, 0.45) * (1 + 0.25 * _smooth_noise(rng, size, 6) + 0.12 * _smooth_noise(rng, size, 24))
    fibres = np.abs(np.sin(_smooth_noise(rng, size, 10) * rng.uniform(8, 14)))
    eosin = eosin * (0.92 + 0.16 * fibres)
    for _ in range(int(rng.integers(0, 3))):  # pale lumen-like holes, background all the same
        (sl, _rho, inside) = _nucleus(rng, size, *rng.uniform(0, size, 2), rng.uniform(12, 30))
        eosin[sl][inside] *= 0.25
    hema = 0.04 + 0.02 * _smooth_noise(rng, size, 16)
    mask = np.zeros((size, size), dtype=bool)
    for cy, cx, radius in _nucleus_centres(rng, size):
        sl, rho, inside = _nucleus(rng, size, cy, cx, radius)
        density = rng.uniform(0.75, 1.25)
        rim = 1.0 + 0.45 * np.clip((rho - 0.7) / 0.3, 0, 1)  # membrane-bound chromatin: darker edge
        grain = 1.0 + 0.25 * rng.standard_normal(rho.shape).astype(np.float32)
        hema[sl] = np.where(inside, np.maximum(hema[sl], density * rim * grain), hema[sl])
        eosin[sl] = np.where(inside, eosin[sl] * 0.5, eosin[sl])
        mask[sl] |= inside
    density = hema[..., None] * HEMATOXYLIN + eosin[..., None] * EOSIN
    rgb = 255.0 * np.exp(-np.clip(density, 0, None))
    blurred = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    noisy = np.asarray(blurred, dtype=np.float32) + rng.normal(0, 3.0, (size, size, 3))
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8), mask.astype(np.uint8)


def write_sample_data(folder: str | os.PathLike, count: int = 12, size: int = 256, seed: int = 0) -> list[Sample]:
    """Write ``count`` synthetic images of ``size`` x ``size`` to ``folder/images`` and their 0/255 masks to
    ``folder/masks`` (same stems), plus ``classes.json`` (background, nucleus). Same arguments, same bytes.
    """
    if count < 1 or size < 16 or seed < 0:
        raise ConfigError(f"sample data needs count >= 1, size >= 16 and seed >= 0; got {count}, {size}, {seed}")
    folder = Path(folder)
    samples = []
    for index in range(count):
        image, mask = make_sample(size, seed=(seed, index))
        name = f"sample_{index:03d}.png"
        write_image(folder / "images" / name, image)
        write_image(folder / "masks" / name, mask * 255)
        samples.append(Sample(folder / "images" / name, folder / "masks" / name))
    SPEC.save(folder)
    return samples
