"""Instance-labelled masks (one id per object, as Cellpose, StarDist and the Data Science Bowl store them): read as
background/object, never as hundreds of classes; written back without losing the ids a file already has."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from segcore import checkpoint as ckpt
from segcore.data import io, layout
from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.errors import DataError

REPO = Path(__file__).resolve().parents[1]


def _cells(shape=(64, 80), count=12, seed=0, dtype=np.uint16) -> np.ndarray:
    """Separate square 'nuclei' with ids 1..count in a shuffled order."""
    rng = np.random.default_rng(seed)
    out = np.zeros(shape, dtype)
    ids = rng.permutation(count) + 1
    for k, value in enumerate(ids):
        y, x = 2 + (k // 6) * 10, 2 + (k % 6) * 12
        out[y:y + 6, x:x + 8] = value
    return out


def _folder(root: Path, masks: list[np.ndarray], suffix: str = ".png") -> Path:
    for i, mask in enumerate(masks):
        io.write_image(root / "images" / f"im{i}.png", np.full(mask.shape, 50, np.uint8))
        target = root / "masks" / f"im{i}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".tif":
            tifffile.imwrite(target, mask)
        else:
            Image.fromarray(mask).save(target)
    return root


def _spec_of(folder: Path) -> tuple[ClassSpec, list[str]]:
    warnings: list[str] = []
    samples = layout.find_samples(folder)
    return layout.load_class_spec(folder, samples, warnings), warnings


def test_real_dsb2018_instance_masks_read_as_the_published_binary_mask(shared_data, tmp_path):
    data = shared_data("dsb2018_stardist_sample")
    folder = tmp_path / "dsb"
    shutil.copytree(data / "images", folder / "images")
    shutil.copytree(data / "instances", folder / "masks")
    spec, warnings = _spec_of(folder)
    assert spec.instances and spec.names == ["background", "object"]
    assert len(warnings) == 1 and "instance labels" in warnings[0] and "classes.json" in warnings[0]
    name = sorted(p.name for p in (folder / "masks").iterdir())[0]
    binary = io.read_mask(data / "masks" / name, ClassSpec(["background", "nucleus"], [0, 255]))
    assert np.array_equal(io.read_mask(folder / "masks" / name, spec), binary)


def test_few_shared_values_stay_classes_and_differing_ids_are_instances(tmp_path):
    bands = np.repeat(np.arange(10, dtype=np.uint8), 8)[:, None].repeat(40, 1)  # ten layers, one band each
    spec, warnings = _spec_of(_folder(tmp_path / "layers", [bands, bands.copy()]))
    assert not spec.instances and spec.num_classes == 10 and warnings == []
    spec, _ = _spec_of(_folder(tmp_path / "cells", [_cells(count=12), _cells(count=9, seed=1)]))
    assert spec.instances
    # many values but each scattered over the image: classes (a 40-class semantic mask), not objects
    rng = np.random.default_rng(0)
    scattered = rng.integers(0, 40, (64, 64), dtype=np.uint8)
    spec, _ = _spec_of(_folder(tmp_path / "many", [scattered, scattered[::-1].copy()]))
    assert not spec.instances and spec.num_classes == 40


def test_more_than_255_ids_in_16_bit_tiff_are_instances(tmp_path):
    ids = np.arange(300, dtype=np.uint16).reshape(15, 20).repeat(4, 0).repeat(4, 1)
    spec, _ = _spec_of(_folder(tmp_path / "tif", [ids], suffix=".tif"))
    assert spec.instances
    assert io.read_mask(tmp_path / "tif" / "masks" / "im0.tif", spec).sum() == (ids != 0).sum()


def test_writing_keeps_ids_grows_the_touched_object_and_numbers_new_ones(tmp_path):
    spec = ClassSpec.for_instances()
    before = np.zeros((20, 30), np.uint16)
    before[2:6, 2:6] = 7
    before[10:14, 10:14] = 300
    source = tmp_path / "cells.tif"
    tifffile.imwrite(source, before)
    mask = spec.decode(before)
    mask[2:6, 6] = 1  # extends object 7
    mask[15:18, 25:28] = 1  # a new object
    mask[10:14, 10:14] = 0  # object 300 erased
    target = tmp_path / "cells.png"
    io.write_mask(target, mask, spec, ids_from=source)
    after = io.read_mask_raw(target)
    assert (after[2:6, 2:7] == 7).all()
    assert (after[15:18, 25:28] == 301).all()  # above every id the file had: erased 300 is never given again
    assert not (after == 300).any()
    assert np.array_equal(io.read_mask(target, spec), mask)
    # without a source file every connected region is numbered (a prediction becomes an instance mask)
    io.write_mask(tmp_path / "pred.png", mask, spec)
    assert sorted(np.unique(io.read_mask_raw(tmp_path / "pred.png")).tolist()) == [0, 1, 2]


def test_instance_specs_refuse_unlabelled_pixels_and_extra_classes(tmp_path):
    spec = ClassSpec.for_instances()
    mask = np.zeros((8, 8), np.uint8)
    mask[0, 0] = IGNORE_INDEX
    with pytest.raises(DataError, match="unlabelled"):
        io.write_mask(tmp_path / "m.png", mask, spec)
    assert not (tmp_path / "m.png").exists()
    with pytest.raises(DataError, match="two classes"):
        ClassSpec(["background", "a", "b"], [0, 1, 2], instances=True)


def test_classes_json_with_instances_true_is_enough_and_class_specs_are_unchanged(tmp_path):
    (tmp_path / "classes.json").write_text(json.dumps({"instances": True, "names": ["background", "nucleus"]}))
    spec = ClassSpec.load(tmp_path)
    assert spec.instances and spec.names == ["background", "nucleus"] and spec.values == [0, 1]
    assert ClassSpec.from_dict(spec.to_dict()) == spec
    assert "instances" not in ClassSpec(["background", "cell"], [0, 255]).to_dict()


def test_cli_trains_on_instance_masks_as_two_classes_and_says_so(tmp_path):
    folder = _folder(tmp_path / "data", [_cells(count=10 + s, seed=s) for s in range(3)])
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "segcore", "train", str(folder), "-e", "1", "-b", "2",
                             "--patch-size", "32", "--arch-arg", "width=4", "--arch-arg", "depth=2", "-q",
                             "--device", "cpu", "-o", str(tmp_path / "run")],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "instance labels" in result.stderr + result.stdout
    spec = ClassSpec.from_dict(ckpt.load(tmp_path / "run" / "last.pt")["classes"])
    assert spec.instances and spec.num_classes == 2
    result = subprocess.run([sys.executable, "-m", "segcore", "eval", "-m", str(tmp_path / "run" / "last.pt"),
                             str(folder), "-q", "--device", "cpu", "--json", str(tmp_path / "eval.json")],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "objects (the prediction's connected regions" in result.stdout
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["objects"]["raw"]["true"] == 10 + 11 + 12  # every id of the three masks, none merged
    assert [image["objects"]["raw"]["true"] for image in report["images"]] == [10, 11, 12]


def test_objects_are_matched_one_to_one_at_iou_one_half():
    from segcore.metrics import match_objects, object_scores

    truth = np.zeros((10, 10), int)
    truth[0:4, 0:4], truth[6:9, 6:9], truth[0:2, 7:9] = 5, 2, 9
    pred = np.zeros((10, 10), int)
    pred[0:4, 0:3], pred[6:9, 6:8], pred[5, 0] = 1, 3, 4  # IoU 0.75 with 5, 0.67 with 2; 9 missed; 4 spurious
    counts = match_objects(truth, pred)
    assert counts == {"true": 3, "predicted": 3, "matched": 2, "matched_ids": [2, 5]}
    assert object_scores(counts)["f1"] == pytest.approx(2 / 3)
    merged = pred.copy()
    merged[0:4, 0:10] = 1  # one region over two true objects: at most one of them can match
    assert match_objects(truth, merged)["matched"] <= 2
    with pytest.raises(ValueError):
        match_objects(truth, pred, threshold=0.3)


def test_new_regions_join_old_objects_only_never_each_other():
    spec = ClassSpec.for_instances()
    mask = np.zeros((6, 6), np.uint8)
    mask[0, 0] = mask[1, 1] = 1  # two new regions touching at a corner
    assert sorted(np.unique(spec.encode(mask)).tolist()) == [0, 1, 2]
    previous = np.zeros((6, 6), np.uint16)
    previous[4:6, 4:6] = 9
    mask[4:6, 4:6] = 1
    mask[3, 3] = 1  # touches object 9 at a corner: joins it
    out = spec.encode(mask, previous)
    assert out[3, 3] == 9 and out[0, 0] != out[1, 1] and {out[0, 0], out[1, 1]}.isdisjoint({9})


def test_touching_objects_are_drawn_apart_and_their_gap_weighs_most():
    from segcore.data.separation import W0, instance_target

    ids = np.zeros((30, 40), np.uint16)
    ids[5:15, 5:12] = 4
    ids[5:15, 12:20] = 9  # touches 4
    ids[22:27, 30:36] = 2  # alone
    mask, weights = instance_target(ids)
    assert (mask[5:15, 11:13] == 0).all() and mask[5:15, 5:11].all() and mask[5:15, 13:20].all()
    assert mask[22:27, 30:36].all()  # an object touching only background keeps every pixel
    assert weights[10, 11] == pytest.approx(1 + W0 * np.exp(-1 / 50), rel=1e-4)  # in the gap: d1 = 0, d2 = 1
    assert (weights[mask == 1] == 1).all() and weights[0, 39] == pytest.approx(1, abs=1e-3)
    assert weights.max() == weights[5:15, 11:13].max()


def test_dataset_turns_weights_with_the_mask_and_the_loss_uses_them(tmp_path):
    import torch

    from segcore.data.dataset import SegmentationDataset
    from segcore.training.losses import cross_entropy

    ids = np.zeros((48, 48), np.uint16)
    ids[2:12, 2:8], ids[2:12, 8:14] = 1, 2  # two touching objects in one corner: flips and turns move them
    folder = _folder(tmp_path / "d", [ids])
    spec = ClassSpec.for_instances()
    ds = SegmentationDataset(layout.find_samples(folder), spec, patch_size=48, augment=True)
    torch.manual_seed(0)
    corners = set()
    for _ in range(12):
        x, y, w = ds[0]
        assert w.shape == y.shape and (w[y == 1] == 1).all() and w[y == 0].max() > 10
        corners.add(tuple(int(v) for v in np.argwhere(w.numpy() > 10).mean(0) > 24))
    assert len(corners) > 1  # the augmentation did move them, weights along with the mask
    logits = torch.randn(1, 2, 48, 48)
    assert torch.allclose(cross_entropy(logits, y[None], torch.ones(1, 48, 48)), cross_entropy(logits, y[None]))
    assert not torch.allclose(cross_entropy(logits, y[None], w[None]), cross_entropy(logits, y[None]))


def test_the_same_high_ids_in_every_file_are_instances_and_uninferable_values_say_what_to_do(tmp_path):
    """25 objects numbered 307, 314, ... in each of two 16-bit TIFFs: too few ids per file to be sure, but values
    above 255 cannot be classes 0..max, so they are object ids (the class reading failed: "at most 255 classes")."""
    cells = _cells(count=12) * 7 + 300
    cells[cells == 300] = 0
    spec, _ = _spec_of(_folder(tmp_path / "tif", [cells, cells.copy()], suffix=".tif"))
    assert spec.instances
    with pytest.raises(DataError, match="classes.json"):  # a 16-bit 0/65535 mask: few values, none a class index
        ClassSpec.infer({0, 65535})


def test_resuming_a_half_scale_instance_run_keeps_its_scale(tmp_path):
    """`segcore train DATA -c RUN/last.pt` without repeating --scale 0.5 went on at scale 1 and wrote 1.0 into the
    checkpoint, so the model (taught at half size) was then fed and applied at full size."""
    data = _folder(tmp_path / "cells", [_cells(count=12), _cells(count=9, seed=1), _cells(count=10, seed=2)])
    tiny = ["--arch-arg", "width=4", "--arch-arg", "depth=2", "-b", "2", "--patch-size", "32", "--device", "cpu",
            "-q"]
    run = tmp_path / "run"
    for extra in (["-e", "1", "--scale", "0.5", "-o", str(run)], ["-e", "2", "-c", str(run / "last.pt")]):
        proc = subprocess.run([sys.executable, "-m", "segcore", "train", str(data), *tiny, *extra], cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
    assert ckpt.load(run / "last.pt")["scale"] == 0.5
    assert json.loads((run / "config.json").read_text())["scale"] == 0.5


def test_one_instance_mask_read_as_classes_says_how_to_read_it_as_objects(tmp_path):
    """A single mask of 12 objects numbered 1..12 cannot be told from 13 classes; it was read as classes silently."""
    spec, warnings = _spec_of(_folder(tmp_path / "one", [_cells(count=12)]))
    assert not spec.instances and spec.num_classes == 13
    assert len(warnings) == 1 and '"instances": true' in warnings[0] and "im0.png" in warnings[0]
    bands = np.repeat(np.arange(3, dtype=np.uint8), 8)[:, None].repeat(40, 1)  # three classes: no such doubt
    assert _spec_of(_folder(tmp_path / "bands", [bands]))[1] == []


def test_eval_of_an_instance_model_on_binary_masks_counts_their_regions_as_objects(tmp_path):
    """An instance model scored on a 0/255 test set (as the DSB publishes beside the ids) counted every image as
    one true object, so recall and F1 meant nothing."""
    from segcore.evaluation import evaluate

    cells = [_cells(count=12), _cells(count=9, seed=1), _cells(count=10, seed=2)]
    data = _folder(tmp_path / "cells", cells)
    proc = subprocess.run([sys.executable, "-m", "segcore", "train", str(data), "-e", "1", "--arch-arg", "width=4",
                           "--arch-arg", "depth=2", "-b", "2", "--patch-size", "32", "--device", "cpu", "-q", "-o",
                           str(tmp_path / "run")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    binary = _folder(tmp_path / "binary", [np.where(c > 0, 255, 0).astype(np.uint8) for c in cells])
    report = evaluate(tmp_path / "run" / "best.pt", binary, device="cpu")
    assert [r.objects["raw"]["true"] for r in report.images] == [12, 9, 10]


def test_32_bit_ids_above_65535_are_read_and_never_written_wrapped(tmp_path):
    """int32 label images (skimage, large slides) with ids above 65535 were refused as "not in the class list
    [0, 1]"; reading needs only id != 0. Writing them kept the ids in a uint16 array: 70000 became 4464."""
    ids = _cells(count=12, dtype=np.int32)
    ids[ids > 0] += 70000
    folder = _folder(tmp_path / "big", [ids, _cells(count=9, seed=1, dtype=np.int32) + 0], suffix=".tif")
    spec, _ = _spec_of(folder)
    assert spec.instances
    assert np.array_equal(io.read_mask(folder / "masks" / "im0.tif", spec), (ids != 0).astype(np.uint8))
    with pytest.raises(DataError, match="16-bit"):
        io.write_mask(tmp_path / "out.png", (ids != 0).astype(np.uint8), spec, ids_from=ids)
    assert not (tmp_path / "out.png").exists()
