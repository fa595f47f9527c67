"""``segcore predict``: segment one image or a folder with a checkpoint (original flags -m, -i, -o, -c).

Under ``torchrun --nproc_per_node=N -m segcore predict -i FOLDER ...`` each process takes every N-th image (its
own GPU when there are GPUs) and writes its share; no process group is needed, so one slow or failed image holds
up no other process.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

import numpy as np

from segcore.cli.crf import add_param_arguments, add_tta_argument, model_params
from segcore.errors import DataError, OutputError, SegcoreError


def register(sub) -> None:
    p = sub.add_parser("predict", help="segment images with a trained checkpoint",
                       description="Segment INPUT (an image or a folder of images) and write masks at the "
                                   "input's original size as PNG, in the checkpoint's mask values.")
    p.add_argument("-m", "--model", required=True, help="checkpoint file (best.pt / last.pt)")
    p.add_argument("-i", "--input", required=True, help="an image file or a folder of images")
    p.add_argument("-o", "--output",
                   help="output mask file (or folder, for a folder input); default INPUT_mask.png beside the input, "
                        "or the folder INPUT_masks/ beside a folder input; never replaces an existing "
                        "INPUT_mask.png")
    p.add_argument("-c", "--cpu", action="store_true", help="run on the CPU even when a GPU is present")
    p.add_argument("--probabilities", action="store_true",
                   help="also save class probabilities as OUT.probs.npy (float32, K x H x W)")
    p.add_argument("--overlay", action="store_true", help="also write OUT.overlay.png (mask over the image)")
    p.add_argument("--crf", action="store_true", help="also write the dense-CRF refined mask as OUT.crf.png")
    p.add_argument("--compare", action="store_true",
                   help="with --crf (implied): write OUT.compare.png, image | raw | CRF | difference")
    p.add_argument("--uncertainty", action="store_true",
                   help="also write the per-pixel uncertainty (normalised entropy of the TTA-averaged probabilities, "
                        "0 = certain, 1 = all classes equally likely) as OUT.uncertainty.png (colour map) and "
                        "OUT.uncertainty.npy (float32 H x W), and print the image's score (the map's mean); turns "
                        "TTA on unless --no-tta is given")
    p.add_argument("--format", choices=("png", "tiff", "geojson", "roi", "zarr"), default="png",
                   help="mask format: png (default), tiff (label TIFF), geojson (QuPath), roi (ImageJ RoiSet.zip), "
                        "zarr (a label image in the input's OME-Zarr store, or a new OUT.zarr)")
    p.add_argument("--level", type=int, default=0,
                   help="pyramid level of an OME-TIFF/OME-Zarr input to segment (0 = full resolution); raster "
                        "masks come out at that level's size, GeoJSON/ROI coordinates in full-resolution pixels")
    p.add_argument("--z", type=int, help="z plane of a z-stack input (0-based)")
    p.add_argument("--t", type=int, help="time point of a time-series input (0-based)")
    p.add_argument("--no-resample", action="store_true",
                   help="segment at the image's own pixel size; by default an image whose pixel size (OME or "
                        "ImageJ TIFF, OME-Zarr) differs by over 10%% from the one the model learned at is segmented "
                        "resampled to the model's pixel size and the mask brought back")
    p.add_argument("--tile", type=int, default=512, help="tile size for large images (default 512)")
    p.add_argument("--no-fast", action="store_true",
                   help="plain float32 PyTorch (no autocast, no channels_last): the reference the engines match")
    p.add_argument("--engine", choices=["auto", "pytorch", "onnxruntime"], default=None,
                   help="what runs the network: auto (default; or the SEGCORE_ENGINE variable) takes onnxruntime "
                        "on CPUs where it is installed and pytorch on GPUs; see docs/performance.md")
    add_tta_argument(p)
    add_param_arguments(p, "CRF parameters (with --crf; default: the settings fitted to the model in training)")
    p.set_defaults(func=run)


def _jobs(args) -> list[tuple[Path, Path]]:
    from segcore.compare import is_sidecar
    from segcore.data.io import IMAGE_SUFFIXES, is_image_file
    from segcore.data.layout import MASK_SUFFIX, natural_key
    from segcore.interop.ome_zarr import is_zarr

    src = Path(args.input)
    if not src.exists():
        raise DataError(f"{src}: no such file or folder")
    if src.is_dir() and is_zarr(src):  # an OME-Zarr image: labels go into its own store unless -o says
        out = Path(args.output) if args.output else src
        return [(src, out if args.format == "zarr" else out.with_suffix(".png"))]
    if src.is_dir():
        images = sorted((p for p in src.iterdir() if p.is_file() and is_image_file(p)), key=natural_key)
        stems = {p.stem for p in images}  # IMAGE_mask.* beside IMAGE.* is its annotation, not an image to segment
        images = [p for p in images if not (p.stem.endswith(MASK_SUFFIX) and p.stem[:-len(MASK_SUFFIX)] in stems)
                  and not is_sidecar(p)]  # nor is an earlier prediction's OUT.crf.png, OUT.compare.png, ...
        if not images:
            raise DataError(f"{src}: folder holds no images (png, jpg, bmp, tif)")
        out_dir = Path(args.output) if args.output else src.with_name(src.name + "_masks")
        if out_dir.exists() and not out_dir.is_dir():
            raise DataError(f"{out_dir}: exists and is not a folder (a folder input needs an output folder)")
        if not args.output and out_dir.is_dir() and (earlier := [p for p in out_dir.iterdir() if is_image_file(p)]):
            raise DataError(f"{out_dir}: exists and holds {len(earlier)} masks of an earlier prediction; choose the "
                            f"output with -o (-o {out_dir} to replace them)")
        return _check_outputs([(p, out_dir / f"{p.stem}.png") for p in images])
    out = Path(args.output) if args.output else src.with_name(f"{src.stem}_mask.png")
    if not args.output:  # INPUT_mask.* is how a folder pairs an image with its annotation: never overwrite one,
        for other in src.parent.glob(f"{glob.escape(src.stem)}_mask.*"):  # nor add a second mask beside it
            if is_image_file(other):
                what = (f"predicting would overwrite it. Choose the output with -o (-o {out.name} to replace it)"
                        if other == out else f"{out.name} beside it would be a second mask for the image. "
                        "Choose the output with -o")
                raise DataError(f"{other}: exists and may be your annotation of {src.name}; {what}")
    if out.is_dir():
        out = out / f"{src.stem}.png"
    if out.suffix.lower() in IMAGE_SUFFIXES and out.suffix.lower() != ".png":  # writing x_mask.png instead could
        raise DataError(f"{out}: masks are written as PNG; name the output {out.with_suffix('.png').name}")  # replace one
    return _check_outputs([(src, out.with_suffix(".png") if out.suffix.lower() != ".png" else out)])


def _check_outputs(jobs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Refuse, before any work, a mask that would overwrite an input image or another image's mask."""
    inputs = {image.resolve(): image for image, _ in jobs}
    seen: dict[Path, Path] = {}
    for image, out in jobs:
        key = out.resolve()
        if key in inputs:
            raise DataError(f"{out}: is the input image {inputs[key]}; predicting would overwrite it "
                            "(choose another -o)")
        if key in seen:
            raise DataError(f"{seen[key]} and {image} would both be written to {out}; rename one or predict "
                            "them separately")
        seen[key] = image
    return jobs


