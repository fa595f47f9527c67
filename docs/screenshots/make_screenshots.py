"""Regenerate the window screenshots in this folder: ``QT_QPA_PLATFORM=offscreen python docs/screenshots/make_screenshots.py``.

Uses the bundled sample data (generated into a temporary folder) and ../shared/data/isbi2012_em when present.
Nothing is written into the data folders: the sample copy is temporary and the real data is only viewed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segcore.annotate import Tool  # noqa: E402


def settle(app: QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def mouse(window, kind, x: float, y: float) -> None:
    """Send a real mouse event to the canvas at image coordinate (x, y)."""
    viewport = window.canvas.viewport()
    pos = QPointF(window.canvas.mapFromScene(QPointF(x, y)))
    buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
    button = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def stroke(window, points) -> None:
    mouse(window, QMouseEvent.Type.MouseButtonPress, *points[0])
    for p in points[1:]:
        mouse(window, QMouseEvent.Type.MouseMove, *p)
    mouse(window, QMouseEvent.Type.MouseButtonRelease, *points[-1])


def sparse_screenshot(app, window, crf: Path, tmp: Path) -> None:
    """Sparse scribbles (unlabelled pixels clear) on a temporary copy of the dense-CRF example im3."""
    import shutil

    from segcore.data.classes import ClassSpec

    folder = tmp / "sparse"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    shutil.copy(crf / "images" / "im3.png", folder / "images" / "im3.png")
    shutil.copy(crf / "masks_index" / "im3.png", folder / "masks" / "im3.png")
    # SOURCE.md: 0 = unknown; 1..3 are the scribble colours of im3 (clothes, grass, face).
    ClassSpec(names=["clothes", "grass", "face"], values=[1, 2, 3], unlabelled=0,
              colors=[(64, 64, 0), (0, 128, 0), (192, 128, 0)]).save(folder)
    window.session.discard_unsaved()
    window.view_panel.outline.setChecked(False)
    window.view_panel.opacity.setValue(80)
    window.open_folder(folder)
    window.select_tool(Tool.UNLABELLED)
    settle(app)
    mouse(window, QMouseEvent.Type.MouseMove, 120, 150)
    settle(app)
    window.grab().save(str(HERE / "window_sparse_scribbles.png"))


def fluorescence_screenshot(app, window, tmp: Path) -> None:
    """A synthetic 2-channel 16-bit fluorescence image: the contrast panel states what black and white mean."""
    import numpy as np

    from segcore.data import io
    from segcore.data.sample import make_sample

    folder = tmp / "fluo"
    _, nuclei = make_sample(256, seed=(0, 5))
    nuclei = nuclei.astype(np.float64)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:256]
    dapi = 400 + 2600 * nuclei + rng.normal(0, 120, nuclei.shape) + 3 * xx  # uneven illumination
    actin = 800 + 1500 * (np.sin(xx / 9.0) * np.cos(yy / 13.0) > 0.6) + rng.normal(0, 150, nuclei.shape)
    stack = np.clip(np.stack([dapi, actin], axis=-1), 0, 65535).astype(np.uint16)
    io.write_image(folder / "images" / "cells_2ch.tif", stack)
    window.session.discard_unsaved()
    window.view_panel.opacity.setValue(60)
    window.view_panel.outline.setChecked(True)
    window.view_panel.background.setChecked(False)
    window.open_folder(folder)
    window.select_tool(Tool.BRUSH)
    settle(app)
    mouse(window, QMouseEvent.Type.MouseMove, 128, 128)
    settle(app)
    window.grab().save(str(HERE / "window_16bit_two_channels.png"))


def help_screenshots(app, window) -> None:
    """The Training tab's Advanced settings (every one 'auto' or yours) and Help > Quick Start."""
    from app.window.quick_start import show_quick_start

    panel = window.jobs.training_panel
    window.docks["trainingDock"].raise_()
    panel.tabs.setCurrentIndex(panel.tabs.count() - 1)
    settle(app)
    window.docks["trainingDock"].grab().save(str(HERE / "training_advanced.png"))
    dialog = show_quick_start(window)
    settle(app)
    dialog.grab().save(str(HERE / "quick_start.png"))
    dialog.close()


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-shots-"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    app = QApplication([])
    from app.window import MainWindow
    from segcore.data.sample import write_sample_data

    sample = tmp / "sample"
    write_sample_data(sample, count=12, size=256, seed=0)
    window = MainWindow(autosave_ms=0)
    window.resize(1400, 900)
    window.show()
    window.reset_layout()  # the default layout at the default size: the image first
    settle(app)
    window.open_folder(sample)
    window.session.select(3)
    window.jobs.training_panel.plots  # noqa: B018 - the curves (empty) load just after the window shows
    settle(app)
    # A correction in progress: a new nucleus painted with the brush, the brush circle under the cursor.
    window.brush.spin.setValue(14)
    stroke(window, [(60 + 3 * i, 200 + (i % 5)) for i in range(12)])
    mouse(window, QMouseEvent.Type.MouseMove, 120, 170)
    settle(app)
    window.grab().save(str(HERE / "window_sample.png"))

    window.view_panel.outline.setChecked(True)
    window.select_tool(Tool.POLYGON)
    settle(app)
    window.grab().save(str(HERE / "window_sample_outline.png"))

    isbi = REPO.parent / "shared" / "data" / "isbi2012_em"
    if isbi.is_dir():
        window.session.discard_unsaved()
        window.view_panel.outline.setChecked(False)
        window.view_panel.opacity.setValue(35)
        window.select_tool(Tool.BRUSH)
        window.open_folder(isbi)
        settle(app)
        mouse(window, QMouseEvent.Type.MouseMove, 300, 260)
        settle(app)
        window.grab().save(str(HERE / "window_isbi2012_em.png"))
        window.canvas.zoom_100()
        window.canvas.set_zoom(3.0)
        window.canvas.centerOn(256, 256)
        window.view_panel.outline.setChecked(True)
        window.view_panel.opacity.setValue(90)
        mouse(window, QMouseEvent.Type.MouseMove, 250, 250)
        settle(app)
        window.grab().save(str(HERE / "window_isbi2012_em_zoom_outline.png"))
    fluorescence_screenshot(app, window, tmp)
    crf = REPO.parent / "shared" / "data" / "densecrf_examples"
    if crf.is_dir():
        sparse_screenshot(app, window, crf, tmp)
    help_screenshots(app, window)
    window.session.discard_unsaved()
    window.close()
    print("screenshots written to", HERE)


if __name__ == "__main__":
    main()
