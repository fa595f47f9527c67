"""Training and prediction under torchrun: two gloo processes on the CPU, tiny sample data, tiny U-Net.

The launches go through ``python -m torch.distributed.run --standalone --nproc_per_node=2`` exactly as a user
would type ``torchrun``; OMP_NUM_THREADS=1 lets both processes share two cores.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from segcore import checkpoint as ckpt
from segcore.errors import ConfigError
from segcore.training import distributed
from segcore.training.distributed import SINGLE, ShardSampler

RUN_FILES = {"best.pt", "last.pt", "metrics.csv", "config.json", "split.json", "status.json"}
TINY = ["--width", "4", "-q"]
# Whole 64-px images, no augmentation, float32: the data every step sees is then the same in both runs, so the
# only differences left are batch-norm statistics and the soft-Dice term, computed per process over 1 image
# instead of over the global batch of 2. Random crops (--patch-size 32) would differ: each process draws its own.
SAME_DATA = ["--patch-size", "0", "--no-augment", "--no-fast", "-e", "2"]
# Functional tolerance: mean |p_ddp - p_one| over all images, relative to how far training moved the outputs
# from the initial model. Measured 0.014; a one-process run at the per-process batch (1) gives 1.02.
REL_TOLERANCE = 0.05


def _env() -> dict:
    # Two processes on the CPU (gloo) wherever the tests run: on a one-GPU machine NCCL would need a GPU per
    # process, which segcore refuses with a message (seen on an H200).
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", CUDA_VISIBLE_DEVICES="")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "segcore", *args]


def _run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)


def _processes_mentioning(text: str) -> list[int]:
    """Pids (other than ours) whose command line contains ``text``: a /proc scan, no psutil needed."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def _epochs_written(out: Path) -> int:
    try:
        return max(0, len((out / "metrics.csv").read_text().splitlines()) - 1)
    except FileNotFoundError:
        return 0


def _assert_whole_run_dir(out: Path) -> list[dict]:
    """Every file is whole (checkpoints load, metrics parse), nothing half-written is left; returns the rows."""
    assert not list(out.glob(".*tmp*")), f"temporary files left: {list(out.glob('.*tmp*'))}"
    for name in ("best.pt", "last.pt"):
        if (out / name).exists():
            ckpt.load(out / name)
    with open(out / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["epoch"] and r["train_loss"] for r in rows)
    return rows


# -- the pieces, in one process ---------------------------------------------------------------------------------
def test_shard_sampler_gives_each_rank_its_slice_of_every_global_batch():
    order = list(range(10))  # one epoch as a one-process sampler draws it
    shards = [list(ShardSampler(order, batch_size=2, rank=r, world_size=2)) for r in range(2)]
    assert shards == [[0, 1, 4, 5], [2, 3, 6, 7]]  # steps of 4 = one process at batch 4; the short tail dropped
    assert all(len(ShardSampler(order, 2, r, 2)) == 4 for r in range(2))
    short = [list(ShardSampler([7, 8, 9], batch_size=2, rank=r, world_size=2)) for r in range(2)]
    assert short == [[7, 8], [9, 7]]  # an epoch shorter than a global batch is cycled: every rank takes a step


def test_one_process_path_is_untouched():
    model, sampler = torch.nn.Conv2d(1, 1, 1), [3, 1, 2]
    cm = np.arange(4).reshape(2, 2)
    assert SINGLE.wrap(model, sync_bn=True) is model
    assert SINGLE.shard_batches(sampler, 2) is sampler
    assert SINGLE.sum_array(cm) is cm and SINGLE.mean(0.25, 3) == (0.25, 3) and SINGLE.agree(False, 1.5) == (False, 1.5)
    assert list(SINGLE.shard(5)) == [0, 1, 2, 3, 4] and SINGLE.is_main and SINGLE.device_for("auto") == "auto"
    assert "no effect" in SINGLE.sync_bn_note(True) and SINGLE.sync_bn_note(False) == ""


def test_worker_place_reads_torchrun_environment(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.worker_place() == (0, 1, 0) and not distributed.launched()
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.worker_place() == (3, 4, 1) and distributed.launched()
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ConfigError, match="inconsistent"):
        distributed.worker_place()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ConfigError, match="malformed"):
        distributed.worker_place()