def _sidecar(out: Path, tag: str, suffix: str = ".png") -> Path:
    """``OUT.TAG.png``; the tags are ``segcore.compare.SIDECAR_TAGS``, which folder reading skips."""
    return out.with_name(f"{out.stem}.{tag}{suffix}")


def predict_one(predictor, image_path: Path, out: Path, args, crf_params=None) -> str:
    """Segment one file and write the requested outputs; returns a one-line summary."""
    from segcore import compare
    from segcore.atomic import atomic_path
    from segcore.data.io import write_image, write_mask

    image, info = _read_input(image_path, args)
    size = None if args.no_resample else _pixel_size(predictor, image_path, info, args.level)
    uncertainty = None
    if args.uncertainty:
        from segcore.uncertainty import measure

        uncertainty = measure(predictor, image, size)
        probs, mask = uncertainty.probabilities, uncertainty.mask
    elif args.probabilities or args.crf or args.compare:
        probs = predictor.predict_proba(image, size)
        mask = probs.argmax(axis=0).astype(np.uint8)
    else:  # the mask alone: no K x H x W probabilities held (an 8192^2 slide stays small)
        mask = predictor.predict(image, size)
    if predictor.note_resampled:
        print(f"segcore predict: {image_path.name}: {predictor.note_resampled}", file=sys.stderr)
    if args.format == "png":
        write_mask(out, mask, predictor.spec)
        written = [out]
    else:
        written = [_write_format(out, mask, predictor.spec, image, image_path, info, args)]
    if args.probabilities:
        with atomic_path(_sidecar(out, "probs", ".npy")) as tmp:
            np.save(tmp, probs)
        written.append(_sidecar(out, "probs", ".npy"))
    if args.overlay:
        rgb = compare.overlay(compare.display_rgb(image), mask, predictor.spec.colors)
        write_image(_sidecar(out, "overlay"), rgb)
        written.append(_sidecar(out, "overlay"))
    if args.crf or args.compare:
        from segcore import crf

        _, refined = crf.refine(image, probs, crf_params)
        write_mask(compare.crf_mask_path(out), refined, predictor.spec)
        written.append(compare.crf_mask_path(out))
        if args.compare:
            written.append(compare.write_comparison(compare.comparison_path(out), image, mask, refined,
                                                    predictor.spec))
    score = ""
    if uncertainty is not None:
        from segcore.uncertainty import write_map

        written += write_map(out, uncertainty)
        score = (f"; uncertainty {uncertainty.score:.4f} ({100 * uncertainty.uncertain_fraction:.2f}% of pixels "
                 "uncertain)")
    return f"{image_path} -> " + ", ".join(str(p) for p in written) + score


