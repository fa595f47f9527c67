"""Export: ONNX and TorchScript files reproduce PyTorch for every architecture; bioimage.io packages validate with
bioimageio.spec and reproduce their test output through bioimageio.core; the command line's failure paths."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from segcore.errors import ExportError

MISSING = [m for m in ("onnx", "onnxscript", "onnxruntime", "bioimageio.spec") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed "
                                                      "(pip install 'segstudio[export]')")


def _export(*args, **kwargs):
    from segcore.export import export_model

    return export_model(*args, **kwargs)


@pytest.mark.parametrize("arch", ["unet", "segnet", "pspnet"])
def test_onnx_has_dynamic_height_and_width_and_matches_pytorch(make_checkpoint, tmp_path, arch):
    import onnxruntime as ort

    from segcore import checkpoint as ckpt

    path = make_checkpoint(arch)
    result = _export(path, tmp_path / "model.onnx", "onnx")
    (check,) = result.checks
    assert check.max_abs_diff < 1e-4 and check.mask_agreement >= 0.999, check
    model = ckpt.build_model(ckpt.load(path)).eval()
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    multiple = int(session.get_modelmeta().custom_metadata_map["segstudio.multiple"])
    for shape in [(1, 3, 3 * multiple, 5 * multiple), (1, 3, 7 * multiple, 2 * multiple)]:
        x = torch.randn(*shape)
        with torch.inference_mode():
            expected = model(x).softmax(1).numpy()
        got = session.run(None, {"input": x.numpy()})[0]
        assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-4


@pytest.mark.parametrize("arch", ["unet", "segnet", "pspnet"])
def test_torchscript_takes_any_size_and_matches_pytorch(make_checkpoint, tmp_path, arch):
    from segcore import checkpoint as ckpt

    path = make_checkpoint(arch)
    (check,) = _export(path, tmp_path / "model.pt", "torchscript").checks
    assert check.max_abs_diff < 1e-4 and check.mask_agreement >= 0.999, check
    scripted = torch.jit.load(str(tmp_path / "model.pt"))
    model = ckpt.build_model(ckpt.load(path)).eval()
    x = torch.randn(1, 3, 45, 70)  # not a multiple of any padding unit: scripting keeps the padding
    with torch.inference_mode():
        torch.testing.assert_close(scripted(x), model(x).softmax(1), atol=1e-4, rtol=1e-4)


def test_bioimageio_package_validates_and_describes_the_model(make_checkpoint, tmp_path):
    from bioimageio.spec import load_model_description

    path = make_checkpoint("unet")
    result = _export(path, tmp_path / "pkg", "bioimageio", authors=["Ada Lovelace"], name="Nuclei, v2")
    assert result.valid, result.validation
    assert [p.name for p in result.written] == ["pkg", "pkg.zip"]
    assert {c.format for c in result.checks} == {"onnx", "torchscript"}
    assert all(c.max_abs_diff < 1e-4 and c.mask_agreement >= 0.999 for c in result.checks)
    folder = tmp_path / "pkg"
    assert {p.name for p in folder.iterdir()} == {"rdf.yaml", "weights.onnx", "weights_torchscript.pt",
                                                  "test_input.npy", "test_output.npy", "cover.png", "README.md"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    with zipfile.ZipFile(tmp_path / "pkg.zip") as zf:
        assert "rdf.yaml" in zf.namelist()
    descr = load_model_description(tmp_path / "pkg.zip")
    assert descr.name == "Nuclei v2" and [a.name for a in descr.authors] == ["Ada Lovelace"]
    assert str(descr.license) == "CC-BY-4.0" and descr.cite[0].doi == "10.1007/978-3-319-24574-4_28"
    (inp,), (out,) = descr.inputs, descr.outputs
    assert [a.type for a in inp.axes] == ["batch", "channel", "space", "space"]
    assert out.axes[1].channel_names == ["background", "cell"]
    assert inp.axes[2].size.step == 4 and inp.data.type == "uint8"  # the tiny U-Net pads to 4; 8-bit sample
    steps = [p.id for p in inp.preprocessing]
    assert steps == ["ensure_dtype", "scale_linear", "ensure_dtype"]
    gain = inp.preprocessing[1].kwargs.gain
    assert np.allclose(gain, 1 / (255 * 0.2)) and np.allclose(inp.preprocessing[1].kwargs.offset, -0.4 / 0.2)
    assert "## Validation" in (folder / "README.md").read_text()


def test_a_16_bit_sample_gives_the_percentile_preprocessing(make_checkpoint, tmp_path):
    from bioimageio.spec import load_model_description

    from segcore.data.io import write_image

    rng = np.random.default_rng(0)
    sample = tmp_path / "sample.tif"
    write_image(sample, (rng.random((200, 150)) * 4000).astype(np.uint16))
    path = make_checkpoint("unet", in_channels=1)
    result = _export(path, tmp_path / "pkg", sample=sample)
    assert result.valid, result.validation
    (inp,) = load_model_description(tmp_path / "pkg" / "rdf.yaml").inputs
    assert [p.id for p in inp.preprocessing] == ["ensure_dtype", "scale_range", "clip", "scale_linear",
                                                 "ensure_dtype"]
    assert inp.preprocessing[1].kwargs.min_percentile == 0.5 and inp.preprocessing[1].kwargs.max_percentile == 99.5
    test_input = np.load(tmp_path / "pkg" / "test_input.npy")
    assert test_input.dtype == np.float32 and test_input.shape[:2] == (1, 1)
    assert "percentile" in (tmp_path / "pkg" / "README.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_model_of_images_standardised_one_by_one_exports_the_same_normalisation(make_checkpoint, tmp_path,
                                                                                   dtype):
    from bioimageio.spec import load_model_description

    from segcore.data.io import write_image

    core = pytest.importorskip("bioimageio.core", reason="bioimageio.core not installed")
    rng = np.random.default_rng(0)
    sample = tmp_path / "sample.tif"
    write_image(sample, (rng.random((200, 150)) * (200 if dtype == np.uint8 else 4000) + 20).astype(dtype))
    result = _export(make_checkpoint("unet", in_channels=1, per_image=True), tmp_path / "pkg", sample=sample)
    assert result.valid, result.validation
    (inp,) = load_model_description(tmp_path / "pkg" / "rdf.yaml").inputs
    steps = [p.id for p in inp.preprocessing]
    assert steps[-4:] == ["zero_mean_unit_variance", "clip", "scale_linear", "ensure_dtype"]
    assert "standardised on its own mean and std" in (tmp_path / "pkg" / "README.md").read_text()
    summary = core.test_model(tmp_path / "pkg.zip", weight_format="onnx")  # the package reproduces our output
    assert summary.status == "passed", [(d.name, [e.msg for e in d.errors]) for d in summary.details
                                        if d.status == "failed"]


def test_a_scaled_checkpoint_says_to_resize(make_checkpoint, tmp_path):
    result = _export(make_checkpoint("unet", scale=0.5), tmp_path / "pkg")
    assert result.valid, result.validation
    assert "resized by 0.5" in (tmp_path / "pkg" / "README.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["unet", "segnet", "pspnet"])
def test_bioimageio_core_reproduces_the_test_output_with_both_weights(make_checkpoint, tmp_path, arch):
    core = pytest.importorskip("bioimageio.core", reason="bioimageio.core not installed")
    result = _export(make_checkpoint(arch), tmp_path / "pkg")
    assert result.valid, result.validation
    for weights in ("onnx", "torchscript"):
        summary = core.test_model(tmp_path / "pkg.zip", weight_format=weights)
        failed = [(d.name, [e.msg for e in d.errors]) for d in summary.details if d.status == "failed"]
        assert summary.status == "passed", (weights, failed)


def test_an_existing_output_is_kept_unless_overwrite(make_checkpoint, tmp_path):
    path = make_checkpoint("unet")
    (tmp_path / "model.onnx").write_bytes(b"mine")
    with pytest.raises(ExportError, match="exists; choose another output or pass --overwrite"):
        _export(path, tmp_path / "model.onnx", "onnx")
    assert (tmp_path / "model.onnx").read_bytes() == b"mine"
    _export(path, tmp_path / "model.onnx", "onnx", overwrite=True)
    assert (tmp_path / "model.onnx").stat().st_size > 1000


def test_unknown_format_and_missing_packages_are_one_line(make_checkpoint, tmp_path, monkeypatch):
    path = make_checkpoint("unet")
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        _export(path, tmp_path / "m", "tflite")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(ExportError, match=r"needs onnxscript: pip install 'segstudio\[export\]'"):
        _export(path, tmp_path / "m.onnx", "onnx")


def _segcore(*args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)


def test_cli_exports_a_package_and_reports_the_checks(make_checkpoint, tmp_path):
    path = make_checkpoint("unet")
    proc = _segcore("export", "-m", path, "-o", tmp_path / "pkg")
    assert proc.returncode == 0, proc.stderr
    assert "valid bioimage.io package" in proc.stdout and "onnx: max |p - p_pytorch|" in proc.stdout
    assert "torchscript: max |p - p_pytorch|" in proc.stdout and "masks agree on" in proc.stdout
    again = _segcore("export", "-m", path, "-o", tmp_path / "pkg")
    assert again.returncode == 2 and again.stderr.strip().splitlines()[-1].startswith("segcore export: error: ")
    assert "Traceback" not in again.stderr


def test_cli_refuses_what_is_not_a_checkpoint_in_one_line(tmp_path):
    bogus = tmp_path / "notes.pt"
    bogus.write_text("hello")
    proc = _segcore("export", "-m", bogus, "-o", tmp_path / "out.onnx", "--format", "onnx")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("segcore export: error: ")
    assert not (tmp_path / "out.onnx").exists()
