"""``segcore export``: a checkpoint as a bioimage.io package (default), an ONNX file or a TorchScript file.

Each export is checked against the checkpoint's PyTorch model on a test image (largest probability difference,
share of pixels whose mask agrees), and a bioimage.io package is validated with bioimageio.spec; the exit code is
1 when the package does not validate. See docs/export.md for opening the results in Fiji, QuPath and napari.
"""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint as a bioimage.io package, ONNX or TorchScript",
                       description="Export CHECKPOINT for other tools. bioimageio (default): the folder OUT with "
                                   "rdf.yaml, TorchScript and ONNX weights, test tensors, cover and README, and "
                                   "OUT.zip beside it, validated with bioimageio.spec. onnx / torchscript: the file "
                                   "OUT. Every format gives class probabilities (softmax included) and is checked "
                                   "against PyTorch on a test image.")
    p.add_argument("-m", "--model", required=True, help="checkpoint file (best.pt / last.pt)")
    p.add_argument("-o", "--output", required=True,
                   help="output folder (bioimageio; OUT.zip is written beside it) or file (onnx, torchscript)")
    p.add_argument("--format", choices=["bioimageio", "onnx", "torchscript"], default="bioimageio",
                   help="default bioimageio")
    p.add_argument("--sample", help="test image (default: the training folder's first validation image, if "
                                    "it is still there, else a synthetic one)")
    p.add_argument("--name", help="package name (bioimageio; default from the architecture, folder and classes)")
    p.add_argument("--author", action="append", default=[], metavar="NAME",
                   help="author of the package (bioimageio; repeat for several; default the user name)")
    p.add_argument("--license", default="CC-BY-4.0", help="SPDX licence of the package (default CC-BY-4.0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run)


def run(args) -> int:
    from segcore.export import export_model

    result = export_model(args.model, args.output, args.format, progress=lambda line: print(f"  {line}",
                                                                                             file=sys.stderr),
                          sample=args.sample, name=args.name, authors=args.author, license_id=args.license,
                          overwrite=args.overwrite)
    print("\n".join(result.summary()))
    return 1 if result.valid is False else 0