def _pixel_size(predictor, image_path: Path, info, level: int):
    """The input's pixel size at ``level`` (None when unknown, or when the model knows none to compare with)."""
    from segcore.interop.physical import of_file

    if predictor.pixel_size is None:
        return None
    return info.level_pixel_size(level) if info is not None else of_file(image_path)


def _read_input(image_path: Path, args):
    """The image to segment, and what its file says about itself (pyramid levels, pixel size) or None."""
    from segcore.data.io import read_image

    if args.level or args.z is not None or args.t is not None or image_path.is_dir():
        from segcore.interop.images import read_plane

        return read_plane(image_path, args.level, args.z, args.t)
    return read_image(image_path), None


def _write_format(out: Path, mask: np.ndarray, spec, image: np.ndarray, image_path: Path, info, args) -> Path:
    """Write the predicted mask in ``args.format``; GeoJSON/ROI coordinates in full-resolution pixels."""
    from segcore.interop.annotation import Annotation
    from segcore.interop.convert import write_annotation
    from segcore.interop.images import level_scale
    from segcore.interop.physical import of_file

    if args.format == "zarr" and info is not None and args.level:  # labels share the image's level-0 grid
        (height, width), (h, w) = info.levels[0], mask.shape
        mask = mask[(np.arange(height) * h // height)[:, None], np.arange(width) * w // width]
    annotation = Annotation.from_classes(mask, spec)
    extension = {"tiff": ".tif", "geojson": ".geojson", "roi": ".zip", "zarr": ".zarr"}[args.format]
    if not (args.format == "zarr" and out.suffix.lower() == ".zarr"):
        out = out.with_suffix(extension)
    pixel_size = None
    if args.format == "zarr" and not out.exists():
        pixel_size = info.level_pixel_size(args.level) if info is not None else of_file(image_path)
    return write_annotation(out, annotation, args.format, image=image, pixel_size=pixel_size,
                            scale=level_scale(info, args.level)).path


def _place(cpu: bool) -> tuple[int, int, str]:
    """``(rank, world, device)``: this process's share under torchrun; one process, everything, otherwise.
    Outside torchrun nothing is imported (the distributed module imports torch, which the engine may not need)."""
    device = "cpu" if cpu else "auto"
    if "WORLD_SIZE" not in os.environ:
        return 0, 1, device
    from segcore.training.distributed import worker_device, worker_place

    rank, world, _ = worker_place()
    return rank, world, device if cpu else worker_device("auto")


def run(args) -> int:
    from segcore.atomic import remove_stale_temporaries
    from segcore.inference import Predictor

    jobs = _jobs(args)
    total = len(jobs)
    for folder in {out.parent for _, out in jobs}:  # temporaries of an earlier run's writes killed mid-way
        remove_stale_temporaries(folder)
    rank, world, device = _place(args.cpu)
    jobs = jobs[rank::world]  # this process's share under torchrun; everything otherwise
    if not jobs:
        return 0  # more processes than images
    if args.crf or args.compare:
        from segcore import crf

        crf.require()  # fail before any work when pydensecrf is missing
    predictor = Predictor(args.model, device=device, fast=not args.no_fast, tile=args.tile, engine=args.engine,
                          tta=True if args.uncertainty and args.tta is None else args.tta)
    if predictor.note:
        print(f"segcore predict: {predictor.note}", file=sys.stderr)
    crf_params = None
    if args.crf or args.compare:
        crf_params, note = model_params(args, predictor.crf_fit)
        if note and rank == 0:
            print(note, file=sys.stderr)
    failures = 0
    for image_path, out in jobs:
        try:
            print(predict_one(predictor, image_path, out, args, crf_params))
        except OutputError:  # read-only folder, full disk: every later image would fail the same way
            raise
        except SegcoreError as exc:
            if total == 1:
                raise
            failures += 1
            print(f"segcore predict: error: {exc}", file=sys.stderr)
    if failures:
        print(f"segcore predict: {failures} of {len(jobs)} images failed", file=sys.stderr)
    return 1 if failures else 0
