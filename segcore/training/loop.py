"""The training loop: a generator of events, stoppable between batches.

Read it like torchvision's reference: ``_setup`` builds data (:mod:`segcore.training.inputs`), model and
optimiser; ``_train_epoch`` and ``_validate`` are one pass each; ``run`` strings them together and yields an event
after every batch and epoch, and a completed run ends with the checks of :mod:`segcore.training.calibration`.
A stop request (``request_stop``, thread-safe) is honoured between batches, as ignite's ``Engine.terminate``, and
between the images of a validation and the settings of the CRF fit (the long steps outside the batches, reported
as ``StageEvent``): the run ends with status "stopped", not "completed", and the last and best checkpoints stay
whole. A run stopped before its first epoch ended writes no checkpoint (one would hold untrained weights).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
import torch

from segcore import checkpoint as ckpt
from segcore.atomic import make_folder, remove_stale_temporaries
from segcore.data.dataset import SegmentationDataset, compute_stats
from segcore.data.label_check import check_labels
from segcore.device import resolve
from segcore.durations import human_minutes
from segcore.errors import ConfigError, SegcoreError, TrainingError, describe
from segcore.export_lock import between_events
from segcore.inference import sliding_window
from segcore.interop.physical import PixelSize, training_pixel_size
from segcore.metrics import confusion_matrix, mean_over_classes, scores
from segcore.models import create_model
from segcore.training import distributed, records
from segcore.training.calibration import calibrate
from segcore.training.config import TrainConfig
from segcore.training.events import (
    BatchEvent,
    CheckpointEvent,
    DoneEvent,
    EpochEvent,
    Event,
    LogEvent,
    RunStatus,
    StageEvent,
)
from segcore.training.inputs import choose_samples, data_fingerprint, training_loader
from segcore.training.losses import loss_from_probabilities, segmentation_loss
from segcore.training.schedule import Schedule


class _Stopped(Exception):
    """A stop request met outside the batches: while validating or scoring the starting model."""


def _seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


class Trainer:
    """Runs one training job described by a :class:`TrainConfig`.

    >>> trainer = Trainer(TrainConfig(data="cells/", epochs=5))
    >>> for event in trainer.run(): print(event)

    Under torchrun, pass the :class:`~segcore.training.distributed.Dist` of an open
    :func:`~segcore.training.distributed.session` (the default picks it up).
    """

    def __init__(self, config: TrainConfig, dist: distributed.Dist | None = None):
        self.config = config.resolved()  # a copy: the caller's config is never changed
        self._stop = threading.Event()
        self.out_dir = Path(self.config.out)
        self.dist = dist if dist is not None else distributed.current()

    def request_stop(self) -> None:
        """Ask the run to end after the current batch (safe to call from any thread)."""
        self._stop.set()

    def _agree_stop(self) -> bool:
        """Whether to stop now; under torchrun every rank takes the same decision (and shares its time spent)."""
        stop, self.schedule.elapsed_s = self.dist.agree(self._stop.is_set(), self.schedule.elapsed_s)
        if stop:
            self._stop.set()
        return stop

    def _stop_asked(self) -> bool:
        """A stop request seen between validation images: in one process only (under torchrun the ranks agree on
        stopping between batches, where each of them checks)."""
        return not self.dist.active and self._stop.is_set()

    @property
    def _net(self) -> torch.nn.Module:
        """The model itself, without the DistributedDataParallel wrapper."""
        return self.model.module if hasattr(self.model, "module") else self.model

    # -- setup ------------------------------------------------------------------------------------------------
    def _setup(self) -> Iterator[LogEvent]:
        cfg = self.config
        self.generator = _seed_everything(cfg.seed)
        self.runtime = resolve(self.dist.device_for(cfg.device), cfg.fast)
        if self.runtime.note:
            yield LogEvent(self.runtime.note)
        resume = ckpt.load(cfg.checkpoint) if cfg.checkpoint else None

        warnings: list[str] = []
        samples, self.spec, self.train_samples, self.val_samples = choose_samples(cfg, warnings)
        for warning in warnings[:5]:
            yield LogEvent(f"warning: {warning}")
        if len(warnings) > 5:
            yield LogEvent(f"warning: {len(warnings) - 5} more like these")
        if resume is not None:
            self.config = self.config.resuming(resume, self.spec.num_classes)
            self.in_channels = int(resume["in_channels"])
            mean, std = resume["normalization"]["mean"], resume["normalization"]["std"]
        else:
            probe = SegmentationDataset(self.train_samples, self.spec, scale=cfg.scale, pixel_size=self.resample_to,
                                        per_image=cfg.per_image_norm)
            self.in_channels = probe.channels
            mean, std = compute_stats(probe)
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]
        self.pixel_size = self.resample_to or training_pixel_size([s.image for s in self.train_samples])
        self._build_data()
        for warning in check_labels(self.train_set, self.val_set, self.spec):  # refuses all-background masks
            yield LogEvent(f"warning: {warning}")
        self.fingerprint = yield from data_fingerprint(  # of data known to be good; None on ranks that save nothing
            self.config, resume, samples, self.spec, measure=self.dist.is_main)
        yield LogEvent(
            f"{len(self.train_samples)} training and {len(self.val_samples)} validation images, "
            f"{self.spec.num_classes} classes ({', '.join(self.spec.names)}), {self.in_channels} input channels, "
            f"on {self.runtime.describe()}" + (f", {self.workers} loader processes" if self.workers else "")
        )
        if self.dist.active:
            yield LogEvent(self.dist.describe(cfg.batch_size))
        if note := self.dist.sync_bn_note(cfg.sync_bn):
            yield LogEvent(note)
        self._build_model(resume)
        self.dist.reseed(cfg.seed)
        yield from self._restore(resume)

    @property
    def resample_to(self) -> PixelSize | None:
        """The pixel size training images are resampled to (the plan's, when they differ), None: as stored."""
        return PixelSize.from_dict(self.config.pixel_size)

    def _build_data(self) -> None:
        cfg = self.config
        common = dict(spec=self.spec, scale=cfg.scale, channels=self.in_channels, mean=self.mean, std=self.std,
                      pixel_size=self.resample_to, per_image=cfg.per_image_norm)
        self.train_set = SegmentationDataset(self.train_samples, patch_size=cfg.patch_size, augment=cfg.augment,
                                             oversample=cfg.oversample, jitter=cfg.jitter, deform=cfg.deform,
                                             **common)
        self.val_set = SegmentationDataset(self.val_samples, **common) if self.val_samples else None
        if self.val_set is not None:
            self.val_set.sizes()  # decode (and check) every validation pair now, not after the first epoch
        self.loader, self.workers = training_loader(self.train_set, cfg, self.generator, self.dist,
                                                    self.runtime.device)  # decodes and checks every training pair

    def _build_model(self, resume: dict | None) -> None:
        cfg = self.config
        kwargs = dict(resume["arch_kwargs"]) if resume is not None else dict(cfg.arch_kwargs)
        self.model = create_model(cfg.arch, self.in_channels, self.spec.num_classes, **kwargs)
        if resume is not None:
            self.model.load_state_dict(resume["model"])
        self.model.to(self.runtime.device)
        if self.runtime.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.model = self.dist.wrap(self.model, cfg.sync_bn)
        # fused: one kernel for all parameters; the per-tensor loop cost ~0.2 s per U-Net step on 2 CPU cores
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                           fused=True)
        limit = cfg.time_limit * 60 if cfg.time_limit else None
        self.schedule = Schedule(cfg.lr, cfg.epochs * len(self.loader), limit)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.runtime.amp_dtype == torch.float16)

    def _restore(self, resume: dict | None) -> Iterator[LogEvent]:
        self.start_epoch, self.history, self.best_score = 0, [], -1.0
        if resume is None:
            return
        if self.config.fine_tune or "optimizer" not in resume:
            yield LogEvent(f"fine-tuning from {self.config.checkpoint} (weights only, fresh schedule)")
            return
        done = int(resume.get("epoch", 0))
        if done >= self.config.epochs:
            raise ConfigError(
                f"{self.config.checkpoint} has already trained {_epochs(done)}; ask for more with -e "
                f"(total, e.g. -e {done + 10}) or use --fine-tune to start a new schedule"
            )
        self.optimizer.load_state_dict(resume["optimizer"])
        how = self.schedule.load_state_dict(resume.get("schedule", {}), self.optimizer.param_groups[0]["lr"])
        self.start_epoch, self.history = done, list(resume.get("history", []))
        scores_so_far = [mean_over_classes(h.get("per_class_dice", [])) for h in self.history]
        self.best_score = max((v for v in scores_so_far if not math.isnan(v)), default=-1.0)
        yield LogEvent(f"resuming from {self.config.checkpoint} after epoch {done}; {how}")

    # -- one pass each ----------------------------------------------------------------------------------------
    def _train_epoch(self, epoch: int) -> Iterator[BatchEvent]:
        self.model.train()
        batches = len(self.loader)
        self._loss_sum, self._seen = 0.0, 0
        self._clock = time.perf_counter()
        for i, (x, y, *weights) in enumerate(self.loader, start=1):  # weights: instance masks only
            self._spend()  # waiting for the batch counts: on a GPU the input pipeline can be most of the time
            if self._agree_stop() or self.schedule.out_of_time():
                return
            t0 = time.perf_counter()
            value, count = self._step(epoch, i, x, y, weights[0] if weights else None)
            self._spend()
            self._loss_sum += value * count
            self._seen += count
            yield BatchEvent(epoch, i, batches, value, count / max(time.perf_counter() - t0, 1e-9))
            self._clock = time.perf_counter()  # the consumer's time between batches is not the run's
        self._spend()

    def _step(self, epoch: int, i: int, x, y, w) -> tuple[float, int]:
        """One optimizer step on batch ``i``; the batch's mean loss over every rank and its size."""
        self.schedule.apply(self.optimizer)
        x = x.to(self.runtime.device, non_blocking=True)
        y = y.to(self.runtime.device, non_blocking=True)
        w = w.to(self.runtime.device, non_blocking=True) if w is not None else None
        if self.runtime.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with self.runtime.autocast():
            out = self.model(x)
        loss = segmentation_loss(out, y, weights=w)
        value, count = self.dist.mean(float(loss.item()), len(x))  # a NaN on any rank fails every rank
        if not math.isfinite(value):
            raise FloatingPointError(f"loss became {value} at epoch {epoch}, batch {i}")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.schedule.step += 1
        return value, count

    def _spend(self) -> None:
        """Add the wall time since the clock was last read to the time budget's account."""
        now = time.perf_counter()
        self.schedule.elapsed_s += now - self._clock
        self._clock = now

    def _account_epoch_end(self, before: float) -> None:
        """Validation and checkpoints count towards --time-limit too, and the next epoch's end is kept back from
        it (:class:`Schedule` ``reserve_s``); every rank takes the longest, so all stop at the same epoch."""
        self._spend()
        reserve = self.schedule.elapsed_s - before
        _, self.schedule.elapsed_s = self.dist.agree(False, self.schedule.elapsed_s)
        _, self.schedule.reserve_s = self.dist.agree(False, reserve)

    @property
    def _epoch_loss(self) -> float:
        return self._loss_sum / self._seen if self._seen else float("nan")

    def _validate(self, stage: str = "Validating") -> Generator[StageEvent, None, tuple[float, dict]]:
        """Loss and scores over the whole validation set, images taken whole (tiled when large); yields a
        StageEvent before each image and raises _Stopped when a stop is requested meanwhile."""
        k = self.spec.num_classes
        if self.val_set is None:
            return float("nan"), {**scores(np.zeros((k, k)), self.spec.names), "images": 0}
        self.model.eval()
        cm, loss_sum = np.zeros((k, k), dtype=np.int64), 0.0
        mine = list(self.dist.shard(len(self.val_set)))  # every image on one rank; all of them in one process
        for n, i in enumerate(mine, start=1):
            if self._stop_asked():
                raise _Stopped
            yield StageEvent(stage, n, len(mine))
            x, y, *_ = self.val_set[i]  # the loss weights are for training; validation counts pixels alike
            probs = sliding_window(self._net, x, self.runtime, k)
            loss_sum += float(loss_from_probabilities(probs[None], y[None]))
            cm += confusion_matrix(probs.argmax(0).numpy(), y.numpy(), k)
        cm, loss_sum = self.dist.sum_array(cm), self.dist.sum(loss_sum)
        return loss_sum / len(self.val_set), {**scores(cm, self.spec.names), "images": len(self.val_set)}

    # -- the run ----------------------------------------------------------------------------------------------
    def run(self) -> Iterator[Event]:
        """Yield LogEvent, BatchEvent, EpochEvent, CheckpointEvent, then exactly one DoneEvent.

        Bad data or options raise typed SegcoreErrors before the first epoch (anything else that goes wrong
        there is a TrainingError); once epochs run, a NaN loss, a checkpoint that cannot be written (disk full)
        or any other failure ends the run with a "failed" DoneEvent that names the last good checkpoint.
        Its computing holds segcore.export_lock's lock: an ONNX export in another thread must not overlap it.
        """
        return between_events(self._run())

    def _run(self) -> Iterator[Event]:
        try:
            yield from self._setup()
        except SegcoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch and the OS raise anything; the caller gets one typed line
            if distributed.is_lost_peer(exc):
                raise
            raise TrainingError(_describe(exc)) from exc
        if self.dist.is_main:
            make_folder(self.out_dir)
            remove_stale_temporaries(self.out_dir)  # of checkpoint saves killed mid-write
            records.write_run_files(self.out_dir, self.config, self.train_samples, self.val_samples)
        yield from self._epochs()

    def _epochs(self) -> Iterator:
        best_path, last_path = self.out_dir / "best.pt", self.out_dir / "last.pt"
        epoch = self.start_epoch
        self._good = (last_path, self.start_epoch) if self.config.checkpoint and last_path.exists() else None
        self.start_score = math.nan
        try:
            self.start_score = yield from self._score_start()
            for epoch in range(self.start_epoch + 1, self.config.epochs + 1):
                t0 = time.perf_counter()
                yield from self._train_epoch(epoch)
                if self._agree_stop():
                    yield self._stopped(epoch)
                    return
                train_s, self._clock = time.perf_counter() - t0, time.perf_counter()
                before = self.schedule.elapsed_s
                yield from self._finish_epoch(epoch, train_s, best_path, last_path)
                self._account_epoch_end(before)
                if self.schedule.out_of_time():
                    limit = human_minutes(self.config.time_limit)
                    yield from self._finish(f"reached the time limit of {limit} after epoch {epoch}", epoch,
                                            best_path, last_path)
                    return
        except _Stopped:  # while validating: the epoch under way is not saved
            yield self._stopped(max(epoch, self.start_epoch + 1))
            return
        except FloatingPointError as exc:
            yield self._done(RunStatus.FAILED, f"{exc}; try a lower learning rate (-l); {self._where()}", epoch - 1)
            return
        except Exception as exc:  # noqa: BLE001 - disk full, out of memory, a device failure: say where to go on
            if distributed.is_lost_peer(exc):
                raise
            yield self._done(RunStatus.FAILED, f"{_describe(exc)}; {self._where()}", epoch - 1)
            return
        yield from self._finish(f"trained {_epochs(self.config.epochs)}", self.config.epochs, best_path, last_path)

    def _stopped(self, epoch: int) -> DoneEvent:
        """The end of a run stopped during ``epoch``. Its last.pt is the end of the epoch before, written then; a
        run stopped before any of its epochs ended writes none (it would hold the weights it started from, or
        random ones, and pass for a trained model)."""
        if epoch - 1 > self.start_epoch:
            where = self._where()
        elif self._good is not None:  # a resumed run: its last.pt from before is untouched
            where = f"nothing new was saved; {self._where()}"
        else:
            where = "no checkpoint was written (no epoch had ended)"
        return self._done(RunStatus.STOPPED, f"stopped by request during epoch {epoch}; {where}", epoch - 1)

    def _finish(self, message: str, epochs: int, best_path: Path, last_path: Path) -> Iterator[Event]:
        """The end of a completed run: the TTA check and CRF fit, how it compares with the model it started from,
        DoneEvent."""
        note = yield from self._calibrate(best_path, last_path)
        start, best = self.start_score, self.best_score
        if not math.isnan(start) and best >= 0:
            verdict = "better than" if best > start else ("equal to" if best == start else "below")
            yield LogEvent(f"best validation score {best:.3f}, {verdict} the {start:.3f} of the model it started "
                           f"from on the same {len(self.val_samples)} validation image(s)"
                           + ("; that model remains the better one" if best < start else ""))
        yield self._done(RunStatus.COMPLETED, message + note, epochs)

    def _score_start(self) -> Generator[Event, None, float]:
        """The validation score of the model a fine-tuning run starts from, on this run's validation images, so
        the run can say whether it improved on it (the window keeps the better one). NaN when not fine-tuning,
        without validation images, or when that model trained on some of them (its score would flatter it)."""
        cfg = self.config
        if not (cfg.checkpoint and cfg.fine_tune and self.val_set is not None):
            return math.nan
        seen = records.training_images(Path(cfg.checkpoint).parent) & {s.image.resolve() for s in self.val_samples}
        if seen:
            yield LogEvent(f"the model it starts from trained on {len(seen)} of the validation images (e.g. "
                           f"{next(iter(seen)).name}), so this run is not compared with it")
            return math.nan
        _, val = yield from self._validate("Scoring the model it starts from")
        score = mean_over_classes(val["dice"])
        yield LogEvent(f"the model it starts from scores {score:.3f} on the {len(self.val_samples)} validation "
                       "image(s) (Dice averaged over every class, what chooses best.pt)")
        return score

    def _calibrate(self, best_path: Path, last_path: Path) -> Generator[Event, None, str]:
        """The checks after training (:mod:`segcore.training.calibration`), on rank 0 in the time the training
        plan set aside. Their failure costs the run nothing (its checkpoints are whole): a warning says why.
        Returns what the run's message adds ("" or how a stop request cut them short)."""
        if not (self.val_samples and self.dist.is_main and best_path.exists()):
            return ""
        cfg, plan = self.config, self.config.plan or {}
        try:
            return (yield from calibrate(
                (best_path, last_path), self.val_samples, self.spec, tta=bool(cfg.tta), crf=cfg.calibrate_crf,
                device=cfg.device, fast=cfg.fast, stop=self._stop.is_set,
                seconds=plan.get("budget_s", 0) - plan.get("planning_s", 0) - self.schedule.elapsed_s))
        except Exception as exc:  # noqa: BLE001 - pydensecrf, memory, the OS: the run has finished anyway
            if distributed.is_lost_peer(exc):
                raise
            yield LogEvent(f"warning: CRF not fitted: {_describe(exc)}")
            return ""

    def _finish_epoch(self, epoch: int, train_s: float, best_path: Path, last_path: Path) -> Iterator:
        val_loss, val = yield from self._validate()
        dice, score = val["mean_dice"], mean_over_classes(val["dice"])
        # No validation score (no validation images): the latest epoch is the best we know, until a real score.
        is_best = score > self.best_score or (math.isnan(score) and self.best_score < 0)
        row = {"epoch": epoch, "train_loss": self._epoch_loss, "val_loss": val_loss, "val_dice": dice,
               "val_iou": val["mean_iou"], "lr": self.optimizer.param_groups[0]["lr"],
               "seconds": train_s, "per_class_dice": val["dice"]}
        self.history.append(row)
        if self.dist.is_main:
            records.write_metrics_csv(self.out_dir / "metrics.csv", self.history, self.spec.names)
        yield from self._save(last_path, "last", epoch, val)
        if is_best:
            self.best_score = score if not math.isnan(score) else self.best_score
            yield from self._save(best_path, "best", epoch, val)
        yield EpochEvent(epoch, self.config.epochs, self._epoch_loss, val_loss, dice, val["mean_iou"],
                         row["lr"], train_s, is_best, val)

    def _save(self, path: Path, kind: str, epoch: int, val: dict | None = None) -> Iterator[CheckpointEvent]:
        if not self.dist.is_main:
            return
        model = self._net
        payload = {
            "arch": self.config.arch, "arch_kwargs": model.arch[1], "in_channels": self.in_channels,
            "classes": self.spec.to_dict(), "normalization": {"mean": self.mean, "std": self.std,
                                                                  "per_image": self.config.per_image_norm},
            "scale": self.config.scale, "config": self.config.to_dict(), "metrics": val or {},
            "pixel_size": self.pixel_size.to_dict() if self.pixel_size else None, "fingerprint": self.fingerprint,
            "epoch": epoch, "history": self.history,
            "schedule": self.schedule.state_dict(),
        }
        payload["model"] = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        payload["optimizer"] = self.optimizer.state_dict()
        ckpt.save(path, payload)  # atomic: a failed save leaves the file as it was
        if kind == "last":  # what -c resumes from, written before best.pt each epoch
            self._good = (path, epoch)
        yield CheckpointEvent(str(path), kind)

    def _where(self) -> str:
        """Where the run can go on from: the checkpoint written last, and its epoch."""
        good = getattr(self, "_good", None)
        if good is None:
            return "no checkpoint was written"
        return f"the last good checkpoint is {good[0]} ({_epochs(good[1])})"

    def _done(self, status: RunStatus, message: str, epochs_done: int) -> DoneEvent:
        self.dist.barrier()  # under torchrun, rank 0's files are complete before any rank reports
        self.loader = None  # persistent loader workers (GPU runs) end with the run, not when the Trainer is freed
        best, last = self.out_dir / "best.pt", self.out_dir / "last.pt"
        best_score = self.best_score if getattr(self, "best_score", -1.0) >= 0 else math.nan
        start_score = getattr(self, "start_score", math.nan)
        if self.dist.is_main and self.out_dir.is_dir():
            records.write_status(self.out_dir, status.value, message, epochs_done, best.exists(), last.exists(),
                                 {"best_score": best_score, "start_score": start_score})
        return DoneEvent(status, message, str(self.out_dir), str(best) if best.exists() else None,
                         str(last) if last.exists() else None, epochs_done, best_score, start_score)


def _describe(exc: BaseException) -> str:
    """One line for whatever stopped training."""
    text = describe(exc, "use a smaller batch size (-b) or patch size (--patch-size), or a smaller --scale")
    return text if isinstance(exc, (SegcoreError, OSError, MemoryError)) or text.startswith("out of memory") \
        else f"training failed: {text.split(': ', 1)[-1]}"


def _epochs(count: int) -> str:
    return f"{count} epoch{'' if count == 1 else 's'}"
