"""Folder layouts, class specs, size checks and the train/validation split."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.data.layout import (
    Sample,
    create_txt,
    find_samples,
    load_class_spec,
    load_sample,
    split_samples,
)
from segcore.errors import ConfigError, DataError


def _img(path, size=(8, 10), value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)
    return path


def _mask(path, values=(0, 255), size=(8, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.resize(np.array(values, np.uint8), size[0] * size[1]).reshape(size)
    Image.fromarray(array).save(path)
    return path


def _names(samples):
    return [(s.image.name, s.mask.name if s.mask else None, s.split) for s in samples]


def test_images_masks_layout_pairs_by_stem_and_stem_mask(tmp_path):
    for name in ["a.png", "b.tif", "c.png", "10.png", "2.png"]:
        _img(tmp_path / "images" / name) if name != "b.tif" else None
    Image.fromarray(np.zeros((8, 10), np.uint8)).save(tmp_path / "images" / "b.tif")
    _mask(tmp_path / "masks" / "a.png")
    _mask(tmp_path / "masks" / "b_mask.png")
    _mask(tmp_path / "masks" / "orphan.png")
    (tmp_path / "images" / "notes.txt").write_text("ignored")
    (tmp_path / "images" / ".a.tmp.png").write_bytes(b"half-written")
    warnings = []
    samples = find_samples(tmp_path, warnings)
    assert _names(samples) == [("2.png", None, None), ("10.png", None, None), ("a.png", "a.png", None),
                               ("b.tif", "b_mask.png", None), ("c.png", None, None)]
    assert len(warnings) == 1 and "orphan.png" in warnings[0]


def test_two_masks_for_one_image_is_an_error(tmp_path):
    _img(tmp_path / "images" / "a.png")
    _mask(tmp_path / "masks" / "a.png")
    _mask(tmp_path / "masks" / "a_mask.png")
    with pytest.raises(DataError, match="two masks for image 'a'"):
        find_samples(tmp_path)


def test_ome_tiff_images_pair_with_masks_named_without_ome(tmp_path):
    # OME-TIFF files are named a.ome.tif; their masks a.tif / a_mask.png, as Fiji and QuPath export them
    for folder in ["images", "plain"]:
        for name in ["a.ome.tif", "b.OME.tiff"]:
            _img(tmp_path / folder / name)
    _mask(tmp_path / "masks" / "a.tif")
    _mask(tmp_path / "masks" / "b.png")
    _mask(tmp_path / "plain" / "a_mask.png")
    _mask(tmp_path / "plain" / "b.ome_mask.png")
    warnings = []
    assert _names(find_samples(tmp_path, warnings)) == [("a.ome.tif", "a.tif", None), ("b.OME.tiff", "b.png", None)]
    assert _names(find_samples(tmp_path / "plain", warnings)) == [("a.ome.tif", "a_mask.png", None),
                                                                  ("b.OME.tiff", "b.ome_mask.png", None)]
    assert warnings == []


def test_masks_named_the_way_public_sets_name_them_are_pointed_out(tmp_path):
    # GlaS (train_1_anno.bmp), CHASE_DB1 (Image_01L_1stHO.png), Cellpose (img_masks.png) keep masks beside the
    # image under suffixes that do not pair: they are read as images, and the warning says which file to rename
    _img(tmp_path / "glas" / "train_1.bmp")
    _mask(tmp_path / "glas" / "train_1_anno.bmp")
    _img(tmp_path / "glas" / "train_2.bmp")
    _mask(tmp_path / "glas" / "train_2_anno.bmp")
    _img(tmp_path / "glas" / "train_20.bmp")  # an image whose name merely extends another's is not a mask
    warnings = []
    samples = find_samples(tmp_path / "glas", warnings)
    assert [s.mask for s in samples] == [None] * 5
    assert len(warnings) == 1 and re.search(r"train_1_anno.bmp: looks like the mask of train_1.bmp.*\(2 such "
                                            r"files\).*rename them \(here train_1_mask.bmp\)", warnings[0])
    # in masks/, Cellpose's img1_masks.png pairs as it is (issue 16); an unpaired mask says which name would pair
    _img(tmp_path / "cellpose" / "images" / "img1.tif")
    _mask(tmp_path / "cellpose" / "masks" / "img1_masks.png")
    _mask(tmp_path / "cellpose" / "masks" / "other.png")
    _mask(tmp_path / "cellpose" / "masks" / "img1_anno.png")
    warnings = []
    samples = find_samples(tmp_path / "cellpose", warnings)
    assert [s.mask.name for s in samples] == ["img1_masks.png"]
    assert warnings[0].endswith("img1_anno.png: no image with stem 'img1_anno'; mask ignored "
                                "(rename it img1.png to pair it with image 'img1')")
    assert warnings[1].endswith("other.png: no image with stem 'other'; mask ignored")


def test_data_val_layout_with_lists_and_both_mask_conventions(tmp_path):
    _img(tmp_path / "data" / "x1.png")
    _mask(tmp_path / "data" / "masks" / "x1.png")
    _img(tmp_path / "data" / "x2.png")
    _mask(tmp_path / "data" / "x2_mask.png")
    _img(tmp_path / "data" / "x3.png")  # not in the list -> not used
    (tmp_path / "data" / "data.txt").write_text("x1.png\n\n# comment\nx2.png\n")
    _img(tmp_path / "val" / "v1.png")
    _mask(tmp_path / "val" / "v1_mask.png")  # no list: every image is used
    samples = find_samples(tmp_path)
    assert _names(samples) == [("x1.png", "x1.png", "train"), ("x2.png", "x2_mask.png", "train"),
                               ("v1.png", "v1_mask.png", "val")]
    train, val = split_samples(samples, 0.5, seed=3)
    assert [s.name for s in train] == ["x1", "x2"] and [s.name for s in val] == ["v1"]


def test_create_txt_writes_lists_that_find_samples_reads(tmp_path):
    for name in ["b.png", "a.png"]:
        _img(tmp_path / "data" / name)
        _mask(tmp_path / "data" / "masks" / name)
    _img(tmp_path / "val" / "c.png")
    _mask(tmp_path / "val" / "c_mask.png")
    written = create_txt(tmp_path)
    assert written == [tmp_path / "data" / "data.txt", tmp_path / "val" / "val.txt"]
    assert (tmp_path / "data" / "data.txt").read_text() == "a.png\nb.png\n"
    assert (tmp_path / "val" / "val.txt").read_text() == "c.png\n"
    assert len(find_samples(tmp_path)) == 3


def test_list_naming_a_missing_image_is_an_error(tmp_path):
    _img(tmp_path / "data" / "a.png")
    (tmp_path / "data" / "data.txt").write_text("a.png\nghost.png\n")
    with pytest.raises(DataError, match="data.txt.*ghost.png"):
        find_samples(tmp_path)


def test_create_txt_needs_the_data_val_layout(tmp_path):
    _img(tmp_path / "images" / "a.png")
    with pytest.raises(DataError, match="no data/ or val/"):
        create_txt(tmp_path)


def test_plain_folder_of_images_without_masks(tmp_path):
    _img(tmp_path / "a.png")
    _img(tmp_path / "b.jpg")
    samples = find_samples(tmp_path)
    assert _names(samples) == [("a.png", None, None), ("b.jpg", None, None)]
    assert split_samples(samples) == ([], [])
    spec = load_class_spec(tmp_path, samples)
    assert spec.values == [0, 255]


def test_empty_or_missing_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no images found"):
        find_samples(tmp_path)
    with pytest.raises(DataError, match="not found"):
        find_samples(tmp_path / "missing")


def test_class_spec_from_classes_json_or_inferred(tmp_path):
    _img(tmp_path / "images" / "a.png")
    _mask(tmp_path / "masks" / "a.png", values=(0, 1, 2, 255))
    samples = find_samples(tmp_path)
    inferred = load_class_spec(tmp_path, samples)
    assert inferred.values == [0, 1, 2] and inferred.unlabelled == 255
    ClassSpec(["bg", "x", "y", "z"], [0, 1, 2, 3], unlabelled=255).save(tmp_path)
    assert load_class_spec(tmp_path, samples).names == ["bg", "x", "y", "z"]
    (tmp_path / "classes.json").write_text("{not json")
    with pytest.raises(DataError, match="classes.json"):
        load_class_spec(tmp_path, samples)


def test_load_sample_checks_sizes_and_stray_values(tmp_path):
    image = _img(tmp_path / "images" / "a.png", size=(8, 10))
    mask = _mask(tmp_path / "masks" / "a.png", size=(8, 9))
    spec = ClassSpec.infer({0, 255})
    with pytest.raises(DataError, match=r"a.png: mask is 9x8 but image .*a.png is 10x8 \(width x height\)"):
        load_sample(Sample(image, mask), spec)
    _mask(mask, values=(0, 255, 3), size=(8, 10))
    with pytest.raises(DataError, match=r"not in the class list"):
        load_sample(Sample(image, mask), spec)
    loaded_image, no_mask = load_sample(Sample(image, None), spec)
    assert loaded_image.shape == (8, 10, 1) and no_mask is None


def test_random_split_is_seeded_and_keeps_one_val_image():
    samples = [Sample(Path(f"{i}.png"), Path(f"m{i}.png")) for i in range(10)]
    train, val = split_samples(samples, 0.2, seed=5)
    assert len(train) == 8 and len(val) == 2 and not set(train) & set(val)
    assert split_samples(samples, 0.2, seed=5) == (train, val)
    assert split_samples(samples, 0.2, seed=6) != (train, val)
    assert [len(part) for part in split_samples(samples[:2], 0.01)] == [1, 1]
    assert [len(part) for part in split_samples(samples[:1], 0.5)] == [1, 0]
    assert [len(part) for part in split_samples(samples, 0.0)] == [10, 0]
    with pytest.raises(ConfigError):
        split_samples(samples, 1.0)


def test_real_isbi_folder(isbi_dir):
    samples = find_samples(isbi_dir)
    assert len(samples) == 30 and all(s.mask is not None for s in samples)
    spec = load_class_spec(isbi_dir, samples)
    assert spec.values == [0, 255] and spec.num_classes == 2
    image, mask = load_sample(samples[0], spec)
    assert image.shape == (512, 512, 1) and image.dtype == np.uint8
    assert set(np.unique(mask).tolist()) == {0, 1} and 0.6 < mask.mean() < 0.9  # ~78 % cell interior
    train, val = split_samples(samples, 0.2, seed=0)
    assert (len(train), len(val)) == (24, 6)


def test_real_crf_examples_with_index_masks(crf_examples_dir, tmp_path):
    # Palette masks are colour-coded scribbles; masks_index/ holds 0 = unlabelled, 1..K.
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["a", "b", "c"], "values": [1, 2, 3], "unlabelled": 0}))
    spec = ClassSpec.load(tmp_path)
    samples = [Sample(s.image, crf_examples_dir / "masks_index" / s.mask.name)
               for s in find_samples(crf_examples_dir)]
    assert len(samples) == 3
    for sample in samples:
        image, mask = load_sample(sample, spec)
        assert image.shape[2] == 3 and mask.shape == image.shape[:2]
        raw = np.asarray(Image.open(sample.mask))
        np.testing.assert_array_equal(mask == IGNORE_INDEX, raw == 0)  # black scribble gaps are unlabelled
        assert 0 < (mask == IGNORE_INDEX).mean() < 0.5
        np.testing.assert_array_equal(mask[raw > 0], raw[raw > 0] - 1)


@pytest.mark.parametrize("raw,bad", [(np.array([[0, -1]], np.int32), "[-1]"),
                                     (np.array([[0, 70000]], np.int64), "[70000]"),
                                     (np.array([[0, 3, 255]], np.uint16), "[3]")])
def test_decode_names_negative_huge_and_unknown_values(raw, bad):
    """Negative values once indexed the lookup table from its end and became a class; huge ones sized it."""
    with pytest.raises(DataError, match=re.escape(f"mask values {bad} are not in the class list")):
        ClassSpec(["bg", "fg"], [0, 255]).decode(raw)


def test_encode_round_trips_and_widens_only_when_needed():
    spec = ClassSpec(["bg", "fg"], [0, 255])
    mask = np.array([[0, 1, IGNORE_INDEX]], np.uint8)
    encoded = spec.encode(mask)
    assert encoded.dtype == np.uint8 and spec.unlabelled == 254 and (spec.decode(encoded) == mask).all()
    wide = ClassSpec(["bg", "fg"], [0, 1000])
    assert wide.encode(np.array([[0, 1]], np.uint8)).dtype == np.uint16
    assert wide.encode(np.array([[0, 0]], np.uint8)).dtype == np.uint8
    with pytest.raises(DataError, match="0..65535"):
        ClassSpec(["bg", "fg"], [0, 70000])


def _folder_with_masks(root, mask_values):
    for i, values in enumerate(mask_values):
        _img(root / "images" / f"m{i}.png")
        _mask(root / "masks" / f"m{i}.png", values=values)
    return find_samples(root)


def test_binary_masks_beside_odd_ones_are_warned_about(tmp_path):
    """Four 0/255 masks and one of 0/7: 255 becomes "unlabelled" and the foreground of four masks vanishes."""
    samples = _folder_with_masks(tmp_path, [(0, 255)] * 4 + [(0, 7)])
    warnings = []
    spec = load_class_spec(tmp_path, samples, warnings)
    assert spec.unlabelled == 255
    assert len(warnings) == 1 and "masks disagree: 4 hold only 0/255" in warnings[0] and "m4.png: [7]" in warnings[0]


@pytest.mark.parametrize("mask_values", [[(0, 255)] * 3, [(0, 1, 255), (0, 2, 255), (0, 1)]])
def test_consistent_masks_give_no_warning(tmp_path, mask_values):
    warnings = []
    load_class_spec(tmp_path, _folder_with_masks(tmp_path, mask_values), warnings)
    assert warnings == []


def test_field_of_view_masks_paired_as_masks_are_warned_about(tmp_path):
    # DRIVE ships 21_training.tif with 21_training_mask.gif: the field of view (the same disc in every image),
    # which the STEM_mask convention pairs as the segmentation; the vessels are in 1st_manual/21_manual1.gif
    yy, xx = np.mgrid[:40, :44]
    disc = (((yy - 20) ** 2 + (xx - 22) ** 2) < 19 ** 2).astype(np.uint8) * 255
    for i in (21, 22, 23):
        _img(tmp_path / "fov" / f"{i}_training.png", size=(40, 44))
        Image.fromarray(disc).save(tmp_path / "fov" / f"{i}_training_mask.gif")
        _img(tmp_path / "vessels" / f"{i}_training.png", size=(40, 44))
        vessels = np.zeros((40, 44), np.uint8)
        vessels[i - 10::7] = 255
        Image.fromarray(vessels).save(tmp_path / "vessels" / f"{i}_training_mask.gif")
    warnings = []
    load_class_spec(tmp_path / "fov", find_samples(tmp_path / "fov"), warnings)
    assert len(warnings) == 1 and re.search(r"all 3 masks are the same region .*21_training_mask.gif.*field-of-view",
                                            warnings[0])
    warnings = []
    load_class_spec(tmp_path / "vessels", find_samples(tmp_path / "vessels"), warnings)
    assert warnings == []
