"""Display conversion without a window: contrast stretch per dtype and channel count, mask colouring by region."""

from __future__ import annotations

import numpy as np

from app.views import render
from app.views.render import Contrast
from segcore.data.classes import IGNORE_INDEX


def test_uint8_full_range_is_shown_as_stored():
    image = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    rgb, limits = render.to_display(image, render.default_contrast(image))
    assert (rgb[..., 0] == image[..., 0]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    assert limits == [(0.0, 255.0)]


def test_uint16_is_stretched_between_percentiles_not_clipped_at_255():
    image = np.linspace(1000, 60000, 100 * 100).reshape(100, 100, 1).astype(np.uint16)
    contrast = render.default_contrast(image)
    assert not contrast.full_range
    rgb, [(lo, hi)] = render.to_display(image, contrast)
    assert lo == np.percentile(image, 0.5) and hi == np.percentile(image, 99.5)
    grey = rgb[..., 0].astype(int)
    assert grey.min() == 0 and grey.max() == 255 and len(np.unique(grey)) > 200  # full grey ramp used
    assert (np.diff(grey.ravel()) >= 0).all()  # order kept


def test_float_and_flat_and_nan_images_display():
    flat = np.full((8, 8, 1), 3.5, np.float32)
    rgb, [(lo, hi)] = render.to_display(flat, render.default_contrast(flat))
    assert lo < 3.5 < hi and (rgb == rgb[0, 0]).all()
    with_nan = np.arange(64, dtype=np.float32).reshape(8, 8, 1)
    with_nan[0, 0] = np.nan
    rgb, _ = render.to_display(with_nan, render.default_contrast(with_nan))
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255


def test_multichannel_composite_and_single_channel():
    image = np.zeros((4, 4, 5), np.uint16)
    for c in range(5):
        image[..., c] = np.arange(16).reshape(4, 4) * (c + 1) * 100
    rgb, limits = render.to_display(image, Contrast(full_range=False))
    assert len(limits) == 3 and rgb[-1, -1].tolist() == [255, 255, 255]  # first three channels as RGB
    rgb, limits = render.to_display(image, Contrast(full_range=False, channel=4))
    assert len(limits) == 1 and (rgb[..., 0] == rgb[..., 2]).all()
    two = np.stack([image[..., 0], image[::-1, ::-1, 0]], axis=-1)
    rgb, _ = render.to_display(two, Contrast(full_range=False))
    assert rgb[-1, -1].tolist() == [255, 0, 255] and rgb[0, 0].tolist() == [0, 255, 0]  # magenta + green


def test_percentile_estimate_on_large_images_is_close():
    rng = np.random.default_rng(0)
    image = rng.normal(1000, 100, (3000, 3000, 1)).astype(np.float32)
    [(lo, hi)] = render.channel_limits(image, Contrast(full_range=False, low=1, high=99))
    exact_lo, exact_hi = np.percentile(image, [1, 99])
    assert abs(lo - exact_lo) < 5 and abs(hi - exact_hi) < 5


def test_mask_colors_background_unlabelled_and_regions():
    lut = render.mask_lut([(0, 0, 0), (255, 0, 0), (0, 0, 255)])
    mask = np.zeros((10, 10), np.uint8)
    mask[2:5, 2:5] = 1
    mask[7, 7] = IGNORE_INDEX
    rgba = np.zeros((10, 10, 4), np.uint8)
    render.paint_rgba(rgba, mask, lut)
    assert rgba[3, 3].tolist() == [255, 0, 0, 255] and rgba[0, 0, 3] == 0 and rgba[7, 7, 3] == 0
    shown = render.mask_lut([(9, 9, 9), (255, 0, 0)], show_background=True)
    assert shown[0].tolist() == [9, 9, 9, 255] and shown[IGNORE_INDEX, 3] == 0
    # A region update touches only its box.
    mask[8, 1] = 2
    rgba[...] = 77
    assert render.paint_rgba(rgba, mask, lut, (8, 1, 9, 2)) == (8, 1, 9, 2)
    assert rgba[8, 1].tolist() == [0, 0, 255, 255] and (rgba[0:8] == 77).all()


def test_outline_mode_keeps_only_borders_and_region_update_matches_full():
    lut = render.mask_lut([(0, 0, 0), (255, 0, 0)])
    mask = np.zeros((12, 12), np.uint8)
    mask[3:9, 3:9] = 1
    full = np.zeros((12, 12, 4), np.uint8)
    render.paint_rgba(full, mask, lut, outline=True)
    assert full[3, 5, 3] == 255 and full[5, 5, 3] == 0  # border drawn, inside clear
    mask[5:7, 8:11] = 1  # an edit at the right border changes the outline of its neighbours too
    partial = full.copy()
    render.paint_rgba(partial, mask, lut, (5, 8, 7, 11), outline=True)
    render.paint_rgba(full, mask, lut, outline=True)
    assert (partial == full).all()


def test_describe_pixel_names_value_and_class():
    image = np.zeros((4, 5, 2), np.uint16)
    image[1, 3] = (3021, 7)
    mask = np.zeros((4, 5), np.uint8)
    mask[1, 3], mask[0, 0], mask[2, 2] = 1, IGNORE_INDEX, 9
    assert render.describe_pixel(image, mask, ["bg", "nucleus"], 3, 1) == "x 3  y 1   value 3021, 7   class: nucleus"
    assert render.describe_pixel(image, mask, ["bg", "nucleus"], 0, 0).endswith("class: unlabelled")
    assert render.describe_pixel(image, mask, ["bg", "nucleus"], 2, 2).endswith("class: class 9")
