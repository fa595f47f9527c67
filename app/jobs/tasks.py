"""The long jobs of the window, as generator functions run by :class:`app.jobs.workers.GeneratorWorker`.

They run in a worker thread and import torch there (never in the UI thread, so the first window shows at once).
Each yields small event objects the UI thread turns into progress; none touches a widget.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.jobs.workers import JOB_THREADS, limit_torch_threads

if TYPE_CHECKING:
    from app.state.prediction_store import PredictionStore
    from segcore.compare import Difference
    from segcore.crf import CRFParams
    from segcore.inference import Predictor
    from segcore.planning.plan import Plan
    from segcore.training.config import TrainConfig
    from segcore.training.events import Event


@dataclass
class DeviceInfo:
    """What torch found, reported once a job has imported it (the device menu offers a GPU only when present)."""

    cuda: bool
    name: str


@dataclass
class Prediction:
    """One segmented image (its mask is in the store): ``index`` in the folder, ``done`` of ``total``."""

    index: int
    image: Path
    probs: np.ndarray | None
    done: int
    total: int
    warning: str = ""  # why the image looks unlike the training data (segcore.shift), "" when it does not
    resampled: str = ""  # how it was resampled to the model's pixel size (Predictor.note_resampled), or ""


@dataclass
class Skipped:
    """An image of a batch job that could not be segmented (unreadable, wrong channels); the job goes on."""

    index: int
    image: Path
    reason: str
    done: int
    total: int


def device_info() -> DeviceInfo:
    import torch

    if torch.cuda.is_available():
        return DeviceInfo(True, torch.cuda.get_device_name(0))
    return DeviceInfo(False, "")


@dataclass
class Planned:
    """The plan of a run (or of a preview), made in the worker, and the config it gives."""

    plan: Plan
    config: TrainConfig


def plan_run(config: TrainConfig, minutes: float, user: dict) -> Iterator[Event | Planned]:
    """Fingerprint the folder, probe this machine and plan ``minutes`` of training (``segcore train --minutes``):
    yields the planner's messages as LogEvents, then one :class:`Planned`. ``user``: the settings that override
    the plan's. Raises DataError (no masks) or ConfigError."""
    from dataclasses import replace

    from segcore.planning.auto import plan_training
    from segcore.planning.plan import PlanEntry
    from segcore.training.events import LogEvent

    messages: list[str] = []
    plan = plan_training(config, minutes, user, log=messages.append, given_in="under Advanced")
    yield from (LogEvent(m) for m in messages)
    planned = plan.apply(config)
    if config.patch_size is None:  # "whole images" under Advanced is not a plan entry: it applies afterwards
        plan.entries["patch_size"] = PlanEntry(None, "set under Advanced (whole images)", "user")
        planned = replace(planned, patch_size=None, plan=plan.to_dict())
    yield Planned(plan, planned)


def preview_plan(config: TrainConfig, minutes: float, user: dict) -> Generator[DeviceInfo | Event, None, Planned]:
    """The plan a run would get, without the run (Show plan); returns the :class:`Planned`."""
    limit_torch_threads()
    yield device_info()
    planned = None
    for item in plan_run(config, minutes, user):
        if isinstance(item, Planned):
            planned = item
        else:
            yield item
    return planned


