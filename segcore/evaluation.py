"""Evaluate a checkpoint on a labelled folder: raw masks and, optionally, CRF-refined ones side by side.

Masks are read as training reads them (:func:`mask_spec`: the folder's classes.json, with its "unlabelled" value,
else the model's class list) and scored on their labelled pixels only; a sparse mask (scribbles, mostly
unlabelled, :mod:`segcore.data.density`) is scored too and the report says how many there were.
Scores come from ``segcore.metrics`` (one confusion matrix per image; unlabelled pixels counted nowhere):
per class Dice, IoU, precision, recall, and pixel accuracy. Each image is scored on its own; "mean" averages the
images (a score undefined for an image, e.g. a class absent from both truth and prediction, is left out), and
"all pixels" pools every image's confusion matrix. ``mean_*`` values average the foreground classes.
Checkpoints trained on instance masks are also scored per object: the connected regions of the prediction (what
``segcore predict`` writes) matched one to one to the true objects at IoU >= 0.5, counts summed over the folder.
``format_table`` prints it; ``write_json`` / ``write_csv`` are for scripts.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segcore.atomic import write_text_atomic
from segcore.data.classes import CLASSES_FILE, ClassSpec
from segcore.data.density import describe_sparse, is_dense, labelled_fraction
from segcore.errors import DataError
from segcore.metrics import confusion_matrix, match_objects, object_scores, scores

METRICS = ("dice", "iou", "precision", "recall")
VARIANTS = ("raw", "crf")
SPLITS = ("all", "train", "val")


@dataclass
class ImageResult:
    """Confusion matrices of one image, raw and (when refined) CRF, and the seconds each step took."""

    name: str
    raw_cm: np.ndarray
    crf_cm: np.ndarray | None = None
    seconds: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)  # variant -> match_objects counts (instance masks only)
    labelled: float = 1.0  # share of the mask's pixels that are labelled (the rest is not scored)

    def scores(self, variant: str, names: list[str]) -> dict:
        cm = self.raw_cm if variant == "raw" else self.crf_cm
        return scores(cm, names)


@dataclass
class EvalReport:
    """Per-image results plus the means; ``has_crf`` when refined masks were scored too."""

    spec: ClassSpec
    images: list[ImageResult]
    checkpoint: str = ""
    data: str = ""
    split: str = "all"
    crf_params: dict | None = None
    # image name -> why it is listed but left out of the means (e.g. its mask is this model's accepted prediction)
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def has_crf(self) -> bool:
        return bool(self.images) and self.images[0].crf_cm is not None

    @property
    def variants(self) -> tuple[str, ...]:
        return VARIANTS if self.has_crf else VARIANTS[:1]

    def counted(self) -> list[ImageResult]:
        """The images the means and pooled scores are of: all but ``left_out``."""
        return [r for r in self.images if r.name not in self.left_out]

    def image_scores(self, variant: str) -> list[dict]:
        return [r.scores(variant, self.spec.names) for r in self.counted()]

    def mean(self, variant: str) -> dict:
        """Average over images of every score, ignoring images where a score is undefined (NaN)."""
        per_image = self.image_scores(variant)
        out: dict = {"names": list(self.spec.names)}
        for key in ("accuracy", *(f"mean_{m}" for m in METRICS)):
            out[key] = _nanmean([s[key] for s in per_image])
        for metric in METRICS:
            out[metric] = [_nanmean([s[metric][c] for s in per_image]) for c in range(self.spec.num_classes)]
        return out

    def objects(self, variant: str) -> dict | None:
        """Object precision, recall and F1 over the folder (instance-mask checkpoints), else None."""
        counts = [r.objects[variant] for r in self.images if variant in r.objects]
        if not counts:
            return None
        return object_scores({k: sum(c[k] for c in counts) for k in ("true", "predicted", "matched")})

    def pooled(self, variant: str) -> dict:
        """Scores of the summed confusion matrix (every labelled pixel of the folder counts once)."""
        cms = [r.raw_cm if variant == "raw" else r.crf_cm for r in self.counted()]
        return scores(np.sum(cms, axis=0), self.spec.names)

    def sparse(self) -> list[tuple[str, float]]:
        """(image, labelled share) of the sparse masks scored (segcore.data.density), in order."""
        return [(r.name, r.labelled) for r in self.images if not is_dense(r.labelled)]

    def sparse_note(self) -> str:
        """One sentence on the sparse masks ("" when every mask is dense)."""
        return describe_sparse(self.sparse(), len(self.images))

    def rows(self) -> list[tuple[str, dict[str, dict]]]:
        """(label, {variant: scores}) for every image, then "mean" and "all pixels"."""
        out = [(r.name, {v: r.scores(v, self.spec.names) for v in self.variants}) for r in self.images]
        out.append(("mean", {v: self.mean(v) for v in self.variants}))
        out.append(("all pixels", {v: self.pooled(v) for v in self.variants}))
        return out

    def to_dict(self) -> dict:
        """JSON-ready: settings, then per-image, mean and pooled scores for raw, crf and their difference."""
        def entry(by_variant: dict[str, dict]) -> dict:
            d = {v: _clean(s) for v, s in by_variant.items()}
            if self.has_crf:
                d["difference"] = _clean(_difference(by_variant["raw"], by_variant["crf"]))
            return d

        rows = self.rows()
        images = []
        for (label, by_variant), result in zip(rows, self.images, strict=False):
            extra = {"objects": {v: {k: c[k] for k in ("true", "predicted", "matched")}
                                 for v, c in result.objects.items()}} if result.objects else {}
            images.append({"image": label, "seconds": result.seconds, "labelled": result.labelled,
                           **entry(by_variant), **extra})
        objects = {v: _clean(o) for v in self.variants if (o := self.objects(v)) is not None}
        return {
            "checkpoint": self.checkpoint, "data": self.data, "split": self.split,
            "classes": self.spec.to_dict(), "crf_params": self.crf_params,
            "images": images, "mean": entry(rows[-2][1]), "all_pixels": entry(rows[-1][1]),
            "sparse_images": [name for name, _ in self.sparse()],
            **({"objects": objects} if objects else {}),
        }


def _nanmean(values: Iterable[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else float("nan")


def _difference(raw: dict, crf: dict) -> dict:
    out: dict = {}
    for key, value in raw.items():
        if isinstance(value, list) and value and isinstance(value[0], float):
            out[key] = [c - r for r, c in zip(value, crf[key], strict=True)]
        elif isinstance(value, float):
            out[key] = crf[key] - value
    return out


def _clean(d: dict) -> dict:
    """NaN -> None so the JSON is standard."""
    def fix(v):
        if isinstance(v, float) and math.isnan(v):
            return None
        return [fix(x) for x in v] if isinstance(v, list) else v

    return {k: fix(v) for k, v in d.items()}


def score_image(name: str, target: np.ndarray, raw: np.ndarray, crf: np.ndarray | None, num_classes: int,
                seconds: dict | None = None) -> ImageResult:
    """Confusion matrices of one image's raw (and CRF) prediction against ``target`` (IGNORE_INDEX skipped)."""
    if raw.shape != target.shape or (crf is not None and crf.shape != target.shape):
        raise DataError(f"{name}: prediction is {raw.shape[1]}x{raw.shape[0]} but the mask is "
                        f"{target.shape[1]}x{target.shape[0]} (width x height)")
    crf_cm = None if crf is None else confusion_matrix(crf, target, num_classes)
    return ImageResult(name, confusion_matrix(raw, target, num_classes), crf_cm, seconds or {},
                       labelled=labelled_fraction(target))


