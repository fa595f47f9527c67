"""Intensity scaling, resizing and channel matching."""

from __future__ import annotations

import numpy as np
import pytest

from segcore.data.preprocess import (
    match_channels,
    resize_image,
    resize_mask,
    scaled_size,
    to_unit,
    unit_scaling,
)
from segcore.errors import DataError

RNG = np.random.default_rng(1)


def test_to_unit_uint8_divides_by_255():
    image = RNG.integers(0, 256, (4, 5, 3)).astype(np.uint8)
    got = to_unit(image)
    assert got.dtype == np.float32 and got.shape == (4, 5, 3)
    np.testing.assert_allclose(got, image / 255.0, rtol=1e-6)


def test_to_unit_stretches_each_channel_by_percentiles():
    image = np.zeros((100, 100, 2), np.uint16)
    image[..., 0] = np.linspace(1000, 2000, 10000).reshape(100, 100)
    image[..., 1] = np.linspace(0, 40000, 10000).reshape(100, 100)
    image[0, 0, 0] = 65535  # a hot pixel must not squash the rest
    got = to_unit(image)
    assert got.min() == 0 and got.max() == 1
    for c in range(2):
        assert 0.45 < np.median(got[..., c]) < 0.55


def test_to_unit_is_robust_to_constant_and_float_images():
    assert not to_unit(np.full((8, 8), 7, np.uint16)).any()
    spots = np.zeros((50, 50), np.float64)
    spots[5, 5] = 3.0  # fewer than 0.5 % bright pixels: percentiles coincide, min/max is used
    got = to_unit(spots)
    assert got[5, 5, 0] == 1 and got.sum() == 1
    nan = np.array([[np.nan, 1.0], [2.0, 3.0]])
    assert np.isfinite(to_unit(nan)).all()


def test_resize_uses_int_of_scale_times_size():
    image = RNG.integers(0, 256, (510, 512, 3)).astype(np.uint8)
    small = resize_image(image, 0.5)
    assert small.shape == (255, 256, 3) and small.dtype == np.uint8
    mask = RNG.integers(0, 3, (510, 512)).astype(np.uint8)
    assert resize_mask(mask, 0.5).shape == (255, 256)
    assert scaled_size(7, 9, 1 / 3) == (2, 3)
    assert resize_image(image, 1.0) is image


def test_resize_mask_never_invents_labels_and_image_keeps_dtype():
    mask = RNG.choice([0, 2, 255], size=(40, 40)).astype(np.uint8)
    for scale in (0.3, 0.5, 2.0):
        assert set(np.unique(resize_mask(mask, scale)).tolist()) <= {0, 2, 255}
    image = RNG.integers(0, 65536, (40, 40, 2)).astype(np.uint16)
    assert resize_image(image, 0.25).dtype == np.uint16
    flat = np.full((40, 40), 123.5, np.float32)
    np.testing.assert_allclose(resize_image(flat, 0.5), 123.5)
    mask2 = np.zeros((4, 4), np.uint8)
    mask2[:2] = 1
    np.testing.assert_array_equal(resize_mask(mask2, 2.0), np.repeat(np.repeat(mask2, 2, 0), 2, 1))


@pytest.mark.parametrize("scale", [0, -1, float("nan"), 0.001])
def test_bad_scales_raise(scale):
    with pytest.raises(DataError):
        resize_image(np.zeros((50, 50, 1), np.uint8), scale)


def test_match_channels():
    rgb = RNG.integers(0, 256, (4, 4, 3)).astype(np.uint8)
    grey = match_channels(rgb, 1)
    assert grey.shape == (4, 4, 1) and grey.dtype == np.uint8
    expected = np.rint(rgb @ np.array([0.299, 0.587, 0.114]))
    assert np.abs(grey[..., 0] - expected).max() <= 1
    np.testing.assert_array_equal(match_channels(grey, 3), np.repeat(grey, 3, 2))
    rgba = np.concatenate([rgb, np.zeros((4, 4, 1), np.uint8)], axis=2)
    np.testing.assert_array_equal(match_channels(rgba, 3), rgb)
    assert match_channels(rgb, 3) is rgb
    with pytest.raises(DataError, match="2 channels to 3"):
        match_channels(np.zeros((4, 4, 2)), 3)


@pytest.mark.parametrize("dtype,top", [(np.uint8, 200), (np.uint16, 4000), (np.float32, 7.0)])
def test_per_image_standardisation_forgets_brightness_and_contrast(dtype, top):
    rng = np.random.default_rng(0)
    image = (rng.random((40, 50, 2)) * top).astype(dtype)
    got = to_unit(image, per_image=True)
    assert got.dtype == np.float32 and got.shape == (40, 50, 2)
    np.testing.assert_allclose(got.mean(axis=(0, 1)), 0.5, atol=1e-3)  # uniform values: nothing is clipped
    np.testing.assert_allclose(got.std(axis=(0, 1)), 1 / 6, atol=1e-3)
    darker = (image.astype(np.float64) * 0.5 + top * 0.05).astype(dtype)  # another exposure of the same scene
    np.testing.assert_allclose(to_unit(darker, per_image=True), got, atol=0.02)
    whole = unit_scaling(image, per_image=True)  # a tile is scaled as the whole image scales it
    np.testing.assert_array_equal(whole(image[5:20, 10:30]), got[5:20, 10:30])
    np.testing.assert_array_equal(whole.channel(1)(image[..., 1]), got[..., 1:2])


def test_per_image_standardisation_clips_outliers_and_survives_flat_and_nan_images():
    spots = np.zeros((50, 50), np.uint16)
    spots[25, 25] = 60000  # a hot pixel: far beyond 3 standard deviations
    got = to_unit(spots, per_image=True)
    assert got.max() == 1.0 and got.min() >= 0.0
    assert np.all(to_unit(np.full((8, 8), 7, np.uint16), per_image=True) == 0.5)  # flat: the middle, no noise
    nan = np.ones((8, 8), np.float32)
    nan[0, 0] = np.nan
    assert np.isfinite(to_unit(nan, per_image=True)).all()
