"""The annotation store without Qt: the save policy, per-image histories, parked masks, the predicted set,
instance ids and the fill rule, each seen through the plain callbacks the window turns into signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segcore.annotate import IGNORE_INDEX, AnnotationStore, ImageState, StoreCallbacks
from segcore.data import io, layout
from segcore.data.classes import ClassSpec
from segcore.errors import DataError

REPO = Path(__file__).resolve().parents[1]


class Recorder:
    """Callbacks that write down what they hear, by name."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def callbacks(self) -> StoreCallbacks:
        names = [f for f in StoreCallbacks.__dataclass_fields__]
        return StoreCallbacks(**{name: (lambda *a, n=name: self.calls.append((n, *a))) for name in names})

    def of(self, name: str) -> list[tuple]:
        return [c[1:] for c in self.calls if c[0] == name]


def make_folder(root: Path, count: int = 3, masks: int = 2) -> Path:
    """images/ + masks/: bright squares on grey; the first ``masks`` images have a mask (0/255)."""
    folder = root / "data"
    spec = ClassSpec(["background", "cell"], [0, 255])
    for i in range(count):
        image = np.full((40, 50), 30, np.uint8)
        image[5:15, 5:15] = 200
        io.write_image(folder / "images" / f"im{i}.png", image)
        if i < masks:
            mask = np.zeros((40, 50), np.uint8)
            mask[5:15, 5:15] = 1
            io.write_mask(folder / "masks" / f"im{i}.png", mask, spec)
    spec.save(folder)
    return folder


@pytest.fixture
def heard() -> Recorder:
    return Recorder()


@pytest.fixture
def store(tmp_path, heard) -> AnnotationStore:
    store = AnnotationStore(heard.callbacks())
    store.open_folder(make_folder(tmp_path))
    return store


def paint(store: AnnotationStore, x: float, y: float, value: int = 1, size: float = 3) -> None:
    store.begin_edit()
    store.stroke((x, y), (x, y), size, value)
    store.end_edit()


def test_opening_a_folder_announces_it_and_shows_the_first_image(store, heard):
    assert [c[0] for c in heard.calls[:2]] == ["folder_opened", "spec_changed"]
    assert heard.of("image_loaded") == [(0,)] and store.index == 0
    assert store.mask.shape == (40, 50) and store.mask[10, 10] == 1
    assert [store.state(i) for i in range(3)] == [ImageState.ANNOTATED, ImageState.ANNOTATED, ImageState.NO_MASK]


def test_moving_on_saves_the_mask_and_each_image_keeps_its_own_history(store, heard):
    store.select(2)  # no mask file yet
    paint(store, 30.5, 30.5)
    assert store.dirty and heard.of("state_changed")[-1] == (2, ImageState.MODIFIED)
    store.select(0)
    target = store.folder / "masks" / "im2.png"
    assert target.is_file() and store.state(2) is ImageState.ANNOTATED
    assert (2, ImageState.ANNOTATED) in heard.of("state_changed")
    paint(store, 20.5, 20.5)
    store.select(2)
    assert store.mask[30, 30] == 1
    store.undo()  # image 2's own stroke, not image 0's
    assert store.mask[30, 30] == 0 and store.dirty
    assert heard.of("history_changed")[-1] == (False, True)
    store.select(0)
    assert store.mask[20, 20] == 1  # image 0's stroke was saved when moving on
    store.undo()
    assert store.mask[20, 20] == 0


def test_undoing_back_to_nothing_on_an_image_without_a_mask_file_writes_no_file(store):
    store.select(2)
    paint(store, 30.5, 30.5)
    store.undo()
    assert not store.dirty and store.state(2) is ImageState.NO_MASK
    assert store.save_all()
    assert not (store.folder / "masks" / "im2.png").exists()


def test_a_mask_that_cannot_be_saved_is_parked_reported_and_saved_later(store, heard):
    store.select(2)
    blocker = store.folder / "masks" / "im2.png"
    blocker.mkdir()  # the file cannot be written, as in a read-only folder
    paint(store, 30.5, 30.5)
    store.select(0)
    assert len(heard.of("save_failed")) == 1 and "mask not saved" in heard.of("save_failed")[0][0]
    assert store.unsaved_count() == 1 and store.state(2) is ImageState.MODIFIED
    store.select(2)
    assert store.mask[30, 30] == 1 and store.dirty  # back from memory, still unsaved
    store.select(1)
    assert not store.save_all()  # still blocked: reported once, kept
    assert store.unsaved_count() == 1
    with pytest.raises(DataError, match="save or discard"):
        store.open_folder(store.folder)  # another folder would lose it: refused, nothing changes
    blocker.rmdir()
    assert store.save_all() and store.unsaved_count() == 0
    assert io.read_mask(blocker, store.spec)[30, 30] == 1


