"""Every architecture end to end through the CLI: train one epoch on tiny sample data, predict without --arch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

# Tiny settings through the CLI's --arch-arg, so one epoch takes seconds on two CPU cores.
TINY_ARGS = {
    "unet": ["width=4", "depth=3"],
    "segnet": ["width=4"],
    "pspnet": ["backbone=resnet18", "channels=16"],
}
SLOW = {"segnet", "pspnet"}  # about 20 s and 30 s on two shared cores, interpreter start-ups included


def _segcore(*args):
    return subprocess.run(
        [sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from segcore.data.sample import write_sample_data

    folder = tmp_path_factory.mktemp("tiny")
    write_sample_data(folder, count=5, size=48, seed=0)
    return folder


def _arch_params():
    from segcore.models import available

    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in available()]


@pytest.mark.parametrize("name", _arch_params())
def test_train_one_epoch_then_predict_without_arch(name, tiny_data, tmp_path):
    from segcore import checkpoint

    out = tmp_path / "run"
    arch_args = [a for kv in TINY_ARGS.get(name, []) for a in ("--arch-arg", kv)]
    args = [
        "train",
        tiny_data,
        "--arch",
        name,
        *arch_args,
        "-e",
        1,
        "-b",
        2,
        "--patch-size",
        32,
        "-o",
        out,
        "-q",
    ]
    trained = _segcore(*args)
    assert trained.returncode == 0, trained.stderr
    saved = checkpoint.load(out / "best.pt")
    assert saved["arch"] == name

    odd = tmp_path / "odd.png"  # not a multiple of any model's stride
    Image.open(tiny_data / "images" / "sample_000.png").crop((0, 0, 45, 37)).save(odd)
    mask_path = tmp_path / "odd_mask.png"
    predicted = _segcore("predict", "-m", out / "best.pt", "-i", odd, "-o", mask_path)
    assert predicted.returncode == 0, predicted.stderr
    mask = np.asarray(Image.open(mask_path))
    assert mask.shape == (37, 45)
    assert set(np.unique(mask)) <= {0, 255}  # the sample data's mask values


def test_unknown_architecture_on_the_command_line_lists_valid_ones(tiny_data, tmp_path, capsys):
    from segcore.cli import main

    assert main(["train", str(tiny_data), "--arch", "vgg", "-e", "1", "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown architecture 'vgg'" in err
    assert all(name in err for name in TINY_ARGS)


@pytest.mark.parametrize("arch,arg,message", [
    ("unet", "depth=x", "unet option depth must be a whole number, got 'x'"),
    ("unet", "width=2.5", "unet option width must be a whole number, got 2.5"),
    ("pspnet", "backbone=7", "pspnet option backbone must be a name, got 7"),
    ("segnet", "pretrained=1", "segnet option pretrained must be true or false, got 1"),
])
def test_option_of_the_wrong_kind_is_refused_before_any_work(tiny_data, tmp_path, capsys, arch, arg, message):
    """It used to fail after loading the data, with "'<' not supported between instances of 'str' and 'int'"."""
    from segcore.cli import main

    out = tmp_path / "x"
    assert main(["train", str(tiny_data), "--arch", arch, "--arch-arg", arg, "-e", "1", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "training images" not in err and not out.exists()
