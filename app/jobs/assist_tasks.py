"""The jobs of the annotation assistant, run by :class:`app.jobs.workers.GeneratorWorker`: scoring images by
uncertainty, completing scribbles, scoring annotated images, and a retraining run. Torch is imported here, in the
worker thread; nothing here touches a widget.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.jobs.tasks import TrainJob
from app.jobs.workers import JOB_THREADS, limit_torch_threads
from app.state.training_rounds import MAX_EPOCHS

if TYPE_CHECKING:
    from app.state.prediction_store import PredictionStore
    from app.state.uncertainty_scores import UncertaintyScores
    from segcore.data.layout import Sample
    from segcore.evaluation import ImageResult
    from segcore.inference import Predictor
    from segcore.scribbles import Proposal
    from segcore.training.config import TrainConfig
    from segcore.training.events import Event


@dataclass
class Scored:
    """One image of a scoring job: its score (None when it failed: ``error``), ``done`` of ``total``."""

    index: int
    image: Path
    score: float | None
    error: str
    done: int
    total: int


def score_images(checkpoint: str, device: str, items: list[tuple[int, Path]], scores: UncertaintyScores,
                 masks: PredictionStore, levels: dict[Path, int] | None = None, annotated: tuple[Path, ...] = (),
                 ) -> Iterator[Scored]:
    """Measure each ``(index, path)`` image's uncertainty with ``checkpoint`` under TTA (segcore.ranking): the
    score, map and descriptor go into ``scores``, the prediction (the TTA average's mask) into ``masks``; the
    ``annotated`` images are only read, for their descriptors (the queue passes over images like them). Each image
    is read at the pyramid level it is shown at (``levels``: the user's choices, else the default), as Segment
    does."""
    limit_torch_threads()
    from segcore import ranking
    from segcore.annotate.levels import level_to_show, read_level
    from segcore.colormap import to_index
    from segcore.data.layout import Sample
    from segcore.inference import Predictor

    predictor = Predictor(checkpoint, device=device, threads=JOB_THREADS, tta=True)
    samples = [Sample(path, path, None) for path in annotated] + [Sample(path, None, None) for _, path in items]
    rows = ranking.score_samples(predictor, samples, skip_annotated=True,
                                 read=lambda path: read_level(path, level_to_show(path, (levels or {}).get(path))))
    for row, _ in islice(rows, len(annotated)):  # reading only; an unreadable one is like nothing
        scores.put_descriptor(row.image, row.descriptor)
    for done, ((index, path), (row, result)) in enumerate(zip(items, rows, strict=True), start=1):
        scores.put_descriptor(path, row.descriptor)
        if result is not None and scores.put(checkpoint, path, row.score, to_index(result.map)):
            masks.put(path, result.mask)
        yield Scored(index, path, row.score, row.error, done, len(items))


def propose_mask(image: np.ndarray, labels: np.ndarray, num_classes: int, spread: float,
                 predictor: Predictor | None) -> Proposal:
    """Complete scribbles into a mask (segcore.scribbles), with ``predictor``'s probabilities when given."""
    from segcore.scribbles import check_scribbles, propose

    check_scribbles(labels, num_classes, predictor is not None)  # before spending time on a prediction
    probs = None
    if predictor is not None:
        limit_torch_threads()
        probs = predictor.predict_proba(image)
    return propose(image, labels, num_classes, spread, model_probabilities=probs)


@dataclass
class Evaluated:
    """One annotated image scored (``result``), or why not (``error``)."""

    index: int
    image: Path
    result: ImageResult | None
    error: str
    done: int
    total: int


def crf_settings(predictor: Predictor):
    """The CRF settings ``segcore eval --crf`` uses for this model: its fitted ones, else the defaults."""
    from segcore.crf import CRFParams
    from segcore.crf_fit import params_for

    return params_for(predictor.crf_fit) or CRFParams()


def evaluate_images(predictor: Predictor, items: list[tuple[int, Sample]], with_crf: bool,
                    masks: PredictionStore, folder: Path | None) -> Iterator[Evaluated]:
    """Score each ``(index, sample)`` of ``folder`` against its mask with :func:`segcore.evaluation.score_samples`
    (the code of ``segcore eval``: masks read as training reads them, only labelled pixels scored); the raw
    prediction goes into ``masks`` so its image opens with it. One unreadable file is reported and skipped."""
    from segcore.errors import SegcoreError
    from segcore.evaluation import score_samples

    limit_torch_threads()
    params = crf_settings(predictor) if with_crf else None
    for done, (index, sample) in enumerate(items, start=1):
        try:
            result, raw, _ = next(score_samples(predictor, [sample], params, folder))
        except SegcoreError as exc:
            yield Evaluated(index, sample.image, None, str(exc), done, len(items))
            continue
        masks.put(sample.image, raw)
        yield Evaluated(index, sample.image, result, "", done, len(items))


def retrain_values(values: dict, folder, model: str) -> dict:
    """The Training tab's ``values`` (TrainConfig keywords) for a run that fine-tunes ``model`` on ``folder``, in a
    folder of its own: ``FOLDER/checkpoints/NAME-DATE-TIME-retrain`` unless the tab names one. It validates on the
    images the model's own run validated on (those still densely annotated), so the two are scored on the same
    images and the window can keep the better one. What the model keeps from its own run is applied in the
    worker (:func:`with_recipe`)."""
    from segcore.errors import DataError
    from segcore.training.config import default_out_dir
    from segcore.training.records import validation_images

    out = values.get("out") or default_out_dir(folder, values["arch"], values.get("name")) + "-retrain"
    try:
        kept = validation_images(Path(model).parent)
    except DataError:  # a checkpoint without its run's files, or a run without validation: a split of its own
        kept = None
    return {**values, "checkpoint": model, "fine_tune": True, "out": out, "val_images": kept}


# What a model's own run chose (its plan, or the fixed recipe) and a retraining run keeps, unless set explicitly.
RECIPE = ("lr", "batch_size", "patch_size", "epoch_samples", "oversample", "jitter", "deform", "weight_decay", "augment",
          "tta", "calibrate_crf")


def with_recipe(config: TrainConfig, minutes: float, user: dict) -> tuple[TrainConfig, str]:
    """A fine-tuning config for the current model: its architecture, scale, pixel size (what its images were
    resampled to) and recipe from its checkpoint, the settings the user set explicitly (``user``) winning, for
    ``minutes`` of training (0: the epochs decide). Not re-planned: the model's own plan already fitted this folder
    and machine, and what the model sees (architecture, scale, pixel size) does not change when it learns more.
    Returns the config and a line saying what it does."""
    from segcore import checkpoint as ckpt

    data = ckpt.load(config.checkpoint)
    saved = data.get("config") or {}
    recipe = {key: saved[key] for key in RECIPE if key in saved and key not in user}
    config = replace(config, arch=data["arch"], scale=float(data.get("scale", 1.0)),
                     pixel_size=saved.get("pixel_size"), **recipe)
    if minutes:
        config = replace(config, time_limit=minutes, epochs=int(user.get("epochs", MAX_EPOCHS)))
    budget = f"{minutes:g} min" if minutes else f"{config.epochs} epochs"
    return config, (f"retraining {Path(config.checkpoint).name} ({data['arch']}, scale {config.scale:g}) on the "
                    f"enlarged set for {budget}: its weights and recipe, a fresh schedule")


class RetrainJob(TrainJob):
    """A training run that fine-tunes the current model on the open folder (the window's Retrain)."""

    def run(self) -> Iterator[Event]:
        from segcore.training.events import LogEvent

        self.config, note = with_recipe(self.config, self.minutes, self.user)
        self.minutes = 0.0  # the budget is the run's time limit now; nothing to plan
        yield LogEvent(note)
        yield from super().run()
