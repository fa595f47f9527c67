"""ONNX export with dynamic height and width (torch.onnx's dynamo exporter, which needs onnxscript).

The graph is :func:`segcore.export.portable.for_export`'s: normalised float32 ``(1, C, H, W)`` in, class
probabilities ``(1, K, H, W)`` out. H and W are declared as multiples of the model's padding unit (16 for the
default U-Net, 32 for SegNet, 8 for PSPNet): the exported graph then holds no padding branch, and a caller pads
(``segcore.engines.pad_batch``, or the halo/size rules of a bioimage.io package).

The batch is fixed to 1: tiles are run one at a time (TTA too), and a dynamic batch made torch.export specialise
on it in some processes ("batch <= 2" guards from the convolution's backend choice, seen after a training run in
the same process), which failed the export.

Opset 18 (ONNX Runtime 1.14 or later, 2023): the dynamo exporter's own opset; lower ones go through ONNX's
version converter, which we have not verified for every operator used.
"""

from __future__ import annotations

import contextlib
import io
import warnings

from segcore.errors import ExportError

OPSET = 18
INPUT, OUTPUT = "input", "probabilities"


def require_exporter() -> None:
    """ExportError naming the package to install when onnx or onnxscript (the exporter's needs) are missing."""
    import importlib.util

    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError(f"ONNX export needs {' and '.join(missing)}: pip install 'segstudio[export]'")


def to_onnx(model, in_channels: int, metadata: dict[str, str] | None = None, doc: str = ""):
    """An ``onnx.ModelProto`` of ``model`` (an nn.Module from the registry), batch 1, dynamic H and W.

    ``metadata`` goes into the file's metadata_props (string keys and values). Raises ExportError with the
    exporter's reason when the model cannot be exported.
    """
    require_exporter()
    import onnx
    import torch
    from torch.export import Dim

    from segcore.export.portable import for_export
    from segcore.export_lock import EXPORT_LOCK

    net = for_export(model, onnx=True)
    m = net.multiple
    example = torch.zeros(1, in_channels, 4 * m, 4 * m)
    shapes = {"x": {2: m * Dim("height_blocks", min=1, max=65536 // m),
                    3: m * Dim("width_blocks", min=1, max=65536 // m)}}
    try:
        with EXPORT_LOCK, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(net, (example,), None, dynamo=True, dynamic_shapes=shapes,
                                        input_names=[INPUT], output_names=[OUTPUT], opset_version=OPSET)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds; the user needs its first line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"ONNX export of {type(model).__name__} failed: {first[:300]}") from exc
    proto = program.model_proto
    proto.doc_string = doc
    onnx.helper.set_model_props(proto, {"segstudio.multiple": str(m), **(metadata or {})})
    return proto
