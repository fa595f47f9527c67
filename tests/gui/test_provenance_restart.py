"""Where masks came from survives closing the window: a reopened folder lists accepted predictions as
"predicted", stroke masks as "strokes", and the metrics table names their source and leaves the model's own masks
out of the mean, as before the restart (the newcomer's finding 1)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.state.training_rounds import accepted_note
from tests.gui.conftest import drag, new_window
from tests.gui.test_assist import model, write_folder  # noqa: F401 - the module's model fixture
from tests.gui.test_assist_review import load, paint_strokes
from tests.gui.test_replace_annotation import offer_prediction
from tests.gui.test_train_flow import TIMEOUT

PROVENANCE = (".segstudio", "provenance.json")


@pytest.fixture
def data(tmp_path):
    return write_folder(tmp_path / "data")


def listed(window) -> list[str]:
    """The status column of the file list, image by image."""
    tree = window.files.tree
    return [tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())]


def accept_prediction(qtbot, window, index: int) -> None:
    prediction = window.jobs.prediction
    window.files.tree.setCurrentItem(window.files.tree.topLevelItem(index))
    assert window.session.index == index
    qtbot.waitUntil(lambda: not prediction.busy(), timeout=TIMEOUT)
    prediction.segment_current()
    qtbot.waitUntil(lambda: not prediction.busy() and prediction.current_prediction() is not None, timeout=TIMEOUT)
    qtbot.mouseClick(window.findChild(QPushButton, "acceptPredictionButton"), Qt.MouseButton.LeftButton)


def scores(qtbot, window) -> tuple[dict[str, str], str]:
    """Score the annotated images (raw only): {image: Source} and the summary line."""
    metrics = window.jobs.assist.metrics
    metrics.panel.crf.setChecked(False)
    qtbot.mouseClick(window.findChild(QPushButton, "openMetricsButton"), Qt.MouseButton.LeftButton)
    if not metrics.busy():  # the table was shown with its last scores: score again
        qtbot.mouseClick(window.findChild(QPushButton, "evaluateButton"), Qt.MouseButton.LeftButton)
    assert metrics.busy()  # until every image is scored
    qtbot.waitUntil(lambda: not metrics.busy(), timeout=TIMEOUT)
    table = metrics.panel.table
    sources = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    return sources, metrics.panel.status.text()


def correct(qtbot, window) -> None:
    """A foreground stroke below the square: a hand correction."""
    qtbot.keyClick(window.canvas, Qt.Key.Key_1)
    drag(qtbot, window, [(40, 50), (44, 50)])


def close(qtbot, window) -> None:
    assert window.close()  # everything saved: no question
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)


def test_a_reopened_folder_keeps_predicted_strokes_and_the_metrics_source_and_mean(qtbot, window, data, model):  # noqa: F811
    assert window.open_folder(data)
    load(qtbot, window, model)
    paint_strokes(qtbot, window)  # img_0: a few strokes, the rest unlabelled
    accept_prediction(qtbot, window, 3)  # accepted, never corrected
    accept_prediction(qtbot, window, 4)  # accepted, then corrected by hand: still this model's work
    correct(qtbot, window)
    window.actions.save.trigger()
    before = listed(window)
    assert before == ["strokes", "annotated", "annotated", "predicted", "annotated", "no mask"], before
    sources, line = scores(qtbot, window)
    assert "img_3.png" not in sources and sources["img_4.png"] == "this model's", sources
    assert "mean Dice" in line and "1 accepted from this model left out" in line
    close(qtbot, window)

    again = new_window(qtbot)
    assert again.open_folder(data)
    assert listed(again) == before
    # a run started now says what it learns from that a model made
    assert accepted_note(again.session) == " (2 masks accepted from a prediction or proposal, 1 not corrected by hand)"
    load(qtbot, again, model)
    assert scores(qtbot, again) == (sources, line)  # the same rows, sources and mean as before the restart

    # a hand edit of the accepted prediction after the restart: corrected, yet still this model's (not counted)
    again.files.tree.setCurrentItem(again.files.tree.topLevelItem(3))
    correct(qtbot, again)
    assert listed(again)[3] == "modified"
    again.actions.save.trigger()
    assert listed(again)[3] == "annotated"
    sources, line = scores(qtbot, again)
    assert sources["img_3.png"] == "this model's" and "2 accepted from this model left out" in line
    close(qtbot, again)
    third = new_window(qtbot)
    assert third.open_folder(data)
    assert listed(third)[3] == "annotated" and third.session.origin(third.session.samples[3].image).corrected
    third.jobs.shutdown()


def test_a_mask_replaced_by_another_program_loses_its_predicted_mark(qtbot, window, data, model):  # noqa: F811
    assert window.open_folder(data)
    load(qtbot, window, model)
    accept_prediction(qtbot, window, 3)
    window.actions.save.trigger()
    close(qtbot, window)
    mask = next(s.mask for s in window.session.samples if s.image.name == "img_3.png")
    mask.write_bytes((data / "masks" / "img_0.png").read_bytes())  # someone's own annotation, copied in
    again = new_window(qtbot)
    assert again.open_folder(data)
    assert listed(again)[3] == "annotated" and again.session.origin(again.session.samples[3].image) is None
    again.jobs.shutdown()


@pytest.mark.parametrize("content", [b"{not json", b'{"masks": [1, 2]}', b'{"masks": {"images/img_3.png": '
                                     b'{"stamp": "x", "origin": {"kind": "alien"}}}}', b"\xff\xfe", None])
def test_a_broken_provenance_file_still_opens_the_folder_as_before(qtbot, window, data, content,
                                                                    isolated_settings):
    path = data.joinpath(*PROVENANCE)
    if content is None:  # a folder where the file should be: unreadable
        (path / "inner").mkdir(parents=True)
    else:
        path.parent.mkdir()
        path.write_bytes(content)
    assert window.open_folder(data)
    assert listed(window) == ["annotated", "annotated", "annotated", "no mask", "no mask", "no mask"]
    assert not isolated_settings  # no dialog
    said = []
    window.session.message.connect(said.append)
    window.files.tree.setCurrentItem(window.files.tree.topLevelItem(3))
    offer_prediction(window, np.ones_like(window.session.mask))
    qtbot.mouseClick(window.findChild(QPushButton, "acceptPredictionButton"), Qt.MouseButton.LeftButton)
    window.actions.save.trigger()
    assert listed(window)[3] == "predicted" and window.session.samples[3].mask.is_file()
    if content is None:  # the accepted mask is saved all the same; a status line says what is not kept
        assert [line for line in said if "not kept for the next session" in line] != []
    else:  # the broken file is replaced by one that keeps the accepted mask's origin
        records = json.loads(path.read_text())["masks"]
        assert records["images/img_3.png"]["origin"]["kind"] == "network"


def test_records_are_written_only_with_something_to_say_and_name_images_by_their_path(qtbot, window, data):
    assert window.open_folder(data)
    for i in range(3):  # full hand-made masks, read: nothing to record
        window.files.tree.setCurrentItem(window.files.tree.topLevelItem(i))
    assert not data.joinpath(*PROVENANCE).exists()
    window.files.tree.setCurrentItem(window.files.tree.topLevelItem(0))
    paint_strokes(qtbot, window)
    window.actions.save.trigger()
    records = json.loads(data.joinpath(*PROVENANCE).read_text())["masks"]
    assert list(records) == ["images/img_0.png"] and records["images/img_0.png"]["sparse"] is True


def test_the_cleared_scores_name_both_models_by_their_run(qtbot, window, data, model, tmp_path):  # noqa: F811
    import shutil

    assert window.open_folder(data)
    load(qtbot, window, model)
    scores(qtbot, window)
    retrained = tmp_path / "retrained"  # another run's best.pt, as Retrain leaves it
    shutil.copytree(model.parent, retrained)
    config = json.loads((retrained / "config.json").read_text())
    (retrained / "config.json").write_text(json.dumps({**config, "name": "round 2"}))
    load(qtbot, window, retrained / "best.pt")
    line = window.jobs.assist.metrics.panel.status.text()
    assert line == (f"The scores were of {model.parent.name}; the current model is round 2: Score annotated images "
                    "again."), line
    window.jobs.shutdown()

