"""A bioimage.io model package (spec 0.5), written and validated with ``bioimageio.spec``.

What goes in, and how this tool's prediction maps onto the spec:

- **Weights:** TorchScript (what deepImageJ runs; no parent) and ONNX (converted from it), both giving the class
  probabilities (softmax included, :mod:`segcore.export.portable`).
- **Input** ``input`` with axes batch, channel, y, x. Its height and width are ``min + n * step`` with ``step``
  the model's padding unit and ``min`` leaving room for the output halo.
- **Preprocessing** is this tool's normalisation: 8-bit images are divided by 255, every other type is stretched
  per channel from its 0.5th to its 99.5th percentile and clipped to [0, 1] (``scale_range`` + ``clip``); then
  ``(x - mean) / std`` per channel (``scale_linear``). A model trained on images standardised one by one
  (``normalization.per_image``) has ``zero_mean_unit_variance`` and ``clip`` at +-3 instead of the first
  steps, whatever the type. Which of the two a package holds follows its test image's
  type (the spec has one preprocessing per input). Two cases the spec cannot express are written in the
  documentation instead: a channel whose two percentiles coincide (we then stretch from min to max) and a
  checkpoint trained at ``--scale`` other than 1 (the image must be resized before and the output after).
- **Output** ``probabilities`` with axes batch, channel (named after the classes), y, x; a halo of 32 pixels tells
  tiling consumers how much of each tile's border to discard (our own tiles overlap by 64).
- A test input and its output from the checkpoint's PyTorch model in float32, a cover (test image | mask), the
  authors, licence and citations (the architecture's paper), and a README with a Validation section.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np

HALO = 32
CITATIONS = {
    "unet": ("Ronneberger O, Fischer P, Brox T. U-Net: Convolutional Networks for Biomedical Image Segmentation. "
             "MICCAI 2015", "10.1007/978-3-319-24574-4_28"),
    "segnet": ("Badrinarayanan V, Kendall A, Cipolla R. SegNet: A Deep Convolutional Encoder-Decoder Architecture "
               "for Image Segmentation. IEEE TPAMI 2017", "10.1109/TPAMI.2016.2644615"),
    "pspnet": ("Zhao H, Shi J, Qi X, Wang X, Jia J. Pyramid Scene Parsing Network. CVPR 2017",
               "10.1109/CVPR.2017.660"),
}
CHANNEL_NAMES = {1: ["grey"], 2: ["channel0", "channel1"], 3: ["red", "green", "blue"]}


def package_name(text: str) -> str:
    """``text`` in the characters the spec allows in a name (letters, digits, ``_+- ()``), at most 128."""
    kept = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_+- ()") else " " for ch in text)
    return " ".join(kept.split())[:128] or "segstudio model"


def size_rule(multiple: int) -> tuple[int, int]:
    """``(min, step)`` of the input's height and width: multiples of the padding unit, above twice the halo."""
    return multiple * (2 * HALO // multiple + 1), multiple


def preprocessing(info: dict, dtype: np.dtype) -> list:
    """The spec's preprocessing steps equal to this tool's normalisation of an image of ``dtype``."""
    from bioimageio.spec.model import v0_5 as bio

    from segcore.data.preprocess import STANDARD_CLIP, STD_EPS, UNIT_MEAN, UNIT_STD

    mean = [float(v) for v in info["normalization"]["mean"]]
    std = [float(v) for v in info["normalization"]["std"]]
    space = [bio.AxisId("y"), bio.AxisId("x")]
    steps: list = [bio.EnsureDtypeDescr(kwargs=bio.EnsureDtypeKwargs(dtype="float32"))]
    if info["normalization"].get("per_image"):  # UnitScaling's standardisation: a clipped z-score, moved
        steps += [bio.ZeroMeanUnitVarianceDescr(kwargs=bio.ZeroMeanUnitVarianceKwargs(axes=space, eps=STD_EPS)),
                  bio.ClipDescr(kwargs=bio.ClipKwargs(min=-STANDARD_CLIP, max=STANDARD_CLIP))]
        gain = [UNIT_STD / s for s in std]
        offset = [(UNIT_MEAN - m) / s for m, s in zip(mean, std, strict=True)]
    else:
        if dtype != np.uint8:
            steps += [bio.ScaleRangeDescr(kwargs=bio.ScaleRangeKwargs(axes=space, min_percentile=0.5,
                                                                      max_percentile=99.5)),
                      bio.ClipDescr(kwargs=bio.ClipKwargs(min=0.0, max=1.0))]
        divide = 255.0 if dtype == np.uint8 else 1.0
        gain = [1.0 / (divide * s) for s in std]
        offset = [-m / s for m, s in zip(mean, std, strict=True)]
    steps.append(bio.ScaleLinearDescr(kwargs=bio.ScaleLinearAlongAxisKwargs(axis=bio.AxisId("channel"), gain=gain,
                                                                             offset=offset)))
    # Said explicitly: otherwise the spec appends a cast back to the input's type (uint8), which would wipe out
    # the normalised values.
    steps.append(bio.EnsureDtypeDescr(kwargs=bio.EnsureDtypeKwargs(dtype="float32")))
    return steps


def _axes(channel_names: list[str], multiple: int, output: bool) -> list:
    from bioimageio.spec.model import v0_5 as bio

    low, step = size_rule(multiple)
    axes: list = [bio.BatchAxis(size=1), bio.ChannelAxis(channel_names=channel_names)]  # the ONNX batch is 1
    for name in ("y", "x"):
        if output:
            axes.append(bio.SpaceOutputAxisWithHalo(
                id=bio.AxisId(name), halo=HALO,
                size=bio.SizeReference(tensor_id=bio.TensorId("input"), axis_id=bio.AxisId(name))))
        else:
            axes.append(bio.SpaceInputAxis(id=bio.AxisId(name), size=bio.ParameterizedSize(min=low, step=step)))
    return axes


def _readme(info: dict, source: Path, dtype: np.dtype, checks: list) -> str:
    names = info["classes"]["names"]
    scale = float(info["scale"])
    metrics = info.get("metrics") or {}
    score = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, (int, float)))
    lines = [f"# {info['arch']} segmentation model ({', '.join(names)})", "",
             f"Trained with segstudio (checkpoint `{source.name}`). Input: {info['in_channels']} channel(s); output: "
             f"class probabilities for {', '.join(names)} (the mask is their argmax).", "",
             "## Input normalisation", ""]
    if info["normalization"].get("per_image"):
        lines.append("Each channel of each image standardised on its own mean and std, clipped to [-3, 3] and "
                     "mapped to mean 0.5, std 1/6, then (x - mean) / std per channel: `zero_mean_unit_variance`, "
                     "`clip` and `scale_linear`.")
    elif dtype == np.uint8:
        lines.append("8-bit images: values divided by 255, then (x - mean) / std per channel.")
    else:
        lines.append("Each channel stretched from its 0.5th to its 99.5th percentile to [0, 1] and clipped, then "
                     "(x - mean) / std. Where the two percentiles coincide segstudio stretches from min to max; "
                     "the package's `scale_range` cannot express that fallback.")
    lines.append(f"Mean {info['normalization']['mean']}, std {info['normalization']['std']}.")
    if scale != 1.0:
        lines += ["", f"**Scale:** the model was trained on images resized by {scale}. Resize an image by {scale} "
                  "before prediction and the probabilities back to the image's size after; bioimage.io "
                  "preprocessing has no resize step."]
    lines += ["", "## Validation", "",
              "Validation scores of the checkpoint during training: " + (score or "none recorded") + ".", "",
              "Exported weights against the PyTorch model on the test image:", ""]
    lines += [f"- {c.format}: largest probability difference {c.max_abs_diff:.2e}, masks agree on "
              f"{100 * c.mask_agreement:.3f} % of pixels" for c in checks]
    lines += ["", "Check the masks against annotated images of your own before relying on them.", ""]
    return "\n".join(lines)


