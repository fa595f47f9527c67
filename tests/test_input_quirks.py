"""Input quirks from public bug reports of comparable tools, each rebuilt as a small generated input.

Lossy mask values (JPEG masks), images of mixed sizes with whole-image training, EXIF orientation, label sets that
cannot teach, probability arrays in other tools' layouts: the core, the API and the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from test_cli import TINY_TRAIN, assert_one_line_error
from test_cli import segcore as run_cli

import segcore
from segcore.data import io, layout
from segcore.data.classes import ClassSpec
from segcore.errors import DataError, SegcoreError, TrainingError
from segcore.training.config import TrainConfig
from segcore.training.events import DoneEvent, LogEvent
from segcore.training.loop import Trainer

TINY = dict(arch_kwargs={"width": 4, "depth": 2}, batch_size=2, lr=5e-3, epochs=1, device="cpu")


def disc(h: int, w: int, radius: float, value: int = 255, base: np.ndarray | None = None) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    mask = np.zeros((h, w), np.uint8) if base is None else base.copy()
    mask[(yy - h / 2 + 3) ** 2 + (xx - w / 2 + 5) ** 2 < radius**2] = value
    return mask


def write_folder(root: Path, masks: list[np.ndarray], suffix: str = ".png", **save) -> Path:
    """images/ + masks/: RGB images brighter where the mask is set, masks saved with Pillow as ``suffix``."""
    rng = np.random.default_rng(0)
    for i, mask in enumerate(masks):
        image = rng.integers(0, 80, (*mask.shape, 3), dtype=np.uint8)
        image[mask > 0] += 120
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(exist_ok=True)
        Image.fromarray(image).save(root / "images" / f"im{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"im{i}{suffix}", **save)
    return root


# -- 1. mask values a lossy or resampled file produced ------------------------------------------------------------
@pytest.fixture
def jpeg_masks(tmp_path) -> Path:
    """Six 64x64 images with binary masks saved as JPEG quality 75: some 60 grey values around 0 and 255."""
    return write_folder(tmp_path / "jpeg", [disc(64, 64, 12 + i) for i in range(6)], ".jpg", quality=75)


def test_jpeg_masks_train_with_a_line_saying_how_many_pixels_were_snapped(jpeg_masks, tmp_path):
    values = set().union(*(np.unique(io.read_mask_raw(p)).tolist() for p in (jpeg_masks / "masks").iterdir()))
    assert len(values) > 20  # the input really is lossy
    proc = run_cli("train", jpeg_masks, "-e", "1", "-o", tmp_path / "run", *TINY_TRAIN)
    warning = next(line for line in proc.stderr.splitlines() if "JPEG" in line)
    assert "pixels" in warning and "[0, 255]" in warning and "PNG" in warning, warning
    data = __import__("torch").load(tmp_path / "run" / "best.pt", weights_only=True)
    assert data["classes"]["values"] == [0, 255]


def test_jpeg_masks_with_a_class_list_read_as_its_classes(jpeg_masks):
    ClassSpec(["background", "cell"], [0, 255]).save(jpeg_masks)
    spec = layout.load_class_spec(jpeg_masks, layout.find_samples(jpeg_masks))
    for path in (jpeg_masks / "masks").iterdir():
        mask = io.read_mask(path, spec)
        assert set(np.unique(mask).tolist()) == {0, 1}
        truth = io.read_mask_raw(path) > 127
        assert (mask.astype(bool) == truth).all()  # each value went to the nearer class


@pytest.mark.parametrize(("name", "masks", "values"), [
    ("three classes", [disc(64, 64, 8, 128, disc(64, 64, 20)) for _ in range(4)], [0, 128, 255]),
    ("small objects", [np.maximum(disc(96, 96, 4), np.roll(disc(96, 96, 3), 30 + i, axis=1)) for i in range(4)],
     [0, 255]),
])
def test_jpeg_masks_of_other_shapes_find_their_classes(tmp_path, name, masks, values):
    folder = write_folder(tmp_path / "f", masks, ".jpg", quality=60)
    warnings = []
    spec = layout.load_class_spec(folder, layout.find_samples(folder), warnings)
    assert spec.values == values and any("JPEG" in w for w in warnings)


def test_jpeg_masks_whose_classes_cannot_be_told_apart_are_refused_naming_jpeg(tmp_path):
    """Classes 0, 1, 2, 3 a grey level apart: a JPEG cannot keep them, and guessing would be wrong."""
    masks = [disc(64, 64, 8, 3, disc(64, 64, 14, 2, disc(64, 64, 20, 1))) for _ in range(4)]
    folder = write_folder(tmp_path / "f", masks, ".jpg", quality=75)
    assert_one_line_error(run_cli("train", folder, "-e", "1", check=False), "masks saved as JPEG", "save the masks as PNG")


def test_resampled_png_masks_read_as_their_classes_but_a_rare_class_is_kept(tmp_path):
    """Bilinear-resized 0/255 masks have ramps of in-between values on every edge; a real rare class has an
    inside and stays a class."""
    resized = [np.asarray(Image.fromarray(disc(32, 32, 8 + i)).resize((100, 100), Image.BILINEAR)) for i in range(4)]
    folder = write_folder(tmp_path / "resized", resized)
    warnings = []
    spec = layout.load_class_spec(folder, layout.find_samples(folder), warnings)
    assert spec.values == [0, 255] and "in-between values" in warnings[0]
    assert set(np.unique(io.read_mask(folder / "masks" / "im0.png", spec)).tolist()) == {0, 1}
    rare = [disc(64, 64, 3, 5, disc(64, 64, 8, 4, disc(64, 64, 20, 1))) for _ in range(3)]
    folder = write_folder(tmp_path / "rare", rare)
    spec = layout.load_class_spec(folder, layout.find_samples(folder))
    assert spec.values == [0, 1, 4, 5]  # none merged, none invented (no classes 2 and 3)


def test_a_mask_with_values_that_are_no_class_names_jpeg_when_it_is_one(tmp_path):
    folder = write_folder(tmp_path / "f", [disc(64, 64, 12)], ".jpg", quality=75)
    spec = ClassSpec(["background", "a", "b"], [0, 1, 2])  # far from the file's 0/255
    with pytest.raises(DataError, match="masks saved as JPEG.*save them as PNG"):
        io.read_mask(folder / "masks" / "im0.jpg", spec)


# -- 2. shapes the batching cannot take -----------------------------------------------------------------------------
SIZES = [(97, 131), (75, 203), (64, 64), (120, 90), (81, 77), (66, 140)]


@pytest.fixture
def mixed_sizes(tmp_path) -> Path:
    return write_folder(tmp_path / "mixed", [disc(h, w, min(h, w) / 4) for h, w in SIZES])


def test_whole_image_training_on_mixed_sizes_runs(mixed_sizes, tmp_path):
    proc = run_cli("train", mixed_sizes, "-e", "1", "-o", tmp_path / "run", "--patch-size", "0", "-b", "4",
                   "--width", "4", "--arch-arg", "depth=2", "-q")
    assert "completed" in proc.stdout and "Traceback" not in proc.stderr
    done = segcore.train(str(mixed_sizes), out=str(tmp_path / "api"), patch_size=None, **{**TINY, "batch_size": 4})
    assert done.status == "completed"


def test_padded_batches_ignore_the_padding():
    from segcore.data.dataset import pad_collate

    x1, y1 = np.ones((3, 5, 7), np.float32), np.zeros((5, 7), np.int64)
    x2, y2 = np.full((3, 8, 4), 2, np.float32), np.ones((8, 4), np.int64)
    import torch

    x, y = pad_collate([(torch.from_numpy(x1), torch.from_numpy(y1)), (torch.from_numpy(x2), torch.from_numpy(y2))])
    assert x.shape == (2, 3, 8, 7) and y.shape == (2, 8, 7)
    assert (y[0, 5:] == 255).all() and (y[0, :, :7] [:5] == 0).all() and (y[1, :, 4:] == 255).all()
    assert (x[0, :, 5:] == 1).all() and (x[1, :, :, 4:] == 2).all()  # the image's edge, repeated


def test_no_untyped_exception_leaves_the_trainer_or_the_api(mixed_sizes, tmp_path, monkeypatch):
    """Whatever torch or the OS raises (here a RuntimeError, before and during the epochs) comes out typed: a
    TrainingError before the first epoch, a failed DoneEvent naming the last good checkpoint after."""
    import segcore.training.loop as loop

    def broken(*args, **kwargs):
        raise RuntimeError("stack expects each tensor to be equal size")

    with monkeypatch.context() as patch:
        patch.setattr(loop, "create_model", broken)
        with pytest.raises(TrainingError, match="training failed: stack expects"):
            segcore.train(str(mixed_sizes), out=str(tmp_path / "a"), **TINY)
    calls = {"n": 0}
    real = loop.segmentation_loss

    def fails_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("CUDA error: device-side assert triggered")
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "segmentation_loss", fails_in_epoch_two)
    config = TrainConfig(data=str(mixed_sizes), out=str(tmp_path / "b"), **{**TINY, "epochs": 3})
    events = list(Trainer(config).run())
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.status == "failed"
    assert "device-side assert" in done.message and "the last good checkpoint is" in done.message
    assert str(tmp_path / "b" / "last.pt") in done.message and "(1 epoch)" in done.message
    with pytest.raises(TrainingError, match="device-side assert"):
        calls["n"] = 0
        segcore.train(str(mixed_sizes), out=str(tmp_path / "c"), **{**TINY, "epochs": 3})
    from segcore import inference

    monkeypatch.setattr(inference.Predictor, "predict", broken)
    with pytest.raises(SegcoreError, match="im0.png failed: RuntimeError: stack expects"):
        segcore.predict(tmp_path / "b" / "last.pt", mixed_sizes / "images" / "im0.png")


# -- 3. metadata that changes the displayed geometry ------------------------------------------------------------
def exif_photo(path: Path, stored: np.ndarray, orientation: int = 6) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, exif=exif, quality=95)


@pytest.fixture
def phone_photos(tmp_path) -> Path:
    """JPEGs stored 96 wide x 64 high with Orientation=6 (shown 64 x 96), masks drawn on the displayed photo."""
    folder = tmp_path / "phone photos"
    rng = np.random.default_rng(0)
    for i in range(6):
        mask = np.zeros((96, 64), np.uint8)  # displayed: 64 wide, 96 high
        mask[10:40 + i, 8:30] = 255
        shown = rng.integers(0, 60, (96, 64, 3), dtype=np.uint8)
        shown[mask > 0] = 220
        (folder / "images").mkdir(parents=True, exist_ok=True)
        (folder / "masks").mkdir(exist_ok=True)
        exif_photo(folder / "images" / f"p{i}.jpg", np.rot90(shown, 1).copy())  # stored as the camera did
        Image.fromarray(mask).save(folder / "masks" / f"p{i}.png")
    return folder


def test_exif_orientation_is_applied_on_reading_images_and_masks(tmp_path):
    """All eight orientations, in JPEG (EXIF) and TIFF (its own tag), give what Pillow's exif_transpose shows."""
    from PIL import ImageOps

    stored = np.zeros((64, 96, 3), np.uint8)
    stored[:8, :16] = 255  # top-left as stored
    for orientation in range(1, 9):
        exif_photo(tmp_path / f"o{orientation}.jpg", stored, orientation)
        exif_photo(tmp_path / f"o{orientation}.png", stored, orientation)  # lossless: the reference
        tifffile.imwrite(tmp_path / f"o{orientation}.tif", stored, photometric="rgb",
                         extratags=[(274, 3, 1, orientation, True)])
        with Image.open(tmp_path / f"o{orientation}.jpg") as im:
            assert np.array_equal(io.read_image(tmp_path / f"o{orientation}.jpg"), np.asarray(ImageOps.exif_transpose(im)))
        with Image.open(tmp_path / f"o{orientation}.png") as im:
            shown = np.asarray(ImageOps.exif_transpose(im))
        assert np.array_equal(io.read_image(tmp_path / f"o{orientation}.tif"), shown), orientation
    assert io.read_image(tmp_path / "o6.jpg").shape[:2] == (96, 64)
    mask = np.zeros((64, 96), np.uint8)
    mask[:8, :16] = 255
    exif_photo(tmp_path / "m.jpg", mask, 6)
    assert io.read_mask_raw(tmp_path / "m.jpg").shape == (96, 64)


