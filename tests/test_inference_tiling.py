"""Tiled prediction: tile layout, banded blending, and tiled output against the whole image at once."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segcore import checkpoint as ckpt
from segcore.data.classes import ClassSpec
from segcore.device import for_inference, fuse_conv_bn, resolve
from segcore.inference import Predictor, _TileNormaliser, resize_rows, sliding_window
from segcore.models import create_model
from segcore.tiles import layout, run_banded


@pytest.mark.parametrize("size,tile,overlap,multiple", [
    (4096, 512, 64, 16), (8192, 512, 64, 16), (1000, 256, 32, 1), (513, 512, 64, 8), (300, 512, 64, 16),
    (97, 32, 8, 1), (64, 32, 16, 8),
])
def test_layout_covers_the_axis_with_the_overlap(size, tile, overlap, multiple):
    length, starts = layout(size, tile, overlap, multiple)
    assert length <= min(tile, size)
    assert starts[0] == 0 and starts[-1] + length == size
    assert starts == sorted(set(starts))
    gaps = np.diff(starts)
    if len(starts) > 1:
        assert (length - gaps).min() >= min(overlap, tile // 2) - 1  # rounding may cost one pixel
        assert gaps.max() - gaps.min() <= 1  # evenly spread


def test_run_banded_emits_every_row_once_in_order_and_blends_exactly():
    h, w, k = 150, 97, 3
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    field = np.stack([np.sin(yy / 17), np.cos(xx / 11), yy * xx / (h * w)]).astype(np.float32)
    rows = []

    def predict(y, x, th, tw):  # every tile agrees with the field: the blend must give it back
        return field[:, y:y + th, x:x + tw].copy()

    out = np.full((k, h, w), np.nan, dtype=np.float32)

    def emit(y, band):
        rows.extend(range(y, y + band.shape[1]))
        out[:, y:y + band.shape[1]] = band

    run_banded(predict, h, w, k, emit, tile=40, overlap=12)
    assert rows == list(range(h))
    np.testing.assert_allclose(out, field, atol=1e-5, rtol=1e-5)


def _tiny_checkpoint(path, in_channels=3, scale=1.0):
    torch.manual_seed(0)
    model = create_model("unet", in_channels, 2, width=4, depth=2)
    for m in model.modules():  # non-trivial running statistics so that folding batch norm matters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    with torch.no_grad():  # centre the logits so that both classes occur
        logits = model(torch.randn(1, in_channels, 64, 64))
        model.head.bias -= logits.mean(dim=(0, 2, 3))
    spec = ClassSpec(names=["background", "cell"], values=[0, 255])
    ckpt.save(path, {"arch": "unet", "arch_kwargs": model.arch[1], "in_channels": in_channels,
                     "classes": spec.to_dict(), "normalization": {"mean": [0.4] * in_channels,
                                                                  "std": [0.2] * in_channels},
                     "scale": scale, "model": model.state_dict()})
    return path


def _smooth_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    coarse = rng.random((h // 8 + 2, w // 8 + 2, 3))
    img = np.kron(coarse, np.ones((8, 8, 1)))[:h, :w]
    return (img * 255).astype(np.uint8)


@pytest.fixture
def tiny_model(tmp_path):
    return _tiny_checkpoint(tmp_path / "tiny.pt")


def test_tiled_prediction_matches_the_whole_image(tiny_model):
    image = _smooth_image(100, 130)
    whole = Predictor(tiny_model, device="cpu", fast=False, tile=512).predict_proba(image)
    tiled = Predictor(tiny_model, device="cpu", fast=False, tile=48, overlap=16).predict_proba(image)
    assert tiled.shape == whole.shape == (2, 100, 130)
    np.testing.assert_allclose(tiled.sum(0), 1.0, atol=1e-5)
    diff = np.abs(tiled - whole)
    assert diff.mean() < 5e-3 and diff.max() < 0.05, (diff.mean(), diff.max())


def test_no_visible_seams_at_tile_borders(tiny_model):
    image = np.full((96, 96, 3), 120, dtype=np.uint8)  # constant input: any jump in the output is a seam
    whole = Predictor(tiny_model, device="cpu", fast=False, tile=512).predict_proba(image)[1]
    tiled = Predictor(tiny_model, device="cpu", fast=False, tile=40, overlap=12).predict_proba(image)[1]
    length, starts = layout(96, 40, 12, 4)
    borders = sorted({s for s in starts[1:]} | {s + length for s in starts[:-1]})
    whole_jump = np.abs(np.diff(whole[20:-20, 20:-20], axis=1)).max()
    for b in borders:
        if 20 < b < 76:
            jump = np.abs(tiled[20:-20, b] - tiled[20:-20, b - 1]).max()
            assert jump <= whole_jump + 1e-3, (b, jump, whole_jump)


@pytest.mark.parametrize("fast", [False, True])
def test_predict_is_the_argmax_of_predict_proba(tiny_model, fast):
    predictor = Predictor(tiny_model, device="cpu", fast=fast, tile=48, overlap=16)
    image = _smooth_image(70, 150, seed=3)
    mask = predictor.predict(image)
    assert mask.dtype == np.uint8 and mask.shape == (70, 150)
    np.testing.assert_array_equal(mask, predictor.predict_proba(image).argmax(0))
    assert 0 < mask.mean() < 1  # both classes occur, so the comparison means something


def test_scaled_checkpoint_still_predicts_at_the_input_size(tmp_path):
    predictor = Predictor(_tiny_checkpoint(tmp_path / "half.pt", scale=0.5), device="cpu", tile=32, overlap=8)
    image = _smooth_image(90, 75)
    mask = predictor.predict(image)
    assert mask.shape == (90, 75)
    np.testing.assert_array_equal(mask, predictor.predict_proba(image).argmax(0))


@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_scaled_prediction_resizes_back_exactly_band_by_band(tmp_path, scale):
    """The band-by-band resize equals resizing the whole probability map (what it replaced: 2.5 GB -> 1.7 GB peak
    for a scale-0.5 checkpoint on an 8192x8192 RGB image)."""
    predictor = Predictor(_tiny_checkpoint(tmp_path / "s.pt", scale=scale), device="cpu", tile=32, overlap=8,
                          engine="pytorch")
    image = _smooth_image(90, 75)
    engine = predictor.engine
    whole = sliding_window(engine.model, torch.from_numpy(predictor.prepare(image)), engine.runtime, 2, 32, 8)
    expected = torch.nn.functional.interpolate(whole[None], size=(90, 75), mode="bilinear", align_corners=False)[0]
    torch.testing.assert_close(torch.from_numpy(predictor.predict_proba(image)), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("shape", [(2, 50, 60, 100, 121), (3, 100, 80, 37, 29), (2, 7, 9, 300, 5)])
def test_resize_rows_matches_interpolate(shape):
    k, src_h, src_w, h, w = shape
    probs = torch.rand(k, src_h, src_w, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.interpolate(probs[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    pieces = list(resize_rows(probs.numpy(), h, w, rows=16))
    assert [y for y, _ in pieces] == list(range(0, h, 16))
    # numpy and PyTorch add the four neighbours in another order: equal to float32 rounding, not bit for bit
    np.testing.assert_allclose(np.concatenate([band for _, band in pieces], axis=1), expected.numpy(), atol=1e-5,
                               rtol=0)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tile_normaliser_equals_normalising_the_whole_image(tiny_model, dtype, per_image):
    rng = np.random.default_rng(1)
    image = (rng.random((60, 70, 3)) * (200 if dtype == np.uint8 else 4000)).astype(dtype)
    if dtype == np.float32:
        image[5, 5, 0] = np.nan
    predictor = Predictor(tiny_model, device="cpu", fast=False)
    predictor.per_image = per_image
    whole = predictor.prepare(image)
    tiles = _TileNormaliser(image, 3, predictor.mean, predictor.std, per_image)
    np.testing.assert_allclose(tiles(10, 20, 30, 40), whole[:, 10:40, 20:60], atol=1e-6, rtol=1e-6)


def test_folding_batch_norm_keeps_the_output(tiny_model):
    model = ckpt.build_model(ckpt.load(tiny_model)).eval()
    x = torch.randn(1, 3, 40, 44)
    with torch.inference_mode():
        expected = model(x)
        fused = fuse_conv_bn(ckpt.build_model(ckpt.load(tiny_model)).eval())
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
        torch.testing.assert_close(fused(x), expected, atol=1e-4, rtol=1e-4)
    prepared = for_inference(ckpt.build_model(ckpt.load(tiny_model)), resolve("cpu", fast=False))
    assert not prepared.training and not any(p.requires_grad for p in prepared.parameters())
