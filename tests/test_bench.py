"""The benchmark suite's plumbing (no timings asserted) and the import hygiene it measures."""

from __future__ import annotations

import json

import numpy as np

from bench.common import last_json, run_python, write_checkpoint
from bench.report import table
from bench.tiled import big_image


def test_child_peak_memory_is_that_childs_own():
    small = run_python(["-c", "import numpy as np; a = np.ones(10 * 2**20, np.uint8); print('{\"ok\": 1}')"])
    big = run_python(["-c", "import numpy as np; a = np.ones(300 * 2**20, np.uint8); print('{\"ok\": 2}')"])
    assert small["rc"] == big["rc"] == 0
    assert last_json(big["stdout"]) == {"ok": 2}
    assert big["peak_rss_mb"] > small["peak_rss_mb"] + 200


def test_failing_child_reports_its_exit_code():
    result = run_python(["-c", "import sys; sys.exit(3)"])
    assert result["rc"] == 3


def test_table_shows_measured_rows_with_verdicts():
    report = {"train": {"unet": {"fp32_img_s": 1.0, "fast_img_s": 3.0, "speedup": 3.0},
                        "segnet": {"speedup": 1.5}},
              "tiled": {"8192": {"peak_rss_mb": 3000.0}}, "meta": {"cpu_count": 2}}
    text = table(report)
    lines = {line.split("  ")[0]: line for line in text.splitlines()}
    assert lines["U-Net train speed-up"].rstrip().endswith("yes")
    assert lines["SegNet train speed-up"].rstrip().endswith("NO")
    assert lines["Tiled 8192 peak RSS"].rstrip().endswith("NO")
    assert "CRF" not in text  # sections that did not run are left out
    json.dumps(report)


def test_tiled_ratio_is_judged_only_for_the_4096_to_8192_target():
    full = table({"tiled": {"4096": {"s": 10.0}, "8192": {"s": 50.0}, "time_ratio": 5.0}, "meta": {}})
    quick = table({"tiled": {"1024": {"s": 1.0}, "2048": {"s": 5.0}, "time_ratio": 5.0}, "meta": {}})
    row = [line for line in full.splitlines() if line.startswith("Tiled time ratio")][0]
    assert row.rstrip().endswith("NO")
    row = [line for line in quick.splitlines() if line.startswith("Tiled time ratio")][0]
    assert row.rstrip().endswith("x") and "3.6-4.4" not in row


def test_big_image_is_deterministic_uint8_rgb():
    a, b = big_image(300), big_image(300)
    assert a.shape == (300, 300, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert a.std() > 10


def test_segcore_predict_imports_no_gui_or_torchvision(tmp_path):
    from segcore.data.io import write_image

    checkpoint = write_checkpoint(tmp_path / "unet.pt", "unet", width=4, depth=2)
    image = tmp_path / "image.png"
    write_image(image, big_image(64))
    out = tmp_path / "mask.png"
    result = run_python(["-X", "importtime", "-m", "segcore", "predict", "-m", str(checkpoint), "-i", str(image),
                         "-o", str(out)])
    assert result["rc"] == 0, result["stderr"][-500:]
    assert out.is_file()
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result["stderr"].splitlines()
                if line.startswith("import time:")}
    assert "torch" in imported  # the list is real
    assert not imported & {"torchvision", "PySide6", "pyqtgraph", "app"}, imported & {"torchvision", "PySide6"}


def test_table_lists_every_engine_measured_and_the_machine_class():
    report = {"predict_512": {"model_s": 0.4, "engines": {"pytorch_fp32": {"s": 1.0}, "onnxruntime": {"s": 0.4}}},
              "meta": {"cpu_count": 2, "machine_class": "cpu-fp32", "engine_auto": "onnxruntime"}}
    text = table(report)
    assert "  engine pytorch_fp32" in text and "  engine onnxruntime" in text
    assert "machine class cpu-fp32, engine chosen onnxruntime" in text


def test_fixed_steps_trains_and_scores_the_dev_split(tmp_path, capsys):
    import pytest

    from bench import fixed_steps
    from bench.accuracy import SHARED_DATA

    if not (SHARED_DATA / "isbi2012_em").is_dir():
        pytest.skip(f"{SHARED_DATA / 'isbi2012_em'} is absent (the shared data is in CI)")
    assert fixed_steps.main(["t", "--steps", "2", "--validate-every", "1", "--normalise", "image",
                             "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 2 and result["args"]["normalise"] == "image"
    assert set(result["dice"]) == {"best", "best TTA", "last", "last TTA"}
    assert all(0 <= v <= 1 for scores in result["dice"].values() for v in scores.values())


def test_label_width_measures_a_band_and_every_isbi_slice(tmp_path, capsys):
    import pytest

    from bench import label_width

    band = np.zeros((40, 60), bool)
    band[10:16] = True  # 6 px wide
    assert label_width.mean_width(band) == pytest.approx(6, abs=0.6)
    assert np.isnan(label_width.mean_width(np.zeros((5, 5), bool)))
    if not label_width.ISBI.is_dir():
        pytest.skip(f"{label_width.ISBI} is absent (the shared data is in CI)")
    model = write_checkpoint(tmp_path / "tiny.pt", in_channels=1, width=4, depth=2)
    assert label_width.main(["-m", str(model)]) == 0
    result = json.loads(capsys.readouterr().out)
    slices = result["slices"]
    assert [r["slice"] for r in slices] == list(range(30)) and 5 < result["train_width_px"]["mean"] < 8
    tested = [r for r in slices if r["part"] == "test"]
    assert len(tested) == 6 and all(r["oracle_dice"] >= r["membrane_dice"] - 1e-9 for r in tested)