def mask_spec(data: str | os.PathLike | None, model_spec: ClassSpec) -> ClassSpec:
    """How the masks of the folder ``data`` are read, as training reads them: by its classes.json when it has one
    (with its "unlabelled" value: the window saves scribbles and partial proposals with one), else by the model's
    class list (what training inferred from the masks). Raises DataError when classes.json names another number
    of classes than the model predicts."""
    folder_spec = ClassSpec.load(data) if data is not None and Path(data).is_dir() else None
    if folder_spec is None:
        return model_spec
    if folder_spec.num_classes != model_spec.num_classes:
        raise DataError(f"{data}: its {CLASSES_FILE} names {folder_spec.num_classes} classes but the model predicts "
                        f"{model_spec.num_classes}")
    return folder_spec


def select_samples(data: str | os.PathLike, split: str, config: dict | None, spec: ClassSpec | None = None) -> list:
    """Labelled samples of ``data``; ``val``/``train`` re-create the checkpoint's training split (``spec`` reads
    the masks, which decides which ones could validate)."""
    from segcore.data.layout import find_samples, split_samples

    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    labelled = [s for s in find_samples(data) if s.mask is not None]
    if not labelled:
        find_samples(data, warnings := [])  # again, for the reason (e.g. masks named in a way that does not pair)
        hint = f" ({warnings[0]})" if warnings else ""
        raise DataError(f"{data}: no image with a mask to evaluate against{hint}")
    if split == "all":
        return labelled
    config = config or {}
    train, val = split_samples(labelled, float(config.get("val_fraction", 0.15)), int(config.get("seed", 0)), spec,
                               config.get("val_images"))
    chosen = val if split == "val" else train
    if not chosen:
        raise DataError(f"{data}: the {split} split is empty")
    return chosen


