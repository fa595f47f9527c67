"""The annotation assistant clicked through by object name: the uncertainty overlay and queue, scribble-to-mask,
the per-image metrics table and Retrain, each with its cancel and its errors.

A tiny U-Net (width 4) trained for two epochs on a folder of six 64 x 80 images (the first three annotated)."""

from __future__ import annotations

import csv
import math
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QFileDialog, QPushButton, QTableWidget, QToolButton, QWidget

from segcore.annotate import ImageState
from segcore.data import io
from segcore.data.classes import ClassSpec

pytestmark = pytest.mark.gui
TIMEOUT = 180_000  # ms: the machine is shared and slow
SPEC = ClassSpec(["background", "cell"], [0, 255])


def write_folder(folder: Path, count: int = 6, annotated: int = 3) -> Path:
    """Grey images with bright squares at different places; masks (0/255) for the first ``annotated``."""
    rng = np.random.default_rng(1)
    for i in range(count):
        image = rng.integers(0, 60, (64, 80), dtype=np.uint8)
        mask = np.zeros((64, 80), np.uint8)
        y, x = 8 + 4 * i, 6 + 6 * i
        mask[y:y + 20, x:x + 24] = 1
        image[mask == 1] += 160
        io.write_image(folder / "images" / f"img_{i}.png", image)
        if i < annotated:
            io.write_mask(folder / "masks" / f"img_{i}.png", mask, SPEC)
    SPEC.save(folder)
    return folder


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    import segcore

    root = tmp_path_factory.mktemp("assist")
    data = write_folder(root / "train")
    done = segcore.train(str(data), epochs=2, lr=5e-3, arch_kwargs={"width": 4, "depth": 2}, patch_size=48,
                         batch_size=2, val_fraction=0.34, out=str(root / "run"))
    return Path(done.best_path)


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_folder(tmp_path / "data")


@pytest.fixture
def loaded(qtbot, window, folder, model):
    """The window on the folder with the model loaded in the Segment panel."""
    assert window.open_folder(folder)
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        window.jobs.prediction.load(model)
    yield window
    window.jobs.shutdown()


def widget(window, kind, name):
    found = window.findChild(kind, name)
    assert found is not None, name
    return found


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.objectName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def idle(qtbot, controller) -> None:
    """Wait until the controller has handled its job's end (the thread ending comes a little before)."""
    qtbot.waitUntil(lambda: not controller.busy(), timeout=TIMEOUT)


def test_controls_have_their_object_names(window):
    for kind, name in ((QCheckBox, "uncertaintyToggle"), (QToolButton, "nextUncertainButton"),
                       (QPushButton, "proposeMaskButton"), (QTableWidget, "metricsTable"),
                       (QPushButton, "retrainButton"), (QWidget, "uncertaintyLegend"), (QWidget, "spreadSlider")):
        widget(window, kind, name)


def test_uncertainty_overlay_scores_the_image_on_demand(qtbot, loaded):
    window, queue = loaded, loaded.jobs.assist.uncertainty
    toggle = widget(window, QCheckBox, "uncertaintyToggle")
    assert not queue.layer.isVisible()
    toggle.click()
    qtbot.waitUntil(lambda: queue.layer.isVisible(), timeout=TIMEOUT)
    shown = queue.layer.shown_map
    assert shown.dtype == np.uint8 and shown.shape == window.session.image.shape[:2]
    assert window.files.score_text(0) != ""  # the image on screen was scored
    toggle.click()
    assert not queue.layer.isVisible()


