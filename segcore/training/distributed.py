"""Training on several processes launched by torchrun: DistributedDataParallel, sharded data, shared decisions.

``torchrun --nproc_per_node=N -m segcore train ...`` starts N copies of the command; each reads its place in the
job from the environment torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``). :func:`session` joins the
process group (NCCL on GPUs, gloo on CPUs) and leaves it cleanly. The :class:`Dist` it yields is what the training
loop talks to; outside torchrun the loop gets :data:`SINGLE`, whose every method hands its input back untouched,
so one-process training runs exactly the code it ran before.

What each rank does, and why:

- **Data.** Every rank draws the same epoch order (same seed) and takes its own slice of each global batch of
  ``batch_size * world_size`` items (:class:`ShardSampler`), so step k of an N-process run with batch B sees the
  images a one-process run with batch N*B sees at step k. Gradients are averaged by DDP.
- **Decisions.** A stop request (a signal, forwarded by torchrun to every worker), the time budget and a NaN loss
  are agreed on with a tiny all-reduce between batches, so every rank stops, or fails, at the same batch; no rank
  is left waiting in a collective for a peer that has gone.
- **Validation** runs on every rank over its share of the validation images (image i on rank i mod N) with the
  unwrapped model, and the confusion matrices and loss sums are added up: N times faster than rank 0 alone, and
  no rank idles at a barrier long enough to hit a collective timeout on a large validation set.
- **Files.** Only rank 0 writes checkpoints, ``metrics.csv``, ``config.json``, ``split.json`` and progress.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
from collections.abc import Callable, Iterator, Sized

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Sampler

from segcore.errors import ConfigError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # what torchrun forwards to its workers


def worker_place() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's environment; ``(0, 1, 0)`` outside torchrun."""
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
    if not all(n in os.environ for n in names):
        return 0, 1, 0
    try:
        rank, world, local = (int(os.environ[n]) for n in names)
    except ValueError as exc:
        raise ConfigError(f"torchrun environment is malformed: {', '.join(f'{n}={os.environ[n]}' for n in names)}"
                          ) from exc
    if not (0 <= rank < world and local >= 0):
        raise ConfigError(f"torchrun environment is inconsistent: RANK={rank}, WORLD_SIZE={world}")
    return rank, world, local


def launched() -> bool:
    """True inside a torchrun worker of a job with more than one process."""
    return worker_place()[1] > 1


def worker_device(request: str = "auto") -> str:
    """The device this worker should use: its own GPU (``cuda:LOCAL_RANK``) under torchrun, else ``request``."""
    _, world, local = worker_place()
    if world > 1 and request.lower() != "cpu" and torch.cuda.is_available():
        return f"cuda:{local % torch.cuda.device_count()}"
    return request


