"""Export a checkpoint for other tools: a bioimage.io package (default), ONNX, or TorchScript.

Every export is checked against the checkpoint's PyTorch model in float32 on a test image (one of the training
folder's images when it is still there, else ``sample=``, else a synthetic one): the largest difference of the
class probabilities and the share of pixels whose mask (argmax) agrees. A bioimage.io package is also validated
with ``bioimageio.spec``.

:func:`export_steps` is a generator of progress lines that returns an :class:`ExportResult` (the GUI runs it in
a worker); :func:`export_model` runs it to the end.

Which formats work for which architecture (all three measured in tests/test_export.py):

- U-Net, SegNet, PSPNet: ONNX with dynamic height/width, batch 1 (opset 18; SegNet's max-unpooling is ONNX's
  MaxUnpool, PSPNet's adaptive pooling is computed from a cumulative-sum table, exact for every size) and
  TorchScript (scripted, so any size works there).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segcore.errors import DataError, ExportError

FORMATS = ("bioimageio", "onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
TEST_SIZE = 256  # side of the test image: big enough for every model's context, small enough to ship


@dataclass(frozen=True)
class Check:
    """An exported format's output against PyTorch float32 on the test image."""

    format: str
    max_abs_diff: float
    mask_agreement: float
    shape: tuple[int, int]

    def line(self) -> str:
        return (f"{self.format}: max |p - p_pytorch| {self.max_abs_diff:.1e}, masks agree on "
                f"{100 * self.mask_agreement:.3f} % of {self.shape[0]}x{self.shape[1]} pixels")


@dataclass
class ExportResult:
    format: str
    written: list[Path] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    valid: bool | None = None  # bioimage.io validation; None for other formats
    validation: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = [f"wrote {', '.join(str(p) for p in self.written)}", *(c.line() for c in self.checks)]
        if self.validation:
            lines.append(("valid bioimage.io package: " if self.valid else "INVALID bioimage.io package: ")
                         + self.validation)
        return lines + self.notes


def _test_image(config: dict, sample: str | os.PathLike | None) -> tuple[np.ndarray, str]:
    """An image as stored ``(H, W, C)``: ``sample``, else the training folder's first validation image, else a
    synthetic one; and where it came from."""
    from segcore.data.io import read_image

    if sample is not None:
        return read_image(sample), str(sample)
    folder = config.get("data") if isinstance(config, dict) else None
    if folder and Path(folder).is_dir():
        from segcore.data.layout import find_samples

        try:
            samples = find_samples(folder)
        except DataError:
            samples = []
        if samples:  # the run's own validation split (a val/ folder, else the seeded random one)
            from segcore.data.layout import split_samples

            labelled = [s for s in samples if s.mask is not None]
            val = split_samples(labelled, float(config.get("val_fraction", 0.15)), int(config.get("seed", 0)))[1]
            chosen = val[0] if val else samples[0]
            return read_image(chosen.image), str(chosen.image)
    from segcore.data.sample import make_sample

    return make_sample(TEST_SIZE)[0], "a synthetic image (the training folder is not here; pass a sample)"


def _fit(image: np.ndarray, low: int, step: int) -> np.ndarray:
    """Centre crop to a valid size (``low + n * step``, at most TEST_SIZE); reflect-pad an image smaller than
    ``low``."""
    out = image
    for axis in (0, 1):
        n = out.shape[axis]
        if n < low:
            pad = [(0, 0)] * out.ndim
            pad[axis] = (0, low - n)
            out = np.pad(out, pad, mode="symmetric")
            n = low
        size = low + (min(n, max(TEST_SIZE, low)) - low) // step * step
        start = (n - size) // 2
        out = np.take(out, range(start, start + size), axis=axis)
    return out


def _inputs(image: np.ndarray, info: dict, multiple: int) -> tuple[np.ndarray, np.ndarray]:
    """The test input as stored ``(1, C, H, W)`` (resized by the checkpoint's scale, cropped to a valid size) and
    the same normalised as this tool normalises it (float32)."""
    from segcore.data.preprocess import match_channels, resize_image, unit_scaling
    from segcore.export.bioimageio_package import size_rule

    raw = np.asarray(match_channels(resize_image(image, float(info["scale"])), int(info["in_channels"])))
    raw = _fit(raw, *size_rule(multiple))
    if raw.dtype != np.uint8:
        raw = raw.astype(np.float32)  # 16-bit and float images: the package's input is float32
    mean = np.asarray(info["normalization"]["mean"], dtype=np.float32)
    std = np.asarray(info["normalization"]["std"], dtype=np.float32)
    per_image = bool(info["normalization"].get("per_image", False))
    unit = (unit_scaling(raw, per_image)(raw) - mean) / std
    return raw.transpose(2, 0, 1)[None].copy(), np.ascontiguousarray(unit.transpose(2, 0, 1)[None])


