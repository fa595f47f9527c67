"""Evaluation: hand-computed scores on small arrays, means and pooling, writers, and `segcore eval` end to end."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from segcore import evaluation
from segcore.data.classes import IGNORE_INDEX, ClassSpec

U = IGNORE_INDEX
SPEC = ClassSpec(["background", "cell"], [0, 255])
TARGET = np.array([[0, 0, 1, 1], [0, 1, 1, U]], np.uint8)
RAW = np.array([[0, 1, 1, 1], [0, 0, 1, 1]], np.uint8)  # 1 false positive, 1 false negative, 1 on an unlabelled px
PERFECT = np.array([[0, 0, 1, 1], [0, 1, 1, 0]], np.uint8)


def _report(*items) -> evaluation.EvalReport:
    return evaluation.EvalReport(SPEC, [evaluation.score_image(n, t, r, c, 2) for n, t, r, c in items])


def test_scores_match_hand_computed_values():
    s = _report(("a", TARGET, RAW, PERFECT)).images[0].scores("raw", SPEC.names)
    # cell: tp=3 fp=1 fn=1 -> Dice 6/8, IoU 3/5; background: tp=2 fp=1 fn=1 -> Dice 4/6, IoU 2/4
    assert s["dice"] == pytest.approx([4 / 6, 6 / 8])
    assert s["iou"] == pytest.approx([2 / 4, 3 / 5])
    assert s["precision"] == pytest.approx([2 / 3, 3 / 4])
    assert s["recall"] == pytest.approx([2 / 3, 3 / 4])
    assert s["accuracy"] == pytest.approx(5 / 7)  # the unlabelled pixel counts nowhere
    assert s["mean_dice"] == pytest.approx(6 / 8)  # background excluded from the mean


def test_mean_over_images_pooled_and_difference():
    report = _report(("a", TARGET, RAW, PERFECT), ("b", TARGET, PERFECT, RAW))
    mean_raw, mean_crf = report.mean("raw"), report.mean("crf")
    assert mean_raw["mean_dice"] == pytest.approx((6 / 8 + 1) / 2)
    assert mean_crf["mean_dice"] == pytest.approx((1 + 6 / 8) / 2)
    pooled = report.pooled("raw")  # cell over both images: tp=7 fp=1 fn=1
    assert pooled["iou"][1] == pytest.approx(7 / 9)
    assert pooled["accuracy"] == pytest.approx(12 / 14)
    d = report.to_dict()["images"][0]["difference"]
    assert d["mean_dice"] == pytest.approx(1 - 6 / 8)
    assert d["iou"][1] == pytest.approx(1 - 3 / 5)


def test_undefined_scores_are_left_out_of_the_mean():
    empty = np.zeros((2, 2), np.uint8)
    spec3 = ClassSpec(["background", "a", "b"], [0, 1, 2])
    target = np.array([[0, 1], [1, 1]], np.uint8)  # class b absent and never predicted in image 1
    items = [evaluation.score_image("1", target, target, None, 3),
             evaluation.score_image("2", empty + 2, empty + 2, None, 3)]
    report = evaluation.EvalReport(spec3, items)
    first = items[0].scores("raw", spec3.names)
    assert math.isnan(first["dice"][2]) and first["mean_dice"] == 1.0
    mean = report.mean("raw")
    assert mean["dice"] == [1.0, 1.0, 1.0]  # NaNs skipped, not counted as 0
    assert report.to_dict()["images"][0]["raw"]["dice"][2] is None  # standard JSON


def test_table_json_and_csv(tmp_path):
    report = _report(("first.png", TARGET, RAW, PERFECT), ("second.png", TARGET, PERFECT, PERFECT))
    table = evaluation.format_table(report)
    assert "first.png" in table and "all pixels" in table and "Δ" in table and "cell" in table
    first_line = next(line for line in table.splitlines() if line.startswith("first.png"))
    assert "0.750  1.000 +0.250" in first_line
    data = json.loads(evaluation.write_json(tmp_path / "e.json", report).read_text())
    assert [i["image"] for i in data["images"]] == ["first.png", "second.png"]
    assert data["mean"]["crf"]["mean_dice"] == pytest.approx(1.0)
    rows = list(csv.DictReader(evaluation.write_csv(tmp_path / "e.csv", report).open()))
    row = next(r for r in rows if r["image"] == "first.png" and r["variant"] == "raw" and r["class"] == "cell")
    assert float(row["dice"]) == pytest.approx(0.75)
    assert {r["variant"] for r in rows} == {"raw", "crf", "difference"}
    assert {r["image"] for r in rows} == {"first.png", "second.png", "mean", "all pixels"}


def test_raw_only_report_has_no_crf_columns():
    report = _report(("a", TARGET, RAW, None))
    assert not report.has_crf and "CRF" not in evaluation.format_table(report)
    assert "difference" not in report.to_dict()["mean"]


def test_shape_mismatch_is_a_data_error():
    from segcore.errors import DataError

    with pytest.raises(DataError, match=r"prediction is 3x\d+ but the mask is \d+x\d+ \(width x height\)"):
        evaluation.score_image("x", TARGET, RAW[:, :3], None, 2)


def _tiny_checkpoint(path, config):
    torch = pytest.importorskip("torch")
    from segcore import checkpoint
    from segcore.models import create_model

    torch.manual_seed(0)
    model = create_model("unet", 3, 2, width=4, depth=2)
    spec = ClassSpec(["background", "nucleus"], [0, 255])
    checkpoint.save(path, {"arch": "unet", "arch_kwargs": {"width": 4, "depth": 2}, "in_channels": 3,
                           "classes": spec.to_dict(), "normalization": {"mean": [0.5] * 3, "std": [0.25] * 3},
                           "scale": 1.0, "config": config, "model": model.state_dict()})
    return path


def test_eval_command_end_to_end(sample_dir, tmp_path, capsys):
    pytest.importorskip("pydensecrf.densecrf", reason="pydensecrf not installed")
    from segcore.cli import main
    from segcore.data.layout import find_samples, split_samples

    ckpt = _tiny_checkpoint(tmp_path / "tiny.pt", {"val_fraction": 0.34, "seed": 1})
    code = main(["eval", "-m", str(ckpt), str(sample_dir), "--crf", "--split", "val", "--json",
                 str(tmp_path / "e.json"), "--csv", str(tmp_path / "e.csv"), "--device", "cpu", "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "CRF" in out and "mean" in out
    data = json.loads((tmp_path / "e.json").read_text())
    _, val = split_samples(find_samples(sample_dir), 0.34, 1)  # the held-out images of that training config
    assert [i["image"] for i in data["images"]] == [s.image.name for s in val]
    assert data["crf_params"]["iterations"] == 5 and data["images"][0]["seconds"]["crf"] > 0
    # the reported raw scores are those of the predictor's own masks
    from segcore.data.layout import load_sample
    from segcore.inference import Predictor
    from segcore.metrics import confusion_matrix, scores

    predictor = Predictor(ckpt, device="cpu")
    image, target = load_sample(val[0], predictor.spec)
    expected = scores(confusion_matrix(predictor.predict(image), target, 2))
    assert data["images"][0]["raw"]["accuracy"] == pytest.approx(expected["accuracy"])


def test_folder_without_paired_masks_says_why(tmp_path):
    from PIL import Image

    from segcore.errors import DataError

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "train_1.bmp")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "train_1_anno.bmp")  # GlaS names masks so
    with pytest.raises(DataError, match="no image with a mask.*train_1_anno.bmp: looks like the mask of train_1"):
        evaluation.select_samples(tmp_path, "all", None)
