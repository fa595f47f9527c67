"""Real files from real users, met through the window: JPEG masks, phone photos, a read-only or vanishing folder,
a mask replaced by another program, a slide too big to show, unicode paths, whole-image training on mixed sizes
and masks that cannot teach. Each is reported, no edit is lost, the window goes on."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from segcore import atomic
from segcore.data import io
from segcore.data.classes import ClassSpec

from .conftest import drag, make_folder, wait_for_jobs
from .test_train_flow import TIMEOUT, click

pytestmark = pytest.mark.gui
BINARY = ClassSpec(["background", "cell"], [0, 255])
WATCH_MS = 30_000  # the file watcher's signal, on a shared machine under load


def key(qtbot, window, k) -> None:
    qtbot.keyClick(window.canvas, k)


def disc_mask(h: int, w: int, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.where((yy - h / 2 + 3) ** 2 + (xx - w / 2 + 5) ** 2 < radius**2, 255, 0).astype(np.uint8)


def test_a_folder_of_jpeg_masks_opens_and_says_what_is_wrong_with_them(qtbot, window, tmp_path):
    folder = tmp_path / "jpeg"
    for i in range(3):
        (folder / "masks").mkdir(parents=True, exist_ok=True)
        (folder / "images").mkdir(exist_ok=True)
        Image.fromarray(np.full((64, 64), 90, np.uint8)).save(folder / "images" / f"a{i}.png")
        Image.fromarray(disc_mask(64, 64, 12 + i)).save(folder / "masks" / f"a{i}.jpg", quality=75)
    assert window.open_folder(folder)
    message = window.statusBar().message()
    assert message.startswith("Warning: masks saved as JPEG") and "PNG" in message, message
    assert window.session.locked_reason is None
    assert set(np.unique(window.session.mask).tolist()) == {0, 1}  # every grey level read as its class


def test_a_folder_whose_mask_values_name_no_class_list_still_opens_with_the_masks_read_only(qtbot, window,
                                                                                            tmp_path):
    folder = make_folder(tmp_path, count=2)
    (folder / "classes.json").unlink()
    colours = np.zeros((64, 80, 3), np.uint8)
    colours[:10, :10] = (200, 30, 30)
    colours[20:30, :10] = (30, 200, 30)
    Image.fromarray(colours).save(folder / "masks" / "img_0.png")  # colour-coded: no classes can be inferred
    assert window.open_folder(folder)
    assert window.session.image is not None and "colour-coded" in window.statusBar().message()
    assert window.session.locked_reason and "colour-coded" in window.session.locked_reason


def test_phone_photos_are_shown_upright_and_their_masks_saved_in_the_displayed_geometry(qtbot, window, tmp_path):
    folder = tmp_path / "phone"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 96 x 64, shown 64 wide and 96 high
    Image.fromarray(np.full((64, 96, 3), 80, np.uint8)).save(folder / "photo.jpg", exif=exif)
    assert window.open_folder(folder)
    assert window.session.image.shape[:2] == (96, 64)
    assert window.canvas.image_item.pixmap().width() == 64 and window.canvas.image_item.pixmap().height() == 96
    window.canvas.setFocus()
    drag(qtbot, window, [(30.5, 80.5), (40.5, 80.5)])  # low on the upright photo
    assert window.session.save()
    saved = io.read_mask_raw(folder / "photo_mask.png")
    assert saved.shape == (96, 64) and saved[80, 35] == 255


def _read_only(monkeypatch, folder: Path) -> None:
    """Writes under ``folder`` fail as in a read-only folder (chmod has no effect for root, who runs CI)."""
    real = atomic._create_temporary

    def refuse(target: Path) -> Path:
        if folder in target.resolve().parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real(target)

    monkeypatch.setattr(atomic, "_create_temporary", refuse)


def test_a_read_only_folder_keeps_the_edits_and_offers_to_save_them_elsewhere(qtbot, window, tmp_path, monkeypatch,
                                                                              isolated_settings):
    folder = make_folder(tmp_path)
    assert window.open_folder(folder)
    _read_only(monkeypatch, folder.resolve())
    window.canvas.setFocus()
    drag(qtbot, window, [(40.5, 40.5), (50.5, 40.5)])
    key(qtbot, window, Qt.Key.Key_PageDown)  # the save on leaving fails
    title, text = isolated_settings[-1]
    assert title == "Mask not saved" and "Permission denied" in text and "another folder" in text
    assert window.session.unsaved_count() == 1
    elsewhere = tmp_path / "my masks"
    elsewhere.mkdir()
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Save)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(elsewhere))
    key(qtbot, window, Qt.Key.Key_PageUp)
    drag(qtbot, window, [(40.5, 50.5)])
    window.actions.save.trigger()  # fails again; this time the user answers "Save" in another folder
    assert window.session.unsaved_count() == 0
    assert io.read_mask(elsewhere / "img_0.png", window.session.spec)[40, 45] == 1
    assert io.read_mask(elsewhere / "img_0.png", window.session.spec)[50, 40] == 1
    assert (elsewhere / "classes.json").exists() and io.read_mask_raw(folder / "masks" / "img_0.png")[40, 45] == 0
    drag(qtbot, window, [(20.5, 55.5)])
    assert window.session.save() and io.read_mask(elsewhere / "img_0.png", window.session.spec)[55, 20] == 1


def test_a_folder_that_disappears_while_open_is_not_recreated_and_the_edits_are_kept(qtbot, window, tmp_path,
                                                                                    isolated_settings):
    folder = make_folder(tmp_path)
    assert window.open_folder(folder)
    window.canvas.setFocus()
    drag(qtbot, window, [(40.5, 40.5), (50.5, 40.5)])
    shutil.move(folder, tmp_path / "moved away")
    qtbot.waitUntil(lambda: "the folder is gone" in window.statusBar().message(), timeout=WATCH_MS)
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert not folder.exists(), "a save must not recreate the folder with only masks in it"
    assert any("the folder is gone" in str(text) for _title, text in isolated_settings)
    assert window.session.unsaved_count() == 1 and window.isVisible()
    shutil.move(tmp_path / "moved away", folder)  # put back: the edits were kept in memory
    key(qtbot, window, Qt.Key.Key_PageUp)
    assert window.session.mask[40, 45] == 1
    assert window.session.save() and io.read_mask(folder / "masks" / "img_0.png", window.session.spec)[40, 45] == 1


def test_a_mask_replaced_on_disk_is_reloaded_or_the_user_asked(qtbot, window, folder, monkeypatch):
    assert window.open_folder(folder)
    path = window.session.samples[0].mask
    other = np.zeros((64, 80), np.uint8)
    other[50:60, 50:60] = 1
    io.write_mask(path, other, BINARY)  # another program replaces the file; nothing edited here
    qtbot.waitUntil(lambda: window.session.mask[55, 55] == 1, timeout=WATCH_MS)
    assert "reloaded" in window.statusBar().message()
    window.canvas.setFocus()
    drag(qtbot, window, [(5.5, 5.5), (9.5, 5.5)])  # now there are edits
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[1:3]) or QMessageBox.StandardButton.Yes)
    other[:, :] = 0
    io.write_mask(path, other, BINARY)
    qtbot.waitUntil(lambda: bool(asked), timeout=WATCH_MS)
    assert asked[0][0] == "Mask changed on disk" and "Your edits to it are then lost" in asked[0][1]
    qtbot.waitUntil(lambda: not window.session.mask.any(), timeout=WATCH_MS)  # answered Yes: the file's content
    assert not window.session.dirty


def test_keeping_the_edits_over_a_replaced_mask_saves_them(qtbot, window, folder, monkeypatch):
    assert window.open_folder(folder)
    path = window.session.samples[0].mask
    window.canvas.setFocus()
    drag(qtbot, window, [(5.5, 5.5), (9.5, 5.5)])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    io.write_mask(path, np.zeros((64, 80), np.uint8), BINARY)
    window.folder_watch.watcher.blockSignals(True)  # asked at the save instead, as when no watcher fired
    assert window.session.save()
    assert io.read_mask(path, window.session.spec)[5, 7] == 1


def test_a_slide_too_big_to_show_is_refused_in_words_and_the_window_goes_on(qtbot, window, folder, monkeypatch):
    from test_reliability import header_only_png

    header_only_png(folder / "images" / "slide.png", 30000, 30000)
    assert window.open_folder(folder)
    window.session.select(len(window.session.samples) - 1)
    assert window.session.samples[window.session.index].image.name == "slide.png"
    message = window.statusBar().message()
    assert "30000x30000" in message and "more than the window shows" in message and "segcore predict" in message
    window.session.select(0)
    assert window.session.image is not None
    monkeypatch.setattr(io, "free_memory", lambda: 10_000)  # a machine with almost no memory free
    window.session.select(1)
    assert "GB of memory to show" in window.statusBar().message() and window.session.image is None


def test_unicode_and_spaces_in_the_folder_and_file_names(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "données été" / "图像 1")
    for sub in ("images", "masks"):
        for path in (folder / sub).iterdir():
            path.rename(path.with_name(f"cellule ñ {path.name}"))
    assert window.open_folder(folder)
    window.canvas.setFocus()
    drag(qtbot, window, [(40.5, 50.5), (45.5, 50.5)])
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.session.unsaved_count() == 0
    assert io.read_mask(folder / "masks" / "cellule ñ img_0.png", window.session.spec)[50, 42] == 1


def test_a_tiff_mask_saved_twice_keeps_every_original(qtbot, window, tmp_path):
    import tifffile

    folder = make_folder(tmp_path, count=2)
    (folder / "masks" / "img_0.png").unlink()
    tifffile.imwrite(folder / "masks" / "img_0.tif", np.zeros((64, 80), np.uint8))
    (folder / "masks" / "img_0.tif.orig").write_bytes(b"an older original")
    assert window.open_folder(folder)
    window.canvas.setFocus()
    drag(qtbot, window, [(40.5, 40.5)])
    assert window.session.save()
    assert (folder / "masks" / "img_0.tif.orig").read_bytes() == b"an older original"
    assert (folder / "masks" / "img_0.tif.orig2").exists() and (folder / "masks" / "img_0.png").exists()


def test_the_temporary_of_a_killed_save_is_removed_when_the_folder_opens(qtbot, window, folder):
    dead = 4_000_000  # no such process
    stray = folder / "masks" / f".img_0.ab12cd34.{atomic._HOST}-{dead}.tmp.png"
    stray.write_bytes(b"half a mask")
    assert window.open_folder(folder)
    assert not stray.exists()


# -- training from the window ----------------------------------------------------------------------------------
def test_whole_image_training_on_mixed_sizes_and_all_background_masks(qtbot, window, tmp_path, isolated_settings):
    mixed = tmp_path / "mixed"
    for i, (h, w) in enumerate([(97, 131), (75, 203), (64, 64), (120, 90), (81, 77), (66, 140)]):
        (mixed / "images").mkdir(parents=True, exist_ok=True)
        (mixed / "masks").mkdir(exist_ok=True)
        Image.fromarray(np.full((h, w), 60, np.uint8)).save(mixed / "images" / f"m{i}.png")
        Image.fromarray(disc_mask(h, w, min(h, w) / 4)).save(mixed / "masks" / f"m{i}.png")
    assert window.open_folder(mixed)
    jobs = window.jobs
    jobs.training_panel.form.set_values("unet", epochs=1, out=str(tmp_path / "run"), options="width=4",
                                        batch_size=4, patch_size=None, val_fraction=0.2, minutes=0)
    with qtbot.waitSignal(jobs.training.finished, timeout=TIMEOUT) as done:
        click(qtbot, jobs.training_panel.train_button)
    assert done.args[0].status == "completed", done.args[0].message
    wait_for_jobs(qtbot, jobs)  # the run's model loads and scores after it
    for path in (mixed / "masks").iterdir():
        Image.fromarray(np.zeros(io.read_mask_raw(path).shape, np.uint8)).save(path)
    assert window.open_folder(mixed)
    with qtbot.waitSignal(jobs.pool.busyChanged, timeout=TIMEOUT, check_params_cb=lambda busy: not busy):
        click(qtbot, jobs.training_panel.train_button)
    title, text = isolated_settings[-1]
    assert "holds only 'background'" in text and "nothing to learn" in text and "\n" not in text
