"""Where masks came from, kept with the folder (segcore.annotate.provenance) and followed by the store: an
accepted prediction stays "predicted" in the next session, a hand edit marks it corrected, and a mask the user
put back (undo to the file, Restore Replaced Annotation, another program's file) is hand-made again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from segcore.annotate import IGNORE_INDEX, AnnotationStore, ImageState
from segcore.annotate.provenance import PROVENANCE_FILE, Origin, kind_of
from tests.test_annotation_store import make_folder, paint

NET = Origin("network", "the network output of best.pt", "/runs/a/best.pt")


def reopened(folder: Path) -> AnnotationStore:
    store = AnnotationStore()
    store.open_folder(folder)
    return store


def test_an_accepted_prediction_is_predicted_in_the_next_session_until_corrected(tmp_path):
    folder = make_folder(tmp_path)
    store = reopened(folder)
    store.select(2)  # no mask yet
    store.accept_mask(np.ones_like(store.mask), origin=NET)
    assert store.save() and store.state(2) is ImageState.PREDICTED
    store = reopened(folder)
    assert store.state(2) is ImageState.PREDICTED and store.origin(store.samples[2].image) == NET
    store.select(2)
    paint(store, 20, 20, value=0)
    assert store.save() and store.state(2) is ImageState.ANNOTATED
    store = reopened(folder)
    assert store.state(2) is ImageState.ANNOTATED and store.origin(store.samples[2].image).corrected


def test_unsaved_accepts_are_not_recorded_for_the_file_on_disk(tmp_path):
    folder = make_folder(tmp_path)
    store = reopened(folder)
    store.accept_mask(np.ones_like(store.mask), origin=NET)  # over im0's hand-made mask: not saved
    store.select(2)
    paint(store, 3, 3)
    store.accept_mask(np.zeros_like(store.mask), origin=NET)
    store.discard_unsaved()  # closed without saving im2; im0 was saved when moving on
    store = reopened(folder)
    assert store.state(0) is ImageState.PREDICTED and store.state(2) is ImageState.NO_MASK


def test_undo_to_the_file_restore_and_import_bring_back_the_files_origin(tmp_path):
    folder = make_folder(tmp_path)
    store = reopened(folder)
    store.accept_mask(np.ones_like(store.mask), origin=NET)
    store.undo()  # back to the hand-made mask on disk
    assert store.origin(store.samples[0].image) is None and store.state(0) is ImageState.ANNOTATED
    store.accept_mask(np.ones_like(store.mask), origin=NET)
    assert store.save() and store.restore_replaced() and store.save()
    assert store.origin(store.samples[0].image) is None
    assert reopened(folder).state(0) is ImageState.ANNOTATED
    store.select(1)
    store.accept_mask(np.ones_like(store.mask), origin=NET)
    store.accept_mask(np.zeros_like(store.mask), ImageState.MODIFIED)  # an import: the user's annotation
    assert store.save() and reopened(folder).origin(store.samples[1].image) is None


def test_a_stroke_mask_is_listed_as_strokes_in_the_next_session(tmp_path):
    folder = make_folder(tmp_path)
    store = reopened(folder)
    store.accept_mask(np.full_like(store.mask, IGNORE_INDEX), ImageState.MODIFIED)
    paint(store, 10, 10)
    assert store.save() and store.state(0) is ImageState.STROKES
    assert reopened(folder).state(0) is ImageState.STROKES
    store.accept_mask(np.zeros_like(store.mask), ImageState.MODIFIED)  # every pixel labelled again
    assert store.save()
    assert reopened(folder).state(0) is ImageState.ANNOTATED
    assert json.loads((folder / PROVENANCE_FILE).read_text())["masks"] == {}


def test_a_copied_folder_keeps_the_origin_by_the_masks_content(tmp_path):
    import shutil

    folder = make_folder(tmp_path)
    store = reopened(folder)
    store.select(2)
    store.accept_mask(np.ones_like(store.mask), origin=NET)
    assert store.save()
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)  # new modification times
    mask = copy / "masks" / "im2.png"
    mask.touch()
    assert reopened(copy).state(2) is ImageState.PREDICTED


def test_an_unwritable_record_is_said_once_and_the_mask_is_saved(tmp_path):
    folder = make_folder(tmp_path)
    (folder / ".segstudio").write_text("a file where the folder should be")
    said = []
    store = AnnotationStore()
    store.on.message = said.append
    store.open_folder(folder)
    for index in (0, 1):
        store.select(index)
        store.accept_mask(np.ones_like(store.mask), origin=NET)
        assert store.save()
    assert len([line for line in said if "not kept for the next session" in line]) == 1


def test_kinds_follow_what_the_window_accepted():
    assert kind_of("the network output of best.pt") == "network" and kind_of("the CRF result") == "crf"
    assert kind_of("the mask the dense CRF completed from your strokes (spread 20 px)") == "scribbles"
    assert Origin.parse({"kind": "crf", "what": "the CRF result", "model": 3}) == Origin("crf", "the CRF result")
    assert Origin.parse({"kind": "crf"}) is None and Origin.parse([]) is None