def build(stage: Path, info: dict, source: Path, name: str, authors: list[str], license_id: str,
          files: dict[str, Path], dtype: np.dtype, multiple: int, checks: list):
    """The ``ModelDescr`` of a package whose files are in ``stage`` (``files``: role -> path); validating it
    checks the files too (hashes, test tensors against the axes)."""
    import torch
    from bioimageio.spec.model import v0_5 as bio

    classes = info["classes"]["names"]
    channel_names = CHANNEL_NAMES.get(int(info["in_channels"]),
                                      [f"channel{i}" for i in range(int(info["in_channels"]))])
    (stage / "README.md").write_text(_readme(info, source, dtype, checks), encoding="utf-8")
    text, doi = CITATIONS.get(info["arch"], CITATIONS["unet"])
    torch_version = bio.Version(torch.__version__.split("+")[0])
    return bio.ModelDescr(
        name=package_name(name),
        description=f"{info['arch']} semantic segmentation into {', '.join(classes)}, trained with segstudio",
        authors=[bio.Author(name=a) for a in authors],
        cite=[bio.CiteEntry(text=text, doi=bio.Doi(doi))],
        license=bio.LicenseId(license_id),
        documentation=bio.FileDescr(source=stage / "README.md"),
        covers=[bio.FileDescr(source=files["cover"])],
        tags=["segmentation", "2d", "semantic-segmentation", info["arch"], "segstudio"],
        inputs=[bio.InputTensorDescr(
            id=bio.TensorId("input"), axes=_axes(channel_names, multiple, output=False),
            test_tensor=bio.FileDescr(source=files["test_input"]),
            data=bio.IntervalOrRatioDataDescr(type="uint8" if dtype == np.uint8 else "float32"),
            preprocessing=preprocessing(info, dtype))],
        outputs=[bio.OutputTensorDescr(
            id=bio.TensorId("probabilities"), axes=_axes(list(classes), multiple, output=True),
            test_tensor=bio.FileDescr(source=files["test_output"]),
            data=bio.IntervalOrRatioDataDescr(type="float32", range=(0.0, 1.0)))],
        weights=bio.WeightsDescr(
            torchscript=bio.TorchscriptWeightsDescr(source=files["torchscript"], pytorch_version=torch_version),
            onnx=bio.OnnxWeightsDescr(source=files["onnx"], opset_version=files_opset(), parent="torchscript")),
        timestamp=datetime.datetime.now(datetime.timezone.utc),
        config={"segstudio": json.loads(json.dumps(info, default=float))},
    )


def files_opset() -> int:
    from segcore.export.onnx_format import OPSET

    return OPSET


def validate(package: Path) -> tuple[bool, str]:
    """Load ``package`` (rdf.yaml, its folder, or the zip) with bioimageio.spec; ``(passed, one-line summary)``."""
    from bioimageio.spec import ValidationContext, load_description
    from bioimageio.spec import __version__ as spec_version

    with ValidationContext(perform_io_checks=True):
        descr = load_description(package)
    summary = descr.validation_summary
    errors = [f"{'.'.join(map(str, e.loc))}: {e.msg}" for d in summary.details for e in d.errors]
    passed = summary.status in ("passed", "valid-format") and not errors
    text = f"bioimageio.spec {spec_version}: {summary.status}"
    return passed, text + (f" ({'; '.join(errors)[:300]})" if errors else "")
