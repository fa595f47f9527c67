"""File > Import / Export Annotations (issue 16): an import is one undoable step saved like painting; export
writes the current mask or every mask in another tool's format; bad files are a dialog, nothing changes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from segcore.data import io
from segcore.data.classes import ClassSpec

pytestmark = pytest.mark.gui
pytest.importorskip("shapely", reason="shapely not installed (pip install 'segstudio[interop]')")
pytest.importorskip("roifile", reason="roifile not installed (pip install 'segstudio[interop]')")


def _trigger(window, name: str) -> None:
    window.findChild(QAction, name).trigger()


def test_import_geojson_from_the_file_menu_is_undoable_and_saved(qtbot, window, folder, tmp_path, monkeypatch,
                                                                  isolated_settings):
    window.session.open_folder(folder)
    window.session.select(0)
    menu_names = [a.objectName() for a in window.menus.file.actions()]
    assert menu_names.index("importAnnotationsAction") < menu_names.index("saveAction")
    shape = window.session.mask.shape
    qupath = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[40, 5], [70, 5], [70, 25], [40, 25],
                                                                             [40, 5]]]},
         "properties": {"objectType": "annotation", "classification": {"name": "Cell", "color": [255, 0, 0]}}}]}
    (tmp_path / "a.geojson").write_text(json.dumps(qupath))
    before = window.session.mask.copy()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "a.geojson"), ""))
    _trigger(window, "importAnnotationsAction")
    mask = window.session.mask
    assert mask.shape == shape and mask[5:25, 40:70].all() and mask.sum() == 20 * 30  # "Cell" matched "cell"
    assert window.findChild(QAction, "undoAction").isEnabled()
    window.session.undo()
    assert np.array_equal(window.session.mask, before)
    window.session.redo()
    assert window.session.save()
    saved = io.read_mask(folder / "masks" / "img_0.png", ClassSpec(["background", "cell"], [0, 255]))
    assert np.array_equal(saved, window.session.mask)
    # a file of another image's size, or without geometry: a dialog, and the mask stays
    (tmp_path / "b.geojson").write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                                        '"geometry": null, "properties": {}}]}')
    kept = window.session.mask.copy()
    assert not window.jobs.annotations.import_file(str(tmp_path / "b.geojson"))
    assert "no polygon geometry" in isolated_settings[-1][1]
    assert np.array_equal(window.session.mask, kept)


def test_export_current_and_whole_folder_then_import_them_back(qtbot, window, folder, tmp_path, monkeypatch):
    import roifile

    window.session.open_folder(folder)
    window.session.select(0)
    monkeypatch.setattr("app.controllers.annotation_transfer.ask_export_target", lambda *a, **k: (tmp_path / "img_0.zip", "roi"))
    _trigger(window, "exportAnnotationsAction")
    assert [r.name for r in roifile.roiread(tmp_path / "img_0.zip")] == ["cell-0001"]
    worker = window.jobs.annotations.export_folder(str(tmp_path / "qupath"), "geojson")
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        pass
    assert sorted(p.name for p in (tmp_path / "qupath").iterdir()) == ["img_0.geojson", "img_1.geojson"]
    # the exported files back onto a copy of the folder with its masks removed, as a folder import
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "masks")
    (copy / "masks").mkdir()
    window.session.open_folder(copy)
    assert window.jobs.annotations.import_folder(str(tmp_path / "qupath")) == 2
    for name in ("img_0.png", "img_1.png"):
        assert np.array_equal(io.read_mask_raw(copy / "masks" / name), io.read_mask_raw(folder / "masks" / name))


def test_imported_cellpose_objects_that_touch_are_saved_apart(qtbot, window, tmp_path, monkeypatch):
    """Through the menu, the session and the store: two touching cells of a Cellpose file stay two ids on disk."""
    folder = tmp_path / "cells"
    io.write_image(folder / "images" / "a.png", np.full((40, 50), 30, np.uint8))
    (folder / "classes.json").write_text('{"instances": true}')
    ids = np.zeros((40, 50), np.uint16)
    ids[5:20, 5:20], ids[5:20, 20:35] = 1, 2
    np.save(tmp_path / "a_seg.npy", {"masks": ids, "outlines": np.zeros_like(ids)}, allow_pickle=True)
    window.open_folder(folder)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "a_seg.npy"), ""))
    _trigger(window, "importAnnotationsAction")
    assert window.session.dirty
    assert window.session.save()
    saved = io.read_mask_raw(folder / "masks" / "a.png")
    assert np.array_equal(saved, ids)
    window.session.undo()
    assert not window.session.mask.any()


def _bad_files(folder):
    """One damaged file of each format the window imports, named for what is wrong with it -> the message."""
    import tifffile

    roi = folder / "cut.zip"  # a ROI set cut in half (a download or copy that stopped)
    (folder / "whole").mkdir()
    from segcore.interop.annotation import Annotation
    from segcore.interop.imagej import write_roiset

    ids = np.zeros((64, 80), np.uint16)
    ids[5:20, 5:20], ids[30:40, 40:60] = 1, 2
    write_roiset(folder / "whole" / "a.zip", Annotation.from_values(ids, ClassSpec.for_instances()))
    data = (folder / "whole" / "a.zip").read_bytes()
    roi.write_bytes(data[: len(data) // 2])
    (folder / "empty.geojson").write_text('{"type": "Feature", "geometry": null, "properties": {}}')

    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    np.save(folder / "evil_seg.npy", {"masks": np.ones((64, 80), np.uint16), "x": Payload()}, allow_pickle=True)
    tifffile.imwrite(folder / "stack.ome.tif", np.zeros((2, 3, 64, 80), np.uint8), ome=True,
                     metadata={"axes": "TZYX"})
    bad = {"cut.zip": "damaged or truncated ImageJ ROI file", "empty.geojson": "no polygon geometry",
           "evil_seg.npy": "not a readable Cellpose _seg.npy", "stack.ome.tif": "(axes TZYX"}
    try:
        import zarr
    except ImportError:  # the interop extra's OME-Zarr part (Python 3.11+)
        return bad
    zarr.open_group(str(folder / "plain.zarr"), mode="w").attrs["note"] = "a Zarr store, no OME metadata"
    return {**bad, "plain.zarr": "Zarr store without OME-NGFF 'multiscales' metadata"}


def test_a_bad_file_of_each_format_is_one_line_in_a_dialog_and_the_mask_stays(qtbot, window, folder, tmp_path,
                                                                               isolated_settings):
    window.session.open_folder(folder)
    window.session.select(0)
    mask_file = folder / "masks" / "img_0.png"
    before, on_disk = window.session.mask.copy(), mask_file.read_bytes()
    for name, message in _bad_files(tmp_path).items():
        assert not window.jobs.annotations.import_file(str(tmp_path / name)), name
        title, text = isolated_settings[-1]
        assert message in text and "\n" not in text and "Traceback" not in text, (name, text)
        assert np.array_equal(window.session.mask, before) and not window.session.dirty
    assert mask_file.read_bytes() == on_disk
