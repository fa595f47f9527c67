"""The command line as a user runs it: subprocesses, exit codes, one-line errors, files on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from segcore.data.classes import ClassSpec
from segcore.data.io import read_image, read_mask
from segcore.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
TINY_TRAIN = ["--width", "4", "--arch-arg", "depth=2", "--patch-size", "48", "-b", "2", "-q"]


def segcore(*args, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    # the repository's own segcore, whatever the working folder (an installed copy may be another checkout)
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": path}
    proc = subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"segcore {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Sample data written by the CLI and a checkpoint trained on it by the CLI (shared by this module)."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "sample"
    segcore("sample-data", data, "--count", "6", "--size", "96")
    segcore("train", data, "-e", "2", "-l", "5e-3", "-o", root / "run", *TINY_TRAIN)
    return data, root / "run" / "best.pt"


def test_help_lists_every_command():
    out = segcore("--help").stdout
    for command in ("sample-data", "create-txt", "train", "predict", "crf", "eval", "models", "demo"):
        assert command in out


def test_train_writes_run_files(trained):
    _, best = trained
    run = best.parent
    assert {"best.pt", "last.pt", "metrics.csv", "config.json", "split.json"} <= {p.name for p in run.iterdir()}
    assert len((run / "metrics.csv").read_text().splitlines()) == 3  # header + 2 epochs
    assert json.loads((run / "config.json").read_text())["epochs"] == 2


def test_predict_one_image_at_original_size(trained, tmp_path):
    data, best = trained
    image = next((data / "images").iterdir())
    out = tmp_path / "pred" / "out.png"
    segcore("predict", "-m", best, "-i", image, "-o", out, "-c", "--overlay", "--probabilities")
    mask = read_mask(out, ClassSpec.load(data))
    assert mask.shape == read_image(image).shape[:2]
    assert set(np.unique(np.array(Image.open(out)))) <= {0, 255}  # written in the data's own values
    probs = np.load(tmp_path / "pred" / "out.probs.npy")
    assert probs.shape == (2, *mask.shape) and np.allclose(probs.sum(0), 1, atol=1e-4)
    assert (tmp_path / "pred" / "out.overlay.png").exists()


def test_predict_folder_and_odd_sizes(trained, tmp_path):
    _, best = trained
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (75, 131, 3), dtype=np.uint8)).save(folder / "odd.png")
    Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(folder / "grey.jpg")  # grey -> RGB
    segcore("predict", "-m", best, "-i", folder, "-o", tmp_path / "out")
    assert np.array(Image.open(tmp_path / "out" / "odd.png")).shape == (75, 131)
    assert np.array(Image.open(tmp_path / "out" / "grey.png")).shape == (40, 40)


def test_predict_with_scale_restores_original_size(trained, tmp_path):
    data, _ = trained
    segcore("train", data, "-e", "1", "-s", "0.5", "-o", tmp_path / "half", *TINY_TRAIN)
    image = tmp_path / "big.png"
    Image.fromarray(np.zeros((510, 512, 3), np.uint8)).save(image)
    segcore("predict", "-m", tmp_path / "half" / "best.pt", "-i", image, "-o", tmp_path / "m.png")
    assert np.array(Image.open(tmp_path / "m.png")).shape == (510, 512)


def test_resume_with_dash_c(trained, tmp_path):
    data, best = trained
    proc = segcore("train", data, "-e", "3", "-c", best.parent / "last.pt", "-o", tmp_path / "more", *TINY_TRAIN)
    assert "resuming" in proc.stderr and "epoch 3/3" in proc.stderr


def test_resume_without_out_goes_on_in_the_checkpoint_folder(trained, tmp_path):
    """README: `segcore train my_data -e 40 -c checkpoints/unet-DATE-TIME/last.pt` resumes that run; a new
    folder would hold no best.pt unless an epoch beat the old best."""
    data, best = trained
    run = tmp_path / "run"
    run.mkdir()
    for name in ("best.pt", "last.pt"):
        (run / name).write_bytes((best.parent / name).read_bytes())
    proc = segcore("train", data.resolve(), "-e", "3", "-c", run / "last.pt", *TINY_TRAIN, cwd=tmp_path)
    assert f"last checkpoint: {run / 'last.pt'}" in proc.stdout
    assert not (tmp_path / "checkpoints").exists()
    assert len((run / "metrics.csv").read_text().splitlines()) == 4  # header + the 3 epochs of the run
    assert (run / "best.pt").exists()


def test_a_run_without_out_goes_where_the_window_lists_the_folder_runs(trained, tmp_path):
    """README and docs/gui.md named two places for a run (./checkpoints for the CLI, DATA/checkpoints for the
    window), so a run trained on the command line never showed in the window's run list: one place now."""
    import shutil

    from app.state.runs import list_runs

    data = tmp_path / "data"
    shutil.copytree(trained[0], data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = segcore("train", data, "-e", "1", "--name", "nuclei 20x", *TINY_TRAIN, cwd=elsewhere)
    runs = list(data.glob("checkpoints/nuclei-20x-*"))
    assert len(runs) == 1 and (runs[0] / "best.pt").is_file(), proc.stdout
    assert not (elsewhere / "checkpoints").exists()
    assert [(r.name, r.folder) for r in list_runs(data)] == [("nuclei 20x", runs[0])]


def test_an_output_folder_that_cannot_be_written_is_refused_before_training(tmp_path, monkeypatch):
    from segcore.training.config import TrainConfig

    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path and real(path, mode))
    with pytest.raises(ConfigError, match="is read-only, so the run cannot be written"):
        TrainConfig(data=str(tmp_path)).resolved(check_model=False)


