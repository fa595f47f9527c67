"""Reading and writing images and masks: every stored type round-trips to the documented in-memory form."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from segcore.data import io
from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.errors import DataError

RNG = np.random.default_rng(0)


def _rand(shape, dtype=np.uint8):
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


# -- images -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif"])
def test_grey_and_rgb_uint8_round_trip_exactly(tmp_path, suffix):
    for shape in [(9, 13), (9, 13, 3)]:
        array = _rand(shape)
        path = tmp_path / f"img{len(shape)}{suffix}"
        Image.fromarray(array).save(path) if suffix != ".tif" else tifffile.imwrite(path, array)
        got = io.read_image(path)
        expected = array if array.ndim == 3 else array[:, :, None]
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, expected)


def test_jpeg_is_read_as_rgb_approximately(tmp_path):
    array = np.full((16, 16, 3), (200, 100, 50), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "a.jpg", quality=95)
    got = io.read_image(tmp_path / "a.jpg")
    assert got.shape == (16, 16, 3)
    assert np.abs(got.astype(int) - array).max() <= 4


def test_16bit_png_and_tiff_keep_uint16(tmp_path):
    array = _rand((7, 11), np.uint16)
    Image.fromarray(array).save(tmp_path / "a.png")
    tifffile.imwrite(tmp_path / "a.tif", array)
    for name in ["a.png", "a.tif"]:
        got = io.read_image(tmp_path / name)
        assert got.dtype == np.uint16 and got.shape == (7, 11, 1)
        np.testing.assert_array_equal(got[..., 0], array)


def test_big_endian_tiff_and_bilevel_png_come_back_native(tmp_path):
    array = _rand((6, 5), np.uint16)
    tifffile.imwrite(tmp_path / "be.tif", array, byteorder=">")
    got = io.read_image(tmp_path / "be.tif")
    assert got.dtype.isnative and got.dtype == np.uint16
    np.testing.assert_array_equal(got[..., 0], array)
    np.testing.assert_array_equal(io.read_mask_raw(tmp_path / "be.tif"), array)
    bits = RNG.integers(0, 2, (6, 5)).astype(bool)
    Image.fromarray(bits).save(tmp_path / "bits.png")
    np.testing.assert_array_equal(io.read_image(tmp_path / "bits.png")[..., 0], bits * 255)
    np.testing.assert_array_equal(io.read_mask_raw(tmp_path / "bits.png"), bits.astype(np.uint8))


def test_float_tiff_is_float32(tmp_path):
    array = RNG.random((5, 6)).astype(np.float64)
    tifffile.imwrite(tmp_path / "f.tif", array)
    got = io.read_image(tmp_path / "f.tif")
    assert got.dtype == np.float32 and got.shape == (5, 6, 1)
    np.testing.assert_allclose(got[..., 0], array, rtol=1e-6)


def test_rgba_drops_alpha_and_palette_becomes_rgb(tmp_path):
    rgba = _rand((6, 8, 4))
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(io.read_image(tmp_path / "rgba.png"), rgba[..., :3])

    pal = Image.frombytes("P", (8, 6), _rand((6, 8)).tobytes())
    pal.putpalette(_rand((256 * 3,)).tolist())
    pal.save(tmp_path / "pal.png")
    got = io.read_image(tmp_path / "pal.png")
    assert got.shape == (6, 8, 3)
    np.testing.assert_array_equal(got, np.asarray(pal.convert("RGB")))


def test_multichannel_tiff_chw_is_transposed(tmp_path):
    chw = _rand((2, 12, 10), np.uint16)
    tifffile.imwrite(tmp_path / "chw.tif", chw)
    got = io.read_image(tmp_path / "chw.tif")
    assert got.shape == (12, 10, 2)
    np.testing.assert_array_equal(got, np.moveaxis(chw, 0, -1))


def test_multichannel_tiff_layouts(tmp_path):
    hwc = _rand((12, 10, 2), np.uint16)
    tifffile.imwrite(tmp_path / "hwc.tif", hwc)  # plain page stack of 12 pages of 10x2: smallest axis last
    tifffile.imwrite(tmp_path / "ij.tif", np.moveaxis(hwc, -1, 0), imagej=True, metadata={"axes": "CYX"})
    tifffile.imwrite(tmp_path / "z1.tif", np.moveaxis(hwc, -1, 0)[None])  # singleton leading axis
    for name in ["hwc.tif", "ij.tif", "z1.tif"]:
        np.testing.assert_array_equal(io.read_image(tmp_path / name), hwc, err_msg=name)


@pytest.mark.parametrize("axes, what", [("ZYX", "z-stack of 5"), ("TYX", "time series of 5")])
def test_tagged_z_stack_or_time_series_is_refused_not_read_as_channels(tmp_path, axes, what):
    stack = _rand((5, 12, 10), np.uint16)  # Fiji / OME stacks say which axis the pages are
    tifffile.imwrite(tmp_path / "ij.tif", stack, imagej=True, metadata={"axes": axes})
    tifffile.imwrite(tmp_path / "s.ome.tif", stack, ome=True, metadata={"axes": axes})
    for name in ["ij.tif", "s.ome.tif"]:
        with pytest.raises(DataError, match=f"{name}: {what} planes.*one plane or a projection"):
            io.read_image(tmp_path / name)
    tifffile.imwrite(tmp_path / "one.tif", stack[:1], imagej=True, metadata={"axes": axes})  # a single plane
    np.testing.assert_array_equal(io.read_image(tmp_path / "one.tif")[..., 0], stack[0])


def test_rgb_tiff_with_alpha_drops_alpha(tmp_path):
    hwc = _rand((12, 10, 4))
    tifffile.imwrite(tmp_path / "rgba.tif", hwc, photometric="rgb", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(io.read_image(tmp_path / "rgba.tif"), hwc[..., :3])


def test_missing_corrupt_and_unsupported_files_raise_data_error_naming_the_file(tmp_path):
    with pytest.raises(DataError, match="nope.png.*not found"):
        io.read_image(tmp_path / "nope.png")
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match="bad.png"):
        io.read_image(tmp_path / "bad.png")
    (tmp_path / "bad.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(DataError, match="bad.tif"):
        io.read_image(tmp_path / "bad.tif")
    (tmp_path / "a.gif").write_bytes(b"GIF89a")  # supported, but truncated
    with pytest.raises(DataError, match="a.gif: not a readable image"):
        io.read_image(tmp_path / "a.gif")
    (tmp_path / "a.xcf").write_bytes(b"gimp xcf")
    with pytest.raises(DataError, match="unsupported file type"):
        io.read_image(tmp_path / "a.xcf")


def test_truncated_png_raises_data_error(tmp_path):
    Image.fromarray(_rand((64, 64, 3))).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.png"):
        io.read_image(tmp_path / "cut.png")


def test_decompression_bomb_guard_gives_clear_message(tmp_path, monkeypatch):
    Image.fromarray(_rand((40, 40))).save(tmp_path / "big.png")
    tifffile.imwrite(tmp_path / "big.tif", _rand((40, 40)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1600 px: between the limit and twice the limit
    for name in ["big.png", "big.tif"]:
        with pytest.raises(DataError, match=f"{name}: image too large"):
            io.read_image(tmp_path / name)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    assert io.read_image(tmp_path / "big.png").shape == (40, 40, 1)
    assert io.MAX_IMAGE_PIXELS >= 1_000_000_000


@pytest.mark.parametrize("shape,dtype,suffix", [((5, 7), np.uint8, ".png"), ((5, 7, 3), np.uint8, ".png"),
                                                ((5, 7), np.uint16, ".png"), ((5, 7, 2), np.float32, ".tif")])
def test_write_image_round_trips(tmp_path, shape, dtype, suffix):
    array = RNG.random(shape).astype(dtype) if dtype == np.float32 else _rand(shape, dtype)
    io.write_image(tmp_path / f"out{suffix}", array)
    got = io.read_image(tmp_path / f"out{suffix}")
    np.testing.assert_array_equal(got, array if array.ndim == 3 else array[:, :, None])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_write_image_refuses_float_png(tmp_path):
    with pytest.raises(DataError, match="use .tif"):
        io.write_image(tmp_path / "f.png", np.zeros((3, 3), np.float32))


# -- masks ------------------------------------------------------------------------------------------------------
def test_mask_modes_give_file_values(tmp_path):
    values = RNG.choice([0, 255], size=(8, 9)).astype(np.uint8)
    Image.fromarray(values).save(tmp_path / "l.png")
    Image.fromarray(np.stack([values] * 3, -1)).save(tmp_path / "rgb.png")
    big = RNG.integers(0, 1000, (8, 9)).astype(np.uint16)
    Image.fromarray(big).save(tmp_path / "i16.png")
    np.testing.assert_array_equal(io.read_mask_raw(tmp_path / "l.png"), values)
    np.testing.assert_array_equal(io.read_mask_raw(tmp_path / "rgb.png"), values)  # grey stored as RGB
    np.testing.assert_array_equal(io.read_mask_raw(tmp_path / "i16.png"), big)


def test_palette_mask_gives_indices_not_colours(tmp_path):
    idx = RNG.integers(0, 3, (6, 6)).astype(np.uint8)
    im = Image.frombytes("P", (6, 6), idx.tobytes())
    im.putpalette([10, 20, 30, 200, 0, 0, 0, 200, 0] + [0] * 759)
    im.save(tmp_path / "p.png")
    np.testing.assert_array_equal(io.read_mask_raw(tmp_path / "p.png"), idx)


def test_colour_coded_mask_needs_matching_spec(tmp_path):
    spec = ClassSpec(["bg", "red", "green"], [0, 1, 2], colors=[(0, 0, 255), (255, 0, 0), (0, 255, 0)],
                     unlabelled=9)
    idx = RNG.integers(0, 3, (6, 7))
    rgb = np.array(spec.colors, dtype=np.uint8)[idx]
    rgb[0, 0] = (0, 0, 0)  # black is no class colour here -> unlabelled
    Image.fromarray(rgb).save(tmp_path / "c.png")
    with pytest.raises(DataError, match="colour-coded.*classes.json"):
        io.read_mask_raw(tmp_path / "c.png")
    raw = io.read_mask_raw(tmp_path / "c.png", spec)
    expected = idx.copy()
    expected[0, 0] = 9
    np.testing.assert_array_equal(raw, expected)
    mask = io.read_mask(tmp_path / "c.png", spec)
    assert mask[0, 0] == IGNORE_INDEX and mask[1, 1] == idx[1, 1]
    other = ClassSpec(["bg", "fg"], [0, 1], colors=[(1, 1, 1), (2, 2, 2)])
    with pytest.raises(DataError, match="colour-coded"):
        io.read_mask_raw(tmp_path / "c.png", other)


def test_read_mask_decodes_binary_0_255_and_rejects_stray_values(tmp_path):
    values = RNG.choice([0, 255], size=(8, 9)).astype(np.uint8)
    Image.fromarray(values).save(tmp_path / "m.png")
    spec = ClassSpec.infer({0, 255})
    np.testing.assert_array_equal(io.read_mask(tmp_path / "m.png", spec), (values == 255).astype(np.uint8))
    values[0, 0] = 7
    Image.fromarray(values).save(tmp_path / "m.png")
    with pytest.raises(DataError, match=r"m.png.*\[7\]"):
        io.read_mask(tmp_path / "m.png", spec)


@pytest.mark.parametrize("values", [[0, 255], [0, 1, 2], [0, 10, 20, 30]])
def test_write_mask_is_indexed_png_and_reads_back_identically(tmp_path, values):
    spec = ClassSpec([f"c{i}" for i in range(len(values))], values)
    mask = RNG.integers(0, len(values), (10, 12)).astype(np.uint8)
    mask[:2, :3] = IGNORE_INDEX  # sparse annotation
    io.write_mask(tmp_path / "m.png", mask, spec)
    with Image.open(tmp_path / "m.png") as im:
        assert im.mode == "P"
        palette = np.array(im.getpalette()[: 3 * 256]).reshape(-1, 3)
    for value, colour in zip(spec.values, spec.colors, strict=True):
        assert tuple(palette[value]) == colour
    np.testing.assert_array_equal(io.read_mask(tmp_path / "m.png", spec), mask)
    assert spec.unlabelled is not None and spec.unlabelled not in values


def test_write_mask_with_16bit_values(tmp_path):
    spec = ClassSpec(["bg", "fg"], [0, 1000])
    mask = RNG.integers(0, 2, (5, 5)).astype(np.uint8)
    io.write_mask(tmp_path / "m.png", mask, spec)
    np.testing.assert_array_equal(io.read_mask(tmp_path / "m.png", spec), mask)


def test_write_mask_rejects_bad_input(tmp_path):
    spec = ClassSpec(["bg", "fg"], [0, 255])
    with pytest.raises(DataError, match="class indices"):
        io.write_mask(tmp_path / "m.png", np.full((3, 3), 5, np.uint8), spec)
    with pytest.raises(DataError, match="2-D"):
        io.write_mask(tmp_path / "m.png", np.zeros((3, 3, 3), np.uint8), spec)
    with pytest.raises(DataError, match="PNG"):
        io.write_mask(tmp_path / "m.jpg", np.zeros((3, 3), np.uint8), spec)
    assert not list(tmp_path.iterdir())


def test_real_crf_index_masks_with_unlabelled_zero(crf_examples_dir):
    spec = ClassSpec(["a", "b", "c"], [1, 2, 3], unlabelled=0)
    for path in sorted((crf_examples_dir / "masks_index").glob("*.png")):
        mask = io.read_mask(path, spec)
        image = io.read_image(crf_examples_dir / "images" / path.name)
        assert mask.shape == image.shape[:2] and image.shape[2] == 3
        labelled = mask != IGNORE_INDEX
        assert 0 < labelled.mean() < 1  # sparse scribbles
        assert set(np.unique(mask[labelled]).tolist()) <= {0, 1, 2}


def test_retina_formats_gif_masks_and_ppm_images_are_read(tmp_path):
    """DRIVE ships GIF vessel masks, STARE PPM images. A GIF can only hold a palette; one whose palette is grey
    reads as the grey levels shown, whatever indices the encoder chose (Pillow's own GIF writer picks 0/1)."""
    from PIL import Image

    from segcore.data import layout

    vessels = np.zeros((30, 40), np.uint8)
    vessels[10:12, :] = 255
    folder = tmp_path / "drive"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    Image.fromarray(np.stack([vessels // 2] * 3, -1)).save(folder / "images" / "21_training.ppm")
    Image.fromarray(vessels).save(folder / "masks" / "21_training.gif")
    inverted = Image.fromarray(vessels).convert("P")  # a palette with white at index 0, black at 1
    inverted.putpalette([255, 255, 255, 0, 0, 0] + [0, 0, 0] * 254)
    Image.fromarray(np.where(vessels == 255, 0, 1).astype(np.uint8), "P").save(
        folder / "masks" / "inverted.gif", palette=inverted.getpalette())
    Image.fromarray(vessels).save(folder / "images" / "inverted.pgm")
    assert np.array_equal(io.read_mask_raw(folder / "masks" / "21_training.gif"), vessels)
    assert np.array_equal(io.read_mask_raw(folder / "masks" / "inverted.gif"), vessels)
    samples = layout.find_samples(folder)
    assert sorted(s.image.name for s in samples if s.mask is not None) == ["21_training.ppm", "inverted.pgm"]
    assert io.read_image(folder / "images" / "21_training.ppm").shape == (30, 40, 3)
    with pytest.raises(DataError, match="cannot write '.gif'"):
        io.write_image(tmp_path / "x.gif", vessels)


def test_one_bit_masks_read_with_a_0_255_class_list(tmp_path):
    """CHASE_DB1 ships 1-bit PNG masks, which hold 0/1; a model trained on 0/255 masks is evaluated on them."""
    bits = RNG.integers(0, 2, (6, 5)).astype(bool)
    Image.fromarray(bits).save(tmp_path / "bits.png")
    spec = ClassSpec(["background", "vessel"], [0, 255])
    np.testing.assert_array_equal(io.read_mask(tmp_path / "bits.png", spec), bits.astype(np.uint8))
    with pytest.raises(DataError, match=r"\[2\]"):  # other values still are not in the list
        spec.decode(np.array([[0, 2]], np.uint8))
