"""The training loop driven as the GUI and the API drive it: events, stop, resume, NaN, checkpoints."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from segcore import checkpoint as ckpt
from segcore.data.io import read_image
from segcore.errors import CheckpointError, ConfigError, DataError
from segcore.inference import Predictor
from segcore.training.config import TrainConfig
from segcore.training.events import BatchEvent, CheckpointEvent, DoneEvent, EpochEvent, LogEvent, RunStatus
from segcore.training.loop import Trainer

TINY = dict(arch_kwargs={"width": 4, "depth": 2}, patch_size=48, batch_size=2, lr=5e-3)


def run_all(trainer: Trainer) -> list:
    return list(trainer.run())


def test_events_files_and_metrics(sample_dir, tmp_path):
    out = tmp_path / "run"
    events = run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=2, out=str(out), **TINY)))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.status == "completed"
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert [e.epoch for e in epochs] == [1, 2]
    batches = [e for e in events if isinstance(e, BatchEvent)]
    assert batches and all(e.batches == batches[0].batches for e in batches)
    assert {e.kind for e in events if isinstance(e, CheckpointEvent)} >= {"best", "last"}
    for name in ("best.pt", "last.pt", "metrics.csv", "config.json", "split.json"):
        assert (out / name).exists(), name
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"train_loss", "val_loss", "val_dice", "val_iou", "lr", "seconds", "dice_nucleus"} <= set(rows[0])
    data = ckpt.load(out / "last.pt")
    assert data["epoch"] == 2 and data["arch"] == "unet" and data["in_channels"] == 3
    assert data["classes"]["names"] == ["background", "nucleus"]


def test_checkpoint_alone_predicts_like_the_trained_model(sample_dir, tmp_path):
    out = tmp_path / "run"
    # both on the CPU: on a GPU machine the trained model would sit on cuda and the comparison mix devices
    trainer = Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(out), fast=False, device="cpu", **TINY))
    run_all(trainer)
    predictor = Predictor(out / "last.pt", device="cpu", fast=False)
    image = read_image(next((sample_dir / "images").iterdir()))
    x = predictor.prepare(image)
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.model(torch.from_numpy(x)[None]).softmax(1)[0].numpy()
    np.testing.assert_allclose(predictor.predict_proba(image), expected, atol=1e-5)
    assert predictor.predict(image).shape == image.shape[:2]


def test_stop_between_batches_keeps_whole_checkpoints(sample_dir, tmp_path):
    out = tmp_path / "run"
    trainer = Trainer(TrainConfig(data=str(sample_dir), epochs=5, out=str(out), **TINY))
    events = []
    for event in trainer.run():
        events.append(event)
        if isinstance(event, BatchEvent) and event.epoch == 2 and event.batch == 1:
            trainer.request_stop()
    done = events[-1]
    assert done.status == "stopped"
    assert not any(isinstance(e, EpochEvent) and e.epoch >= 2 for e in events)
    assert ckpt.load(out / "last.pt")["epoch"] == 1
    assert ckpt.load(out / "best.pt")["epoch"] == 1
    assert not list(out.glob(".*tmp*")), "no temporary files left behind"


def test_resume_continues_epochs_and_history(sample_dir, tmp_path):
    first = tmp_path / "first"
    run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(first), **TINY)))
    second = tmp_path / "second"
    events = run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=2, out=str(second),
                                         checkpoint=str(first / "last.pt"), **TINY)))
    assert [e.epoch for e in events if isinstance(e, EpochEvent)] == [2]
    data = ckpt.load(second / "last.pt")
    assert data["epoch"] == 2 and len(data["history"]) == 2
    assert data["schedule"]["step"] > ckpt.load(first / "last.pt")["schedule"]["step"]


def test_resuming_takes_arch_and_scale_from_the_checkpoint_without_changing_the_callers_config(
        sample_dir, tmp_path):
    first = tmp_path / "first"
    run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(first), scale=0.5, **TINY)))
    config = TrainConfig(data=str(sample_dir), epochs=2, arch="segnet", scale=1.0, checkpoint=str(first / "last.pt"),
                         **{**TINY, "arch_kwargs": {}})
    trainer = Trainer(config)
    events = run_all(trainer)
    assert events[-1].status is RunStatus.COMPLETED
    assert (trainer.config.arch, trainer.config.scale) == ("unet", 0.5)  # the model learned as unet at 0.5
    assert (config.arch, config.scale, config.out) == ("segnet", 1.0, None)  # the caller's object as it was
    assert ckpt.load(first / "last.pt")["scale"] == 0.5


def test_resolved_is_a_checked_copy():
    config = TrainConfig(data=".", arch_kwargs={"width": 8})
    resolved = config.resolved(check_model=False)
    assert resolved is not config and config.out is None and resolved.out.startswith("checkpoints")
    resolved.arch_kwargs["width"] = 4
    assert config.arch_kwargs == {"width": 8}
    with pytest.raises(ConfigError, match="has no option"):
        TrainConfig(data=".", arch_kwargs={"colour": 1}).resolved()
    assert TrainConfig(data=".", arch_kwargs={"colour": 1}).resolved(check_model=False).arch_kwargs == {"colour": 1}


def test_resume_past_the_end_says_what_to_do(sample_dir, tmp_path):
    out = tmp_path / "run"
    run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(out), **TINY)))
    trainer = Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(tmp_path / "b"),
                                  checkpoint=str(out / "last.pt"), **TINY))
    with pytest.raises(ConfigError, match="already trained 1 epoch;"):
        run_all(trainer)


def test_fine_tune_starts_a_fresh_schedule(sample_dir, tmp_path):
    out = tmp_path / "run"
    run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(out), **TINY)))
    events = run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(tmp_path / "ft"),
                                         checkpoint=str(out / "last.pt"), fine_tune=True, **TINY)))
    assert events[-1].status == "completed"
    assert [e.epoch for e in events if isinstance(e, EpochEvent)] == [1]


def test_nan_loss_fails_cleanly_and_keeps_last_good(sample_dir, tmp_path, monkeypatch):
    import segcore.training.loop as loop

    out = tmp_path / "run"
    real = loop.segmentation_loss
    calls = {"n": 0}

    def flaky(output, target, **kwargs):
        calls["n"] += 1
        loss = real(output, target, **kwargs)
        return loss * float("nan") if calls["n"] > 4 else loss

    monkeypatch.setattr(loop, "segmentation_loss", flaky)
    trainer = Trainer(TrainConfig(data=str(sample_dir), epochs=4, out=str(out), **TINY))
    events = run_all(trainer)
    done = events[-1]
    assert done.status == "failed" and "nan" in done.message.lower() and "lower learning rate" in done.message
    if (out / "last.pt").exists():
        assert ckpt.load(out / "last.pt")["epoch"] >= 1


def test_class_count_mismatch_on_resume(sample_dir, tmp_path):
    out = tmp_path / "run"
    run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(out), **TINY)))
    data = ckpt.load(out / "last.pt")
    data["classes"] = {"names": ["a", "b", "c"], "values": [0, 1, 2], "colors": [], "unlabelled": None}
    bad = tmp_path / "three.pt"
    ckpt.save(bad, {k: v for k, v in data.items() if k not in ("format", "version")})
    with pytest.raises(ConfigError, match="3 classes"):
        run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=2, out=str(tmp_path / "x"),
                                    checkpoint=str(bad), **TINY)))


def test_folder_without_masks_is_a_data_error(tmp_path, sample_dir):
    folder = tmp_path / "nomasks"
    (folder / "images").mkdir(parents=True)
    for p in (sample_dir / "images").iterdir():
        (folder / "images" / p.name).write_bytes(p.read_bytes())
    with pytest.raises(DataError, match="no image has a mask"):
        run_all(Trainer(TrainConfig(data=str(folder), epochs=1, out=str(tmp_path / "r"))))
    (folder / "masks").mkdir()  # masks that do not pair: the error says why (GlaS names them STEM_anno)
    first = sorted((folder / "images").iterdir())[0]
    (folder / "masks" / f"{first.stem}_anno.png").write_bytes(b"")
    with pytest.raises(DataError, match=f"no image has a mask.*rename it {first.stem}.png"):
        run_all(Trainer(TrainConfig(data=str(folder), epochs=1, out=str(tmp_path / "r"))))


@pytest.mark.parametrize("field,value,message", [("epochs", 0, "epochs"), ("lr", -1, "learning rate"),
                                                 ("scale", 0, "scale"), ("val_fraction", 1.0, "validation")])
def test_bad_options_are_config_errors(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(data=".", **{field: value}).resolved()


def test_time_limit_ends_the_run_as_completed(sample_dir, tmp_path):
    events = run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=1000, out=str(tmp_path / "r"),
                                         time_limit=0.002, **TINY)))
    assert events[-1].status == "completed" and "time limit" in events[-1].message


def test_time_limit_counts_validation_and_loading_not_only_steps(sample_dir, tmp_path, monkeypatch):
    """On a GPU a step is milliseconds and validation, loading and saving are most of the wall time (seen on an
    H200: a 1-minute budget ran 2 minutes). A budget smaller than one slow validation must end after epoch 1."""
    import time

    real = Trainer._validate

    def slow_validate(self):
        time.sleep(0.5)
        return real(self)

    monkeypatch.setattr(Trainer, "_validate", slow_validate)
    # CPU: on a GPU, CUDA start-up alone would spend the 0.4 s budget before the first epoch ends
    events = run_all(Trainer(TrainConfig(data=str(sample_dir), epochs=50, out=str(tmp_path / "r"),
                                         time_limit=0.4 / 60, device="cpu", **TINY)))
    assert events[-1].status == "completed" and "after epoch 1" in events[-1].message, events[-1].message


def test_loader_workers_train_and_end_with_the_run(sample_dir, tmp_path):
    """Worker processes (the default on GPUs) give the same kind of run and do not outlive it while the
    Trainer is still referenced (the window keeps its last job)."""
    import multiprocessing

    trainer = Trainer(TrainConfig(data=str(sample_dir), epochs=2, out=str(tmp_path / "r"), workers=2, **TINY))
    events = run_all(trainer)
    assert events[-1].status == "completed" and trainer.workers == 2
    assert any(isinstance(e, LogEvent) and e.message.endswith(", 2 loader processes") for e in events)
    assert sum(isinstance(e, EpochEvent) for e in events) == 2
    assert not multiprocessing.active_children()


def test_auto_workers_are_none_on_the_cpu(sample_dir, tmp_path):
    trainer = Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(tmp_path / "r"), device="cpu", **TINY))
    run_all(trainer)
    assert trainer.workers == 0


def test_training_reports_masks_that_disagree(sample_dir, tmp_path):
    from PIL import Image

    odd = sample_dir / "masks" / sorted(p.name for p in (sample_dir / "masks").iterdir())[0]
    (sample_dir / "classes.json").unlink()
    mask = np.asarray(Image.open(odd))
    Image.fromarray(np.where(mask > 0, 7, 0).astype(np.uint8)).save(odd)
    events = list(Trainer(TrainConfig(data=str(sample_dir), epochs=1, out=str(tmp_path / "r"), **TINY)).run())
    logs = [e.message for e in events if isinstance(e, LogEvent)]
    assert any(m.startswith("warning: masks disagree") and odd.name in m for m in logs), logs


def test_bad_worker_count_is_a_config_error():
    with pytest.raises(ConfigError, match="workers"):
        TrainConfig(data=".", workers=-1).resolved()


def test_checkpoint_load_rejects_non_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no such"):
        ckpt.load(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        ckpt.load(junk)
    other = tmp_path / "other.pt"
    torch.save({"state": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not a segstudio checkpoint"):
        ckpt.load(other)
    code = tmp_path / "code.pt"
    torch.save({"format": "segstudio-checkpoint", "x": np.dtype}, code)  # not loadable with weights_only
    with pytest.raises(CheckpointError):
        ckpt.load(code)
    with pytest.raises(CheckpointError, match="is a folder"):
        ckpt.load(tmp_path)


def _factors(schedule, steps: int, seconds_per_step: float = 0.0) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(schedule.factor())
        schedule.step += 1
        schedule.elapsed_s += seconds_per_step
    return out


def test_a_resumed_run_goes_on_with_the_same_rates_as_an_uninterrupted_one():
    from segcore.training.schedule import Schedule

    whole = _factors(Schedule(1e-3, 400), 400)
    first = Schedule(1e-3, 400)
    head = _factors(first, 150)
    again = Schedule(1e-3, 400)
    again.load_state_dict(first.state_dict(), last_lr=1e-3 * head[-1])
    assert head + _factors(again, 250) == pytest.approx(whole)


@pytest.mark.parametrize("timed", [False, True])
@pytest.mark.parametrize("stood_at", [300, 150])  # a finished run, and one stopped halfway
def test_a_continued_run_ramps_to_the_longer_schedule_instead_of_jumping(timed, stood_at):
    """#19: Continue threw a finished run's rate from 2 % of the peak to about half of it in one step. It now rises
    over a warm-up from where the run stood to what a run given the whole length has there, then anneals as that
    run does, to the final rate at the end of the added part: 300 more steps (the fixed recipe's more epochs), or
    60 s more (a planned run's more minutes)."""
    from segcore.training.schedule import FINAL_FACTOR, Schedule

    def schedule(steps, seconds):
        return Schedule(1e-3, 10_000 if timed else steps, seconds if timed else None)

    first = schedule(300, 60.0)
    stood = _factors(first, stood_at, 0.2)[-1]
    whole = _factors(schedule(600, 120.0), 600, 0.2)  # given the whole length from the start
    longer = schedule(600, 120.0)
    how = longer.load_state_dict(first.state_dict(), last_lr=1e-3 * stood)
    rates = _factors(longer, 600 - stood_at, 0.2)
    ramp = longer.ramp_steps
    assert ramp == (600 - stood_at) // 20 and f"over {ramp} step(s)" in how  # 5 % of the added steps
    assert rates[0] - stood <= (whole[stood_at] - stood) / ramp + 1e-9  # a step of the ramp, not the jump
    assert rates[ramp:] == pytest.approx(whole[stood_at + ramp:])  # then the longer run's schedule
    assert longer.factor() == pytest.approx(FINAL_FACTOR, abs=1e-3)


def test_a_timed_schedule_keeps_the_epoch_end_back_and_has_annealed_when_it_stops():
    """With 60 s and an epoch's end (validation, checkpoints) taking 10 s, training stops at 50 s with the rate
    annealed, and the last epoch's end falls within the minute. Without the reserve, an epoch end that crossed the
    limit left the last batches at 7 % of the peak (a continued GUI run's rate was not annealed)."""
    from segcore.training.schedule import FINAL_FACTOR, Schedule

    s = Schedule(1e-3, 10_000, 60.0, step=500, elapsed_s=40.0, reserve_s=10.0)
    assert s.progress() == pytest.approx(50 / 60) and not s.out_of_time()
    s.elapsed_s = 50.0
    assert s.out_of_time() and s.factor() == pytest.approx(FINAL_FACTOR)
    again = Schedule(1e-3, 10_000, 60.0)
    again.load_state_dict(s.state_dict())
    assert again.reserve_s == 10.0 and again.out_of_time()  # a resumed run keeps it


def test_a_checkpoint_from_before_the_rule_ramps_from_its_optimiser_rate():
    from segcore.training.schedule import Schedule

    longer = Schedule(1e-3, 600)
    how = longer.load_state_dict({"step": 300, "elapsed_s": 10.0}, last_lr=2e-5)  # no totals were saved then
    assert longer.ramp_factor == pytest.approx(0.02) and how.startswith("the rate rises from 2.00e-05")
    assert 0.02 < longer.factor() < 0.1