def test_create_txt_then_train_on_original_layout(trained, tmp_path):
    data, _ = trained
    root = tmp_path / "orig"
    images = sorted((data / "images").iterdir())
    for split, chosen in (("data", images[:4]), ("val", images[4:])):
        (root / split / "masks").mkdir(parents=True)
        for p in chosen:
            (root / split / p.name).write_bytes(p.read_bytes())
            (root / split / "masks" / p.name).write_bytes((data / "masks" / p.name).read_bytes())
    segcore("create-txt", root)
    assert (root / "data" / "data.txt").read_text().split() == [p.name for p in images[:4]]
    segcore("train", root, "-e", "1", "-o", tmp_path / "r", *TINY_TRAIN)
    split = json.loads((tmp_path / "r" / "split.json").read_text())
    assert len(split["train"]) == 4 and len(split["val"]) == 2


def test_unknown_architecture_lists_valid(trained, tmp_path):
    data, _ = trained
    assert_one_line_error(segcore("train", data, "--arch", "nope", "-o", tmp_path / "x", check=False),
                          "unknown architecture", "unet")


def test_checkpoint_that_is_not_one(tmp_path):
    fake = tmp_path / "fake.pt"
    fake.write_text("hello")
    image = tmp_path / "i.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(image)
    assert_one_line_error(segcore("predict", "-m", fake, "-i", image, check=False), "fake.pt", "checkpoint")


def test_missing_and_corrupt_images(trained, tmp_path):
    _, best = trained
    assert_one_line_error(segcore("predict", "-m", best, "-i", tmp_path / "nope.png", check=False), "nope.png")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert_one_line_error(segcore("predict", "-m", best, "-i", corrupt, check=False), "corrupt.png")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(segcore("train", tmp_path / "empty", "-o", tmp_path / "r", check=False), "empty")


def test_mask_size_mismatch_and_bad_values(trained, tmp_path):
    data, _ = trained
    bad = tmp_path / "bad"
    (bad / "images").mkdir(parents=True)
    (bad / "masks").mkdir()
    for p in sorted((data / "images").iterdir())[:3]:
        (bad / "images" / p.name).write_bytes(p.read_bytes())
        (bad / "masks" / p.name).write_bytes((data / "masks" / p.name).read_bytes())
    victim = sorted((bad / "masks").iterdir())[0]
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(victim)
    assert_one_line_error(segcore("train", bad, "-e", "1", "-o", tmp_path / "r", *TINY_TRAIN, check=False),
                          victim.name, "size")
    Image.fromarray(np.full((96, 96), 7, np.uint8)).save(victim)  # 7 is not in classes.json (0/255)
    (bad / "classes.json").write_text((data / "classes.json").read_text())
    assert_one_line_error(segcore("train", bad, "-e", "1", "-o", tmp_path / "r2", *TINY_TRAIN, check=False),
                          "7", "class")