def test_phone_photos_train_predict_eval_and_crf_in_the_displayed_geometry(phone_photos, tmp_path):
    run = tmp_path / "run"
    run_cli("train", phone_photos, "-e", "1", "-o", run, *TINY_TRAIN)
    out = tmp_path / "p0_mask.png"
    run_cli("predict", "-m", run / "best.pt", "-i", phone_photos / "images" / "p0.jpg", "-o", out,
            "--probabilities")
    assert io.read_mask_raw(out).shape == (96, 64)  # as every viewer shows the photo
    assert np.load(tmp_path / "p0_mask.probs.npy").shape == (2, 96, 64)
    proc = run_cli("eval", "-m", run / "best.pt", phone_photos)
    assert "p0.jpg" in proc.stdout
    run_cli("crf", "-i", phone_photos / "images" / "p0.jpg", "-p", tmp_path / "p0_mask.probs.npy",
            "-o", tmp_path / "crf.png")
    assert io.read_mask_raw(tmp_path / "crf.png").shape == (96, 64)


def test_a_mask_drawn_on_the_stored_photo_is_refused_in_width_x_height_naming_the_turn(phone_photos):
    Image.fromarray(np.zeros((64, 96), np.uint8)).save(phone_photos / "masks" / "p0.png")
    sample = next(s for s in layout.find_samples(phone_photos) if s.image.stem == "p0")
    with pytest.raises(DataError) as info:
        layout.load_sample(sample, ClassSpec(["background", "foreground"], [0, 255]))
    message = str(info.value)
    assert "mask is 96x64 but image" in message and "is 64x96 (width x height)" in message
    assert "turned by 90 degrees" in message and "EXIF" in message


