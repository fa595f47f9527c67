"""``segcore crf``: refine saved class probabilities, or sparse labels (scribbles), with a dense CRF."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# Flag -> CRFParams field; defaults stay None so "not given" is distinguishable from the preset's value.
PARAM_FLAGS = {
    "--iterations": ("iterations", int, "mean-field iterations"),
    "--gaussian-sxy": ("gaussian_sxy", float, "smoothness kernel width in pixels"),
    "--gaussian-compat": ("gaussian_compat", float, "smoothness kernel weight (0 = off)"),
    "--bilateral-sxy": ("bilateral_sxy", float, "edge kernel width in pixels"),
    "--bilateral-srgb": ("bilateral_srgb", float, "edge kernel intensity width, 0-255 scale"),
    "--bilateral-compat": ("bilateral_compat", float, "edge kernel weight (0 = off)"),
    "--tile-size": ("tile_size", int, "refine images above TILE_SIZE^2 pixels in overlapping tiles"),
}


def add_param_arguments(parser: argparse.ArgumentParser, title: str = "CRF parameters") -> None:
    """Add the CRFParams flags (shared with ``segcore predict --crf`` and ``segcore eval --crf``)."""
    from segcore.crf import CRFParams

    defaults = CRFParams()
    group = parser.add_argument_group(title, "defaults: see docs/crf.md")
    for flag, (field, kind, text) in PARAM_FLAGS.items():
        group.add_argument(flag, dest=f"crf_{field}", type=kind, default=None, metavar=field.split("_")[-1].upper(),
                           help=f"{text} (default {getattr(defaults, field)})")


def params_from_args(args: argparse.Namespace, base=None):
    """CRFParams from parsed flags, starting from ``base`` (CRFParams() when None)."""
    from dataclasses import replace

    from segcore.crf import CRFParams

    given = {f: getattr(args, f"crf_{f}") for f, _, _ in PARAM_FLAGS.values() if getattr(args, f"crf_{f}") is not None}
    return replace(base or CRFParams(), **given)


def model_params(args: argparse.Namespace, fit: dict | None):
    """(CRFParams, note) for ``--crf`` with a checkpoint: its fitted settings (segcore.crf_fit) under any flags
    given; ``note`` is one line saying what the fit found ("" when the checkpoint has none)."""
    from segcore.crf_fit import describe, params_for

    note = describe(fit)
    if fit and not fit.get("helps"):
        note += "; running it anyway because --crf asked"
    return params_from_args(args, params_for(fit)), note


def add_tta_argument(parser: argparse.ArgumentParser, default: str = "") -> None:
    """``--tta/--no-tta`` (None when not given); ``default`` says what then happens, if not the plan's choice."""
    default = default or ("the checkpoint's training plan decides, from the time it measured; off for checkpoints "
                          "without one")
    parser.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                        help=f"test-time augmentation: average the 8 flips/quarter turns (default: {default})")


def register(sub) -> None:
    p = sub.add_parser(
        "crf", help="refine saved probabilities or scribbles with a dense CRF",
        description="Refine class probabilities (-p, a .npy (K,H,W) or .npz file as written by `segcore predict "
                    "--probabilities`) or sparse labels (--labels, scribbles: one value or black = unlabelled) "
                    "with a fully connected CRF over IMAGE, and write the refined mask.",
    )
    p.add_argument("-i", "--image", required=True, help="the image the probabilities belong to")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("-p", "--probabilities", help="class probabilities, .npy (K,H,W) / (H,W) or .npz")
    source.add_argument("--labels", help="sparse label mask (scribbles) turned into unary terms")
    p.add_argument("-o", "--output", required=True, help="refined mask, PNG")
    p.add_argument("--compare", nargs="?", const="", default=None, metavar="FILE",
                   help="also write image | raw | CRF | difference (default OUTPUT.compare.png)")
    p.add_argument("--save-probabilities", metavar="FILE", help="also write the refined probabilities (.npy/.npz)")
    labels = p.add_argument_group("scribble input (--labels)")
    labels.add_argument("--unlabelled", type=int, default=0,
                        help="file value meaning 'no label' (default 0; black in coloured files)")
    labels.add_argument("--confidence", type=float, default=None,
                        help="probability given to a scribbled pixel's label (default 0.7, as pydensecrf's example)")
    add_param_arguments(p, "CRF parameters (with --labels the defaults are those of pydensecrf's example)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from segcore import compare, crf, crf_inputs
    from segcore.data import io
    from segcore.errors import DataError

    inputs = {Path(p).resolve(): p for p in (args.image, args.probabilities, args.labels) if p}
    for out in (args.output, args.compare, args.save_probabilities):
        if out and Path(out).resolve() in inputs:
            raise DataError(f"{out}: is an input of this command; writing it would overwrite it (choose another "
                            "output name)")
    image = io.read_image(args.image)
    if args.labels:
        labels, spec = crf_inputs.read_label_mask(args.labels, unlabelled=args.unlabelled)
        confidence = crf.SCRIBBLE_CONFIDENCE if args.confidence is None else args.confidence
        probs = crf.probabilities_from_labels(labels, spec.num_classes, confidence)
        params = params_from_args(args, crf.SCRIBBLE_PARAMS)
        raw = labels
    else:
        probs, spec = crf_inputs.read_probabilities(args.probabilities)
        try:
            probs = crf.classes_first(probs, image.shape)  # (H, W, K) from other tools, too
        except DataError as exc:
            raise DataError(f"{args.probabilities}: {exc}") from exc
        spec = spec or crf_inputs.default_spec(probs.shape[0])
        params = params_from_args(args)
        raw = None
    start = time.perf_counter()
    refined, mask = crf.refine(image, probs, params)
    seconds = time.perf_counter() - start
    if raw is None:
        raw = np.asarray(probs).argmax(axis=0).astype(np.uint8)
    io.write_mask(args.output, mask, spec)
    _, diff = compare.difference_map(raw, mask)
    print(f"wrote {args.output}: {mask.shape[1]}x{mask.shape[0]}, {spec.num_classes} classes, CRF "
          f"{params.iterations} iterations in {seconds:.2f} s; {100 * diff.changed_fraction:.2f}% of pixels changed "
          f"(+{diff.added:,} / -{diff.removed:,} foreground)")
    if args.compare is not None:
        target = Path(args.compare) if args.compare else compare.comparison_path(args.output)
        compare.write_comparison(target, image, raw, mask, spec)
        print(f"wrote {target}")
    if args.save_probabilities:
        crf_inputs.write_probabilities(args.save_probabilities, refined, spec)
        print(f"wrote {args.save_probabilities}")
    return 0