def test_errors_under_torchrun_say_which_rank(monkeypatch, tmp_path, capsys):
    from segcore.cli import main

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["crf", "-i", str(tmp_path / "none.png"), "-p", str(tmp_path / "p.npy"), "-o", str(tmp_path / "o.png")]) == 2
    assert capsys.readouterr().err.startswith("segcore crf (rank 1 of 2): error: ")
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert main(["crf", "-i", str(tmp_path / "none.png"), "-p", str(tmp_path / "p.npy"), "-o", str(tmp_path / "o.png")]) == 2
    assert capsys.readouterr().err.startswith("segcore crf: error: ")


def test_trainer_under_torchrun_without_a_session_is_refused(monkeypatch, sample_dir, tmp_path):
    from segcore.training.config import TrainConfig
    from segcore.training.loop import Trainer

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(ConfigError, match="session"):  # else every process would train alone into one folder
        Trainer(TrainConfig(data=str(sample_dir), out=str(tmp_path / "run")))


def test_predict_shards_images_across_ranks(monkeypatch, sample_dir, tmp_path):
    """Each rank writes every N-th mask; together they write exactly what one process writes."""
    from segcore.cli import main

    assert main(["train", str(sample_dir), "--width", "4", "--patch-size", "0", "-b", "5", "-e", "1", "-q",
                 "-o", str(tmp_path / "run")]) == 0
    model, images = str(tmp_path / "run" / "best.pt"), str(sample_dir / "images")
    assert main(["predict", "-m", model, "-i", images, "-o", str(tmp_path / "one")]) == 0
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    written = []
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        out = tmp_path / f"rank{rank}"
        assert main(["predict", "-m", model, "-i", images, "-o", str(out)]) == 0
        written.append(sorted(p.name for p in out.iterdir()))
    assert written[0] == ["sample_000.png", "sample_002.png", "sample_004.png"]
    assert written[1] == ["sample_001.png", "sample_003.png", "sample_005.png"]
    for rank, names in enumerate(written):
        for name in names:
            assert (tmp_path / f"rank{rank}" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


# -- real torchrun launches -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """torchrun with 2 processes at batch 1 and one process at batch 2 (the same global batch), same data/seed."""
    from segcore.cli import main
    from segcore.data.sample import write_sample_data

    root = tmp_path_factory.mktemp("ddp")
    data = root / "data"
    write_sample_data(data, count=6, size=64)
    two = _run(_torchrun("train", str(data), *TINY, *SAME_DATA, "-b", "1", "-o", str(root / "two")))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each torchrun worker (OMP_NUM_THREADS=1)
    try:  # the same `segcore train` command in this process, where torch is already imported
        assert main(["train", str(data), *TINY, *SAME_DATA, "-b", "2", "-o", str(root / "one")]) == 0
    finally:
        torch.set_num_threads(threads)
    return root, data, two


def _outputs(path: Path, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return ckpt.build_model(ckpt.load(path)).eval()(x).softmax(1)


@pytest.mark.slow
def test_two_processes_finish_and_only_rank_0_writes(runs):
    root, _, two = runs
    assert two.returncode == 0, two.stdout + two.stderr
    out = root / "two"
    assert {p.name for p in out.iterdir()} == RUN_FILES  # one set of files, no per-rank copies or leftovers
    assert len(_assert_whole_run_dir(out)) == 2
    log = two.stdout + two.stderr
    assert log.count("epoch 2/2:") == 1 and log.count("completed: trained 2 epochs") == 1  # rank 0 reports
    assert "2 processes (gloo), batch 1 per process, 2 per step" in log
    assert not _processes_mentioning(str(out))


@pytest.mark.slow
def test_two_processes_match_one_process_at_the_same_global_batch(runs):
    from segcore.data.dataset import SegmentationDataset
    from segcore.data.layout import find_samples, load_class_spec
    from segcore.models import create_model

    root, data, two = runs
    assert two.returncode == 0, two.stdout + two.stderr
    one_ckpt, two_ckpt = ckpt.load(root / "one" / "last.pt"), ckpt.load(root / "two" / "last.pt")
    samples = find_samples(data)
    norm = one_ckpt["normalization"]
    dataset = SegmentationDataset(samples, load_class_spec(data, samples), mean=norm["mean"], std=norm["std"])
    x = torch.stack([dataset[i][0] for i in range(len(dataset))])
    torch.manual_seed(0)  # the Trainer seeds, then builds the model: the common starting point
    with torch.no_grad():
        start = create_model("unet", 3, 2, width=4).eval()(x).softmax(1)
    p_one, p_two = _outputs(root / "one" / "last.pt", x), _outputs(root / "two" / "last.pt", x)
    moved, apart = (p_one - start).abs().mean(), (p_one - p_two).abs().mean()
    assert moved > 1e-4, "training did not move the model; the comparison would say nothing"
    assert apart / moved < REL_TOLERANCE, f"2-process model is {apart / moved:.3f} of the update away"
    assert two_ckpt["history"][-1]["val_loss"] == pytest.approx(one_ckpt["history"][-1]["val_loss"], rel=1e-3)


def _wait_for(condition, launcher: subprocess.Popen, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert launcher.poll() is None, f"the run ended before {what}: " + launcher.communicate()[0]
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


def _finish(launcher: subprocess.Popen, out: Path) -> str:
    """The launcher's output once it has exited; after a minute it and its workers are killed (and it says so)."""
    try:
        return launcher.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        for pid in [launcher.pid, *_processes_mentioning(str(out))]:  # workers live in sessions of their own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return launcher.communicate()[0] + "\n[still running after 60 s: killed by the test]"


def _assert_nothing_left(out: Path) -> None:
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(out)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_mentioning(str(out)), "a worker outlived the launcher"


def _worker_of_rank(out: Path, rank: int) -> int:
    for pid in _processes_mentioning(str(out)):
        with open(f"/proc/{pid}/environ", "rb") as fh:
            if f"RANK={rank}".encode() in fh.read().split(b"\0"):
                return pid
    raise AssertionError(f"no worker of rank {rank} found")


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A 2-process run (500 epochs asked) stopped with SIGINT to torchrun once epoch 1 is written."""
    from segcore.data.sample import write_sample_data

    root = tmp_path_factory.mktemp("stop")
    data, out = root / "data", root / "stopped"
    write_sample_data(data, count=6, size=64)
    cmd = _torchrun("train", str(data), *TINY, "--patch-size", "32", "-e", "500", "-b", "1", "-o", str(out))
    launcher = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    try:
        _wait_for(lambda: _epochs_written(out) >= 1, launcher, "epoch 1 was written")
    finally:
        launcher.send_signal(signal.SIGINT)  # what Ctrl+C in torchrun's terminal does
    return data, out, _finish(launcher, out)


@pytest.mark.slow
def test_sigint_to_torchrun_stops_every_rank_with_whole_files(stopped_run):
    _, out, log = stopped_run
    assert "stopped: stopped by request during epoch" in log, log
    assert log.count("stopped: stopped by request") == 1  # rank 0 alone reports
    rows = _assert_whole_run_dir(out)
    last = ckpt.load(out / "last.pt")
    assert 1 <= last["epoch"] < 500 and len(rows) == last["epoch"]
    _assert_nothing_left(out)


@pytest.mark.slow
def test_resume_under_torchrun_then_a_killed_rank_ends_the_job(stopped_run, tmp_path):
    """Resume the stopped run with 2 processes; once it has written a new epoch, SIGKILL rank 1."""
    data, stopped, _ = stopped_run
    out = tmp_path / "resumed"
    shutil.copytree(stopped, out)
    done = ckpt.load(out / "last.pt")["epoch"]
    cmd = _torchrun("train", str(data), *TINY, "--patch-size", "32", "-e", "500", "-b", "1",
                    "-c", str(out / "last.pt"), "-o", str(out))
    launcher = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    try:
        _wait_for(lambda: _epochs_written(out) > done, launcher, "a resumed epoch was written")
        os.kill(_worker_of_rank(out, 1), signal.SIGKILL)
    finally:
        log = _finish(launcher, out)
    assert launcher.returncode != 0
    assert f"resuming from {out / 'last.pt'} after epoch {done}" in log
    assert f"epoch {done + 1}/500:" in log  # the resumed run went on from where the stopped one ended
    assert "rank 0 of 2: another process stopped or failed" in log, log  # one line, not a traceback
    last = ckpt.load(out / "last.pt")
    assert [h["epoch"] for h in last["history"]] == list(range(1, last["epoch"] + 1))
    assert len(_assert_whole_run_dir(out)) >= last["epoch"]
    _assert_nothing_left(out)