def evaluate(
    checkpoint_path: str | os.PathLike,
    data: str | os.PathLike,
    crf_params=None,
    split: str = "all",
    device: str = "auto",
    progress: Callable[[int, int, str], None] | None = None,
    tta: bool | None = None,
) -> EvalReport:
    """Predict every labelled image of ``data`` with the checkpoint and score it (and its CRF refinement).

    ``crf_params`` (a CRFParams) turns on refinement; ``split`` "val" scores the images the checkpoint's training
    held out (same fraction and seed, so ``data`` must be the training folder). ``progress(i, n, name)`` is
    called before each image. ``tta``: test-time augmentation (None: the checkpoint's plan decides).
    """
    from segcore import checkpoint as ckpt
    from segcore import crf
    from segcore.inference import Predictor

    if crf_params is not None:
        crf.require()  # fail before predicting anything when pydensecrf is missing
    predictor = Predictor(checkpoint_path, device=device, tta=tta)
    config = ckpt.load(checkpoint_path).get("config") if split != "all" else None
    samples = select_samples(data, split, config, mask_spec(data, predictor.spec))
    scored, results = score_samples(predictor, samples, crf_params, data), []
    for i, sample in enumerate(samples):
        if progress is not None:
            progress(i, len(samples), sample.image.name)
        results.append(next(scored)[0])
    return EvalReport(predictor.spec, results, str(checkpoint_path), str(data), split,
                      None if crf_params is None else crf_params.to_dict())


def score_samples(predictor, samples: list, crf_params=None, data: str | os.PathLike | None = None
                  ) -> Iterator[tuple[ImageResult, np.ndarray, np.ndarray | None]]:
    """Score labelled samples of the folder ``data`` one at a time: yields ``(ImageResult, raw mask, CRF mask or
    None)`` (uint8 (H, W)). Masks are read by :func:`mask_spec` (as training reads them); only their labelled
    pixels are scored.

    ``predictor`` is a :class:`segcore.inference.Predictor`; the window and ``segcore eval`` both score through
    here, so their numbers agree. Raises DataError for an unreadable image or mask.
    """
    from scipy import ndimage

    from segcore import crf
    from segcore.data.io import read_mask_raw
    from segcore.data.layout import load_sample
    from segcore.interop.physical import of_file

    spec, masks = predictor.spec, mask_spec(data, predictor.spec)
    for sample in samples:
        image, target = load_sample(sample, masks)
        start = time.perf_counter()
        probs = predictor.predict_proba(image, of_file(sample.image))  # resampled to the model's pixel size
        seconds = {"predict": time.perf_counter() - start}
        refined = None
        if crf_params is not None:
            start = time.perf_counter()
            refined = crf.refine(image, probs, crf_params)[1]
            seconds["crf"] = time.perf_counter() - start
        raw = probs.argmax(axis=0).astype(np.uint8)
        result = score_image(sample.image.name, target, raw, refined, spec.num_classes, seconds)
        if spec.instances:  # predicted objects are the regions predict writes (spec.encode numbers them)
            ids = read_mask_raw(sample.mask, masks)
            if np.unique(ids).size <= 2:  # a binary mask (0/255, 0/1): its connected regions are the objects
                ids = ndimage.label(ids != 0)[0]
            result.objects = {variant: match_objects(ids, spec.encode(mask))
                              for variant, mask in (("raw", raw), ("crf", refined)) if mask is not None}
        yield result, raw, refined


