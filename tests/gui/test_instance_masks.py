"""A folder of instance masks (one id per object) in the window: painted as one object class, saved without
losing the ids; no "unlabelled" and no extra classes, which such files cannot hold."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from segcore.data import io

from .conftest import drag, view_point

pytestmark = pytest.mark.gui


def _instance_folder(root):
    folder = root / "cells"
    for i, count in enumerate((9, 11)):
        ids = np.zeros((60, 90), np.uint16)
        for k in range(count):
            y, x = 4 + (k // 6) * 20, 4 + (k % 6) * 14
            ids[y:y + 8, x:x + 8] = 200 + 37 * k  # ids need not be consecutive
        io.write_image(folder / "images" / f"im{i}.png", np.where(ids > 0, 200, 30).astype(np.uint8))
        (folder / "masks").mkdir(parents=True, exist_ok=True)
        Image.fromarray(ids).save(folder / "masks" / f"im{i}.png")
    return folder


def test_painting_instance_masks_keeps_every_id(qtbot, window, tmp_path, isolated_settings):
    folder = _instance_folder(tmp_path)
    before = io.read_mask_raw(folder / "masks" / "im0.png")
    assert window.open_folder(folder)
    session = window.session
    assert session.spec.instances and window.palette_panel.list.count() == 2
    assert not window.palette_panel.add_button.isEnabled()
    assert not window.findChild(QAction, "unlabelledTool").isEnabled()
    assert not window.findChild(QAction, "clearUnlabelledAction").isEnabled()
    assert "instance labels" in window.statusBar().message()
    window.palette_panel.select(1)
    window.brush.spin.setValue(3)
    window.canvas.setFocus()
    drag(qtbot, window, [(12.5, 8.5), (14.5, 8.5)])  # widens the first object (rows 4-11, cols 4-11)
    drag(qtbot, window, [(40.5, 52.5), (60.5, 52.5)])  # a new object in empty space
    window.session.select(1)  # moving on saves
    after = io.read_mask_raw(folder / "masks" / "im0.png")
    old = before != 0
    assert np.array_equal(after[old], before[old])  # no id lost or changed
    assert after[8, 13] == before[8, 8]  # the widened part joined its object
    new_ids = set(np.unique(after[51:54, 41:60]).tolist()) - {0}
    assert len(new_ids) == 1 and new_ids.isdisjoint(set(np.unique(before).tolist()))
    assert '"instances": true' in (folder / "classes.json").read_text()  # the folder now says how to read it


def test_undoing_an_accepted_prediction_writes_the_original_ids_back(qtbot, window, tmp_path):
    folder = _instance_folder(tmp_path)
    before = io.read_mask_raw(folder / "masks" / "im0.png")
    assert window.open_folder(folder)
    session = window.session
    predicted = session.mask.copy()
    predicted[4:12, 4:12] = 0  # the prediction misses the first object ...
    predicted[50:56, 80:86] = 1  # ... and finds one that is not there
    session.accept_mask(predicted)
    session.select(1)  # saved: the first object's id is gone from the file
    assert before[8, 8] not in io.read_mask_raw(folder / "masks" / "im0.png")
    session.select(0)
    session.undo()
    session.select(1)  # saved again, after the undo: the same file as before, ids and all
    assert np.array_equal(io.read_mask_raw(folder / "masks" / "im0.png"), before)


def test_filling_an_object_with_background_erases_that_object_not_the_ones_touching_it(qtbot, window, tmp_path):
    """Touching objects are one region of the "object" class, so the fill tool erased a whole cluster of cells
    when asked to erase one."""
    folder = tmp_path / "touching"
    ids = np.zeros((40, 60), np.uint16)
    ids[10:20, 10:20], ids[10:20, 20:30], ids[25:30, 40:50] = 300, 512, 7  # two touching cells and one apart
    io.write_image(folder / "images" / "im0.png", np.where(ids > 0, 200, 30).astype(np.uint8))
    io.write_image(folder / "images" / "im1.png", np.full(ids.shape, 30, np.uint8))
    (folder / "masks").mkdir(parents=True)
    Image.fromarray(ids).save(folder / "masks" / "im0.png")
    (folder / "classes.json").write_text('{"instances": true}')  # three ids are too few to tell
    assert window.open_folder(folder) and window.session.spec.instances
    window.palette_panel.select(0)
    window.findChild(QAction, "fillTool").trigger()
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window, 12.5, 12.5))
    window.session.select(1)  # saved
    after = io.read_mask_raw(folder / "masks" / "im0.png")
    assert (after[10:20, 10:20] == 0).all()
    assert (after[10:20, 20:30] == 512).all() and (after[25:30, 40:50] == 7).all()