def test_discarding_forgets_the_parked_masks(store):
    store.select(2)
    (store.folder / "masks" / "im2.png").mkdir()
    paint(store, 30.5, 30.5)
    store.select(0)
    store.discard_unsaved()
    assert store.unsaved_count() == 0 and store.state(2) is ImageState.NO_MASK


def test_an_accepted_prediction_is_one_step_marked_predicted_until_corrected(store, heard):
    prediction = np.zeros_like(store.mask)
    prediction[20:30, 20:30] = 1
    store.accept_mask(prediction)
    assert heard.of("mask_replaced") == [()] and store.is_predicted(0)
    assert store.save() and store.state(0) is ImageState.PREDICTED
    paint(store, 2.5, 2.5)  # corrected by hand
    assert not store.is_predicted(0)
    store.undo()
    store.undo()
    assert store.mask[10, 10] == 1 and store.mask[25, 25] == 0  # the annotation as it was


def test_accepting_an_all_background_prediction_still_gives_an_unannotated_image_its_mask(store, heard):
    store.select(2)  # no mask file: starts all background
    store.accept_mask(np.zeros_like(store.mask))
    assert store.state(2) is ImageState.PREDICTED and store.is_predicted(2)  # unsaved, yet not corrected
    assert store.save() and (store.folder / "masks" / "im2.png").is_file()
    assert store.state(2) is ImageState.PREDICTED


def test_a_mask_of_the_wrong_size_locks_editing_and_is_never_overwritten(tmp_path, heard):
    folder = make_folder(tmp_path)
    wrong = folder / "masks" / "im1.png"
    io.write_mask(wrong, np.zeros((10, 10), np.uint8), ClassSpec(["background", "cell"], [0, 255]))
    before = wrong.read_bytes()
    store = AnnotationStore(heard.callbacks())
    store.open_folder(folder)
    store.select(1)
    assert "mask is 10x10 but image" in store.locked_reason and "is 50x40 (width x height)" in store.locked_reason and heard.of("error")
    paint(store, 5.5, 5.5)
    store.accept_mask(np.ones_like(store.mask))
    assert not store.dirty and store.save_all() and wrong.read_bytes() == before


def test_a_class_list_that_could_not_be_saved_is_saved_with_the_next_mask(store, heard):
    old = (store.folder / "classes.json").read_bytes()
    (store.folder / "classes.json").unlink()
    (store.folder / "classes.json").mkdir()
    spec = store.spec
    store.set_spec(ClassSpec([*spec.names, "debris"], [*spec.values, 128], [*spec.colors, (1, 2, 3)]))
    assert "cannot save the class list" in heard.of("error")[-1][0]
    (store.folder / "classes.json").rmdir()
    (store.folder / "classes.json").write_bytes(old)
    paint(store, 30.5, 30.5, value=2)
    assert store.save()
    assert ClassSpec.load(store.folder).names[-1] == "debris"


def test_sparse_masks_get_an_unlabelled_value_in_the_class_list(store):
    paint(store, 30.5, 30.5, value=IGNORE_INDEX)
    assert store.save()
    spec = ClassSpec.load(store.folder)
    assert spec.unlabelled is not None
    assert io.read_mask(store.folder / "masks" / "im0.png", spec)[30, 30] == IGNORE_INDEX


def _instance_folder(root: Path) -> Path:
    """Two touching objects (ids 7 and 9) and one apart (id 12)."""
    folder = root / "cells"
    ids = np.zeros((30, 40), np.uint16)
    ids[5:15, 5:15] = 7
    ids[5:15, 15:25] = 9
    ids[20:25, 30:35] = 12
    io.write_image(folder / "images" / "a.png", np.where(ids > 0, 200, 30).astype(np.uint8))
    (folder / "masks").mkdir()
    Image.fromarray(ids).save(folder / "masks" / "a.png")
    (folder / "classes.json").write_text('{"instances": true}')  # three ids are too few to tell by themselves
    return folder