def test_next_most_uncertain_opens_the_least_sure_unannotated_image_with_its_prediction(qtbot, loaded):
    window = loaded
    queue, prediction = window.jobs.assist.uncertainty, window.jobs.prediction
    click(qtbot, widget(window, QToolButton, "nextUncertainButton"))  # nothing scored yet: scores, then opens
    qtbot.waitUntil(lambda: window.session.index in (3, 4, 5) and not queue.busy(), timeout=TIMEOUT)
    scores = {i: queue.scores.score(window.session.samples[i].image) for i in (3, 4, 5)}
    assert all(score is not None for score in scores.values())
    assert all(window.files.score_text(i) == f"{scores[i]:.3f}" for i in (3, 4, 5))
    assert window.files.score_text(0) == ""  # annotated images are not in the queue
    first = window.session.index
    assert first == queue_head(window, scores, annotated=[0, 1, 2])
    assert prediction.layer.isVisible() and prediction.current_prediction() is not None
    click(qtbot, widget(window, QPushButton, "acceptPredictionButton"))
    assert window.session.is_predicted(first) and window.session.state(first) != ImageState.NO_MASK
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)  # the shortcut: the next one, now passing over images like it too
    second = queue_head(window, {i: s for i, s in scores.items() if i != first}, annotated=[0, 1, 2, first])
    assert window.session.index == second
    click(qtbot, widget(window, QPushButton, "acceptPredictionButton"))
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)
    last = ({3, 4, 5} - {first, second}).pop()
    assert window.session.index == last
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)
    assert window.session.index == last and "queue is empty" in window.jobs.assist.panel.queue_status.text()


def queue_head(window, scores: dict[int, float], annotated: list[int]) -> int:
    """The image the queue should open: the highest score x (1 - its largest thumbnail correlation with an
    annotated image), from the images on disk (segcore.ranking's public functions)."""
    from segcore import ranking

    def described(i):
        return ranking.descriptor(io.read_image(window.session.samples[i].image))

    seen = [described(i) for i in annotated]
    return max(scores, key=lambda i: scores[i] * (1 - ranking.redundancy(described(i), seen)))


def test_n_walks_the_queue_without_accepting_and_score_images_says_when_all_are_scored(qtbot, loaded):
    """Newcomer check #8: N without accepting went back and forth between the queue's first two images, and
    Score images, with every image scored, showed nothing."""
    window, queue = loaded, loaded.jobs.assist.uncertainty
    assert queue.score_unannotated()
    idle(qtbot, queue)
    visited = []
    for _ in range(3):
        qtbot.keyClick(window.canvas, Qt.Key.Key_N)
        visited.append(window.session.index)
    assert sorted(visited) == [3, 4, 5]  # every unannotated image once, none accepted
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)  # all passed: the queue starts again, not at the image on screen
    assert window.session.index in (3, 4, 5) and window.session.index != visited[-1]
    assert all(window.session.state(i) == ImageState.NO_MASK for i in (3, 4, 5))  # nothing accepted by passing
    click(qtbot, widget(window, QPushButton, "scoreImagesButton"))
    assert not queue.busy() and "All 3 unannotated images are scored" in window.jobs.assist.panel.queue_status.text()
    assert "All 3 unannotated images are scored" in window.statusBar().currentMessage()


def test_next_passes_over_a_copy_of_an_annotated_image_however_unsure_the_model_is(qtbot, window, tmp_path, model):
    """Suggestive annotation's representativeness: a copy of an annotated image teaches nothing new; the queue
    used to open it first whenever it scored highest (on a stack: the neighbouring slices of annotated ones)."""
    folder = write_folder(tmp_path / "data")
    shutil.copy(folder / "images" / "img_0.png", folder / "images" / "img_3.png")
    assert window.open_folder(folder)
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        window.jobs.prediction.load(model)
    queue, samples = window.jobs.assist.uncertainty, window.session.samples
    assert queue.score_unannotated()
    idle(qtbot, queue)
    for i, score in ((3, 0.9), (4, 0.3), (5, 0.2)):  # the copy is the one the model is least sure about
        assert queue.scores.put(queue.model, samples[i].image, score, queue.scores.map(samples[i].image))
    queue_line = window.jobs.assist.panel.queue_status
    for turn in range(2):
        qtbot.keyClick(window.canvas, Qt.Key.Key_N)
        assert window.session.index in (4, 5)
        click(qtbot, widget(window, QPushButton, "acceptPredictionButton"))
        if turn == 0:  # the model's least sure image waits, and the line says why
            assert re.search(r"N opens img_[45]\.png \(0\.[23]00\); img_3\.png \(0\.900\) waits, 100% "
                             r"alike annotated img_0\.png", queue_line.text()), queue_line.text()
    assert "N opens img_3.png (0.900, 100% alike annotated img_0.png)" in queue_line.text()  # and says why so late
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)  # only the copy is left: it opens
    assert window.session.index == 3
    assert "100% alike annotated img_0.png" in window.jobs.prediction_panel.status.text()
    assert "N opens" not in queue_line.text()  # nothing else is left: N would not open the image on screen
    window.jobs.shutdown()


