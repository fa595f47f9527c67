"""Uncertainty maps, the per-image score and the queue: numbers, files, and the CLI as a user runs it."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segcore import colormap, ranking
from segcore.data.layout import Sample
from segcore.errors import DataError
from segcore.uncertainty import UNCERTAIN_LEVEL, Uncertainty, entropy

REPO = Path(__file__).resolve().parents[1]


def segcore(*args) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": path}
    return subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny U-Net trained two epochs on sample data whose last two images have no mask."""
    import segcore
    from segcore.data.sample import write_sample_data

    root = tmp_path_factory.mktemp("rank")
    data = root / "sample"
    write_sample_data(data, count=6, size=96, seed=0)
    for name in sorted(p.name for p in (data / "masks").iterdir())[-2:]:
        (data / "masks" / name).unlink()
    done = segcore.train(str(data), epochs=2, lr=5e-3, arch_kwargs={"width": 4, "depth": 2}, patch_size=48,
                         batch_size=2, out=str(root / "run"), val_fraction=0.0)
    return data, Path(done.best_path)


def test_entropy_is_zero_when_certain_and_one_when_every_class_is_equally_likely():
    probs = np.zeros((3, 2, 2), np.float32)
    probs[0, 0, 0] = 1
    probs[:, 0, 1] = 1 / 3
    probs[:, 1, :] = [[0.5], [0.5], [0.0]]
    result = entropy(probs)
    assert result.dtype == np.float32 and result.shape == (2, 2)
    assert result[0, 0] == pytest.approx(0, abs=1e-6)
    assert result[0, 1] == pytest.approx(1, abs=1e-6)
    assert result[1, 0] == pytest.approx(math.log(2) / math.log(3), abs=1e-6)


def test_entropy_refuses_what_is_not_class_probabilities():
    for bad in (np.ones((4, 4)), np.ones((1, 4, 4))):
        with pytest.raises(DataError, match="K >= 2"):
            entropy(bad)


def test_score_is_the_share_of_unsure_pixels_and_the_mask_the_argmax():
    probs = np.stack([np.full((4, 4), 0.9), np.full((4, 4), 0.1)]).astype(np.float32)
    probs[:, :2] = np.array([0.5, 0.5])[:, None, None]
    u = Uncertainty(probs, entropy(probs))
    assert u.mean_entropy == pytest.approx((0.5 * 1.0 + 0.5 * entropy(probs)[3, 3]), abs=1e-6)
    assert u.score == u.uncertain_fraction == 0.5
    # A mildly unsure plateau everywhere (0.77: entropy 0.78) against a sure image with an unsure quarter: the
    # mean entropy ranks the plateau first, the share of unsure pixels the image with a real doubt
    plateau = np.stack([np.full((4, 4), 0.77), np.full((4, 4), 0.23)]).astype(np.float32)
    doubt = np.stack([np.full((4, 4), 0.99), np.full((4, 4), 0.01)]).astype(np.float32)
    doubt[:, :2, :2] = np.array([0.5, 0.5])[:, None, None]
    flat, sharp = Uncertainty(plateau, entropy(plateau)), Uncertainty(doubt, entropy(doubt))
    assert flat.mean_entropy > sharp.mean_entropy and sharp.score > flat.score
    assert u.mask.dtype == np.uint8 and u.mask[3, 3] == 0


def test_colormap_runs_dark_to_bright_and_clips():
    rgb = colormap.apply(np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]))
    assert rgb.shape == (6, 3) and rgb.dtype == np.uint8
    lightness = rgb.astype(int).sum(axis=1)
    assert lightness[0] == lightness[1] == lightness[5] < lightness[2] < lightness[3] == lightness[4]
    assert np.all(np.diff(colormap.LUT.astype(int).sum(axis=1)) >= 0)  # monotonic in lightness


def test_queue_puts_unannotated_first_then_the_least_sure():
    rows = [ranking.Ranked(Path("a.png"), True, 0.9), ranking.Ranked(Path("b.png"), False, 0.1),
            ranking.Ranked(Path("c.png"), False, 0.5), ranking.Ranked(Path("d.png"), False, None, error="bad"),
            ranking.Ranked(Path("e.png"), True, 0.2)]
    assert [r.image.name for r in ranking.queue_order(rows)] == ["c.png", "b.png", "d.png", "a.png", "e.png"]


def test_the_descriptor_sees_the_same_picture_whatever_its_brightness_and_nothing_in_common_between_others():
    rng = np.random.default_rng(0)
    picture = rng.random((120, 90, 3)).astype(np.float32)
    brighter = (picture * 180 + 40).astype(np.uint8)  # another exposure of the same field, 8-bit
    vector = ranking.descriptor(picture)
    assert vector.dtype == np.float32 and vector.shape == (ranking.THUMBNAIL ** 2,)
    assert float(vector @ ranking.descriptor(brighter)) > 0.99
    assert abs(float(vector @ ranking.descriptor(rng.random((120, 90))))) < 0.3
    assert not ranking.descriptor(np.full((40, 40), 7, np.uint16)).any()  # a blank image is like nothing