# -- 4. label sets that cannot teach --------------------------------------------------------------------------------
def test_all_background_masks_are_refused_before_training_and_no_value_is_invented(tmp_path):
    folder = write_folder(tmp_path / "bg", [np.zeros((48, 48), np.uint8) for _ in range(6)])
    proc = run_cli("train", folder, "-e", "1", "-o", tmp_path / "run", *TINY_TRAIN, check=False)
    assert_one_line_error(proc, "holds only 'background'", "nothing to learn")
    assert not (tmp_path / "run" / "best.pt").exists()
    with pytest.raises(DataError, match="nothing to learn"):
        segcore.train(str(folder), out=str(tmp_path / "api"), **TINY)


def test_a_class_in_no_training_mask_and_a_validation_split_without_one_are_warned(tmp_path):
    """classes.json names 'debris', which no mask holds; the val/ split's only mask has no 'cell'."""
    data = tmp_path / "split"
    for i, mask in enumerate([disc(48, 48, 10 + i) for i in range(5)] + [np.zeros((48, 48), np.uint8)]):
        split = data / ("val" if i == 5 else "data")
        split.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.where(mask > 0, 200, 30).astype(np.uint8)).save(split / f"im{i}.png")
        Image.fromarray(mask).save(split / f"im{i}_mask.png")
    (data / "classes.json").write_text(json.dumps({"names": ["background", "cell", "debris"], "values": [0, 255, 128]}))
    events = list(Trainer(TrainConfig(data=str(data), out=str(tmp_path / "run"), patch_size=48, **TINY)).run())
    logs = [e.message for e in events if isinstance(e, LogEvent)]
    assert any("'debris' (value 128) is in no training mask" in m for m in logs), logs
    assert any("no validation mask holds 'cell' (value 255)" in m for m in logs), logs
    assert events[-1].status == "completed"