def test_next_segments_again_what_a_model_reload_dropped_even_while_a_job_runs(qtbot, loaded):
    window = loaded
    queue, prediction, panel = window.jobs.assist.uncertainty, window.jobs.prediction, window.jobs.assist.panel
    assert queue.score_unannotated()
    idle(qtbot, queue)
    prediction.store.clear()  # what loading a model does to the predictions
    panel.toggle.setChecked(True)  # scores the image on screen (annotated, no map yet): a job runs
    assert queue.busy()
    window.jobs.assist.next_action.trigger()  # opens the top image at once; its prediction waits its turn
    assert window.session.index in (3, 4, 5)
    qtbot.waitUntil(lambda: prediction.current_prediction() is not None and not queue.busy(), timeout=TIMEOUT)
    assert prediction.layer.isVisible() and queue.layer.isVisible()


def test_scoring_can_be_cancelled(qtbot, window, tmp_path, model):
    folder = write_folder(tmp_path / "many", count=14, annotated=1)
    assert window.open_folder(folder)
    queue = window.jobs.assist.uncertainty
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        window.jobs.prediction.load(model)
    assert queue.score_unannotated()
    qtbot.waitUntil(lambda: len(queue.scores) >= 1, timeout=TIMEOUT)
    click(qtbot, widget(window, QPushButton, "cancelScoreButton"))
    idle(qtbot, queue)
    assert 1 <= len(queue.scores) < 13
    assert widget(window, QPushButton, "scoreImagesButton").isEnabled()
    window.jobs.shutdown()


def test_scoring_errors_are_shown(qtbot, window, folder, tmp_path, isolated_settings, model):
    assert window.open_folder(folder)
    queue = window.jobs.assist.uncertainty
    copy = tmp_path / "copy.pt"
    copy.write_bytes(model.read_bytes())
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        window.jobs.prediction.load(copy)
    assert queue.model == str(copy)  # the current model, the Segment panel's
    copy.write_bytes(b"not a checkpoint")  # broken since it was loaded
    click(qtbot, widget(window, QPushButton, "scoreImagesButton"))
    idle(qtbot, queue)
    assert any(title == "Scoring failed" for title, _ in isolated_settings)
    assert "Error:" in queue.panel.queue_status.text()
    copy.write_bytes(model.read_bytes())
    (folder / "images" / "img_4.png").write_bytes(b"broken")  # one unreadable image: reported, others scored
    click(qtbot, widget(window, QPushButton, "scoreImagesButton"))
    idle(qtbot, queue)
    assert any(title == "Some images were not scored" for title, _ in isolated_settings)
    assert queue.scores.score(folder / "images" / "img_5.png") is not None
    window.jobs.shutdown()


def scribble(window) -> None:
    """Mark the mask unlabelled, then a stroke inside the square and one in the background."""
    window.actions.clear_unlabelled.trigger()
    s = window.session
    s.begin_edit()
    s.stroke((14, 18), (26, 18), 3, 1)  # image 0's square spans rows 8-28, columns 6-30
    s.stroke((50, 45), (75, 45), 3, 0)
    s.end_edit()


