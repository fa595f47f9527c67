"""The training plan: fingerprint of generated folders, the plan as a pure function, TTA, CRF fitting, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segcore.planning import fingerprint, make_plan
from segcore.planning.plan import MIN_STEPS, OVERSAMPLE, Plan, Throughput
from segcore.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]


def _folder(root: Path, masks: list[np.ndarray], dtype=np.uint8) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i, mask in enumerate(masks):
        top = 255 if dtype == np.uint8 else 4095
        image = (rng.random(mask.shape) * top * 0.3 + (mask > 0) * top * 0.6).astype(dtype)
        Image.fromarray(image).save(root / "images" / f"{i}.png")
        Image.fromarray(mask.astype(np.uint8)).save(root / "masks" / f"{i}.png")
    return root


def _stripes(size=128, thickness=5, period=32) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    for y in range(0, size, period):
        mask[y:y + thickness] = 255
    return mask


def _blobs(size=128, radius=6, count=4, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    mask = np.zeros((size, size), np.uint8)
    for _ in range(count):
        cy, cx = rng.integers(radius, size - radius, 2)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = 255
    return mask


def _throughput(step_s: dict, forward=0.1, patch=256) -> Throughput:
    return Throughput("cpu (float32)", patch, 4, {str(k): v for k, v in step_s.items()},
                      {str(k): forward for k in step_s})


# -- fingerprint ----------------------------------------------------------------------------------------------
def test_fingerprint_measures_thickness_fractions_and_bit_depth(tmp_path):
    data = _folder(tmp_path / "d", [_stripes(thickness=5) for _ in range(3)], dtype=np.uint16)
    fp = fingerprint(data)
    fg = fp.classes[1]
    assert fp.labelled == 3 and fp.median_size == (128, 128) and fp.dtype == "uint16"
    assert fp.bit_depth == 12  # 4095 at most: a 12-bit camera in a 16-bit file
    assert fg.pixel_fraction == pytest.approx(4 * 5 / 128, abs=1e-3)
    assert 4 <= fg.thickness <= 6  # 5-pixel stripes, whatever their length
    assert fg.image_fraction == 1.0 and fg.objects_per_image == 4
    assert not fp.instances and not fp.sparse
    again = type(fp).from_dict(json.loads(json.dumps(fp.to_dict())))
    assert again == fp


def test_fingerprint_sees_sparse_annotation(tmp_path):
    mask = np.full((64, 64), 255, np.uint8)  # 255 = unlabelled beside classes 0 and 1
    mask[10:14, 10:40], mask[40:44, 10:40] = 0, 1
    data = _folder(tmp_path / "d", [mask, mask])
    fp = fingerprint(data)
    assert fp.sparse and fp.labelled_fraction == pytest.approx(240 / 4096, abs=1e-3)


# -- the plan: a pure function --------------------------------------------------------------------------------
@pytest.fixture
def blob_fp(tmp_path):
    return fingerprint(_folder(tmp_path / "blobs", [_blobs(seed=i) for i in range(4)]))


def test_slow_machine_gets_the_narrowest_network_and_a_fast_one_the_widest(blob_fp):
    slow = make_plan(blob_fp, 300, _throughput({16: 0.5, 24: 1.0, 32: 2.0}))
    fast = make_plan(blob_fp, 300, _throughput({16: 0.01, 24: 0.02, 32: 0.04}))
    assert slow["width"] == 16 and "fastest measured" in slow.entries["width"].reason
    assert fast["width"] == 32 and fast["steps"] >= MIN_STEPS
    # the time adds up: planning + training + CRF fitting within the budget, the rate annealing over training
    for plan in (slow, fast):
        assert plan["train_minutes"] * 60 <= 300 and plan["epochs"] >= 1000


def test_every_entry_has_a_reason_and_the_plan_round_trips(blob_fp):
    plan = make_plan(blob_fp, 600, _throughput({16: 0.2, 24: 0.4, 32: 0.8}), planning_s=12.0)
    assert all(e.reason and e.source == "plan" for e in plan.entries.values())
    text = json.dumps(plan.to_dict())
    assert json.dumps(Plan.from_dict(json.loads(text)).to_dict()) == text
    assert "planning" in plan.table() and "width" in plan.table()
    epochs = next(line for line in plan.table().splitlines() if line.split()[0] == "epochs")
    assert "as many as fit" in epochs and "10000" not in epochs  # the bound, not a count to read


def test_user_settings_win_and_the_plan_says_so(blob_fp):
    plan = make_plan(blob_fp, 300, _throughput({32: 2.0}), user={"width": 32, "batch_size": 2, "lr": 3e-3})
    assert plan["width"] == 32 and plan["batch_size"] == 2 and plan["lr"] == 3e-3
    entry = plan.entries["width"]
    assert entry.source == "user" and "--width" in entry.reason
    assert "(you)" in plan.table()
    config = plan.apply(TrainConfig(data="x"))
    assert config.arch_kwargs["width"] == 32 and config.batch_size == 2 and config.plan["entries"]["width"]


def test_rare_classes_are_oversampled_and_common_ones_not(tmp_path, blob_fp):
    rare = fingerprint(_folder(tmp_path / "rare", [_blobs(radius=3, count=2, seed=i) for i in range(4)]))
    common = fingerprint(_folder(tmp_path / "common", [_stripes(thickness=16) for _ in range(2)]))
    tp = _throughput({16: 0.2})
    assert make_plan(rare, 300, tp)["oversample"] == pytest.approx(OVERSAMPLE, abs=1e-3)
    assert make_plan(common, 300, tp)["oversample"] == 0


def test_sparse_annotation_centres_half_the_crops_on_labels(tmp_path):
    mask = np.full((64, 64), 255, np.uint8)
    mask[10:14, 10:40], mask[40:44, 10:40] = 0, 1
    fp = fingerprint(_folder(tmp_path / "d", [mask, mask]))
    assert make_plan(fp, 300, _throughput({16: 0.2}))["oversample"] == 0.5


def test_tta_follows_the_measured_inference_time(blob_fp):
    assert make_plan(blob_fp, 300, _throughput({16: 0.2}, forward=0.5))["tta"] is True
    slow = make_plan(blob_fp, 300, _throughput({16: 0.2}, forward=2000.0))
    assert slow["tta"] is False and "--tta" in slow.entries["tta"].reason


def test_no_validation_images_means_no_crf_fit(blob_fp):
    plan = make_plan(blob_fp, 300, _throughput({16: 0.2}), val_images=0)
    assert plan["calibrate_crf"] is False and "validation" in plan.entries["calibrate_crf"].reason


def test_patch_holds_whole_small_images(tmp_path):
    fp = fingerprint(_folder(tmp_path / "small", [_blobs(size=96, seed=i) for i in range(3)]))
    plan = make_plan(fp, 300, _throughput({16: 0.2}, patch=96))
    assert plan["patch_size"] == 96 and plan["depth"] == 3 and "whole images" in plan.entries["patch_size"].reason


# -- class-centred crops ----------------------------------------------------------------------------------------
def test_oversampled_crops_find_a_rare_class_far_more_often(tmp_path):
    from segcore.data.classes import ClassSpec
    from segcore.data.dataset import SegmentationDataset
    from segcore.data.layout import find_samples

    mask = np.zeros((256, 256), np.uint8)
    mask[200:204, 200:204] = 255  # 16 pixels of 65536
    data = _folder(tmp_path / "d", [mask])
    samples, spec = find_samples(data), ClassSpec(["bg", "fg"], [0, 255])

    def hits(oversample: float) -> int:
        import torch

        torch.manual_seed(0)
        ds = SegmentationDataset(samples, spec, patch_size=32, oversample=oversample)
        return sum(int((ds[0][1] == 1).any()) for _ in range(200))

    assert hits(0.0) < 20 and hits(0.5) > 80


# -- rotation, scaling and elastic deformation ------------------------------------------------------------------
def _deformed_items(tmp_path, deform: float, count: int = 24, seed: int = 0) -> list:
    import torch

    from segcore.data.classes import ClassSpec
    from segcore.data.dataset import SegmentationDataset
    from segcore.data.layout import find_samples

    data = tmp_path / "stripes"
    if not data.exists():
        _folder(data, [_stripes(size=160, thickness=8, period=24)])
    torch.manual_seed(seed)
    ds = SegmentationDataset(find_samples(data), ClassSpec(["bg", "fg"], [0, 255]), patch_size=64, augment=True,
                             deform=deform, jitter=0.0)
    return [ds[0] for _ in range(count)]


def test_deformed_crops_turn_stripes_off_the_axes_and_keep_image_and_mask_aligned(tmp_path):
    def off_axis(mask) -> bool:  # plain crops, flips and quarter turns keep every row or every column constant
        labelled = mask.clone()
        labelled[labelled == 255] = 0
        return bool((labelled != labelled[:, :1]).any() and (labelled != labelled[:1, :]).any())

    plain = _deformed_items(tmp_path, 0.0)
    deformed = _deformed_items(tmp_path, 1.0)
    assert not any(off_axis(y) for _, y in plain)
    assert sum(off_axis(y) for _, y in deformed) >= 6  # half the crops are deformed, at random angles
    for x, y in deformed:
        labelled = y != 255
        bright = x[0] > x[0][labelled].mean()  # stripes are bright in the generated images
        agree = (bright[labelled] == (y[labelled] == 1)).float().mean()
        assert agree > 0.9, f"image and mask drifted apart: {agree:.3f} agreement"


def test_deformed_crops_repeat_under_the_same_seed(tmp_path):
    first, again = _deformed_items(tmp_path, 1.0, 6, seed=3), _deformed_items(tmp_path, 1.0, 6, seed=3)
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(first, again, strict=True))


def test_plan_says_why_crops_are_or_are_not_deformed_and_the_user_decides(blob_fp):
    from segcore.planning.plan import DEFORM

    tp = _throughput({16: 0.2})
    plan = make_plan(blob_fp, 300, tp)
    assert plan["deform"] == DEFORM and plan.entries["deform"].reason
    whole = make_plan(blob_fp, 300, tp, user={"patch_size": 0})
    assert whole["deform"] == 0.0
    on = make_plan(blob_fp, 300, tp, user={"deform": 1.0})
    assert on["deform"] == 1.0 and on.entries["deform"].source == "user"
    assert on.apply(TrainConfig(data="x")).deform == 1.0


def test_plan_normalises_by_the_training_set_and_the_user_can_ask_for_each_image_alone(blob_fp):
    tp = _throughput({16: 0.2})
    plan = make_plan(blob_fp, 300, tp)
    assert plan["normalisation"] == "dataset" and "mean and std" in plan.entries["normalisation"].reason
    assert not plan.apply(TrainConfig(data="x")).per_image_norm
    mine = make_plan(blob_fp, 300, tp, user={"normalisation": "image"})
    assert mine.entries["normalisation"].source == "user" and "--normalise" in mine.entries["normalisation"].reason
    assert mine.apply(TrainConfig(data="x")).per_image_norm


def test_deform_out_of_range_is_refused_in_one_line(tmp_path):
    data = _folder(tmp_path / "d", [_blobs(size=64)])
    proc = subprocess.run([sys.executable, "-m", "segcore", "train", str(data), "--deform", "2", "-e", "1"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode != 0 and "deform must be a strength in [0, 1], got 2" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- test-time augmentation -----------------------------------------------------------------------------------
def test_tta_output_turns_with_its_input():
    import torch

    from segcore.tta import averaged

    weight = torch.randn(2, 1, 3, 3)

    def forward(x):  # neither flip- nor rotation-equivariant on its own
        return torch.nn.functional.conv2d(x, weight, padding=1).softmax(1)

    x = torch.randn(1, 1, 12, 20)
    out = averaged(forward, x)
    assert out.shape == (1, 2, 12, 20)
    assert torch.allclose(averaged(forward, x.flip(-1)), out.flip(-1), atol=1e-6)
    assert torch.allclose(averaged(forward, torch.rot90(x, 1, (-2, -1))), torch.rot90(out, 1, (-2, -1)), atol=1e-6)
    assert torch.allclose(out.sum(1), torch.ones(1, 12, 20), atol=1e-5)


def test_tta_is_kept_only_where_it_does_not_lower_validation_dice():
    from segcore.checkpoint import prediction_info
    from segcore.tta_fit import describe, fit_tta

    lines = np.zeros((64, 64), np.uint8)
    lines[::8] = 1  # one-pixel lines: the raw model finds them, its blurred TTA average loses them
    raw = np.stack([1 - lines, lines]).astype(np.float32) * 0.8 + 0.1
    blurred = raw.copy()
    blurred[1] = 0.3 * lines + 0.1  # the lines fall below the background
    blurred[0] = 1 - blurred[1]
    worse = fit_tta([(raw, blurred, lines)], 2)
    assert not worse["helps"] and worse["delta_dice"] < 0 and worse["images"] == 1
    better = fit_tta([(blurred, raw, lines)], 2)
    assert better["helps"] and better["delta_dice"] > 0
    planned = {"config": {"tta": True, "plan": {"entries": {"tta": {"reason": "affordable"}}}}}
    assert prediction_info(planned)["tta"]  # no check recorded (older runs): the plan's choice
    info = prediction_info({**planned, "tta_fit": worse})
    assert not info["tta"] and info["tta_reason"] == describe(worse)
    assert "so it is off by default (--tta forces it)" in describe(worse)
    assert prediction_info({**planned, "tta_fit": better})["tta"]
    assert not prediction_info({"config": {"tta": False}, "tta_fit": better})["tta"]  # never on against the plan


# -- the CRF fitted on validation images -------------------------------------------------------------------------
def test_crf_fit_keeps_a_crf_that_helps_and_refuses_one_that_hurts():
    pytest.importorskip("pydensecrf.densecrf")
    from segcore.crf_fit import describe, fit_crf, params_for

    rng = np.random.default_rng(0)
    target = (_blobs(size=96, radius=12, count=3) > 0).astype(np.uint8)
    image = (target * 200 + 20).astype(np.uint8)
    noisy = np.clip(target * 0.7 + 0.15 + rng.normal(0, 0.3, target.shape), 0.01, 0.99).astype(np.float32)
    helped = fit_crf([(image, np.stack([1 - noisy, noisy]), target)], 2)
    assert helped["helps"] and helped["delta_dice"] > 0 and params_for(helped) is not None
    lines = np.zeros((96, 96), np.uint8)
    lines[::6] = 1  # one-pixel lines, predicted perfectly: any smoothing can only erode them
    sure = np.stack([1 - lines, lines]).astype(np.float32) * 0.9 + 0.05
    hurt = fit_crf([(np.full((96, 96), 128, np.uint8), sure, lines)], 2)
    assert not hurt["helps"] and hurt["params"] is None and params_for(hurt) is None
    assert "below the +0.002 needed, so it is off by default" in describe(hurt)
    almost = {**hurt, "delta_dice": 0.0016}  # refused, and never printed as the gain it fell short of
    assert "gained only +0.0016 Dice, below the +0.002 needed" in describe(almost)


# -- the command line -------------------------------------------------------------------------------------------
def segcore(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    if check and proc.returncode != 0:
        raise AssertionError(f"segcore {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.mark.slow
def test_plan_then_train_by_a_tiny_budget(tmp_path):
    data = tmp_path / "data"
    segcore("sample-data", data, "--count", "6", "--size", "96")
    proc = segcore("plan", data, "--minutes", "1", "--json", tmp_path / "plan.json")
    assert "width" in proc.stdout and "reason" not in proc.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert {"width", "patch_size", "tta", "train_minutes"} <= set(plan["entries"])
    proc = segcore("train", data, "--minutes", "0.5", "--width", "8", "-o", tmp_path / "run", "-q")
    assert "8 (you)" in proc.stdout  # the override is shown as the user's
    run = tmp_path / "run"
    assert json.loads((run / "plan.json").read_text())["entries"]["width"]["source"] == "user"
    import torch

    best = torch.load(run / "best.pt", weights_only=True)
    assert best["config"]["plan"]["budget_s"] == 30 and best["arch_kwargs"]["width"] == 8
    if "crf" in best:  # pydensecrf installed: the fit is recorded either way
        assert set(best["crf"]) >= {"helps", "delta_dice", "raw_score"}
    if best["config"]["tta"]:  # the plan found TTA affordable: the validation images decided whether it stays
        assert set(best["tta_fit"]) >= {"helps", "delta_dice", "images"}
    image = next((data / "images").iterdir())
    out = tmp_path / "m.png"
    proc = segcore("predict", "-m", run / "best.pt", "-i", image, "-o", out, "--tta", "-c")
    assert Image.open(out).size == Image.open(image).size


def test_minutes_with_time_limit_is_refused_in_one_line(tmp_path):
    proc = segcore("train", tmp_path, "--minutes", "1", "--time-limit", "2", check=False)
    assert proc.returncode == 2 and "--time-limit" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_api_trains_by_a_plan_and_keeps_the_users_architecture_arguments(tmp_path, sample_dir):
    import segcore
    from segcore import checkpoint as ckpt

    done = segcore.train(sample_dir, minutes=0.3, arch_kwargs={"width": 4, "depth": 2}, patch_size=48,
                         out=str(tmp_path / "run"))
    saved = ckpt.load(done.best_path)
    assert saved["arch_kwargs"]["width"] == 4 and saved["arch_kwargs"]["depth"] == 2
    entries = saved["config"]["plan"]["entries"]
    assert entries["depth"]["source"] == "user" and entries["patch_size"]["value"] == 48


def test_whole_images_asked_with_patch_size_0_stay_whole(blob_fp):
    plan = make_plan(blob_fp, 300, _throughput({16: 0.2}), user={"patch_size": 0})
    assert plan.entries["patch_size"].source == "user"
    assert plan.apply(TrainConfig(data="x")).patch_size is None  # not 0, which the config refuses