def test_gpu_flag_without_gpu_says_so(trained, tmp_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    data, _ = trained
    proc = segcore("train", data, "-e", "1", "-g", "-o", tmp_path / "g", *TINY_TRAIN)
    assert "no usable GPU" in proc.stderr


def test_isbi_train_and_predict(isbi_dir, tmp_path):
    """The real EM data: 0/255 masks read as two classes, scale 0.5 as the original, predictions at full size."""
    segcore("train", isbi_dir, "-e", "1", "-s", "0.5", "-o", tmp_path / "isbi", *TINY_TRAIN)
    ck = tmp_path / "isbi" / "best.pt"
    segcore("predict", "-m", ck, "-i", isbi_dir / "images" / "29.png", "-o", tmp_path / "29.png")
    mask = np.array(Image.open(tmp_path / "29.png"))
    assert mask.shape == (512, 512) and set(np.unique(mask)) <= {0, 255}


def test_predict_refuses_to_overwrite_its_input(trained, tmp_path):
    _, best = trained
    image = tmp_path / "cells.png"
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(image)
    before = image.read_bytes()
    assert_one_line_error(segcore("predict", "-m", best, "-i", image, "-o", image, check=False),
                          "cells.png", "input")
    assert_one_line_error(segcore("predict", "-m", best, "-i", image, "-o", tmp_path, check=False),
                          "cells.png", "input")  # -o FOLDER names the output after the input: the same file
    assert_one_line_error(segcore("predict", "-m", best, "-i", tmp_path, "-o", tmp_path, check=False),
                          "cells.png", "input")  # a folder into itself
    assert image.read_bytes() == before


def test_predict_default_output_never_replaces_an_annotation(trained, tmp_path):
    """INPUT_mask.png is also how a plain folder pairs an image with its hand-made mask."""
    _, best = trained
    image = tmp_path / "x.png"
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(image)
    segcore("predict", "-m", best, "-i", image, "-c")  # no mask yet: written beside the image
    annotation = tmp_path / "x_mask.png"
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(annotation)
    before = annotation.read_bytes()
    assert_one_line_error(segcore("predict", "-m", best, "-i", image, "-c", check=False),
                          "x_mask.png", "annotation", "-o")
    assert annotation.read_bytes() == before
    segcore("predict", "-m", best, "-i", image, "-c", "-o", annotation)  # asked for by name: replaced
    assert annotation.read_bytes() != before


def test_predict_default_output_refuses_to_add_a_second_mask_beside_a_tiff_annotation(trained, tmp_path):
    """x_mask.tif pairs with x.png as x_mask.png does: writing x_mask.png beside it made the folder fail to load
    ("two masks for image 'x'")."""
    _, best = trained
    image = tmp_path / "x.png"
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(image)
    tifffile.imwrite(tmp_path / "x_mask.tif", np.full((40, 40), 255, np.uint8))
    assert_one_line_error(segcore("predict", "-m", best, "-i", image, "-c", check=False),
                          "x_mask.tif", "annotation", "-o")
    assert not (tmp_path / "x_mask.png").exists()


def test_predict_folder_skips_the_annotations_paired_with_its_images(trained, tmp_path):
    """A folder of x.png + x_mask.png (a layout train reads) had its masks segmented as images too."""
    _, best = trained
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(folder / "x.png")
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(folder / "x_mask.png")
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(folder / "y_mask.png")  # no y.png: an image
    segcore("predict", "-m", best, "-i", folder, "-o", tmp_path / "out", "-c")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.png", "y_mask.png"]


def test_predict_folder_refuses_two_images_with_one_output(trained, tmp_path):
    _, best = trained
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(folder / "a.png")
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(folder / "a.tif")
    proc = segcore("predict", "-m", best, "-i", folder, "-o", tmp_path / "out", check=False)
    assert_one_line_error(proc, "a.png", "a.tif")
    assert not (tmp_path / "out").exists()


def test_unwritable_output_is_one_line(trained, tmp_path):
    """A file where a folder should be (as a read-only folder or a full disk): one line naming it, no traceback."""
    data, best = trained
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    image = next((data / "images").iterdir())
    assert_one_line_error(segcore("predict", "-m", best, "-i", image, "-o", blocker / "m.png", check=False),
                          "cannot write", "afile")
    assert_one_line_error(segcore("predict", "-m", best, "-i", data / "images", "-o", blocker / "sub",
                                  check=False), "cannot write", "afile")
    assert_one_line_error(segcore("eval", "-m", best, data, "-q", "--json", blocker / "s.json", check=False),
                          "cannot write", "afile")
    assert_one_line_error(segcore("sample-data", blocker, "--count", "1", "--size", "32", check=False),
                          "cannot write", "afile")
    proc = segcore("train", data, "-e", "1", "-o", blocker / "run", *TINY_TRAIN, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "is a file" in proc.stderr.splitlines()[-1] and "afile" in proc.stderr.splitlines()[-1]  # said up front


@pytest.mark.parametrize("device", ["bogus", "mps", "cuda:x"])
def test_unknown_device_is_one_line(trained, tmp_path, device):
    data, best = trained
    assert_one_line_error(segcore("train", data, "-e", "1", "--device", device, "-o", tmp_path / "r", *TINY_TRAIN,
                                  check=False), device, "cuda")
    assert_one_line_error(segcore("eval", "-m", best, data, "-q", "--device", device, check=False), device)


def test_negative_seed_is_one_line(trained, tmp_path):
    data, _ = trained
    assert_one_line_error(segcore("train", data, "-e", "1", "--seed", "-1", "-o", tmp_path / "r", *TINY_TRAIN,
                                  check=False), "seed", "-1")


def test_checkpoint_whose_weights_do_not_fit_is_one_line(trained, tmp_path):
    import torch

    _, best = trained
    data = torch.load(best, weights_only=True)
    data["in_channels"] = 1  # e.g. edited by hand or written by a buggy tool: weights for 3 channels
    data["normalization"] = {"mean": [0.5], "std": [0.25]}
    torch.save(data, tmp_path / "odd.pt")
    image = tmp_path / "i.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(image)
    assert_one_line_error(segcore("predict", "-m", tmp_path / "odd.pt", "-i", image, check=False),
                          "odd.pt", "do not fit")


@pytest.mark.parametrize("field,value,words", [
    ("normalization", "x", "TypeError"),
    ("normalization", {"mean": [0.5], "std": [0.25]}, "does not fit 3 channels"),
    ("scale", 0, "scale 0"),
    ("classes", {"names": ["a"], "values": [0]}, "DataError"),
])
def test_damaged_checkpoint_fields_are_one_line(trained, tmp_path, field, value, words):
    """A hand-edited normalization used to end in a TypeError traceback deep inside prediction."""
    import torch

    _, best = trained
    data = torch.load(best, weights_only=True)
    data[field] = value
    torch.save(data, tmp_path / "damaged.pt")
    image = tmp_path / "i.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(image)
    assert_one_line_error(segcore("predict", "-m", tmp_path / "damaged.pt", "-i", image, check=False),
                          "damaged.pt", words)


def test_crf_refuses_to_overwrite_its_input(tmp_path):
    image = tmp_path / "cells.png"
    Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(image)
    probs = tmp_path / "p.npy"
    np.save(probs, np.full((2, 24, 24), 0.5, np.float32))
    before = image.read_bytes()
    assert_one_line_error(segcore("crf", "-i", image, "-p", probs, "-o", image, check=False), "cells.png", "input")
    assert_one_line_error(segcore("crf", "-i", image, "-p", probs, "-o", tmp_path / "m.png",
                                  "--save-probabilities", probs, check=False), "p.npy", "input")
    assert image.read_bytes() == before


def test_mistyped_option_names_the_command_and_the_nearest_option(tmp_path):
    out = tmp_path / "x.png"
    proc = segcore("predict", "-m", tmp_path / "m.pt", "-i", tmp_path / "i.png", "--ouput", out, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("segcore predict: error: unrecognized arguments: --ouput"), last
    assert "did you mean --output?" in last and "usage: segcore predict" in proc.stderr
    assert not out.exists()


def test_train_output_that_is_a_file_is_refused_before_loading_anything(tmp_path):
    existing = tmp_path / "new.png"
    existing.write_bytes(b"my file")
    proc = segcore("train", tmp_path / "no_such_data", "-o", existing, check=False)
    assert_one_line_error(proc, "new.png", "is a file", "-o")  # not "no such folder": the output is checked first
    assert existing.read_bytes() == b"my file"