def test_propose_mask_from_scribbles_then_accept(qtbot, window, folder):
    assert window.open_folder(folder)
    scribble(window)
    prediction, scribbles = window.jobs.prediction, window.jobs.assist.scribbles
    show = widget(window, QCheckBox, "showPredictionCheck")
    qtbot.mouseClick(show, Qt.MouseButton.LeftButton)  # predictions hidden: "Proposal ready" showed nothing
    assert not show.isChecked()
    click(qtbot, widget(window, QPushButton, "proposeMaskButton"))
    qtbot.waitUntil(lambda: not scribbles.busy(), timeout=TIMEOUT)
    proposal = prediction.current_prediction()
    assert proposal is not None and show.isChecked() and prediction.layer.isVisible()
    truth = np.zeros((64, 80), np.uint8)
    truth[8:28, 6:30] = 1
    inside = (proposal == 1) & (truth == 1)
    assert 2 * inside.sum() / ((proposal == 1).sum() + truth.sum()) > 0.8
    click(qtbot, widget(window, QPushButton, "acceptPredictionButton"))
    assert np.array_equal(window.session.mask, proposal)
    window.jobs.shutdown()


def test_an_accepted_proposal_with_unreached_pixels_is_saved_as_training_reads_it(qtbot, window, folder):
    """Strokes on an annotated image, a small spread (some pixels stay unlabelled), Accept, Save: the mask file and
    the folder's classes.json agree, so Retrain can read it (it refused "mask values [254]" before)."""
    assert window.open_folder(folder)
    scribble(window)
    window.jobs.assist.panel.spread.setValue(0)  # the first stop: 5 px
    click(qtbot, widget(window, QPushButton, "proposeMaskButton"))
    qtbot.waitUntil(lambda: not window.jobs.assist.scribbles.busy(), timeout=TIMEOUT)
    proposal = window.jobs.prediction.current_prediction()
    assert proposal is not None and (proposal == 255).any()  # unreached pixels stay unlabelled
    click(qtbot, widget(window, QPushButton, "acceptPredictionButton"))
    window.actions.save.trigger()
    assert np.array_equal(io.read_mask(folder / "masks" / "img_0.png", ClassSpec.load(folder)), proposal)
    window.jobs.shutdown()


def test_propose_mask_with_the_model_and_with_a_small_spread(qtbot, loaded):
    window = loaded
    panel, scribbles = window.jobs.assist.panel, window.jobs.assist.scribbles
    use_model = widget(window, QCheckBox, "useModelCheck")
    assert use_model.isEnabled()
    use_model.setChecked(True)
    window.actions.clear_unlabelled.trigger()
    s = window.session
    s.begin_edit()
    s.stroke((14, 18), (20, 18), 3, 1)  # one class is enough with a model
    s.end_edit()
    panel.spread.setValue(0)  # 5 px
    click(qtbot, widget(window, QPushButton, "proposeMaskButton"))
    qtbot.waitUntil(lambda: not scribbles.busy(), timeout=TIMEOUT)
    assert window.jobs.prediction.current_prediction() is not None
    assert "Proposal ready" in panel.scribble_status.text()


def test_propose_mask_explains_what_is_missing_and_can_be_cancelled(qtbot, window, folder, isolated_settings):
    assert window.open_folder(folder)
    scribbles = window.jobs.assist.scribbles
    click(qtbot, widget(window, QPushButton, "proposeMaskButton"))  # a full mask: nothing to complete
    qtbot.waitUntil(lambda: not scribbles.busy(), timeout=TIMEOUT)
    assert any("no unlabelled pixels" in text for _, text in isolated_settings)
    assert window.jobs.prediction.current_prediction() is None
    scribble(window)
    click(qtbot, widget(window, QPushButton, "proposeMaskButton"))
    click(qtbot, widget(window, QPushButton, "cancelProposeButton"))
    qtbot.waitUntil(lambda: not scribbles.busy(), timeout=TIMEOUT)
    assert window.jobs.prediction.current_prediction() is None
    assert "Cancelled" in window.jobs.assist.panel.scribble_status.text()
    window.jobs.shutdown()