def test_fill_on_an_instance_mask_erases_the_clicked_object_alone(tmp_path):
    store = AnnotationStore()
    store.open_folder(_instance_folder(tmp_path))
    assert store.spec.instances
    store.fill((7.5, 7.5), 0)  # id 7; id 9 touches it and is the same class
    assert not store.mask[5:15, 5:15].any() and store.mask[5:15, 15:25].all()
    assert store.save()
    ids = io.read_mask_raw(store.folder / "masks" / "a.png")
    assert set(np.unique(ids).tolist()) == {0, 9, 12}  # the others keep their ids


def test_undoing_a_merge_writes_the_original_ids_back(tmp_path):
    store = AnnotationStore()
    store.open_folder(_instance_folder(tmp_path))
    before = io.read_mask_raw(store.folder / "masks" / "a.png")
    merged = store.mask.copy()
    merged[10:20, 5:25] = 1
    store.accept_mask(merged)
    assert store.save()
    store.undo()
    assert store.save()
    assert np.array_equal(io.read_mask_raw(store.folder / "masks" / "a.png"), before)


def test_fill_on_a_class_mask_fills_the_connected_region(store):
    store.fill((30.5, 30.5), 1)  # the background around the square
    assert store.mask.all()
    store.undo()
    assert store.mask[30, 30] == 0 and store.mask[10, 10] == 1


def test_polygon_fills_inside_its_corners(store):
    store.polygon([(20, 20), (40, 20), (40, 35), (20, 35)], 1)
    assert store.mask[25, 30] == 1 and store.mask[5, 40] == 0


def test_autosave_waits_for_a_stroke_to_end(store):
    store.begin_edit()
    store.stroke((30.5, 30.5), (35.5, 30.5), 3, 1)
    store.autosave()
    on_disk = store.folder / "masks" / "im0.png"
    assert store.dirty and io.read_mask(on_disk, store.spec)[30, 33] == 0  # not saved mid-stroke
    store.end_edit()
    store.autosave()
    assert not store.dirty and io.read_mask(store.folder / "masks" / "im0.png", store.spec)[30, 33] == 1


# Saves random masks through the store as fast as it can, announcing each save.
WRITER = """
import sys
import numpy as np
from segcore.annotate import AnnotationStore
store = AnnotationStore()
store.open_folder(sys.argv[1])
rng = np.random.default_rng(0)
while True:
    store.accept_mask((rng.random(store.mask.shape) < 0.5).astype(np.uint8))
    assert store.save()
    print("saved", flush=True)
"""


def test_save_killed_midway_leaves_a_whole_mask_and_opening_cleans_up(tmp_path):
    folder = tmp_path / "kill"
    io.write_image(folder / "images" / "big.png", np.zeros((1024, 1024), np.uint8))
    target = folder / "masks" / "big.png"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    rng = np.random.default_rng(1)
    mid_write = 0  # kills that hit a write in progress (its hidden temporary file stays behind)
    for _ in range(10):
        leftovers = set((folder / "masks").glob(".*")) if (folder / "masks").is_dir() else set()
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, env=env,
                                cwd=REPO)
        try:
            assert proc.stdout.readline().strip() == b"saved"  # at least one complete mask exists
            time.sleep(float(rng.uniform(0.0, 0.3)))  # then kill at an arbitrary moment of the loop
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        mid_write += bool(set((folder / "masks").glob(".*")) - leftovers)
        with Image.open(target) as im:
            im.load()  # a truncated PNG raises here
        spec = layout.load_class_spec(folder, layout.find_samples(folder))
        mask = io.read_mask(target, spec)
        assert mask.shape == (1024, 1024) and set(np.unique(mask).tolist()) == {0, 1}
        if mid_write >= 3:
            break
    assert mid_write >= 1, "no kill landed during a write; the test proved nothing"
    # Leftover temporary files of killed writes are hidden and never taken for masks.
    assert [s.mask for s in layout.find_samples(folder)] == [target]
    # Opening the folder cleans them up once they are too old to be a write still in flight.
    leftovers = sorted((folder / "masks").glob(".*"))
    for path in leftovers:
        os.utime(path, (time.time() - 7200,) * 2)
    fd, in_flight = tempfile.mkstemp(prefix=".big.", suffix=".tmp.png", dir=folder / "masks")  # as atomic_path
    os.close(fd)
    heard = Recorder()
    store = AnnotationStore(heard.callbacks())
    store.open_folder(folder)
    assert sorted((folder / "masks").glob(".*")) == [Path(in_flight)]
    assert any(f"removed {len(leftovers)} unfinished temporary" in m for (m,) in heard.of("message"))
    assert store.mask is not None and store.mask.shape == (1024, 1024)


