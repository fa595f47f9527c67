"""The long steps of a run outside its batches (validating, fitting the CRF, scoring the model a fine-tuning run
starts from) report progress and give way to a stop request between their images and settings; a run stopped
before an epoch ended writes no checkpoint; a fine-tuning run says how it compares with the model it started from."""

from __future__ import annotations

import json
import math

import pytest

from segcore.training.config import TrainConfig
from segcore.training.events import BatchEvent, DoneEvent, EpochEvent, LogEvent, RunStatus, StageEvent
from segcore.training.loop import Trainer

TINY = dict(arch_kwargs={"width": 4, "depth": 2}, patch_size=48, batch_size=2, device="cpu")


def run(config: TrainConfig, stop_when=lambda event: False) -> list:
    trainer, events = Trainer(config), []
    for event in trainer.run():
        events.append(event)
        if stop_when(event):
            trainer.request_stop()
    assert isinstance(events[-1], DoneEvent)
    return events


def stages(events, name: str) -> list[StageEvent]:
    return [e for e in events if isinstance(e, StageEvent) and e.stage == name]


@pytest.fixture
def first_run(sample_dir, tmp_path) -> DoneEvent:
    return run(TrainConfig(data=str(sample_dir), epochs=1, val_fraction=0.34, out=str(tmp_path / "one"), **TINY))[-1]


def test_validation_and_the_crf_fit_report_progress(sample_dir, tmp_path):
    pytest.importorskip("pydensecrf.densecrf", reason="pydensecrf not installed")
    events = run(TrainConfig(data=str(sample_dir), epochs=1, val_fraction=0.34, calibrate_crf=True,
                             out=str(tmp_path / "run"), **TINY))
    epoch_at = next(i for i, e in enumerate(events) if isinstance(e, EpochEvent))
    validating = stages(events, "Validating")
    assert [(e.done, e.total) for e in validating] == [(1, 2), (2, 2)]
    assert all(events.index(e) < epoch_at for e in validating)
    predicting, settings = stages(events, "Fitting the CRF: predicting"), stages(events, "Fitting the CRF")
    assert [e.done for e in predicting] == [1, 2] and settings and settings[0].total == 8
    assert [e.done for e in settings] == list(range(1, len(settings) + 1)) and settings[0].unit == "setting"
    assert settings[0].text() == "Fitting the CRF: setting 1 of 8"
    assert all(events.index(e) > epoch_at for e in predicting + settings)
    assert events[-1].status is RunStatus.COMPLETED


def test_a_stop_during_the_crf_fit_ends_it_after_the_setting_under_way(sample_dir, tmp_path):
    pytest.importorskip("pydensecrf.densecrf", reason="pydensecrf not installed")
    from segcore import checkpoint

    events = run(TrainConfig(data=str(sample_dir), epochs=1, val_fraction=0.34, calibrate_crf=True,
                             out=str(tmp_path / "run"), **TINY),
                 stop_when=lambda e: isinstance(e, StageEvent) and e.stage == "Fitting the CRF")
    done = events[-1]
    assert len(stages(events, "Fitting the CRF")) == 1
    assert done.status is RunStatus.COMPLETED and "cut short by the stop request (1 of 8" in done.message
    assert checkpoint.load(done.best_path)["crf"]["tried"] == 1  # what was tried is kept


def test_a_stop_while_validating_takes_effect_before_the_next_image(sample_dir, tmp_path):
    out = tmp_path / "run"
    events = run(TrainConfig(data=str(sample_dir), epochs=2, val_fraction=0.34, out=str(out), **TINY),
                 stop_when=lambda e: isinstance(e, StageEvent) and e.stage == "Validating")
    done = events[-1]
    assert len(stages(events, "Validating")) == 1 and not any(isinstance(e, EpochEvent) for e in events)
    assert done.status is RunStatus.STOPPED and done.epochs_done == 0
    assert "no checkpoint was written" in done.message and "last good checkpoint" not in done.message
    assert not (out / "last.pt").exists() and done.last_path is None
    assert json.loads((out / "status.json").read_text())["epochs_done"] == 0


