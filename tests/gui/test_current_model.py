"""One current model for every panel (issue #17 review, items 1, 3, 5 and 10): after a run its best model is what
the Segment panel, the Assist queue, Retrain and Metrics all use; a retraining round that scores below the model it
continued from does not replace it; the progress bar follows the steps after the last epoch; cancelling says so
and gives the button back at once."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PySide6.QtWidgets import QPushButton

from segcore.data.sample import write_sample_data
from segcore.training.events import DoneEvent, RunStatus, StageEvent

from .conftest import wait_for_jobs
from .test_assist import click, idle, scribble, widget, write_folder
from .test_second_look import train_here
from .test_train_flow import TIMEOUT, TINY

pytestmark = pytest.mark.gui


@pytest.fixture
def sample(tmp_path) -> Path:
    folder = tmp_path / "sample"
    write_sample_data(folder, count=6, size=96)
    return folder


def test_a_finished_run_is_the_current_model_of_every_panel(qtbot, window, sample):
    assert window.open_folder(sample)
    jobs = window.jobs
    segment, assist, metrics = jobs.prediction_panel, jobs.assist.panel, jobs.assist.metrics_panel
    assert metrics.status.text().startswith("Load or train a model")
    assert "No model loaded" in segment.model_label.text()
    said: list[str] = []  # the line stays 30 s: a busy machine outlasts it
    bar, show = window.statusBar(), window.statusBar().showMessage
    bar.showMessage = lambda text, timeout=0: (said.append(text), show(text, timeout))
    done = train_here(qtbot, window, epochs=1)
    assert done.status == "completed", done.message
    qtbot.waitUntil(lambda: jobs.prediction.predictor_path() == Path(done.best_path), timeout=TIMEOUT)
    wait_for_jobs(qtbot, jobs)  # the queue scores with it meanwhile
    assert "No model loaded" not in segment.model_label.text() and Path(done.out_dir).name in \
        segment.model_label.text()
    assert jobs.assist.uncertainty.model == done.best_path  # the queue scores with the same model
    assert widget(window, QPushButton, "retrainButton").isEnabled()
    assert widget(window, QPushButton, "evaluateButton").isEnabled()
    assert metrics.status.text().startswith(f"Current model {Path(done.out_dir).name}: ")  # its run, as the run list names it
    assert segment.segment.isEnabled() and not segment.use_trained.isVisible()
    assert any("its best model is now the current model" in line for line in said)
    window.files.step(1)
    click(qtbot, segment.segment)
    qtbot.waitUntil(lambda: jobs.prediction.current_prediction() is not None and not jobs.prediction.busy(),
                    timeout=TIMEOUT)
    assert segment.crf.isEnabled()  # Refine with CRF, with the run's model
    assert assist.queue_status.text().startswith(f"Model {Path(done.out_dir).name}/best.pt")
    jobs.shutdown()


def test_a_round_that_scores_below_keeps_the_better_model_and_offers_the_new_one(qtbot, window, sample, tmp_path):
    assert window.open_folder(sample)
    jobs = window.jobs
    first = train_here(qtbot, window, epochs=1)
    qtbot.waitUntil(lambda: jobs.prediction.predictor_path() == Path(first.best_path), timeout=TIMEOUT)
    worse = tmp_path / "round2"  # a round's files as the trainer leaves them, scored below its start
    worse.mkdir()
    (worse / "best.pt").write_bytes(Path(first.best_path).read_bytes())
    done = DoneEvent(RunStatus.COMPLETED, "trained 1 epoch", str(worse), str(worse / "best.pt"),
                     None, 1, best_score=0.688, start_score=0.924)
    jobs.training.last_done, jobs.training.last_data = done, str(sample)
    jobs.training.finished.emit(done)
    assert jobs.prediction.predictor_path() == Path(first.best_path)  # not swapped
    line = window.statusBar().message()
    assert "new model 0.688 < current 0.924 on the same validation images, so the current model stays" in line
    assert "Kept this model: the new round scored 0.688 < 0.924" in jobs.prediction_panel.status.text()
    segment = jobs.prediction_panel
    assert segment.use_trained.isVisible()  # the new one, anyway, in one click
    with qtbot.waitSignal(jobs.prediction.modelLoaded, timeout=TIMEOUT):
        click(qtbot, segment.use_trained)
    assert jobs.prediction.predictor_path() == worse / "best.pt" and not segment.use_trained.isVisible()
    jobs.shutdown()


def test_a_stopped_run_does_not_replace_the_current_model(qtbot, window, sample):
    """Stop abandons a run: its half-trained model replaced the good one (newcomer check), and the next Segment
    would have used it. It stays one click away."""
    assert window.open_folder(sample)
    jobs, segment = window.jobs, window.jobs.prediction_panel
    first = train_here(qtbot, window, epochs=1)
    qtbot.waitUntil(lambda: jobs.prediction.predictor_path() == Path(first.best_path), timeout=TIMEOUT)
    panel = jobs.training_panel
    panel.form.set_values("unet", epochs=50, out=str(sample / "stopped"), **TINY)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: len(panel.plots.epochs) >= 1, timeout=TIMEOUT)  # one epoch saved: a usable model
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as ended:
        click(qtbot, panel.stop_button)
    assert ended.args[0].status is RunStatus.STOPPED and ended.args[0].epochs_done >= 1
    wait_for_jobs(qtbot, jobs)
    assert jobs.prediction.predictor_path() == Path(first.best_path)  # not swapped
    assert "the current model stays (Use trained model loads this run's)" in window.statusBar().message()
    assert segment.use_trained.isVisible()
    with qtbot.waitSignal(jobs.prediction.modelLoaded, timeout=TIMEOUT):
        click(qtbot, segment.use_trained)
    assert jobs.prediction.predictor_path().parent == sample / "stopped"
    jobs.shutdown()


def test_retrain_validates_on_the_images_the_model_was_validated_on(qtbot, window, sample):
    assert window.open_folder(sample)
    jobs = window.jobs
    first = train_here(qtbot, window, epochs=1)
    qtbot.waitUntil(lambda: jobs.prediction.predictor_path() == Path(first.best_path), timeout=TIMEOUT)
    kept = json.loads((Path(first.out_dir) / "split.json").read_text())["val"]
    jobs.training_panel.form.set_values("unet", epochs=1, val_fraction=0.5, minutes=0)  # another fraction
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as finished:
        click(qtbot, widget(window, QPushButton, "retrainButton"))
    done = finished.args[0]
    assert json.loads((Path(done.out_dir) / "split.json").read_text())["val"] == kept
    assert math.isfinite(done.start_score)  # measured: the model it continued from, on those images
    log = jobs.training_panel.log_view.toPlainText()
    assert "the model it starts from scores" in log
    if done.scored_below_start():
        assert jobs.prediction.predictor_path() == Path(first.best_path)
    else:
        qtbot.waitUntil(lambda: jobs.prediction.predictor_path() == Path(done.best_path), timeout=TIMEOUT)
    jobs.shutdown()


def test_the_progress_bar_follows_the_steps_after_the_last_epoch(qtbot, window, sample, tmp_path):
    """Fed the events the trainer yields after its last epoch: the bar said "batch 5/25 · 0 s left" for minutes."""
    from segcore.training.events import BatchEvent, EpochEvent

    assert window.open_folder(sample)
    training, panel = window.jobs.training, window.jobs.training_panel
    training._on_event(BatchEvent(3, 25, 25, 0.5, 12.0))
    scores = {"names": ["bg", "cell"], "dice": [0.95, 0.9], "iou": [0.9, 0.8], "mean_dice": 0.9, "images": 2}
    training._on_event(EpochEvent(3, 3, 0.5, 0.5, 0.9, 0.8, 1e-3, 4.0, True, scores))
    training._on_event(StageEvent("Fitting the CRF", 3, 8, "setting"))
    qtbot.waitUntil(lambda: "Fitting the CRF: setting 3 of 8" in panel.progress.format(), timeout=5000)
    assert "patches/s" not in panel.progress.format() and "left" not in panel.progress.format()
    training.progress.stopping()
    assert training.progress.note == "stopping after this image or setting"
    training._on_event(BatchEvent(4, 1, 25, 0.5, 12.0))  # the batches again: their own numbers
    qtbot.waitUntil(lambda: "batch 1/25" in panel.progress.format(), timeout=5000)


def test_cancel_gives_propose_mask_back_at_once_and_drops_the_stale_proposal(qtbot, window, tmp_path):
    assert window.open_folder(write_folder(tmp_path / "assist"))
    scribbles = window.jobs.assist.scribbles
    scribble(window)
    propose = widget(window, QPushButton, "proposeMaskButton")
    click(qtbot, propose)
    stale = scribbles.worker
    click(qtbot, widget(window, QPushButton, "cancelProposeButton"))
    assert propose.isEnabled() and not scribbles.busy()  # at once, not when the CRF has finished
    qtbot.waitUntil(stale.isFinished, timeout=TIMEOUT)
    qtbot.wait(50)
    assert window.jobs.prediction.current_prediction() is None  # its result was dropped
    assert "Cancelled" in window.jobs.assist.panel.scribble_status.text()
    click(qtbot, propose)  # a new proposal is shown
    idle(qtbot, scribbles)
    assert window.jobs.prediction.current_prediction() is not None
    window.jobs.shutdown()


def test_cancelling_the_queue_on_its_last_image_says_so(qtbot, window, tmp_path):
    folder = write_folder(tmp_path / "one_left", count=4, annotated=3)  # one image in the queue: the last
    assert window.open_folder(folder)
    queue = window.jobs.assist.uncertainty
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        window.jobs.prediction.load(trained_model(tmp_path))
    assert queue.score_unannotated()
    click(qtbot, widget(window, QPushButton, "cancelScoreButton"))
    idle(qtbot, queue)
    assert queue.panel.queue_status.text().endswith("(cancelled).")
    window.jobs.shutdown()


def trained_model(root: Path) -> Path:
    import segcore

    data = write_folder(root / "train")
    done = segcore.train(str(data), epochs=1, arch_kwargs={"width": 4, "depth": 2}, patch_size=48, batch_size=2,
                         val_fraction=0.34, out=str(root / "run"), device="cpu")
    return Path(done.best_path)


def test_a_run_stopped_before_its_first_epoch_is_not_offered_as_a_model(tmp_path):
    """Earlier versions left a last.pt of the starting weights in such a run; the run list offered it."""
    from app.state.runs import list_runs, model_after_run
    from segcore.training.records import write_status

    for name, epochs in (("empty", 0), ("trained", 2)):
        run = tmp_path / "checkpoints" / name
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"arch": "unet", "name": name}))
        (run / "last.pt").write_bytes(b"weights")
        write_status(run, "stopped", "stopped by request", epochs, False, True)
    assert [r.name for r in list_runs(tmp_path)] == ["trained"]
    stopped = DoneEvent(RunStatus.STOPPED, "stopped by request during epoch 1", str(tmp_path), None, None, 0)
    assert model_after_run(stopped, here=True)[0] is None


def test_the_metrics_summary_gives_the_mean_over_the_images_the_model_was_validated_on(qtbot, window, sample):
    """Newcomer check #6: after Retrain the mean over every annotated image rose, all of it on an image the new
    round had trained on; the images it had not seen did not move. The summary now also says the mean over the
    run's validation images (split.json), the one that tells a round's gain."""
    assert window.open_folder(sample)
    done = train_here(qtbot, window, epochs=1, val_fraction=0.34)
    metrics = window.jobs.assist.metrics
    metrics.panel.crf.setChecked(False)
    click(qtbot, widget(window, QPushButton, "evaluateButton"))
    qtbot.waitUntil(lambda: not metrics.busy(), timeout=TIMEOUT)
    val = {Path(p).name for p in json.loads((Path(done.out_dir) / "split.json").read_text())["val"]}
    table = metrics.panel.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert val and val <= set(rows) and {table.item(rows[n], 2).text() for n in val} == {"val"}
    dice_column = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index(
        "Dice nucleus raw")
    expected = sum(float(table.item(rows[n], dice_column).text()) for n in val) / len(val)
    line = metrics.panel.status.text()
    shown = line.split(" it was validated on (it trained on the others)")[0].rsplit(", ", 1)[1]
    assert shown.endswith(f" over the {len(val)}"), line
    assert abs(float(shown.split(" ")[0]) - expected) < 0.002, line  # the table rounds each image to 3 decimals
    window.jobs.shutdown()