def test_metrics_table_matches_segcore_eval_sorts_opens_and_exports(qtbot, loaded, folder, model, tmp_path,
                                                                    monkeypatch):
    from segcore import evaluation

    window = loaded
    table = widget(window, QTableWidget, "metricsTable")
    metrics = window.jobs.assist.metrics
    metrics.panel.crf.setChecked(False)
    click(qtbot, widget(window, QPushButton, "evaluateButton"))
    qtbot.waitUntil(lambda: not metrics.busy(), timeout=TIMEOUT)
    assert table.rowCount() == 3
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[:5] == ["Image", "Source", "Split", "Dice cell raw", "IoU cell raw"]
    report = evaluation.evaluate(model, folder, device="cpu")
    expected = {r.name: r.scores("raw", SPEC.names)["dice"][1] for r in report.images}
    shown = {table.item(r, 0).text(): float(table.item(r, 3).text()) for r in range(3)}
    assert shown == {name: pytest.approx(dice, abs=5e-4) for name, dice in expected.items()}
    table.sortItems(3, Qt.SortOrder.DescendingOrder)
    values = [float(table.item(r, 3).text()) for r in range(3)]
    assert values == sorted(values, reverse=True)
    row_name = table.item(2, 0).text()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(2, 0)).center())
    assert window.session.current_path().name == row_name
    assert window.jobs.prediction.layer.isVisible()
    out = tmp_path / "scores.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "CSV (*.csv)"))
    summary = metrics.panel.status.text()
    click(qtbot, widget(window, QPushButton, "exportMetricsButton"))
    assert metrics.panel.status.text() == summary and "mean Dice" in summary  # the summary stays
    assert window.statusBar().message() == f"Wrote {out}"
    with open(out) as fh:
        rows = [r for r in csv.DictReader(fh) if r["class"] == "cell" and r["variant"] == "raw"]
    assert {r["image"]: float(r["dice"]) for r in rows if r["image"] in expected} == pytest.approx(expected)


def test_metrics_with_crf_and_cancel(qtbot, loaded):
    window = loaded
    metrics, panel = window.jobs.assist.metrics, window.jobs.assist.metrics_panel
    panel.crf.setChecked(True)
    click(qtbot, widget(window, QPushButton, "evaluateButton"))
    click(qtbot, widget(window, QPushButton, "cancelMetricsButton"))
    qtbot.waitUntil(lambda: not metrics.busy(), timeout=TIMEOUT)
    assert panel.table.rowCount() < 3 and "cancelled" in panel.status.text()
    click(qtbot, widget(window, QPushButton, "evaluateButton"))
    qtbot.waitUntil(lambda: not metrics.busy(), timeout=TIMEOUT)
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]
    assert headers[3:7] == ["Dice cell raw", "Dice cell CRF", "IoU cell raw", "IoU cell CRF"]
    assert panel.table.rowCount() == 3


