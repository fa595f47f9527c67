"""Mask editing on plain numpy arrays: strokes, fills, polygons and the undo history (no Qt)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from segcore.annotate import (
    IGNORE_INDEX,
    EditSession,
    History,
    apply_footprint,
    flood_footprint,
    line_footprint,
    polygon_footprint,
)
from segcore.errors import DataError


def test_click_paints_a_disc_of_the_brush_size():
    mask = np.zeros((40, 40), np.uint8)
    box = apply_footprint(mask, line_footprint(mask.shape, (20.5, 20.5), (20.5, 20.5), 9), 1)
    assert mask[20, 20] == 1 and mask[20, 24] == 1 and mask[20, 25] == 0  # radius 4.5 from the centre pixel
    assert mask[16, 16] == 0  # a disc, not a square
    ys, xs = np.nonzero(mask)
    assert box == (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)
    area = mask.sum()
    assert abs(area - np.pi * 4.5**2) < 10


def test_size_one_stroke_is_a_connected_line():
    mask = np.zeros((20, 20), np.uint8)
    apply_footprint(mask, line_footprint(mask.shape, (1.5, 1.5), (17.5, 9.5), 1), 3)
    for col in range(1, 18):  # every column between the ends is reached
        assert mask[:, col].any(), col
    assert set(np.unique(mask)) == {0, 3}


def test_stroke_covers_the_segment_between_mouse_events():
    mask = np.zeros((50, 200), np.uint8)
    apply_footprint(mask, line_footprint(mask.shape, (10, 25), (190, 25), 6), 2)
    assert mask[25, 10:190].all() and mask[22:28, 100].all()
    assert not mask[:20].any() and not mask[31:].any()


def test_stroke_clipped_at_borders_and_outside_is_none():
    mask = np.zeros((10, 10), np.uint8)
    fp = line_footprint(mask.shape, (-2, 5), (3, 5), 4)
    assert fp is not None and fp.x0 == 0
    assert line_footprint(mask.shape, (-50, -50), (-40, -40), 3) is None


def test_eraser_and_unlabelled_brush_write_their_values():
    mask = np.ones((30, 30), np.uint8)
    apply_footprint(mask, line_footprint(mask.shape, (5, 5), (5, 5), 5), 0)
    apply_footprint(mask, line_footprint(mask.shape, (20, 20), (20, 20), 5), IGNORE_INDEX)
    assert mask[4, 4] == 0 and mask[19, 19] == IGNORE_INDEX and mask[12, 12] == 1


def test_flood_fill_stays_inside_a_4_connected_region():
    mask = np.zeros((30, 30), np.uint8)
    mask[5:25, 5] = mask[5:25, 24] = mask[5, 5:25] = mask[24, 5:25] = 1  # closed square outline
    mask[15, 15] = 2  # an island inside
    fp = flood_footprint(mask, (10.2, 10.7))
    apply_footprint(mask, fp, 3)
    assert (mask[6:24, 6:24] == 3).sum() == 18 * 18 - 1
    assert mask[15, 15] == 2 and mask[0, 0] == 0 and mask[5, 5] == 1
    # A diagonal gap does not leak (4-connectivity).
    diag = np.eye(10, dtype=np.uint8)
    apply_footprint(diag, flood_footprint(diag, (0.5, 9.5)), 5)
    assert diag[9, 0] == 5 and diag[0, 9] == 0 and diag[5, 5] == 1


def test_flood_fill_matches_a_reference_on_random_masks():
    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = (rng.random((40, 50)) < 0.4).astype(np.uint8)
        y, x = map(int, rng.integers(0, 40, 2))
        fp = flood_footprint(mask, (x + 0.5, y + 0.5))
        got = np.zeros(mask.shape, bool)
        got[fp.y0:fp.y0 + fp.sel.shape[0], fp.x0:fp.x0 + fp.sel.shape[1]] = fp.sel
        assert (got == _reference_fill(mask, y, x)).all()


def _reference_fill(mask, y, x):
    want = np.zeros(mask.shape, bool)
    stack, value = [(y, x)], mask[y, x]
    while stack:
        r, c = stack.pop()
        if 0 <= r < mask.shape[0] and 0 <= c < mask.shape[1] and not want[r, c] and mask[r, c] == value:
            want[r, c] = True
            stack += [(r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)]
    return want


def test_flood_fill_outside_is_none_and_large_fill_is_fast():
    assert flood_footprint(np.zeros((5, 5), np.uint8), (9, 9)) is None
    mask = np.zeros((4096, 4096), np.uint8)
    mask[::64, :] = 1  # 64 bands: many runs, one region per band
    start = time.perf_counter()
    fp = flood_footprint(mask, (100.5, 100.5))
    assert time.perf_counter() - start < 3.0
    assert fp.sel.shape == (63, 4096) and fp.sel.all()


def test_polygon_fill_rectangle_and_triangle():
    mask = np.zeros((20, 20), np.uint8)
    apply_footprint(mask, polygon_footprint(mask.shape, [(2, 3), (12, 3), (12, 8), (2, 8)]), 1)
    assert mask[3:8, 2:12].all() and mask.sum() == 50
    tri = np.zeros((20, 20), np.uint8)
    apply_footprint(tri, polygon_footprint(tri.shape, [(0, 0), (20, 0), (0, 20)]), 1)
    assert tri[0, 0] == 1 and tri[19, 19] == 0 and tri[5, 5] == 1
    assert abs(int(tri.sum()) - 200) <= 20


def test_polygon_needs_three_points_and_handles_self_intersection():
    assert polygon_footprint((10, 10), [(1, 1), (5, 5)]) is None
    bowtie = polygon_footprint((20, 20), [(0, 0), (20, 20), (20, 0), (0, 20)])
    assert bowtie.sel[10, 2] and bowtie.sel[10, 17] and not bowtie.sel[2, 10]  # left and right lobes


def test_bad_mask_type_is_a_data_error():
    with pytest.raises(DataError, match="uint8"):
        apply_footprint(np.zeros((4, 4), np.int32), line_footprint((4, 4), (1, 1), (1, 1), 1), 1)


def test_history_undo_redo_restores_exact_arrays():
    rng = np.random.default_rng(1)
    mask = rng.integers(0, 3, (300, 300)).astype(np.uint8)
    history, states = History(), [mask.copy()]
    for i in range(4):
        session = EditSession(mask)
        a, b = rng.uniform(0, 300, 2), rng.uniform(0, 300, 2)
        session.apply(line_footprint(mask.shape, a, b, 15), i + 3)
        session.apply(line_footprint(mask.shape, b, b + 20, 15), i + 3)
        history.push(session.finish())
        states.append(mask.copy())
    for want in reversed(states[:-1]):
        history.undo(mask)
        assert (mask == want).all()
    assert history.undo(mask) is None and not history.can_undo
    for want in states[1:]:
        history.redo(mask)
        assert (mask == want).all()
    assert history.redo(mask) is None


def test_edit_stores_only_the_changed_box():
    mask = np.zeros((2048, 2048), np.uint8)
    session = EditSession(mask)
    for x in range(1000, 1100, 5):
        session.apply(line_footprint(mask.shape, (x, 500), (x + 5, 500), 10), 1)
    edit = session.finish()
    assert edit.box == (495, 995, 505, 1105)  # radius 5 around row 500, columns 1000..1100
    assert edit.nbytes == 2 * 10 * 110
    assert EditSession(mask).finish() is None  # no change, no step


def test_session_that_changes_nothing_adds_no_step_and_new_edit_clears_redo():
    mask = np.ones((20, 20), np.uint8)
    history = History()
    session = EditSession(mask)
    session.apply(line_footprint(mask.shape, (5, 5), (5, 5), 3), 1)
    history.push(session.finish())
    assert not history.can_undo
    session = EditSession(mask)
    session.apply(flood_footprint(mask, (0, 0)), 2)
    history.push(session.finish())
    history.undo(mask)
    assert history.can_redo
    session = EditSession(mask)
    session.apply(line_footprint(mask.shape, (5.5, 5.5), (5.5, 5.5), 3), 0)  # a 3x3 disc
    history.push(session.finish())
    assert not history.can_redo and (mask == 1).sum() == 400 - 9


def test_replace_whole_mask_is_one_undoable_step():
    mask = np.zeros((30, 30), np.uint8)
    new = mask.copy()
    new[10:12, 3:7] = 2
    history, session = History(), EditSession(mask)
    assert session.replace(new) == (10, 3, 12, 7)
    history.push(session.finish())
    assert (mask == new).all()
    history.undo(mask)
    assert not mask.any()
    with pytest.raises(DataError):
        EditSession(mask).replace(np.zeros((3, 3), np.uint8))


def test_history_drops_oldest_steps_past_its_limits():
    mask = np.zeros((100, 100), np.uint8)
    history = History(max_steps=3)
    for i in range(5):
        session = EditSession(mask)
        session.apply(line_footprint(mask.shape, (50, 50), (50, 50), 5), i + 1)
        history.push(session.finish())
    assert sum(1 for _ in iter(lambda: history.undo(mask), None)) == 3
    assert mask[50, 50] == 2



def test_history_knows_when_the_mask_is_back_to_its_saved_state():
    from segcore.annotate import EditSession, History, line_footprint

    mask = np.zeros((20, 20), np.uint8)
    history = History()

    def stroke(y: int) -> None:
        session = EditSession(mask)
        session.apply(line_footprint(mask.shape, (2, y), (15, y), 3), 1)
        history.push(session.finish())

    assert history.clean
    stroke(5)
    assert not history.clean
    history.undo(mask)
    assert history.clean  # undone to the file: nothing to save
    history.redo(mask)
    history.mark_clean()  # saved with the stroke
    history.undo(mask)
    assert not history.clean  # differs from the file now
    stroke(12)  # a new branch: the saved state can no longer be reached by undo or redo
    history.undo(mask)
    assert not history.clean
