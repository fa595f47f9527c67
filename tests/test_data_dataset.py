"""SegmentationDataset: decoding once, patches, joint augmentation, channels, normalisation statistics."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from segcore.data import dataset as dataset_module
from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.data.dataset import SegmentationDataset, clear_cache, compute_stats
from segcore.data.layout import Sample, find_samples, load_class_spec
from segcore.errors import DataError

BINARY = ClassSpec.infer({0, 255})


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _pair(folder, name, image, mask):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(folder / f"{name}.png")
    Image.fromarray(mask).save(folder / f"{name}_mask.png")
    return Sample(folder / f"{name}.png", folder / f"{name}_mask.png")


def _striped(tmp_path, name="a", shape=(20, 30), channels=1):
    mask = np.zeros(shape, np.uint8)
    mask[:, ::3] = 255
    mask[::4, :] = 255
    grey = np.where(mask == 255, 204, 51).astype(np.uint8)  # 0.8 on foreground, 0.2 on background
    image = grey if channels == 1 else np.stack([grey] * channels, -1)
    return _pair(tmp_path, name, image, mask)


def test_items_are_normalised_float_and_int64_masks(sample_dir):
    samples = find_samples(sample_dir)
    spec = load_class_spec(sample_dir, samples)
    ds = SegmentationDataset(samples, spec, mean=[0.5, 0.4, 0.3], std=[0.2, 0.1, 0.5])
    x, y = ds[1]
    assert x.dtype == torch.float32 and x.shape == (3, 96, 96)
    assert y.dtype == torch.int64 and y.shape == (96, 96) and set(y.unique().tolist()) == {0, 1}
    unit, mask = ds.arrays(1)
    expected = (unit.transpose(2, 0, 1) - np.array([0.5, 0.4, 0.3])[:, None, None]) / np.array([0.2, 0.1, 0.5])[:, None, None]
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y.numpy(), mask)


def test_scale_and_sizes(sample_dir):
    ds = SegmentationDataset(find_samples(sample_dir), ClassSpec.load(sample_dir), scale=0.5)
    assert ds.sizes() == [(48, 48)] * 6
    assert ds[0][0].shape == (3, 48, 48)


def test_each_file_is_decoded_once_across_datasets_and_epochs(tmp_path, monkeypatch):
    samples = [_striped(tmp_path, f"s{i}") for i in range(3)]
    calls = []
    real = dataset_module.read_image
    monkeypatch.setattr(dataset_module, "read_image", lambda p: calls.append(p) or real(p))
    probe = SegmentationDataset(samples, BINARY)
    assert probe.channels == 1
    compute_stats(probe)
    train = SegmentationDataset(samples, BINARY, patch_size=8, augment=True, channels=1)
    for _ in range(2):  # two epochs
        for i in range(len(train)):
            train[i]
    assert SegmentationDataset(samples, BINARY).channels == 1  # a new probe finds them cached too
    assert len(calls) == 3
    # An edited mask (new modification time) is read again.
    stat = os.stat(samples[0].mask)
    os.utime(samples[0].mask, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    train[0]
    assert len(calls) == 4


def test_patches_crop_larger_and_pad_smaller_images(tmp_path):
    big = _striped(tmp_path, "big", shape=(40, 50))
    small = _striped(tmp_path, "small", shape=(5, 7))
    ds = SegmentationDataset([big, small], BINARY, patch_size=16)
    x, y = ds[0]
    assert x.shape == (1, 16, 16) and (y != IGNORE_INDEX).all()
    x, y = ds[1]
    assert x.shape == (1, 16, 16) and y.shape == (16, 16)
    labelled = y != IGNORE_INDEX
    assert labelled.sum() == 5 * 7  # padding is unlabelled
    padded = x[0][~labelled].unique()
    assert torch.allclose(padded, torch.tensor([51 / 255, 204 / 255]))  # reflected image values, no zeros
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    assert batch[0].shape == (2, 1, 16, 16)


def test_patch_crops_are_reproducible_with_the_torch_seed(tmp_path):
    ds = SegmentationDataset([_striped(tmp_path, shape=(60, 60))], BINARY, patch_size=16, augment=True)
    torch.manual_seed(3)
    first = ds[0]
    torch.manual_seed(3)
    again = ds[0]
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])


def test_augmentation_moves_image_and_mask_together(tmp_path):
    ds = SegmentationDataset([_striped(tmp_path, shape=(24, 24))], BINARY, augment=True)
    plain = SegmentationDataset(ds.samples, BINARY)[0][1]
    torch.manual_seed(0)
    changed = 0
    for _ in range(20):
        x, y = ds[0]
        assert torch.equal(x[0] > 0.5, y == 1)  # jitter keeps 0.2 vs 0.8 apart
        changed += not torch.equal(y, plain)
        assert 0 <= x.min() and x.max() <= 1
    assert changed >= 10  # flips/rotations actually happen


def test_augmentation_keeps_non_square_shapes(tmp_path):
    ds = SegmentationDataset([_striped(tmp_path, shape=(10, 30))], BINARY, augment=True)
    for seed in range(8):
        torch.manual_seed(seed)
        x, y = ds[0]
        assert x.shape == (1, 10, 30) and torch.equal(x[0] > 0.5, y == 1)


def test_channels_grey_and_rgb_mix_to_rgb_and_conversion(tmp_path):
    grey, rgb = _striped(tmp_path, "g", channels=1), _striped(tmp_path, "c", channels=3)
    assert SegmentationDataset([grey, rgb], BINARY).channels == 3
    assert SegmentationDataset([grey, rgb], BINARY)[0][0].shape[0] == 3
    assert SegmentationDataset([rgb], BINARY, channels=1)[0][0].shape[0] == 1
    two = tmp_path / "two.tif"
    tifffile.imwrite(two, np.zeros((2, 20, 30), np.uint8))
    mixed = [grey, Sample(two, grey.mask)]
    with pytest.raises(DataError, match="different channel counts"):
        _ = SegmentationDataset(mixed, BINARY).channels
    with pytest.raises(DataError, match="2 channels to 3"):
        SegmentationDataset(mixed, BINARY, channels=3)[1]


def test_samples_without_masks_are_skipped_and_bad_sizes_named(tmp_path):
    good = _striped(tmp_path, "a")
    ds = SegmentationDataset([Sample(good.image, None), good], BINARY)
    assert len(ds) == 1
    bad = _pair(tmp_path / "bad", "b", np.zeros((20, 30), np.uint8), np.zeros((20, 31), np.uint8))
    with pytest.raises(DataError, match=r"b_mask.png: mask is 31x20 but image .*b.png is 30x20 \(width x height\)"):
        SegmentationDataset([bad], BINARY)[0]
    with pytest.raises(DataError, match="normalisation has 3 channels"):
        SegmentationDataset([good], BINARY, mean=[0, 0, 0], std=[1, 1, 1])[0]


def test_compute_stats_on_arrays_and_dataset(tmp_path):
    rng = np.random.default_rng(0)
    arrays = [rng.random((5, 6, 2)), rng.random((7, 3, 2))]
    mean, std = compute_stats(arrays)
    pooled = np.concatenate([a.reshape(-1, 2) for a in arrays])
    np.testing.assert_allclose(mean, pooled.mean(0))
    np.testing.assert_allclose(std, pooled.std(0))
    ds = SegmentationDataset([_striped(tmp_path)], BINARY)
    mean, std = compute_stats(ds)
    unit = ds.arrays(0)[0]
    assert mean == pytest.approx([unit.mean()]) and std == pytest.approx([unit.std()], rel=1e-5)
    assert compute_stats([np.ones((3, 3, 1))])[1] == [dataset_module.MIN_STD]
    with pytest.raises(DataError, match="no labelled images"):
        compute_stats([])
    with pytest.raises(DataError, match="channels"):
        compute_stats([np.zeros((2, 2, 1)), np.zeros((2, 2, 3))])


def test_real_isbi_at_half_scale(isbi_dir):
    samples = find_samples(isbi_dir)[:2]
    ds = SegmentationDataset(samples, load_class_spec(isbi_dir, samples), scale=0.5, patch_size=128)
    x, y = ds[0]
    assert ds.sizes() == [(256, 256)] * 2 and x.shape == (1, 128, 128)
    assert set(y.unique().tolist()) == {0, 1}


def test_real_crf_examples_keep_unlabelled_pixels(crf_examples_dir):
    spec = ClassSpec(["a", "b", "c"], [1, 2, 3], unlabelled=0)
    samples = [Sample(s.image, crf_examples_dir / "masks_index" / s.mask.name) for s in find_samples(crf_examples_dir)]
    ds = SegmentationDataset(samples, spec, patch_size=256)
    assert ds.channels == 3
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (3, 256, 256) and (y == IGNORE_INDEX).any() and (y != IGNORE_INDEX).any()
