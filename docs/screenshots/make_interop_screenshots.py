"""The window's annotation import/export: ``QT_QPA_PLATFORM=offscreen python docs/screenshots/make_interop_screenshots.py``.

Writes ``interop_file_menu.png`` (File menu open, *Import Annotations…* under the pointer),
``interop_export_dialog.png`` (File > Export Annotations…: one save dialog whose file type is the format),
``interop_imported_geojson.png`` (a BBBC039 nucleus mask exported as QuPath GeoJSON with ``segcore convert``'s
code, then imported through File > Import Annotations… onto a copy of its image) and ``window_pyramid_level.png``
(the same image as a 3-level pyramidal OME-TIFF stating 0.325 µm pixels, shown at level 1 with its level list
open, a stroke painted there, the cursor position in µm and the scale bar). It prints how many objects
came in and how many connected regions they form (touching nuclei are one region but keep their own ids).
Needs ../shared/data/bbbc039 and the ``interop`` extra. The file dialog is answered by the script (no modal
dialog waits); nothing is written outside a temporary folder and this one.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QPainter  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog  # noqa: E402

BBBC039 = REPO.parent / "shared" / "data" / "bbbc039"
if not BBBC039.is_dir():
    BBBC039 = Path("/work/shared/data/bbbc039")
STEM = "IXMtest_A06_s6_w1B9577918-4973-4A87-BA73-A168AA755527"  # many nuclei, several touching


def settle(app: QApplication) -> None:
    """Let the window lay out and paint (the plots draw on a timer)."""
    for _ in range(20):
        app.processEvents()
    QTest.qWait(300)


def menu_screenshot(app: QApplication, window) -> None:
    """The window with its File menu open; the menu is a popup window of its own, so it is painted onto the grab."""
    menu = window.menus.file
    bar = window.menuBar()
    origin = bar.actionGeometry(menu.menuAction()).bottomLeft()
    menu.popup(bar.mapToGlobal(origin))
    menu.setActiveAction(window.actions.import_annotations)
    settle(app)
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(bar.mapTo(window, origin) + QPoint(0, 1), menu.grab())
    painter.end()
    menu.hide()
    shot.save(str(HERE / "interop_file_menu.png"))


def export_dialog_screenshot(app: QApplication, window) -> None:
    """File > Export Annotations…: the one save dialog with OME-Zarr chosen as its file type, the name following
    it. The dialog is then cancelled."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QComboBox

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, answer)
            return
        combo = dialog.findChild(QComboBox, "fileTypeCombo")
        combo.setCurrentIndex(next(i for i in range(combo.count()) if combo.itemText(i).startswith("OME-Zarr")))
        combo.activated.emit(combo.currentIndex())
        settle(app)
        dialog.grab().save(str(HERE / "interop_export_dialog.png"))
        dialog.reject()

    QTimer.singleShot(0, answer)
    window.actions.export_annotations.trigger()


def pyramid_screenshot(app: QApplication, tmp: Path) -> None:
    """A pyramidal OME-TIFF at level 1, painted there, with the level chooser's list painted onto the grab."""
    import numpy as np
    import tifffile

    from app.window import MainWindow
    from segcore.data import io

    image = np.kron(io.read_image(BBBC039 / "images" / f"{STEM}.png")[..., 0], np.ones((4, 4), np.uint16))
    folder = tmp / "slide"
    (folder / "images").mkdir(parents=True)
    with tifffile.TiffWriter(folder / "images" / "nuclei_A06.ome.tif") as tif:
        tif.write(image, subifds=2, metadata={"axes": "YX", "PhysicalSizeX": 0.325, "PhysicalSizeY": 0.325})
        for step in (2, 4):
            tif.write(image[::step, ::step], subfiletype=1)
    window = MainWindow(autosave_ms=0)
    window.resize(1400, 900)
    window.show()
    window.open_folder(folder)
    window.session.set_level(1)
    settle(app)
    canvas = window.canvas
    canvas.set_brush_size(14)
    viewport = canvas.viewport()
    points = [canvas.mapFromScene(x, y) for x, y in ((560.0, 400.0), (640.0, 420.0), (700.0, 470.0))]
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=points[0])
    for point in points[1:]:
        QTest.mouseMove(viewport, point)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=points[-1])
    combo = window.status_labels.level
    combo.showPopup()
    canvas.hovered.emit(700, 470)  # the cursor over the stroke's end (the open list holds the mouse)
    settle(app)
    shot = window.grab()
    popup = combo.view().window()
    painter = QPainter(shot)  # the list drawn where a desktop puts it: above the chooser, in the window
    painter.drawPixmap(combo.mapTo(window, QPoint(0, -popup.height())), popup.grab())
    painter.end()
    combo.hidePopup()
    shot.save(str(HERE / "window_pyramid_level.png"))
    print(f"pyramid: {window.status_labels.image.full_text()}; {window.status_labels.position.text()}")
    window.session.discard_unsaved()
    window.close()


def main() -> None:
    import numpy as np
    from scipy import ndimage

    from app.window import MainWindow
    from segcore.interop.convert import convert

    if not BBBC039.is_dir():
        sys.exit(f"{BBBC039}: BBBC039 not found (see /work/shared/data/README.md)")
    tmp = Path(tempfile.mkdtemp(prefix="segstudio_interop_shots_"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    app = QApplication.instance() or QApplication([])
    try:
        folder = tmp / "nuclei"
        (folder / "images").mkdir(parents=True)
        shutil.copy(BBBC039 / "images" / f"{STEM}.png", folder / "images" / "nuclei_A06.png")
        (folder / "classes.json").write_text('{"instances": true}')
        geojson = tmp / "qupath" / "nuclei_A06.geojson"  # what QuPath would hand over
        convert(BBBC039 / "instances" / f"{STEM}.png", geojson, to="geojson")
        window = MainWindow(autosave_ms=0)
        window.resize(1400, 900)
        window.show()
        window.open_folder(folder)
        settle(app)
        menu_screenshot(app, window)
        QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: (str(geojson), ""))
        window.actions.import_annotations.trigger()
        window.canvas.zoom_by(1.6)
        settle(app)
        window.grab().save(str(HERE / "interop_imported_geojson.png"))
        ids = window.session.object_ids()
        regions = ndimage.label(window.session.mask == 1)[1]
        print(f"imported {len(np.unique(ids[ids > 0]))} objects in {regions} connected regions; status: "
              f"{window.statusBar().currentMessage()}")
        export_dialog_screenshot(app, window)
        window.session.discard_unsaved()
        window.close()
        pyramid_screenshot(app, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
