"""Sparse (scribbled) masks, as the window saves them with an "unlabelled" value (254) declared in classes.json:
they never validate a training run, and `segcore eval` reads them as training does, scoring labelled pixels only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segcore.data import io
from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.data.layout import find_samples, split_samples

REPO = Path(__file__).resolve().parents[1]
WINDOW_SPEC = ClassSpec(["background", "nucleus"], [0, 255], unlabelled=254)  # what the window writes


def scribble(folder: Path, stem: str, keep: float = 0.03) -> np.ndarray:
    """Replace ``stem``'s mask by a few rows of it, the rest unlabelled (saved with 254, as the window does);
    returns the class indices written."""
    path = folder / "masks" / f"{stem}.png"
    mask = io.read_mask(path, WINDOW_SPEC)
    rows = max(1, int(keep * mask.shape[0]))
    sparse = np.full_like(mask, IGNORE_INDEX)
    sparse[:rows] = mask[:rows]
    io.write_mask(path, sparse, WINDOW_SPEC)
    WINDOW_SPEC.save(folder)
    return sparse


@pytest.fixture
def sparse_folder(sample_dir) -> Path:
    for i in (0, 2, 3, 5):
        scribble(sample_dir, f"sample_{i:03d}")
    return sample_dir


def test_a_random_split_never_validates_on_a_sparse_mask(sparse_folder):
    samples = find_samples(sparse_folder)
    dense = {"sample_001", "sample_004"}
    for seed in range(12):
        warnings: list[str] = []
        train, val = split_samples(samples, 0.34, seed, WINDOW_SPEC, warnings=warnings)
        assert val and {s.name for s in val} <= dense, seed
        assert len(train) + len(val) == 6
    train, val = split_samples(samples, 0.5, 0, WINDOW_SPEC, warnings=(warnings := []))
    assert {s.name for s in val} == dense and any("dense mask" in w for w in warnings)  # 3 wanted, 2 dense


def test_a_folder_of_dense_masks_splits_as_before(sample_dir):
    samples = find_samples(sample_dir)
    assert split_samples(samples, 0.34, 3, WINDOW_SPEC) == split_samples(samples, 0.34, 3)


def test_fixed_validation_images_are_kept_while_dense(sparse_folder):
    samples = find_samples(sparse_folder)
    chosen = [str(sparse_folder / "images" / "sample_004.png"), str(sparse_folder / "images" / "sample_003.png")]
    warnings: list[str] = []
    train, val = split_samples(samples, 0.34, 0, WINDOW_SPEC, chosen, warnings)
    assert [s.name for s in val] == ["sample_004"] and len(train) == 5  # sample_003 is sparse now
    assert any("1 of the 2 validation images" in w for w in warnings)
    _, val = split_samples(samples, 0.34, 0, WINDOW_SPEC, chosen[1:], warnings)  # none left: drawn afresh
    assert val and all(s.name in {"sample_001", "sample_004"} for s in val)


def test_a_sparse_mask_in_a_val_folder_is_left_out_with_a_warning(tmp_path):
    from segcore.data.sample import make_sample

    for split, names in (("data", ["a", "b"]), ("val", ["c", "d"])):
        for name in names:
            image, mask = make_sample(48, seed=(0, ord(name)))
            io.write_image(tmp_path / split / f"{name}.png", image)
            io.write_mask(tmp_path / split / f"{name}_mask.png", mask, WINDOW_SPEC)
    sparse = np.full((48, 48), IGNORE_INDEX, np.uint8)
    sparse[:2] = 1
    io.write_mask(tmp_path / "val" / "d_mask.png", sparse, WINDOW_SPEC)
    warnings: list[str] = []
    train, val = split_samples(find_samples(tmp_path), 0.2, 0, WINDOW_SPEC, warnings=warnings)
    assert [s.name for s in val] == ["c"] and [s.name for s in train] == ["a", "b"]
    assert any("d_mask.png" in w and "sparse" in w for w in warnings)


def test_training_validates_only_on_dense_masks(sparse_folder, tmp_path):
    import segcore

    done = segcore.train(str(sparse_folder), epochs=1, arch_kwargs={"width": 4, "depth": 2}, patch_size=48,
                         batch_size=2, val_fraction=0.34, seed=2, out=str(tmp_path / "run"), device="cpu")
    val = json.loads((tmp_path / "run" / "split.json").read_text())["val"]
    assert val and {Path(p).stem for p in val} <= {"sample_001", "sample_004"}, done.message


def test_eval_reads_window_masks_as_training_does_and_scores_labelled_pixels(sparse_folder, make_checkpoint,
                                                                              tmp_path):
    """The checkpoint's class list knows no unlabelled value (it was trained before the scribbles); classes.json
    declares 254. `segcore eval` refused ("mask values [254] are not in the class list [0, 255]")."""
    from segcore.inference import Predictor
    from segcore.metrics import confusion_matrix, scores

    model = make_checkpoint()
    out = tmp_path / "eval.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "segcore", "eval", "-m", str(model), str(sparse_folder), "--json",
                             str(out), "--device", "cpu", "-q"], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "4 of 6 masks are sparse" in result.stdout and "labelled pixels only" in result.stdout
    report = json.loads(out.read_text())
    assert report["sparse_images"] == ["sample_000.png", "sample_002.png", "sample_003.png", "sample_005.png"]
    first = report["images"][0]
    assert first["image"] == "sample_000.png" and first["labelled"] == pytest.approx(2 / 96, abs=1e-6)
    predictor = Predictor(model, device="cpu")
    image = io.read_image(sparse_folder / "images" / "sample_000.png")
    target = io.read_mask(sparse_folder / "masks" / "sample_000.png", WINDOW_SPEC)
    expected = scores(confusion_matrix(predictor.predict(image), target, 2))
    assert first["raw"]["accuracy"] == pytest.approx(expected["accuracy"])
    cm = confusion_matrix(predictor.predict(image), target, 2)
    assert cm.sum() == 2 * 96  # only the labelled rows count


def test_eval_refuses_a_classes_json_of_another_class_count(sample_dir, make_checkpoint):
    from segcore import evaluation
    from segcore.errors import DataError

    ClassSpec(["background", "a", "b"], [0, 1, 2]).save(sample_dir)
    with pytest.raises(DataError, match="names 3 classes but the model predicts 2"):
        evaluation.evaluate(make_checkpoint(), sample_dir, device="cpu")