class TrainJob:
    """One training run; the Trainer is built in the worker thread (it imports torch and checks the data).

    With ``minutes`` the run is planned first, in the worker (:func:`plan_run`), and trains by the plan.
    """

    def __init__(self, config: TrainConfig, minutes: float = 0.0, user: dict | None = None) -> None:
        self.config = config
        self.minutes = minutes
        self.user = user or {}
        self.trainer = None
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Thread-safe: ends the run between batches (or before the first one), keeping its checkpoints."""
        self._stop.set()
        trainer = self.trainer
        if trainer is not None:
            trainer.request_stop()

    def run(self) -> Iterator[DeviceInfo | Event | Planned]:
        limit_torch_threads()
        yield device_info()
        from segcore.training.loop import Trainer

        config = self.config
        if self.minutes:
            for item in plan_run(config, self.minutes, self.user):
                if isinstance(item, Planned):
                    config = item.config
                yield item
        self.trainer = Trainer(config)
        if self._stop.is_set():  # Stop clicked while torch was loading
            self.trainer.request_stop()
        yield from self.trainer.run()


def export_model(options: dict) -> Generator[str, None, object]:
    """Yields the export's progress lines, returns its :class:`segcore.export.ExportResult` (``options``: the
    keyword arguments of :func:`segcore.export.export_steps`)."""
    limit_torch_threads()
    from segcore.export import export_steps

    return (yield from export_steps(**options))


def load_predictor(path: str | Path, device: str = "auto") -> Generator[DeviceInfo, None, Predictor]:
    """Yields the DeviceInfo, returns a :class:`segcore.inference.Predictor` for ``path`` (its engine, PyTorch or
    ONNX Runtime, on the job threads: a core stays free for the UI thread)."""
    limit_torch_threads()
    yield device_info()
    from segcore.inference import Predictor

    return Predictor(path, device=device, threads=JOB_THREADS)


def predict_images(predictor: Predictor, items: list[tuple[int, Path, np.ndarray | None]], keep_index: int,
                   store: PredictionStore, levels: dict[Path, int] | None = None) -> Iterator[Prediction | Skipped]:
    """Segment ``(index, path, image or None)`` items in turn into ``store`` (a
    :class:`app.state.prediction_store.PredictionStore`); yields a Prediction each, or Skipped with the reason.

    Each image is (or, given as None, is read from disk) at the pyramid level it is shown at (``levels``: the
    user's choices, else :func:`segcore.annotate.levels.level_to_show`'s default); the pixel size its file states
    there lets the model resample it when it learned at another. Probabilities are kept only for image
    ``keep_index`` (the one on screen, for the CRF): a folder's worth of them would not fit in memory.
    """
    from segcore import shift
    from segcore.annotate.levels import level_to_show, pixel_size_at, read_level
    from segcore.errors import SegcoreError

    limit_torch_threads()
    reference = shift.Reference(predictor.fingerprint, list(predictor.mean), list(predictor.std),
                                list(predictor.spec.names))
    for done, (index, path, image) in enumerate(items, start=1):
        try:
            level = level_to_show(path, (levels or {}).get(path))
            image, pixel_size = read_level(path, level) if image is None else (image, pixel_size_at(path, level))
            probs = predictor.predict_proba(image, pixel_size)
        except SegcoreError as exc:  # one bad file must not end a folder's worth of work
            yield Skipped(index, path, str(exc), done, len(items))
            continue
        mask = probs.argmax(axis=0).astype(np.uint8)
        store.put(path, mask)
        note = shift.warning(shift.differences(image, mask, reference))
        resampled = predictor.note_resampled  # "image at 0.25 µm/pixel, ...": a sentence in the panel
        yield Prediction(index, path, probs if index == keep_index else None, done, len(items), note,
                         resampled[:1].upper() + resampled[1:])


@dataclass
class Refined:
    """A CRF result and what the Compare view shows of it, computed in the worker (slow on large images)."""

    mask: np.ndarray
    code: np.ndarray  # segcore.compare.difference_map: 0 same, 1 added, 2 removed, 3 other class
    difference: Difference
    crf_scores: dict | None
    raw_scores: dict | None
    focus: tuple[int, int, int, int] | None = None  # x, y, w, h: where the masks differ most


def scores_against(mask: np.ndarray, truth: np.ndarray | None, num_classes: int) -> dict | None:
    """segcore.metrics scores of ``mask`` against ``truth`` (None without truth or labelled pixels)."""
    if truth is None:
        return None
    from segcore.metrics import confusion_matrix, scores

    result = scores(confusion_matrix(mask, truth, num_classes))
    return result if result["pixels"] else None


def refine_and_compare(image: np.ndarray, probs: np.ndarray, params: CRFParams, raw: np.ndarray,
                       truth: np.ndarray | None, score_raw: bool) -> Refined:
    """Refine ``probs`` with the CRF, compare with ``raw`` and score both against ``truth`` (one step)."""
    from segcore.compare import densest_window, difference_map
    from segcore.crf import refine

    mask = refine(image, probs, params)[1]
    code, difference = difference_map(raw, mask)
    k = probs.shape[0]
    return Refined(mask, code, difference, scores_against(mask, truth, k),
                   scores_against(raw, truth, k) if score_raw else None, densest_window(code))
