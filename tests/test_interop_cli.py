"""``segcore convert`` and ``segcore predict --format`` as a user runs them (subprocesses, real data)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from segcore.data.io import read_mask_raw

pytest.importorskip("shapely", reason="shapely not installed (pip install 'segstudio[interop]')")
roifile = pytest.importorskip("roifile", reason="roifile not installed (pip install 'segstudio[interop]')")

REPO = Path(__file__).resolve().parents[1]


def segcore(*args, check: bool = True) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": path}
    proc = subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"segcore {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_isbi_folder_to_qupath_and_back_into_a_data_set(shared_data, tmp_path):
    isbi = shared_data("isbi2012_em")
    segcore("convert", isbi, tmp_path / "qupath", "--to", "geojson")
    files = sorted((tmp_path / "qupath").iterdir())
    assert len(files) == 30 and all(f.suffix == ".geojson" for f in files)
    proc = segcore("convert", tmp_path / "qupath", tmp_path / "back" / "masks", "--to", "png",
                   "--like", isbi / "images")
    assert proc.stdout.count("wrote ") == 30
    for name in ("0.png", "17.png", "29.png"):
        assert np.array_equal(read_mask_raw(tmp_path / "back" / "masks" / name), read_mask_raw(isbi / "masks" / name))
    classes = json.loads((tmp_path / "back" / "classes.json").read_text())
    assert classes["names"] == ["background", "foreground"] and classes["values"] == [0, 255]


def test_bbbc039_instances_to_roiset_cellpose_and_label_tiff(shared_data, tmp_path):
    bbbc = shared_data("bbbc039")
    mask = sorted((bbbc / "instances").iterdir())[1]
    image = bbbc / "images" / mask.name
    ids = read_mask_raw(mask)
    (tmp_path / "classes.json").write_text('{"instances": true}')
    out = segcore("convert", mask, tmp_path / "RoiSet.zip", "--classes", tmp_path / "classes.json").stdout
    assert f"({len(np.unique(ids)) - 1} regions)" in out
    assert len(roifile.roiread(tmp_path / "RoiSet.zip")) == len(np.unique(ids)) - 1
    segcore("convert", tmp_path / "RoiSet.zip", tmp_path / "labels.tif", "--like", image)
    assert np.array_equal(tifffile.imread(tmp_path / "labels.tif"), ids)  # object ids kept through Fiji's format
    segcore("convert", tmp_path / "labels.tif", tmp_path / "cp", "--to", "cellpose", "--classes",
            tmp_path / "classes.json")
    assert np.array_equal(read_mask_raw(tmp_path / "cp" / "labels_masks.png"), ids)  # named after IN


def test_bad_files_are_one_line_and_keep_the_output(shared_data, tmp_path):
    isbi = shared_data("isbi2012_em")
    (tmp_path / "out.png").write_bytes(b"keep me")
    (tmp_path / "empty.geojson").write_text('{"type": "Feature", "geometry": null, "properties": {}}')
    one_line_error(segcore("convert", tmp_path / "empty.geojson", tmp_path / "out.png", "--like",
                           isbi / "images" / "0.png", check=False), "no polygon geometry")
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    one_line_error(segcore("convert", tmp_path / "cut.zip", tmp_path / "out.png", "--like",
                           isbi / "images" / "0.png", check=False), "damaged or truncated ImageJ ROI file")
    one_line_error(segcore("convert", tmp_path / "empty.geojson", tmp_path / "out.png", check=False),
                   "--like IMAGE")
    assert (tmp_path / "out.png").read_bytes() == b"keep me"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("interop")
    segcore("sample-data", root / "data", "--count", "6", "--size", "96")
    segcore("train", root / "data", "-e", "1", "-o", root / "run", "--width", "4", "--arch-arg", "depth=2",
            "--patch-size", "48", "-b", "2", "-q")
    return root / "data", root / "run" / "best.pt"


def test_predict_writes_qupath_imagej_and_label_tiff(model, tmp_path):
    data, best = model
    image = sorted((data / "images").iterdir())[0]
    for fmt, name in (("geojson", "p.geojson"), ("roi", "p.zip"), ("tiff", "p.tif")):
        out = segcore("predict", "-m", best, "-i", image, "-o", tmp_path / "p.png", "--format", fmt).stdout
        assert str(tmp_path / name) in out and (tmp_path / name).is_file()
    segcore("predict", "-m", best, "-i", image, "-o", tmp_path / "p.png")
    expected = read_mask_raw(tmp_path / "p.png")
    assert np.array_equal(tifffile.imread(tmp_path / "p.tif"), expected)
    back = tmp_path / "back.png"
    segcore("convert", tmp_path / "p.geojson", back, "--like", image)
    assert np.array_equal(read_mask_raw(back), expected)


def test_predict_on_a_pyramid_level_and_a_pixel_size_note(model, tmp_path):
    data, best = model
    from segcore.data.io import read_image

    rgb = read_image(sorted((data / "images").iterdir())[0])
    big = np.repeat(np.repeat(rgb, 2, axis=0), 2, axis=1)
    with tifffile.TiffWriter(tmp_path / "slide.ome.tif") as tif:
        tif.write(big, subifds=1, photometric="rgb", metadata={"axes": "YXS", "PhysicalSizeX": 0.25,
                                                               "PhysicalSizeY": 0.25})
        tif.write(rgb, subfiletype=1, photometric="rgb")
    checkpoint = torch.load(best, weights_only=True)
    checkpoint["pixel_size"] = {"y_um": 0.5, "x_um": 0.5}  # as if trained on 0.5 um/pixel images
    torch.save(checkpoint, tmp_path / "model.pt")
    proc = segcore("predict", "-m", tmp_path / "model.pt", "-i", tmp_path / "slide.ome.tif", "-o",
                   tmp_path / "full.png")
    assert ("image at 0.25 µm/pixel, the model learned at 0.5 µm/pixel: segmented resampled x0.5 to 96x96, the "
            "mask brought back to 192x192") in proc.stderr
    proc = segcore("predict", "-m", tmp_path / "model.pt", "-i", tmp_path / "slide.ome.tif", "-o",
                   tmp_path / "half.png", "--level", "1")
    assert "learned at" not in proc.stderr  # level 1 is 0.5 um/pixel: segmented as stored
    full, half = read_mask_raw(tmp_path / "full.png"), read_mask_raw(tmp_path / "half.png")
    assert full.shape == (192, 192) and half.shape == (96, 96)
    assert (full[::2, ::2] == half).mean() > 0.95  # level 0 resampled to the model sees what level 1 shows
    proc = segcore("predict", "-m", tmp_path / "model.pt", "-i", tmp_path / "slide.ome.tif", "-o",
                   tmp_path / "half.png", "--level", "1", "--format", "geojson")
    features = json.loads((tmp_path / "half.geojson").read_text())["features"]
    xs = [x for f in features for ring in f["geometry"]["coordinates"] for x, _ in
          (ring if f["geometry"]["type"] == "Polygon" else [p for poly in ring for p in poly])]
    assert max(xs) > rgb.shape[1]  # full-resolution pixels, as QuPath expects
    one_line_error(segcore("predict", "-m", best, "-i", tmp_path / "slide.ome.tif", "--level", "5", "-o",
                           tmp_path / "x.png", check=False), "no pyramid level 5")


def test_checkpoint_carries_the_pixel_size_of_its_training_images(tmp_path):
    from segcore.interop.physical import training_pixel_size

    for i, size in enumerate((0.2, 0.2, 0.3)):
        tifffile.imwrite(tmp_path / f"{i}.tif", np.zeros((8, 8), np.uint8), imagej=True,
                         resolution=(1 / size, 1 / size), metadata={"unit": "um"})
    (tmp_path / "3.png").write_bytes(b"")  # a PNG states no size: not counted
    size = training_pixel_size(sorted(tmp_path.iterdir()))
    assert size.x == pytest.approx(0.2) and str(size) == "0.2 µm/pixel"