# -- output -----------------------------------------------------------------------------------------------------
def _fmt(value: float, signed: bool = False) -> str:
    if value is None or math.isnan(value):
        return "   -  "
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _cells(by_variant: dict[str, dict], key: str, index: int | None) -> list[str]:
    def get(s):
        return s[key] if index is None else s[key][index]

    values = [get(by_variant[v]) for v in by_variant]
    cells = [_fmt(v) for v in values]
    if len(values) == 2:
        delta = float("nan") if math.isnan(values[0]) or math.isnan(values[1]) else values[1] - values[0]
        cells.append(_fmt(delta, signed=True))
    return cells


def format_table(report: EvalReport) -> str:
    """Readable text: one line per image (foreground means), mean and pooled lines, then per-class means."""
    keys = [("Dice", "mean_dice"), ("IoU", "mean_iou"), ("precision", "mean_precision"),
            ("recall", "mean_recall"), ("accuracy", "accuracy")]
    sub = ["raw", "CRF", "Δ"] if report.has_crf else ["raw"]
    w = 6 if report.has_crf else 9  # one column per metric must still fit "precision"
    group_w = (w + 1) * len(sub) - 1
    align = "^" if report.has_crf else ">"
    rows = report.rows()
    name_w = max(12, *(len(label) for label, _ in rows))
    lines = [f"{'':{name_w}}  " + "  ".join(f"{title:{align}{group_w}}" for title, _ in keys),
             f"{'image':{name_w}}  " + "  ".join(" ".join(f"{s:>{w}}" for s in sub) for _ in keys)]
    for n, (label, by_variant) in enumerate(rows):
        if n == len(rows) - 2:
            lines.append("-" * len(lines[1]))
        cells = ["  ".join(" ".join(f"{c:>{w}}" for c in _cells(by_variant, key, None)) for _, key in keys)]
        lines.append(f"{label:{name_w}}  " + cells[0])
    lines.append("")
    lines.append("per class, mean over images (Dice, IoU, precision and recall of each class):")
    means = {v: report.mean(v) for v in report.variants}
    class_w = max(12, *(len(n) for n in report.spec.names))
    lines.append(f"{'class':{class_w}}  " + "  ".join(f"{m:{align}{group_w}}" for m in ("Dice", "IoU", "precision",
                                                                                   "recall")))
    for c, name in enumerate(report.spec.names):
        lines.append(f"{name:{class_w}}  " + "  ".join(" ".join(f"{x:>{w}}" for x in _cells(means, m, c))
                                                        for m in METRICS))
    if note := report.sparse_note():
        lines += ["", note + "."]
    for variant in report.variants:
        if (o := report.objects(variant)) is not None:
            if variant == report.variants[0]:
                lines += ["", "objects (the prediction's connected regions matched one to one at IoU >= 0.5):"]
            lines.append(f"{'CRF' if variant == 'crf' else 'raw':{class_w}}  {o['matched']} of {o['true']} found, "
                         f"{o['predicted']} predicted: precision {_fmt(o['precision'])}, recall "
                         f"{_fmt(o['recall'])}, F1 {_fmt(o['f1'])}")
    return "\n".join(lines)


def write_json(path: str | os.PathLike, report: EvalReport) -> Path:
    """Write ``report.to_dict()`` as JSON, atomically."""
    write_text_atomic(path, json.dumps(report.to_dict(), indent=2))
    return Path(path)


def write_csv(path: str | os.PathLike, report: EvalReport) -> Path:
    """Long-format CSV: image, variant (raw/crf/difference), class (or "mean foreground"), metrics, accuracy, and a
    note (why an image is listed but left out of the mean, see ``EvalReport.left_out``; empty otherwise)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["image", "variant", "class", *METRICS, "accuracy", "note"])
    for label, by_variant in report.rows():
        note = report.left_out.get(label, "")
        if label == "mean" and report.left_out:
            note = f"mean of {len(report.counted())} images; {len(report.left_out)} listed but left out"
        variants = dict(by_variant)
        if report.has_crf:
            variants["difference"] = _difference(by_variant["raw"], by_variant["crf"])
        for variant, s in variants.items():
            writer.writerow([label, variant, "mean foreground", *(_csv(s[f"mean_{m}"]) for m in METRICS),
                             _csv(s["accuracy"]), note])
            for c, name in enumerate(report.spec.names):
                writer.writerow([label, variant, name, *(_csv(s[m][c]) for m in METRICS), "", note])
    write_text_atomic(path, buffer.getvalue())
    return Path(path)


def _csv(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.6f}"