def _compare(name: str, reference: np.ndarray, probs: np.ndarray) -> Check:
    return Check(name, float(np.abs(probs - reference).max()),
                 float((probs.argmax(1) == reference.argmax(1)).mean()), tuple(reference.shape[-2:]))


def _write_onnx(model, info: dict, path: Path, x: np.ndarray, reference: np.ndarray) -> Check:
    import json

    import onnxruntime as ort

    from segcore.atomic import atomic_path
    from segcore.export.onnx_format import to_onnx

    proto = to_onnx(model, int(info["in_channels"]), {"segstudio.prediction_info": json.dumps(info, default=float)},
                    doc=f"segstudio {info['arch']}: normalised image in, class probabilities "
                        f"({', '.join(info['classes']['names'])}) out")
    blob = proto.SerializeToString()
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(blob)
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    return _compare("onnx", reference, session.run(None, {session.get_inputs()[0].name: x})[0])


def _write_torchscript(model, path: Path, x: np.ndarray, reference: np.ndarray) -> Check:
    import warnings

    import torch

    from segcore.atomic import atomic_path
    from segcore.export.portable import for_export

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.14 calls TorchScript deprecated; Java tools still need it
        try:
            scripted = torch.jit.script(for_export(model))
        except Exception as exc:  # noqa: BLE001 - TorchScript's compiler raises many kinds
            raise ExportError(f"TorchScript export of {type(model).__name__} failed: "
                              f"{str(exc).strip().splitlines()[0][:300]}") from exc
        with atomic_path(path) as tmp:
            scripted.save(str(tmp))
        loaded = torch.jit.load(str(path))
        with torch.inference_mode():
            out = loaded(torch.from_numpy(x)).numpy()
    return _compare("torchscript", reference, out)


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise ExportError(f"{out}: exists; choose another output or pass --overwrite")
    if out.exists() and out.is_dir() != (out.suffix == ""):
        raise ExportError(f"{out}: exists and is a {'folder' if out.is_dir() else 'file'}; choose another output")