def test_images_without_a_mask_are_counted_when_left_out_of_training(tmp_path):
    folder = write_folder(tmp_path / "f", [disc(48, 48, 10 + i) for i in range(5)])
    (folder / "masks" / "im3.png").unlink()
    (folder / "masks" / "im4.png").unlink()
    events = list(Trainer(TrainConfig(data=str(folder), out=str(tmp_path / "run"), patch_size=48, **TINY)).run())
    logs = [e.message for e in events if isinstance(e, LogEvent)]
    assert any("2 of 5 images have no mask and are left out of training (e.g. im3.png)" in m for m in logs), logs


# -- 5. array layouts from other tools ------------------------------------------------------------------------------
def test_crf_takes_channels_last_probabilities_and_names_the_layout_it_expects(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(tmp_path / "image.png")
    fg = rng.random((60, 80)).astype(np.float32)
    np.save(tmp_path / "hwk.npy", np.stack([1 - fg, fg], axis=-1))  # (60, 80, 2): Keras, scikit-image
    np.save(tmp_path / "khw.npy", np.stack([1 - fg, fg]))
    np.savez(tmp_path / "batch.npz", np.stack([1 - fg, fg])[None])  # np.savez names it arr_0
    for name in ("hwk.npy", "khw.npy", "batch.npz"):
        run_cli("crf", "-i", tmp_path / "image.png", "-p", tmp_path / name, "-o", tmp_path / f"{name}.png")
    assert np.array_equal(io.read_mask_raw(tmp_path / "hwk.npy.png"), io.read_mask_raw(tmp_path / "khw.npy.png"))
    assert np.array_equal(io.read_mask_raw(tmp_path / "batch.npz.png"), io.read_mask_raw(tmp_path / "khw.npy.png"))
    np.save(tmp_path / "turned.npy", np.stack([1 - fg, fg], axis=-1).transpose(1, 0, 2))  # (80, 60, 2)
    proc = run_cli("crf", "-i", tmp_path / "image.png", "-p", tmp_path / "turned.npy", "-o", tmp_path / "t.png",
                   check=False)
    assert_one_line_error(proc, "80x60 image (width x height)", "expected (K, 60, 80) or (60, 80, K)")
