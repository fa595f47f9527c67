"""Fixtures for the window tests: offscreen Qt, isolated settings, small synthetic folders, a window."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from segcore.data import io  # noqa: E402
from segcore.data.classes import ClassSpec  # noqa: E402

REAL_EXEC = QMessageBox.exec  # for tests that answer a question box with real clicks


@pytest.fixture(autouse=True)
def ui_thread_gc(qapp):
    """Garbage collection on the UI thread only, as the application runs it (app.ui_thread_gc): a collection
    started by a worker thread could destroy this test's (or an earlier test's) widgets in the wrong thread."""
    from app.ui_thread_gc import UiThreadCollector

    collector = UiThreadCollector()
    yield collector
    collector.stop()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """QSettings and sample data in tmp; message boxes answer without blocking (and are recorded)."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("SEGSTUDIO_SAMPLE_DIR", str(tmp_path / "sample_home"))
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[1:3]))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: shown.append(a[1:3]) or QMessageBox.StandardButton.Save)
    monkeypatch.setattr(QMessageBox, "exec",  # a built question box (e.g. "Replace your annotation?"): its Yes
                        lambda self: shown.append((self.windowTitle(), self.text())) or QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")  # cancelled, unless a test says
    return shown


def make_folder(root: Path, count: int = 3, size: tuple[int, int] = (64, 80), masks: bool = True) -> Path:
    """images/ + masks/ folder: grey images with a bright square; masks (0/255) on all but the last image."""
    folder = root / "data_folder"
    spec = ClassSpec(["background", "cell"], [0, 255])
    rng = np.random.default_rng(0)
    h, w = size
    for i in range(count):
        image = rng.integers(0, 60, (h, w), dtype=np.uint8)
        image[10:30, 10:30] = 200
        io.write_image(folder / "images" / f"img_{i}.png", image)
        if masks and i < count - 1:
            mask = np.zeros((h, w), np.uint8)
            mask[10:30, 10:30] = 1
            io.write_mask(folder / "masks" / f"img_{i}.png", mask, spec)
    if masks:
        spec.save(folder)  # class names come from classes.json, as the palette writes it
    return folder


@pytest.fixture
def folder(tmp_path) -> Path:
    return make_folder(tmp_path)


def new_window(qtbot):
    """A main window on screen, as the application starts it (a test's second one: a restart)."""
    from app.window import MainWindow

    win = MainWindow(autosave_ms=0)
    qtbot.addWidget(win)
    win.resize(1100, 750)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    return win


@pytest.fixture
def window(qtbot):
    return new_window(qtbot)


def view_point(window, x: float, y: float) -> QPoint:
    """Viewport pixel of image coordinate (x, y)."""
    return window.canvas.mapFromScene(QPointF(x, y))


def drag(qtbot, window, points: list[tuple[float, float]]) -> None:
    """A left-button stroke through image coordinates with real mouse events."""
    viewport = window.canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(viewport, view_point(window, *p))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=view_point(window, *points[-1]))


def click_action(qtbot, window, name: str) -> None:
    """Click the toolbar button of the action named ``name``."""
    from PySide6.QtGui import QAction

    action = window.findChild(QAction, name)
    button = window.toolbar.widgetForAction(action)
    assert button is not None, name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_for_jobs(qtbot, jobs, timeout: int = 300_000) -> None:
    """Until every background job has ended and what it returned has been handled.

    A run's end starts more jobs (its model loads, then the queue scores with it); waiting for ``not
    pool.running()`` alone returns while a finished job's result is still queued (a model shown as "Loading…").
    """
    qtbot.waitUntil(jobs.pool.idle, timeout=timeout)