def test_retrain_fine_tunes_the_current_model_and_keeps_the_curves(qtbot, loaded, tmp_path, isolated_settings):
    window = loaded
    jobs = window.jobs
    retrain = widget(window, QPushButton, "retrainButton")
    assert retrain.isEnabled() and jobs.assist.uncertainty.model == str(jobs.prediction.predictor.path)
    window.session.select(3)  # annotate one more image: the set grows
    window.actions.clear_background.trigger()
    s = window.session
    s.begin_edit()
    s.stroke((30, 24), (40, 24), 6, 1)
    s.end_edit()
    jobs.training_panel.form.set_values("unet", epochs=2, out=str(tmp_path / "round2"), options="width=4",
                                        batch_size=2, patch_size=48, val_fraction=0.34, minutes=0)
    jobs.training_panel.plots.clear()
    jobs.training.rounds.plotted = 2  # as if a first round of 2 epochs were drawn
    before = str(jobs.prediction.predictor.path)
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as finished:
        click(qtbot, retrain)
    done = finished.args[0]
    assert done.status == "completed", done.message
    assert math.isfinite(done.start_score)  # the model it continued from, scored on the same images
    if done.scored_below_start():  # the better model stays current, and the window says so
        assert str(jobs.prediction.predictor.path) == before and "the current model stays" in \
            window.statusBar().message()
        new_model = before
    else:
        qtbot.waitUntil(lambda: jobs.prediction.predictor_path() == Path(done.best_path), timeout=TIMEOUT)
        new_model = done.best_path
    assert Path(done.best_path).parent == tmp_path / "round2"
    assert (window.session.folder / "masks" / "img_3.png").is_file()  # saved before training
    plots = jobs.training_panel.plots
    assert plots.epochs == [3.0, 4.0] and plots.rounds == 2 and len(plots.round_lines) == 2
    assert "fine-tuning" in jobs.training_panel.log_view.toPlainText()
    idle(qtbot, jobs.assist.uncertainty)
    assert jobs.assist.uncertainty.model == new_model
    assert not any(title == "Training" for title, _ in isolated_settings)


def test_a_retraining_run_keeps_the_models_recipe_and_takes_the_budget(model, tmp_path):
    from app.jobs.assist_tasks import MAX_EPOCHS, with_recipe
    from segcore.training.config import TrainConfig

    base = TrainConfig(data=str(tmp_path), checkpoint=str(model), fine_tune=True, scale=0.5, lr=0.5, patch_size=200)
    config, note = with_recipe(base, 2.0, {"lr": 0.5})
    assert config.time_limit == 2.0 and config.epochs == MAX_EPOCHS and "2 min" in note
    assert config.scale == 1.0 and config.patch_size == 48  # the model's, not the form's
    assert config.lr == 0.5  # set explicitly: it wins over the model's
    config, note = with_recipe(base, 0.0, {"epochs": 3})
    assert config.time_limit is None and "epochs" in note
    import torch

    data = torch.load(model, weights_only=True)
    data["config"]["pixel_size"] = {"y_um": 0.5, "x_um": 0.5}  # its images were resampled to 0.5 µm
    torch.save(data, tmp_path / "at_half.pt")
    config, _ = with_recipe(replace(base, checkpoint=str(tmp_path / "at_half.pt"), pixel_size=None), 1.0, {})
    assert config.pixel_size == {"y_um": 0.5, "x_um": 0.5}  # what the model sees stays as it learned


def test_every_training_setting_is_the_models_recipe_or_the_retraining_runs_own():
    """A new TrainConfig field must be placed: kept from the model's run (RECIPE) or set for this run. (Spatial
    deformation came after RECIPE was written and was silently dropped when retraining.)"""
    from dataclasses import fields

    from app.jobs.assist_tasks import RECIPE
    from segcore.training.config import TrainConfig

    checkpoints = {"arch", "arch_kwargs", "scale", "pixel_size", "checkpoint", "fine_tune",
                   "per_image_norm"}  # the model itself (its checkpoint decides when resuming or fine-tuning)
    budget = {"epochs", "time_limit"}  # the Training tab's
    run = {"data", "out", "name", "device", "workers", "seed", "fast", "sync_bn", "val_fraction", "plan", "val_images"}
    assert {f.name for f in fields(TrainConfig)} == set(RECIPE) | checkpoints | budget | run