class ShardSampler(Sampler[int]):
    """This rank's slice of every global batch of the order a one-process sampler draws.

    ``base`` yields one epoch's order, the same on every rank (same generator seed). It is cut into global batches
    of ``batch_size * world_size``; rank r takes items ``[r*B, (r+1)*B)`` of each. A tail shorter than a global
    batch is dropped, as one process drops its last short batch; an epoch shorter than one global batch is cycled
    to fill it. Every rank therefore runs the same number of steps, which DDP needs.
    """

    def __init__(self, base: Sampler[int], batch_size: int, rank: int, world_size: int):
        self.base, self.batch_size, self.rank, self.world_size = base, batch_size, rank, world_size

    def _batches(self, total: int) -> int:
        return max(1, total // (self.batch_size * self.world_size))

    def __len__(self) -> int:
        return self._batches(len(self.base)) * self.batch_size

    def __iter__(self) -> Iterator[int]:
        order = list(self.base)
        size = self.batch_size * self.world_size
        while order and len(order) < size:
            order += order[:size - len(order)]
        start = self.rank * self.batch_size
        for b in range(self._batches(len(order))):
            yield from order[b * size + start:b * size + start + self.batch_size]


class Dist:
    """This process's place in a torchrun job, and the few collectives training needs.

    The default instance (:data:`SINGLE`) is one process: each method returns its input unchanged.
    """

    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0, backend: str | None = None):
        self.rank, self.world_size, self.local_rank, self.backend = rank, world_size, local_rank, backend

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def local_world_size(self) -> int:
        """Processes of this job on this machine (torchrun's LOCAL_WORLD_SIZE), which share its cores."""
        return int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if self.active else 1

    @property
    def is_main(self) -> bool:
        """Rank 0, the only process that writes files and reports progress."""
        return self.rank == 0

    @property
    def _comm_device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def describe(self, batch_size: int) -> str:
        return (f"distributed: {self.world_size} processes ({self.backend}), batch {batch_size} per process, "
                f"{batch_size * self.world_size} per step")

    def device_for(self, request: str) -> str:
        """The device to train on: this rank's own GPU under NCCL, else what was asked."""
        return f"cuda:{self.local_rank}" if self.backend == "nccl" else request

    def sync_bn_note(self, sync_bn: bool) -> str:
        """Why ``sync_bn`` will not apply here (empty when it will, or was not asked for)."""
        if not sync_bn or self.backend == "nccl":
            return ""
        if not self.active:
            return "--sync-bn has no effect in a single process"
        return "--sync-bn needs GPUs (PyTorch synchronises batch norm on CUDA only); each process normalises alone"

    def wrap(self, model: nn.Module, sync_bn: bool = False) -> nn.Module:
        """DistributedDataParallel around ``model`` (already on its device), with SyncBatchNorm when asked."""
        if not self.active:
            return model
        if sync_bn and self.backend == "nccl":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ids = [self.local_rank] if self.backend == "nccl" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def shard_batches(self, sampler: Sampler[int], batch_size: int) -> Sampler[int]:
        """This rank's share of ``sampler`` (see :class:`ShardSampler`)."""
        return ShardSampler(sampler, batch_size, self.rank, self.world_size) if self.active else sampler

    def shard(self, items: int | Sized) -> range:
        """Indices of this rank's share of ``items`` (a count or a sized collection): i, i+N, i+2N, ..."""
        n = items if isinstance(items, int) else len(items)
        return range(self.rank, n, self.world_size)

    def reseed(self, seed: int) -> None:
        """Give each rank its own augmentation stream (the model is already identical: DDP broadcast it)."""
        if self.active:
            random.seed(seed + self.rank)
            np.random.seed(seed + self.rank)
            torch.manual_seed(seed + self.rank)

    def _reduce(self, values: list[float], op) -> list[float]:
        t = torch.tensor(values, dtype=torch.float64, device=self._comm_device)
        dist.all_reduce(t, op=op)
        return t.tolist()

    def agree(self, stop: bool, elapsed_s: float) -> tuple[bool, float]:
        """Stop if any rank wants to; share the longest training time so time limits end every rank together."""
        if not self.active:
            return stop, elapsed_s
        flag, elapsed = self._reduce([float(stop), elapsed_s], dist.ReduceOp.MAX)
        return flag > 0, elapsed

    def mean(self, value: float, count: int) -> tuple[float, int]:
        """The mean over every rank of per-rank means ``value`` of ``count`` items, and the total count.

        A NaN on any rank makes the result NaN on all of them, so they fail together.
        """
        if not self.active:
            return value, count
        total, n = self._reduce([value * count, float(count)], dist.ReduceOp.SUM)
        return total / n, int(n)

    def sum(self, value: float) -> float:
        return self._reduce([value], dist.ReduceOp.SUM)[0] if self.active else value

    def sum_array(self, array: np.ndarray) -> np.ndarray:
        """Element-wise sum over ranks (confusion matrices), same dtype."""
        if not self.active:
            return array
        t = torch.from_numpy(np.ascontiguousarray(array)).to(self._comm_device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.cpu().numpy()

    def barrier(self) -> None:
        if self.active:
            dist.barrier(device_ids=[self.local_rank] if self.backend == "nccl" else None)


SINGLE = Dist()
_current: Dist = SINGLE


def current() -> Dist:
    """The :class:`Dist` of the open :func:`session`, else :data:`SINGLE` (refused inside a torchrun job)."""
    if _current is SINGLE and launched():
        raise ConfigError("started by torchrun with several processes but outside "
                          "segcore.training.distributed.session(); wrap the training in it")
    return _current


@contextlib.contextmanager
def session(device: str = "auto") -> Iterator[Dist]:
    """Join the torchrun job (NCCL when GPUs are used, gloo on CPUs) and leave it on exit.

    Outside torchrun (or with one process) it yields :data:`SINGLE` and does nothing.
    """
    global _current
    rank, world, local = worker_place()
    if world == 1:
        yield SINGLE
        return
    if device.lower() != "cpu" and torch.cuda.is_available():
        if local >= torch.cuda.device_count():
            raise ConfigError(f"torchrun started more processes on this machine than it has GPUs "
                              f"({torch.cuda.device_count()}); use --nproc_per_node={torch.cuda.device_count()}")
        torch.cuda.set_device(local)
        dist.init_process_group("nccl", device_id=torch.device("cuda", local))
        _current = Dist(rank, world, local, "nccl")
    else:
        dist.init_process_group("gloo")
        _current = Dist(rank, world, local, "gloo")
    try:
        yield _current
    finally:
        _current = SINGLE
        dist.destroy_process_group()


@contextlib.contextmanager
def stop_on_signals(request_stop: Callable[[], None]) -> Iterator[None]:
    """Turn SIGINT/SIGTERM/SIGHUP into a stop request for the duration (restoring the old handlers after).

    torchrun forwards the signal it receives to every worker and kills them 30 s later (``--shutdown-timeout``);
    the ranks agree on the stop at the next batch, rank 0 saves ``last.pt``, and all leave well before that.
    """
    previous = {sig: signal.signal(sig, lambda *_: request_stop()) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def is_lost_peer(exc: BaseException) -> bool:
    """True for a collective that failed because another process died or left.

    DDP's gradient all-reduce reports it from inside backward as a plain RuntimeError naming the transport.
    """
    text = str(exc)
    return isinstance(exc, dist.DistError) or (
        isinstance(exc, RuntimeError) and any(k in text for k in ("gloo", "NCCL", "Connection reset", "Connection closed")))


def lost_peer_message(d: Dist, exc: BaseException) -> str:
    """One line saying that another process died or left, so this one stops too."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return (f"rank {d.rank} of {d.world_size}: another process stopped or failed, so this one stops too "
            f"(see that process's own error above; {first})")
