"""Physical pixel size in training and prediction: the plan resamples training images stating different pixel
sizes to their median (as nnU-Net's target spacing), the checkpoint keeps it, and prediction resamples an image at
another pixel size to the model's and back. Without pixel sizes everything is as before."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from segcore.data.classes import ClassSpec
from segcore.data.dataset import SegmentationDataset
from segcore.data.layout import find_samples
from segcore.inference import Predictor
from segcore.interop.physical import PixelSize, resample_factor
from segcore.planning import fingerprint
from segcore.planning.plan import choose_pixel_size

REPO = Path(__file__).resolve().parents[1]
SPEC = ClassSpec(["background", "cell"], [0, 255])


def _blobs(size: int, radius: float, seed: int) -> np.ndarray:
    """0/255 discs of ``radius`` pixels at the same relative places for a given seed (one scene, any size)."""
    rng = np.random.default_rng(seed)
    yy, xx = (np.mgrid[:size, :size] + 0.5) / size
    mask = np.zeros((size, size), np.uint8)
    for cy, cx in rng.uniform(0.15, 0.85, (4, 2)):
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= (radius / size) ** 2] = 255
    return mask


def _scene(folder: Path, name: str, size: int, um: float | None, seed: int = 0) -> None:
    """One OME-TIFF (``um`` µm/pixel; a PNG when None) and its mask: discs of 3 µm radius (6 pixels at 0.5 µm)."""
    mask = _blobs(size, 3.0 / (um or 0.5), seed)
    rng = np.random.default_rng(seed + 1)
    image = (40 + (mask > 0) * 150 + rng.normal(0, 12, mask.shape)).clip(0, 255).astype(np.uint8)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    if um is None:
        Image.fromarray(image).save(folder / "images" / f"{name}.png")
    else:
        tifffile.imwrite(folder / "images" / f"{name}.ome.tif", image,
                         metadata={"axes": "YX", "PhysicalSizeX": um, "PhysicalSizeY": um})
    Image.fromarray(mask).save(folder / "masks" / f"{name}.png")


# -- units --------------------------------------------------------------------------------------------------------
def test_resample_factor_is_one_when_unknown_or_close():
    half, um = PixelSize(0.5, 0.5), PixelSize(1.0, 1.0)
    assert resample_factor(None, um) == resample_factor(um, None) == 1.0
    assert resample_factor(PixelSize(1.05, 1.05), um) == 1.0  # within 10 %: resampling would only blur
    assert resample_factor(half, um) == pytest.approx(0.5)  # finer pixels: half as many per side
    assert resample_factor(um, half) == pytest.approx(2.0)


def test_fingerprint_records_pixel_sizes_and_measures_at_the_median(tmp_path):
    for i, (size, um) in enumerate(((128, 0.5), (64, 1.0), (64, 1.0))):
        _scene(tmp_path, f"s{i}", size, um, seed=i)
    fp = fingerprint(tmp_path)
    assert fp.pixel_sizes == {f"images/s{i}.ome.tif": [um, um] for i, um in enumerate((0.5, 1.0, 1.0))}
    assert fp.max_size == (64, 64)  # the 0.5 µm image counts at the median, 1 µm: 64 pixels, not 128
    fg = fp.classes[1]  # 3 µm radius discs at 1 µm/pixel, in every image (measured as stored: p90 12)
    assert fg.object_diameter == pytest.approx(6, abs=1) and fg.object_diameter_p90 == pytest.approx(6, abs=1)
    again = type(fp).from_dict(json.loads(json.dumps(fp.to_dict())))
    assert again == fp


def test_plan_resamples_to_the_median_only_when_pixel_sizes_differ(tmp_path):
    _scene(tmp_path, "a", 64, None)
    fp = fingerprint(tmp_path)
    assert fp.pixel_sizes == {} and choose_pixel_size(fp).value is None
    assert "state no physical pixel size" in choose_pixel_size(fp).reason

    def stated(*sizes):
        return dataclasses.replace(fp, labelled=len(sizes) + 1,
                                   pixel_sizes={f"{i}.tif": [s, s] for i, s in enumerate(sizes)})

    alike = choose_pixel_size(stated(0.5, 0.52, 0.49))
    assert alike.value is None and "0.5 µm/pixel (within 10%)" in alike.reason
    mixed = choose_pixel_size(stated(0.25, 0.5, 1.0))
    assert mixed.value == {"y_um": 0.5, "x_um": 0.5}
    assert "from 0.25 µm/pixel to 1 µm/pixel" in mixed.reason and "the 2 image(s)" in mixed.reason
    assert "1 image(s) state none" in mixed.reason  # the PNG: used as stored


def test_dataset_resamples_each_image_to_the_target_pixel_size(tmp_path):
    _scene(tmp_path, "fine", 128, 0.5)
    _scene(tmp_path, "coarse", 64, 1.0)
    _scene(tmp_path, "plain", 48, None)
    samples = sorted(find_samples(tmp_path), key=lambda s: s.image.name)
    assert [s.image.name for s in samples] == ["coarse.ome.tif", "fine.ome.tif", "plain.png"]
    as_stored = SegmentationDataset(samples, SPEC).sizes()
    resampled = SegmentationDataset(samples, SPEC, pixel_size=PixelSize(0.5, 0.5)).sizes()
    assert as_stored == [(64, 64), (128, 128), (48, 48)]
    assert resampled == [(128, 128), (128, 128), (48, 48)]
    image, mask = SegmentationDataset(samples, SPEC, pixel_size=PixelSize(0.5, 0.5)).arrays(0)
    assert set(np.unique(mask)) == {0, 1} and image.shape == (128, 128, 1)  # masks stay labels (nearest)


@pytest.fixture
def model_at(make_checkpoint, tmp_path):
    """Factory: a tiny checkpoint that says it learned at ``um`` µm/pixel (None: says nothing), trained at
    ``scale``."""

    def make(um: float | None, scale: float = 1.0) -> Path:
        path = make_checkpoint(in_channels=1, scale=scale, name=f"m{um}-{scale}.pt")
        data = torch.load(path, weights_only=True)
        data["pixel_size"] = None if um is None else {"y_um": um, "x_um": um}
        torch.save(data, path)
        return path

    return make


def test_prediction_resamples_to_the_models_pixel_size_and_back(model_at):
    rng = np.random.default_rng(0)
    image = np.kron(rng.integers(0, 255, (13, 17, 1)), np.ones((8, 8, 1))).astype(np.uint8)  # 104 x 136
    at_half = Predictor(model_at(0.5), device="cpu", fast=False)
    reference = Predictor(model_at(None, scale=0.5), device="cpu", fast=False)  # the same resize, by hand
    expected = reference.predict(image)
    got = at_half.predict(image, PixelSize(0.25, 0.25))
    assert got.shape == image.shape[:2] and np.array_equal(got, expected)
    assert at_half.note_resampled == ("image at 0.25 µm/pixel, the model learned at 0.5 µm/pixel: segmented "
                                      "resampled x0.5 to 68x52, the mask brought back to 136x104")
    plain = Predictor(model_at(None), device="cpu", fast=False).predict(image)
    for size in (None, PixelSize(0.52, 0.52)):  # unknown, or within 10 %: as stored, nothing said
        assert np.array_equal(at_half.predict(image, size), plain) and at_half.note_resampled == ""
    probs = at_half.predict_proba(image, PixelSize(0.25, 0.25))
    assert probs.shape == (2, 104, 136) and np.array_equal(probs.argmax(0), expected)


# -- end to end: two OME-TIFFs at different pixel sizes -------------------------------------------------------
def segcore(*args, check=True) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": path}, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"segcore {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.mark.slow
def test_plan_train_and_predict_across_pixel_sizes(tmp_path, caplog):
    data = tmp_path / "data"
    _scene(data, "fine", 128, 0.5, seed=1)  # the same kind of scene at 0.5 and at 1 µm/pixel
    _scene(data, "coarse", 64, 1.0, seed=2)
    proc = segcore("train", data, "--minutes", "0.25", "--width", "4", "--arch-arg", "depth=2", "--patch-size", "48",
                   "-o", tmp_path / "run", "-q")
    row = next(line for line in proc.stdout.splitlines() if line.strip().startswith("pixel_size"))
    assert "0.75 µm/pixel" in row and "resampled" in row  # the median of 0.5 and 1
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["pixel_size"] == {"y_um": 0.75, "x_um": 0.75}
    assert best["config"]["pixel_size"] == {"y_um": 0.75, "x_um": 0.75}

    fine = data / "images" / "fine.ome.tif"
    proc = segcore("predict", "-m", tmp_path / "run" / "best.pt", "-i", fine, "-o", tmp_path / "fine.png")
    notes = [line for line in proc.stderr.splitlines() if "resampled" in line]
    assert len(notes) == 1 and "fine.ome.tif: image at 0.5 µm/pixel, the model learned at 0.75 µm/pixel" in notes[0]
    assert "x0.667 to 85x85, the mask brought back to 128x128" in notes[0]
    assert Image.open(tmp_path / "fine.png").size == (128, 128)
    proc = segcore("predict", "-m", tmp_path / "run" / "best.pt", "-i", fine, "-o", tmp_path / "as_is.png",
                   "--no-resample")
    assert "resampled" not in proc.stderr and Image.open(tmp_path / "as_is.png").size == (128, 128)

    import segcore as api

    with caplog.at_level(logging.INFO, logger="segcore"):
        mask = api.predict(str(tmp_path / "run" / "best.pt"), str(fine), device="cpu")
    assert mask.shape == (128, 128) and "model learned at 0.75 µm/pixel" in caplog.text
    assert np.array_equal(np.asarray(Image.open(tmp_path / "fine.png")), np.array(SPEC.values, np.uint8)[mask])