def test_training_rounds_follow_train_retrain_and_continue():
    from app.state.training_progress import TrainingProgress
    from app.state.training_rounds import MAX_EPOCHS, TrainingRounds

    rounds, progress = TrainingRounds(), TrainingProgress(4)
    assert rounds.begin(progress, retrain=False, minutes=0, continued=False) is None  # Train: round 1 at x 0
    assert rounds.end(4, 0.80, retrain=False) is None
    assert rounds.label() == "round 2"
    assert rounds.begin(progress, retrain=True, minutes=2.0, continued=False) == 4  # drawn after epoch 4
    assert progress.expected_epochs == 4 and progress.epochs == MAX_EPOCHS  # paced by the last round's length
    line = rounds.end(3, 0.85, retrain=True)
    assert line.startswith("round 2: best validation Dice 0.850, +0.050 on round 1") and rounds.plotted == 7
    assert rounds.begin(progress, retrain=False, minutes=0, continued=True) is None  # Continue: the same round
    assert rounds.end(5, 0.86, retrain=False) is None and rounds.dice == [0.80, 0.86] and rounds.plotted == 9
    rounds.begin(progress, retrain=False, minutes=0, continued=False)  # Train again: a new chain
    assert rounds.dice == [] and rounds.plotted == 0 and rounds.label() == "round 1"


def test_retrain_without_a_model_says_so(qtbot, window, folder, isolated_settings):
    assert window.open_folder(folder)
    assert not widget(window, QPushButton, "retrainButton").isEnabled()
    assert not window.jobs.assist.retrain(None)
    assert any("Load or train a model first" in text for _, text in isolated_settings)
    gone = folder / "checkpoints" / "deleted" / "best.pt"  # loaded earlier, deleted since
    assert not window.jobs.assist.retrain(str(gone)) and not window.jobs.training.is_running()
    assert any("is gone, so it cannot be retrained" in text for _, text in isolated_settings)


def test_the_metrics_table_lists_names_as_the_file_list_and_a_first_click_on_a_score_puts_the_worst_first(qtbot):
    """Newcomer checks: the table came sorted Z to A (Qt's default sort indicator) before anything was clicked,
    then 0, 10, 11, 5 where the file list says 0, 5, 10, 11."""
    from app.views.panels.metrics_panel import MetricsPanel

    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_columns(["Image", "Dice cell raw"], ["", ""])
    for index, (name, dice) in enumerate((("img_10.png", 0.5), ("img_2.png", 0.9), ("img_1.png", 0.1))):
        panel.add_row(index, name, [dice])
    table = panel.table
    assert [table.item(r, 0).text() for r in range(3)] == ["img_1.png", "img_2.png", "img_10.png"]
    header = table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=header.viewport().rect().topLeft() + QPoint(header.sectionViewportPosition(1) + 5, 5))
    assert [table.item(r, 1).text() for r in range(3)] == ["0.100", "0.500", "0.900"]


def test_a_discarded_proposal_goes_to_the_end_of_the_queue(qtbot, loaded):
    """Newcomer check #7: after Discard, N went back and forth between the two most uncertain images and never
    offered the others. A discarded image comes back once every other one has been offered."""
    window = loaded
    queue, samples = window.jobs.assist.uncertainty, window.session.samples
    assert queue.score_unannotated()
    idle(qtbot, queue)
    for i, score in ((3, 0.9), (4, 0.8), (5, 0.05)):
        assert queue.scores.put(queue.model, samples[i].image, score, queue.scores.map(samples[i].image))
    discard = widget(window, QPushButton, "discardPredictionButton")
    opened = []
    for _ in range(3):
        qtbot.keyClick(window.canvas, Qt.Key.Key_N)
        opened.append(window.session.index)
        click(qtbot, discard)
    assert sorted(opened) == [3, 4, 5], opened  # every image offered once, the least uncertain too
    qtbot.keyClick(window.canvas, Qt.Key.Key_N)  # all offered: round again, from the top
    assert window.session.index in (3, 4) and window.session.index != opened[-1]
    status = window.jobs.prediction_panel.status  # its prediction was discarded: segmented again, then said
    idle(qtbot, queue)
    assert window.jobs.prediction.current_prediction() is not None
    assert status.text().startswith("Next in the queue"), status.text()  # "Segmenting…" stayed