def test_the_queue_passes_over_near_duplicates_of_annotated_and_earlier_queued_images():
    """Suggestive annotation's representativeness (Yang et al. 2017): A is the most uncertain but nearly the
    annotated X; C is nearly B, which the queue has already placed; so B first, and by score alone A, B, C."""
    rng = np.random.default_rng(1)
    x, b = rng.random((64, 64)), rng.random((64, 64))
    near = {"x": x, "a": x + 0.05 * rng.random((64, 64)), "b": b, "c": b + 0.05 * rng.random((64, 64))}
    d = {k: ranking.descriptor(v) for k, v in near.items()}

    def rows():
        return [ranking.Ranked(Path("x.png"), True, 0.1, descriptor=d["x"]),
                ranking.Ranked(Path("a.png"), False, 0.5, descriptor=d["a"]),
                ranking.Ranked(Path("b.png"), False, 0.4, descriptor=d["b"]),
                ranking.Ranked(Path("c.png"), False, 0.35, descriptor=d["c"]),
                ranking.Ranked(Path("u.png"), False, None, error="unreadable")]

    diverse = ranking.queue_order(rows())
    assert [r.image.stem for r in diverse] == ["b", "a", "c", "u", "x"]
    alike = {r.image.stem: r.redundancy for r in diverse}
    assert alike["b"] < 0.3 and alike["a"] > 0.9 and alike["c"] > 0.9
    assert [r.image.stem for r in ranking.queue_order(rows(), diverse=False)] == ["a", "b", "c", "u", "x"]


def test_score_samples_reports_an_unreadable_image_and_goes_on(model, tmp_path):
    from segcore.inference import Predictor

    data, best = model
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    good = sorted((data / "images").iterdir())[0]
    predictor = Predictor(best, device="cpu", tta=True)
    out = list(ranking.score_samples(predictor, [Sample(broken, None, None), Sample(good, None, None)]))
    assert out[0][0].error and out[0][1] is None
    row, result = out[1]
    assert 0 <= row.score <= 1 and result.map.shape == result.mask.shape
    assert row.score == pytest.approx(result.score)


def test_predict_uncertainty_writes_png_npy_and_prints_the_score(model, tmp_path):
    from segcore.data.io import read_image

    data, best = model
    image = sorted((data / "images").iterdir())[0]
    out = tmp_path / "pred.png"
    proc = segcore("predict", "-m", best, "-i", image, "-o", out, "--uncertainty", "-c")
    assert proc.returncode == 0, proc.stderr
    values = np.load(tmp_path / "pred.uncertainty.npy")
    assert values.dtype == np.float32 and values.shape == read_image(image).shape[:2]
    assert 0 <= values.min() and values.max() <= 1
    png = read_image(tmp_path / "pred.uncertainty.png")
    assert png.shape == (*values.shape, 3)
    assert f"uncertainty {(values > UNCERTAIN_LEVEL).mean():.4f}" in proc.stdout  # the share of unsure pixels


def test_rank_lists_unannotated_first_and_writes_csv(model, tmp_path):
    data, best = model
    table = tmp_path / "queue.csv"
    proc = segcore("rank", "-m", best, data, "--csv", table, "-q", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    with open(table) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and rows[0].keys() >= set(ranking.CSV_COLUMNS)
    assert [r["annotated"] for r in rows] == ["0", "0", "1", "1", "1", "1"]
    first, second = ((float(r["score"]) * (1 - float(r["redundancy"]))) for r in rows[:2])
    assert first >= second  # the queue's key: uncertainty, less for an image like one before it
    assert all(0 <= float(r["redundancy"]) <= 1 for r in rows[:2]) and rows[2]["redundancy"] == ""
    assert "TTA-averaged" in proc.stdout and Path(rows[0]["image"]).name in proc.stdout and "alike" in proc.stdout


def test_rank_with_skip_annotated_scores_only_the_queue(model):
    data, best = model
    proc = segcore("rank", "-m", best, data, "--skip-annotated", "--no-tta", "-q", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("not scored") == 4 and "single-pass" in proc.stdout


def test_rank_read_by_a_reader_that_stops_early_keeps_its_csv_and_prints_no_traceback(model, tmp_path):
    """`segcore rank ... | head`: the reader goes away (here before anything is written); the CSV is still
    written, and stderr has no traceback from the broken pipe."""
    data, best = model
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    args = ["rank", "-m", best, data, "--csv", tmp_path / "q.csv", "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "segcore", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": path})
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=600) == 1 and "Traceback" not in err and "Exception ignored" not in err, err
    assert (tmp_path / "q.csv").is_file()


def test_rank_of_a_missing_folder_is_one_line(model, tmp_path):
    _, best = model
    proc = segcore("rank", "-m", best, tmp_path / "nowhere")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "not found" in proc.stderr