def test_a_replaced_hand_made_mask_is_kept_on_disk_and_restored(tmp_path):
    """Accepting a prediction over an annotation keeps the annotation (byte for byte when unedited)."""
    from segcore.annotate import AnnotationStore, ImageState
    from segcore.data import io
    from segcore.data.classes import ClassSpec

    spec = ClassSpec(["background", "cell"], [0, 255])
    folder = tmp_path / "f"
    mask = np.zeros((20, 30), np.uint8)
    mask[2:8, 3:9] = 1
    io.write_image(folder / "images" / "a.png", np.full((20, 30), 90, np.uint8))
    io.write_mask(folder / "masks" / "a.png", mask, spec)
    spec.save(folder)
    store = AnnotationStore()
    store.open_folder(folder)
    assert store.hand_made() and store.replaced() is None
    store.accept_mask(np.ones_like(mask))
    kept = store.replaced()
    assert kept is not None and kept.read_bytes() == (folder / "masks" / "a.png").read_bytes()
    assert store.save() and store.is_predicted(0) and not store.hand_made()
    assert store.restore_replaced() and (store.mask == mask).all() and store.state(0) is ImageState.MODIFIED
    store.mask[0, 0] = 1  # edited, not saved: the edited mask is what a later prediction replaces and keeps
    store.dirty = True
    store.accept_mask(np.zeros_like(mask))
    assert (io.read_mask(store.replaced(), spec)[0, 0], io.read_mask(store.replaced(), spec)[2, 3]) == (1, 1)


# -- imported annotations (issue 16): the object ids come with the mask, and Cellpose's own file stays --------------
def _touching(shape=(30, 40)) -> np.ndarray:
    """Two objects sharing an edge (ids 3 and 4): one region of the object class, two cells."""
    ids = np.zeros(shape, np.int32)
    ids[2:12, 2:12] = 3
    ids[2:12, 12:22] = 4
    return ids


def test_imported_touching_objects_keep_apart_on_an_image_without_a_mask(tmp_path):
    folder = _instance_folder(tmp_path)
    io.write_image(folder / "images" / "b.png", np.full((30, 40), 30, np.uint8))  # no mask file yet
    store = AnnotationStore()
    store.open_folder(folder)
    store.select(1)
    ids = _touching()
    store.accept_mask((ids > 0).astype(np.uint8), ImageState.MODIFIED, ids=ids)
    assert np.array_equal(store.object_ids(), ids)  # what Export writes, before any save
    assert store.save()
    assert np.array_equal(io.read_mask_raw(folder / "masks" / "b.png"), ids)
    store.begin_edit()  # an object painted after the import keeps its id from save to save
    store.stroke((35.5, 25.5), (37.5, 25.5), 3, 1)
    store.end_edit()
    assert store.save()
    painted = io.read_mask_raw(folder / "masks" / "b.png")
    assert set(np.unique(painted).tolist()) == {0, 3, 4, 5}
    store.undo()
    store.undo()  # the import
    assert not store.mask.any() and store.object_ids() is not None and not store.object_ids().any()
    store.redo()
    assert store.save()
    assert np.array_equal(io.read_mask_raw(folder / "masks" / "b.png"), ids)


def test_an_import_over_a_mask_file_is_undone_to_the_file_s_own_ids(tmp_path):
    store = AnnotationStore()
    store.open_folder(_instance_folder(tmp_path))
    path = store.folder / "masks" / "a.png"
    original = io.read_mask_raw(path)
    ids = _touching()
    store.accept_mask((ids > 0).astype(np.uint8), ImageState.MODIFIED, ids=ids)
    assert store.save()
    assert np.array_equal(io.read_mask_raw(path), ids)  # the import's numbers, not the file's 7 and 9
    store.undo()
    assert store.save()
    assert np.array_equal(io.read_mask_raw(path), original)


