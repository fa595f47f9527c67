"""What a newcomer met driving the Assist tab at 1366 x 768 (issue #17's second look): cut tab names, messages
of another image, the spread slider, the metrics table, the uncertainty overlay, sparse masks in the file list.

Each test drives the real widgets; SHOTS (an environment variable naming a folder) saves a screenshot of each.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyle, QTabBar

pytestmark = pytest.mark.gui
TIMEOUT = 180_000  # ms: the machine is shared and slow


def shot(window, name: str) -> None:
    """Save the window as SHOTS/name.png when SHOTS is set (to look at, not compared)."""
    if os.environ.get("SHOTS"):
        window.grab().save(str(Path(os.environ["SHOTS"]) / f"{name}.png"))


def laptop(qtbot, window) -> None:
    """The window as a first start lays it out on a 1366 x 768 screen."""
    window.resize(1366, 768)
    window.reset_layout()
    qtbot.wait(50)


def right_tabs(window) -> QTabBar:
    return next(b for b in window.findChildren(QTabBar) if b.isVisible() and
                "Assist" in [b.tabText(i) for i in range(b.count())])


def test_the_right_columns_tab_names_are_whole_at_1366_px(qtbot, window, folder):
    laptop(qtbot, window)
    assert window.open_folder(folder)
    window.docks["assistDock"].raise_()
    for state in ("planning", "stopped", "45%"):  # a run's state in the Training tab: "Training · 45%"
        window.jobs.training_panel.summaryChanged.emit(state)
        qtbot.wait(50)
        bar = right_tabs(window)
        names = [bar.tabText(i) for i in range(bar.count())]
        assert names == ["Brush", "Overlay", "Contrast", f"Training · {state}", "Assist"]
        padding = bar.style().pixelMetric(QStyle.PixelMetric.PM_TabBarTabHSpace, None, bar)
        for i, name in enumerate(names):  # Qt elides a name whose tab is narrower than its text and padding
            assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(name) + padding, name
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(names.index("Brush")).center())
    qtbot.waitUntil(lambda: window.brush.isVisible())
    shot(window, "12_tabs")