def test_a_fine_tuning_run_stopped_in_its_first_epoch_writes_no_checkpoint(sample_dir, tmp_path, first_run):
    out = tmp_path / "round2"
    events = run(TrainConfig(data=str(sample_dir), epochs=2, checkpoint=first_run.best_path, fine_tune=True,
                             val_fraction=0.34, out=str(out), **TINY),
                 stop_when=lambda e: isinstance(e, BatchEvent))
    done = events[-1]
    assert done.status is RunStatus.STOPPED and done.epochs_done == 0 and done.last_path is None
    assert not (out / "last.pt").exists() and "no checkpoint was written" in done.message


def test_a_resumed_run_stopped_in_its_first_epoch_keeps_its_last_checkpoint(sample_dir, tmp_path, first_run):
    from segcore import checkpoint

    before = (tmp_path / "one" / "last.pt").read_bytes()
    events = run(TrainConfig(data=str(sample_dir), epochs=3, checkpoint=first_run.last_path, val_fraction=0.34,
                             **TINY), stop_when=lambda e: isinstance(e, BatchEvent))
    done = events[-1]
    assert done.status is RunStatus.STOPPED and done.epochs_done == 1
    assert "nothing new was saved" in done.message and "(1 epoch)" in done.message
    assert (tmp_path / "one" / "last.pt").read_bytes() == before and checkpoint.load(done.last_path)["epoch"] == 1


def test_fine_tuning_on_the_same_validation_images_is_compared_with_the_model_it_starts_from(sample_dir, tmp_path,
                                                                                              first_run):
    from segcore.training.records import validation_images

    kept = validation_images(first_run.out_dir)
    out = tmp_path / "round2"
    events = run(TrainConfig(data=str(sample_dir), epochs=1, checkpoint=first_run.best_path, fine_tune=True,
                             val_images=kept, lr=1e-6, out=str(out), **TINY))
    done = events[-1]
    assert json.loads((out / "split.json").read_text())["val"] == kept
    scoring = stages(events, "Scoring the model it starts from")
    assert [e.done for e in scoring] == list(range(1, len(kept) + 1))
    logs = [e.message for e in events if isinstance(e, LogEvent)]
    assert any(m.startswith("the model it starts from scores") for m in logs)
    assert math.isfinite(done.start_score) and math.isfinite(done.best_score)
    assert any(f"the {done.start_score:.3f} of the model it started from" in m for m in logs)
    status = json.loads((out / "status.json").read_text())
    assert status["start_score"] == pytest.approx(done.start_score)
    assert done.scored_below_start() == (done.best_score < done.start_score)


def test_a_start_model_that_trained_on_the_validation_images_is_not_compared(sample_dir, tmp_path, first_run):
    trained_on = json.loads((tmp_path / "one" / "split.json").read_text())["train"]
    events = run(TrainConfig(data=str(sample_dir), epochs=1, checkpoint=first_run.best_path, fine_tune=True,
                             val_images=trained_on[:1], out=str(tmp_path / "round2"), **TINY))
    assert math.isnan(events[-1].start_score) and not events[-1].scored_below_start()
    assert any("so this run is not compared with it" in e.message for e in events if isinstance(e, LogEvent))


def test_scored_below_start():
    done = DoneEvent(RunStatus.COMPLETED, "", "", None, None, 1, best_score=0.7, start_score=0.9)
    assert done.scored_below_start()
    assert not DoneEvent(RunStatus.COMPLETED, "", "", None, None, 1, best_score=0.9, start_score=0.7).scored_below_start()
    assert not DoneEvent(RunStatus.COMPLETED, "", "", None, None, 1, best_score=0.7).scored_below_start()