def test_ids_alone_are_an_undoable_step(tmp_path):
    """The same pixels split differently (a Cellpose file where the mask had one blob) change the objects."""
    store = AnnotationStore()
    store.open_folder(_instance_folder(tmp_path))
    path = store.folder / "masks" / "a.png"
    original = io.read_mask_raw(path)
    split = original.astype(np.int32)
    split[5:15, 5:10] = 40  # object 7 in two
    store.accept_mask(store.mask.copy(), ImageState.MODIFIED, ids=split)
    assert store.dirty and store.state(0) is ImageState.MODIFIED
    assert store.save()
    assert np.array_equal(io.read_mask_raw(path), split)
    store.undo()
    assert store.dirty
    assert store.save()
    assert np.array_equal(io.read_mask_raw(path), original)
    store.accept_mask(store.mask.copy(), ImageState.MODIFIED, ids=original)  # the ids it has: no step
    assert not store.dirty


def test_ids_that_do_not_fit_the_image_change_nothing(tmp_path):
    store = AnnotationStore()
    store.open_folder(_instance_folder(tmp_path))
    before = store.mask.copy()
    with pytest.raises(DataError, match=r"object ids must be integers of shape \(30, 40\), got \(30, 41\)"):
        store.accept_mask(np.ones_like(before), ImageState.MODIFIED, ids=np.ones((30, 41), np.int32))
    with pytest.raises(DataError, match="float"):
        store.accept_mask(np.ones_like(before), ImageState.MODIFIED, ids=np.ones((30, 40)))
    assert np.array_equal(store.mask, before) and not store.dirty


def test_saving_over_a_cellpose_file_leaves_it_for_cellpose(tmp_path):
    """An image annotated in Cellpose (a.png + a_seg.npy): the edits go to a_mask.png, which pairs first when the
    folder opens again; a_seg.npy is not renamed to .orig (Cellpose would lose its annotation)."""
    folder = tmp_path / "cellpose"
    ids = _touching()
    io.write_image(folder / "a.png", np.where(ids > 0, 200, 30).astype(np.uint8))
    np.save(folder / "a_seg.npy", {"masks": ids.astype(np.uint16), "outlines": np.zeros_like(ids, np.uint16)},
            allow_pickle=True)
    seg_bytes = (folder / "a_seg.npy").read_bytes()
    rec = Recorder()
    store = AnnotationStore(rec.callbacks())
    store.open_folder(folder)
    assert store.spec.instances and store.samples[0].mask.name == "a_seg.npy"
    assert np.array_equal(store.object_ids(), ids)
    store.fill((3.5, 3.5), 0)  # erase cell 3; cell 4, touching it, stays
    assert store.save()
    assert (folder / "a_seg.npy").read_bytes() == seg_bytes and not (folder / "a_seg.npy.orig").exists()
    assert any("a_seg.npy is left for Cellpose; the edited mask is saved as a_mask.png" in m[0]
               for m in rec.of("message"))
    assert np.array_equal(io.read_mask_raw(folder / "a_mask.png"), np.where(ids == 4, 4, 0))
    assert [s.mask.name for s in layout.find_samples(folder)] == ["a_mask.png"]


def test_a_sparse_annotation_replaced_by_a_proposal_leaves_masks_the_class_list_explains(tmp_path, heard):
    """Scribbles (unlabelled pixels) replaced by a proposal: keeping them aside assigns the "unlabelled" file value
    (254: the classes use 0 and 255); the proposal's own unlabelled pixels are saved with it later, and
    classes.json must say so or training refuses the mask (found retraining after Propose mask)."""
    folder = make_folder(tmp_path, masks=1)
    store = AnnotationStore(heard.callbacks())
    store.open_folder(folder)
    store.select(0)
    scribbles = np.full_like(store.mask, IGNORE_INDEX)
    scribbles[8, 5:15], scribbles[30, 5:45] = 1, 0
    store.accept_mask(scribbles, state=ImageState.MODIFIED)  # hand-made strokes on an unlabelled mask
    proposal = np.zeros_like(store.mask)
    proposal[5:15, 5:15], proposal[35:, :] = 1, IGNORE_INDEX  # no stroke reached the bottom rows
    store.accept_mask(proposal)  # keeps the strokes in .segstudio/replaced/ first
    assert store.save()
    spec = ClassSpec.load(folder)
    assert spec.unlabelled == 254, spec
    assert np.array_equal(io.read_mask(folder / "masks" / "im0.png", spec), proposal)
    replaced = store.replaced()
    assert replaced is not None and (io.read_mask(replaced, spec) == IGNORE_INDEX).any()
