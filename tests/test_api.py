"""The Python API: segcore.train / segcore.predict with typed exceptions carrying the CLI's messages."""

from __future__ import annotations

import sys

import pytest

import segcore
from segcore.data.io import read_image

TINY = dict(arch_kwargs={"width": 4, "depth": 2}, patch_size=48, batch_size=2)


def test_import_is_light():
    """torch loads lazily: the one run-time check of it (the static layering is in pyproject's import contracts)."""
    code = "import sys, segcore, segcore.cli; print('torch' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_train_then_predict(sample_dir, tmp_path):
    events = []
    done = segcore.train(sample_dir, epochs=1, out=str(tmp_path / "r"), on_event=events.append, **TINY)
    assert done.status == "completed" and done.best_path
    assert events[-1] is done
    image_path = next((sample_dir / "images").iterdir())
    mask = segcore.predict(done.best_path, image_path, device="cpu")
    assert mask.shape == read_image(image_path).shape[:2]
    assert segcore.Predictor(done.best_path).spec.names == ["background", "nucleus"]


def test_a_model_of_standardised_images_ignores_exposure(sample_dir, tmp_path):
    import numpy as np

    done = segcore.train(sample_dir, epochs=1, out=str(tmp_path / "r"), per_image_norm=True, **TINY)
    predictor = segcore.Predictor(done.best_path, device="cpu")
    assert predictor.per_image
    image = read_image(next((sample_dir / "images").iterdir()))
    darker = (image.astype(np.float32) * 0.6 + 12).round().astype(image.dtype)  # a dimmer, lower-contrast take
    np.testing.assert_allclose(predictor.predict_proba(darker), predictor.predict_proba(image), atol=0.03)
    plain = segcore.train(sample_dir, epochs=1, out=str(tmp_path / "p"), **TINY)
    assert not segcore.Predictor(plain.best_path, device="cpu").per_image  # the fixed recipe: as before
    again = segcore.train(sample_dir, epochs=1, out=str(tmp_path / "f"), checkpoint=done.best_path, fine_tune=True,
                          **TINY)  # a new round learns on what the model was trained on, unasked
    assert segcore.Predictor(again.best_path, device="cpu").per_image


def test_typed_errors(tmp_path):
    with pytest.raises(segcore.DataError):
        segcore.train(tmp_path / "missing", epochs=1, out=str(tmp_path / "r"))
    with pytest.raises(segcore.ConfigError, match="unknown architecture"):
        segcore.train(tmp_path, arch="nope")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"x")
    with pytest.raises(segcore.CheckpointError):
        segcore.predict(bad, tmp_path / "x.png")
    assert issubclass(segcore.DataError, segcore.SegcoreError)


def test_unreadable_checkpoints_say_why_in_plain_words(sample_dir, tmp_path):
    """torch.load's own text (advice to turn weights_only off, miniz internals, a bare opcode) stays out."""
    import torch

    image = next((sample_dir / "images").iterdir())
    objects = tmp_path / "objects.pt"
    torch.save({"a": object}, objects)
    whole = tmp_path / "whole.pt"
    torch.save({"a": torch.zeros(1000)}, whole)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole.read_bytes()[:2000])
    text = tmp_path / "text.pt"
    text.write_text("hello")
    cases = {image: "not a PyTorch checkpoint file", text: "not a PyTorch checkpoint file",
             cut: "damaged or cut short", objects: "holds Python objects"}
    for path, words in cases.items():
        with pytest.raises(segcore.CheckpointError) as info:
            segcore.predict(path, image)
        message = str(info.value)
        assert words in message and str(path) in message, message
        assert "weights_only" not in message and "\x1b" not in message and "\n" not in message, message


def test_resume_folder_default(tmp_path):
    """Resuming a run's last.pt goes on in that run's folder; another file or --fine-tune starts a new one, so
    a later last.pt is never overwritten by a run going on from best.pt."""
    run = tmp_path / "run"
    assert segcore.TrainConfig(data=".", checkpoint=str(run / "last.pt")).resolved().out == str(run)
    for options in (dict(checkpoint=str(run / "best.pt")), dict(checkpoint=str(run / "last.pt"), fine_tune=True)):
        assert segcore.TrainConfig(data=".", **options).resolved().out.startswith("checkpoints")
