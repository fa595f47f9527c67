"""Synthetic sample data and the sample-data / create-txt commands."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from segcore.data.classes import ClassSpec
from segcore.data.io import read_image, read_mask_raw
from segcore.data.layout import find_samples, load_class_spec, load_sample
from segcore.data.sample import make_sample, write_sample_data
from segcore.errors import ConfigError


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sample_dir_is_a_valid_images_masks_folder(sample_dir):
    samples = find_samples(sample_dir)
    assert len(samples) == 6 and all(s.mask is not None for s in samples)
    spec = load_class_spec(sample_dir, samples)
    assert spec.names == ["background", "nucleus"] and spec.values == [0, 255]
    for sample in samples:
        image, mask = load_sample(sample, spec)
        assert image.shape == (96, 96, 3) and image.dtype == np.uint8
        assert set(np.unique(read_mask_raw(sample.mask)).tolist()) == {0, 255}
        assert 0.03 < mask.mean() < 0.4


def test_same_seed_gives_byte_identical_files_and_other_seeds_differ(tmp_path):
    write_sample_data(tmp_path / "a", count=3, size=64, seed=7)
    write_sample_data(tmp_path / "b", count=3, size=64, seed=7)
    write_sample_data(tmp_path / "c", count=3, size=64, seed=8)
    a, b, c = (_files(tmp_path / x) for x in "abc")
    assert a == b
    assert a.keys() == c.keys() and a["images/sample_000.png"] != c["images/sample_000.png"]
    assert len({a[f"images/sample_{i:03d}.png"] for i in range(3)}) == 3  # images differ from each other


def test_nuclei_are_purple_on_pink_and_separable_by_color():
    image, mask = make_sample(128, seed=3)
    nucleus, stroma = image[mask == 1].mean(0), image[mask == 0].mean(0)
    assert nucleus[2] > nucleus[1] and stroma[0] > stroma[1]  # blue-ish nuclei, pink background
    assert stroma[0] - nucleus[0] > 60  # strong contrast: learnable in a couple of epochs
    # A plain threshold on red already separates them reasonably; a network has to do better.
    guess = image[..., 0] < (nucleus[0] + stroma[0]) / 2
    dice = 2 * (guess & (mask == 1)).sum() / (guess.sum() + mask.sum())
    assert dice > 0.7


def test_sample_data_is_fast():
    start = time.perf_counter()
    for index in range(12):
        make_sample(256, seed=(0, index))
    assert time.perf_counter() - start < 10  # ~1 s on a quiet core; generous for a shared CI machine


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError):
        write_sample_data(tmp_path, count=0)
    with pytest.raises(ConfigError):
        write_sample_data(tmp_path, size=4)


def _segcore(*args):
    return subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_cli_sample_data_and_create_txt(tmp_path):
    out = tmp_path / "gen"
    result = _segcore("sample-data", out, "--count", 2, "--size", 48, "--seed", 1)
    assert result.returncode == 0, result.stderr
    assert "wrote 2 images" in result.stdout
    assert sorted(p.name for p in (out / "images").iterdir()) == ["sample_000.png", "sample_001.png"]
    assert ClassSpec.load(out).names == ["background", "nucleus"]
    assert read_image(out / "images" / "sample_001.png").shape == (48, 48, 3)

    # Rearrange into the data/ + val/ layout and let create-txt write the lists.
    for split, index in (("data", 0), ("val", 1)):
        (tmp_path / "orig" / split / "masks").mkdir(parents=True)
        (out / "images" / f"sample_{index:03d}.png").rename(tmp_path / "orig" / split / f"s{index}.png")
        (out / "masks" / f"sample_{index:03d}.png").rename(tmp_path / "orig" / split / "masks" / f"s{index}.png")
    result = _segcore("create-txt", tmp_path / "orig")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "orig" / "data" / "data.txt").read_text() == "s0.png\n"
    assert (tmp_path / "orig" / "val" / "val.txt").read_text() == "s1.png\n"
    assert [s.split for s in find_samples(tmp_path / "orig")] == ["train", "val"]


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path):
    result = _segcore("create-txt", tmp_path / "missing")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not found" in result.stderr
    result = _segcore("sample-data", tmp_path, "--count", 0)
    assert result.returncode == 2 and "count" in result.stderr
