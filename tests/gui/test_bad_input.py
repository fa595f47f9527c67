"""Bad input met through the window: each is reported (dialog or status line), no edit is lost, the window goes on."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from .conftest import click_action, drag, make_folder

pytestmark = pytest.mark.gui


def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window.canvas, k, modifier)


@pytest.mark.parametrize("content", [
    b"\xff\xfe\x00 not text",  # a binary or truncated file
    json.dumps({"names": ["bg", "cell"], "values": [0, 255], "colors": [[0, 0, 0]] * 3}).encode(),
    json.dumps({"names": ["bg", "cell"], "values": [0, 255], "colors": [[0, 0], [300, -5, 3]]}).encode(),
], ids=["not-utf8", "too-many-colours", "bad-colours"])
def test_a_broken_class_list_is_refused_and_the_open_folder_kept(qtbot, window, tmp_path, monkeypatch,
                                                                 isolated_settings, content):
    good = make_folder(tmp_path / "good")
    bad = make_folder(tmp_path / "bad")
    (bad / "classes.json").write_bytes(content)
    assert window.open_folder(good)
    drag(qtbot, window, [(40.5, 40.5), (45.5, 40.5)])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(bad))
    click_action(qtbot, window, "openFolderAction")
    title, text = isolated_settings[-1]
    assert title == "Cannot open folder" and "classes.json" in text
    assert window.session.folder == good.resolve() and window.session.mask[40, 42] == 1
    window.files.step(1)  # the painted mask saves with the class list of the folder still open
    assert window.session.index == 1 and window.session.unsaved_count() == 0


def test_a_class_list_with_missing_colors_gets_default_ones(qtbot, window, folder):
    (folder / "classes.json").write_text(json.dumps({"names": ["bg", "cell", "other"], "values": [0, 255, 128],
                                                     "colors": [[0, 0, 0]]}))
    assert window.open_folder(folder)
    assert window.palette_panel.list.count() == 3 and len(set(window.session.spec.colors)) == 3
    qtbot.keyClick(window.canvas, Qt.Key.Key_2)
    drag(qtbot, window, [(40.5, 40.5)])
    window.files.step(1)
    assert window.session.unsaved_count() == 0


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00"], ids=["0-byte", "truncated"])
def test_pgdown_steps_on_from_an_unreadable_first_image(qtbot, window, folder, content):
    (folder / "images" / "img_0.png").write_bytes(content)
    assert window.open_folder(folder)
    assert "img_0.png" in window.statusBar().message() and window.canvas.image_item.pixmap().isNull()
    assert window.files.tree.currentItem().text(0) == "img_0.png"
    window.canvas.setFocus()
    drag(qtbot, window, [(5.5, 5.5), (9.5, 5.5)])  # nothing to paint on: ignored
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.index == 1 and window.session.image is not None
    key(qtbot, window, Qt.Key.Key_PageUp)
    assert window.session.index == 0 and window.files.tree.currentItem().text(0) == "img_0.png"
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.index == 1


def test_closing_with_many_unsaveable_masks_reports_them_in_one_dialog(qtbot, window, tmp_path, isolated_settings,
                                                                      monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    folder = make_folder(tmp_path, count=5, masks=False)
    assert window.open_folder(folder)
    (folder / "masks").write_text("a file where the masks folder should be")  # as a read-only folder: saves fail
    window.canvas.setFocus()
    for _ in range(5):
        drag(qtbot, window, [(5.5, 5.5)])
        key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.unsaved_count() == 5
    shown = len(isolated_settings)
    answers = [QMessageBox.StandardButton.Save, QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: isolated_settings.append(a[1:3]) or (
        answers.pop(0) if answers else QMessageBox.StandardButton.Discard))
    window.close()
    titles = [title for title, _text in isolated_settings[shown:]]
    assert titles == ["Unsaved masks", "Mask not saved", "Masks not saved"]
    assert "5 masks not saved" in isolated_settings[shown + 1][1]
    assert window.isVisible() and window.session.unsaved_count() == 5  # kept in memory
    (folder / "masks").unlink()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    window.close()
    assert not window.isVisible() and len(list((folder / "masks").glob("*.png"))) == 5


def test_compare_does_not_score_against_a_mask_that_could_not_be_read(qtbot, window, folder):
    from segcore.data import io

    from .test_train_flow import TIMEOUT, SlowPredictor, click, segment_shown

    io.write_mask(folder / "masks" / "img_0.png", np.zeros((5, 5), np.uint8), window.session.spec)  # wrong size
    assert window.open_folder(folder)
    assert window.session.locked_reason  # shown as an empty placeholder mask, editing off
    jobs = window.jobs
    jobs.prediction._on_loaded(SlowPredictor(pause=0))
    segment_shown(qtbot, jobs)
    click(qtbot, jobs.prediction_panel.crf)
    qtbot.waitUntil(lambda: jobs.compare.crf is not None and not jobs.compare.busy(), timeout=TIMEOUT)
    assert jobs.compare.raw_scores is None and jobs.compare.crf_scores is None  # not Dice 0 "vs. your annotation"
    assert "No annotation" in jobs.compare_view.raw_score.text()


def test_binary_masks_beside_odd_ones_are_reported_on_open(qtbot, window, tmp_path):
    """Without a classes.json, one mask of 0/7 among 0/255 ones turns 255 into "unlabelled": say so."""
    from PIL import Image

    folder = make_folder(tmp_path, count=3)
    (folder / "classes.json").unlink()
    odd = folder / "masks" / "img_1.png"
    Image.fromarray(np.where(np.asarray(Image.open(odd)) > 0, 7, 0).astype(np.uint8)).save(odd)
    assert window.open_folder(folder)
    message = window.statusBar().message()
    assert "masks disagree" in message and "img_1.png" in message, message


def test_a_class_list_that_could_not_be_saved_is_saved_with_the_next_mask(qtbot, window, folder):
    """Masks painted with a new class must not outlive the list that names it (else they are refused on reopen)."""
    from segcore.data.classes import ClassSpec

    assert window.open_folder(folder)
    old = (folder / "classes.json").read_bytes()
    (folder / "classes.json").unlink()
    (folder / "classes.json").mkdir()  # the list cannot be replaced, as in a folder that is not writable
    spec = window.session.spec
    window.session.set_spec(ClassSpec([*spec.names, "debris"], [*spec.values, 128], [*spec.colors, (1, 2, 3)]))
    assert window.session.store._saving.spec_unsaved
    (folder / "classes.json").rmdir()
    (folder / "classes.json").write_bytes(old)  # the old list is still there; now it can be replaced
    window.session.begin_edit()
    window.session.stroke((1, 1), (1, 1), 3, 2)
    window.session.end_edit()
    assert window.session.save()
    assert ClassSpec.load(folder).names[-1] == "debris" and not window.session.store._saving.spec_unsaved
