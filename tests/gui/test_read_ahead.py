"""Paging through a folder: the next image is decoded in the background, and never served stale."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from segcore.data import io

from .conftest import make_folder

pytestmark = pytest.mark.gui


def page(qtbot, window, key=Qt.Key.Key_PageDown):
    qtbot.keyClick(window.canvas, key)


def test_paging_forward_uses_the_image_read_ahead(qtbot, window, folder):
    assert window.open_folder(folder)
    expected = io.read_image(folder / "images" / "img_1.png")
    page(qtbot, window)
    assert window.session.index == 1 and window.session.store.reader.hits == 1
    np.testing.assert_array_equal(window.session.image, expected)
    page(qtbot, window)
    assert window.session.index == 2 and window.session.store.reader.hits == 2
    page(qtbot, window, Qt.Key.Key_PageUp)  # the direction of travel turned: img_1 was not read ahead ...
    assert window.session.index == 1 and window.session.store.reader.hits == 2
    page(qtbot, window, Qt.Key.Key_PageUp)  # ... but img_0, the next one going back, was
    assert window.session.index == 0 and window.session.store.reader.hits == 3


def test_a_file_changed_after_the_read_ahead_is_read_again(qtbot, window, tmp_path):
    folder = make_folder(tmp_path, size=(64, 80))
    assert window.open_folder(folder)  # img_1 is being read ahead now
    window.session.store.reader._job.future.result()  # ... and has been decoded
    changed = np.full((40, 50), 123, np.uint8)  # another size, so the file's size changes too
    io.write_image(folder / "images" / "img_1.png", changed)
    page(qtbot, window)
    assert window.session.store.reader.hits == 0
    assert window.session.image.shape[:2] == (40, 50) and (window.session.image == 123).all()


def test_an_unreadable_next_image_still_reports_its_error(qtbot, window, folder, isolated_settings):
    (folder / "images" / "img_1.png").write_bytes(b"not a png")
    assert window.open_folder(folder)
    page(qtbot, window)
    assert window.session.index == 1 and window.session.image is None
    assert "img_1.png" in window.statusBar().message() or any(
        "img_1.png" in str(text) for _, text in isolated_settings)
    page(qtbot, window)  # and the window goes on to the next one
    assert window.session.index == 2 and window.session.image is not None


def test_the_mask_comes_with_it_and_a_rewritten_mask_is_read_again(qtbot, window, folder):
    from segcore.data.classes import ClassSpec

    spec = ClassSpec(["background", "cell"], [0, 255])
    assert window.open_folder(folder)
    page(qtbot, window)
    assert window.session.store.reader.hits == 1
    np.testing.assert_array_equal(window.session.mask, io.read_mask(folder / "masks" / "img_1.png", spec))

    assert window.session.select(0)  # left at the first image, the folder reopens there
    assert window.open_folder(folder.parent / folder.name)  # afresh: img_1 and its mask are read ahead ...
    window.session.store.reader._job.future.result()
    hits = window.session.store.reader.hits
    replaced = np.zeros((64, 80), np.uint8)
    replaced[:5] = 1
    io.write_mask(folder / "masks" / "img_1.png", replaced, spec)  # ... then the mask changes on disk
    page(qtbot, window)
    assert window.session.index == 1 and window.session.store.reader.hits == hits  # not served stale
    np.testing.assert_array_equal(window.session.mask, replaced)


def test_a_bad_mask_read_ahead_still_locks_editing_with_its_reason(qtbot, window, folder):
    io.write_image(folder / "masks" / "img_1.png", np.full((10, 10), 255, np.uint8))  # wrong size
    assert window.open_folder(folder)
    window.session.store.reader._job.future.result()
    page(qtbot, window)
    assert window.session.store.reader.hits == 1
    assert window.session.locked_reason and "img_1.png" in window.session.locked_reason