def export_steps(checkpoint: str | os.PathLike, out: str | os.PathLike, fmt: str = "bioimageio",
                 sample: str | os.PathLike | None = None, name: str | None = None,
                 authors: list[str] | None = None, license_id: str = "CC-BY-4.0",
                 overwrite: bool = False) -> Iterator[str]:
    """Export ``checkpoint`` to ``out`` as ``fmt``; yields progress lines, returns an :class:`ExportResult`.

    ``out`` is a file for onnx/torchscript and a folder for bioimageio (a zip of it is written beside it as
    ``OUT.zip``). Raises CheckpointError, DataError (sample), ExportError (missing packages, a model that does
    not export, an existing output without ``overwrite``). Nothing is left half-written.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    if fmt != "torchscript":  # TorchScript needs torch alone
        from segcore.export.onnx_format import require_exporter

        require_exporter()
        _require("onnxruntime", "checking the ONNX export")
    if fmt == "bioimageio":
        _require("bioimageio.spec", "the bioimage.io format")
    out = Path(out)
    if fmt == "bioimageio" and out.suffix.lower() == ".zip":
        out = out.with_suffix("")
    targets = [out, out.with_name(out.name + ".zip")] if fmt == "bioimageio" else [out]
    if any(t.resolve() == Path(checkpoint).resolve() for t in targets):
        raise ExportError(f"{out}: is the checkpoint itself; choose another output")
    for target in targets:
        _check_target(target, overwrite)
    yield f"reading {checkpoint}"
    import torch

    from segcore import checkpoint as ckpt

    data = ckpt.load(checkpoint)
    info = ckpt.prediction_info(data)
    model = ckpt.build_model(data, checkpoint).float().eval()
    multiple = int(getattr(model, "multiple", 8))
    image, origin = _test_image(data.get("config") or {}, sample)
    raw, x = _inputs(image, info, multiple)
    with torch.inference_mode():
        out_ref = model(torch.from_numpy(x))
        reference = (out_ref[0] if isinstance(out_ref, tuple) else out_ref).softmax(1).numpy()
    result = ExportResult(fmt, notes=[f"test image: {origin}"])
    if fmt != "bioimageio":
        yield f"exporting {fmt}"
        write = _write_onnx if fmt == "onnx" else _write_torchscript
        args = (model, info, out) if fmt == "onnx" else (model, out)
        result.checks.append(write(*args, x, reference))
        result.written.append(out)
        return result
    yield from _package(model, info, Path(checkpoint), out, raw, x, reference, multiple, result,
                        name=name, authors=authors or [], license_id=license_id, overwrite=overwrite)
    return result


def _require(module: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ExportError(f"{what} needs {module}: pip install 'segstudio[export]'")


def _package(model, info: dict, source: Path, out: Path, raw: np.ndarray, x: np.ndarray, reference: np.ndarray,
             multiple: int, result: ExportResult, name: str | None, authors: list[str], license_id: str,
             overwrite: bool) -> Iterator[str]:
    """Write the bioimage.io folder and zip through a staging folder beside ``out``; validate both."""
    from bioimageio.spec import save_bioimageio_package, save_bioimageio_package_as_folder

    from segcore.export import bioimageio_package as bio

    stage = out.parent / f".{out.name}.staging-{secrets.token_hex(3)}"
    final = out.parent / f".{out.name}.new-{secrets.token_hex(3)}"
    try:
        stage.mkdir(parents=True)
        files = {"onnx": stage / "weights.onnx", "torchscript": stage / "weights_torchscript.pt",
                 "test_input": stage / "test_input.npy", "test_output": stage / "test_output.npy",
                 "cover": stage / "cover.png"}
        yield "exporting TorchScript weights"
        result.checks.append(_write_torchscript(model, files["torchscript"], x, reference))
        yield "exporting ONNX weights"
        result.checks.append(_write_onnx(model, info, files["onnx"], x, reference))
        np.save(files["test_input"], raw)
        np.save(files["test_output"], reference.astype(np.float32))
        _cover(files["cover"], raw[0].transpose(1, 2, 0), reference[0].argmax(0), info)
        yield "writing and validating the bioimage.io package"
        descr = bio.build(stage, info, source, name or _default_name(info, source), authors or [_user()],
                          license_id, files, raw.dtype, multiple, result.checks)
        save_bioimageio_package_as_folder(descr, output_path=final)
        zip_tmp = out.parent / f".{out.name}.{secrets.token_hex(3)}.zip"
        save_bioimageio_package(descr, output_path=zip_tmp)
        result.valid, result.validation = bio.validate(final / "rdf.yaml")
        zip_valid, zip_text = bio.validate(zip_tmp)
        if not zip_valid:
            result.valid, result.validation = False, f"zip: {zip_text}"
        for target, built in ((out, final), (out.with_name(out.name + ".zip"), zip_tmp)):
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(built, target)
            result.written.append(target)
    except OSError as exc:
        raise ExportError(f"{out}: cannot write the package ({exc.strerror or exc})") from exc
    finally:
        for leftover in (stage, final):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in out.parent.glob(f".{out.name}.*.zip"):
            leftover.unlink(missing_ok=True)


def _default_name(info: dict, source: Path) -> str:
    return f"segstudio {info['arch']} {source.parent.name or source.stem} ({' '.join(info['classes']['names'])})"


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "segstudio user"


def _cover(path: Path, image: np.ndarray, mask: np.ndarray, info: dict) -> None:
    """Test image beside it with the mask over it (2:1, as bioimage.io recommends for covers)."""
    from segcore import compare
    from segcore.data.classes import ClassSpec
    from segcore.data.io import write_image

    rgb = compare.display_rgb(image)
    spec = ClassSpec.from_dict(info["classes"])
    write_image(path, np.concatenate([rgb, compare.overlay(rgb, mask.astype(np.uint8), spec.colors)], axis=1))


def export_model(checkpoint: str | os.PathLike, out: str | os.PathLike, fmt: str = "bioimageio",
                 progress: Callable[[str], None] | None = None, **options) -> ExportResult:
    """:func:`export_steps` run to the end; ``progress`` receives each step's line."""
    steps = export_steps(checkpoint, out, fmt, **options)
    while True:
        try:
            line = next(steps)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(line)
