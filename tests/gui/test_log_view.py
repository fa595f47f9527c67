"""The training Log follows new lines while the reader is at its end, also when the lines came while another tab
was in front (newcomer check: after a run watched on the Curves tab the Log stayed on old lines, "as if the run
stalled"). Driven through the tab bar, the mouse wheel and the keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.views.panels.training_panel import TrainingPanel

pytestmark = pytest.mark.gui


def _tab(qtbot, panel, title: str) -> None:
    bar = panel.tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert panel.tabs.currentIndex() == index


def _wheel_up(view, notches: int) -> None:
    at = QPointF(view.viewport().rect().center())
    event = QWheelEvent(at, view.viewport().mapToGlobal(at), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def test_the_log_follows_lines_written_behind_another_tab_until_the_reader_scrolls_up(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.resize(420, 360)
    panel.show()
    log, bar = panel.log_view, panel.log_view.verticalScrollBar()
    _tab(qtbot, panel, "Log")
    for i in range(5):
        panel.log(f"planning line {i}")
    _tab(qtbot, panel, "Curves")  # the run is watched on its curves
    for i in range(200):
        panel.log(f"epoch {i}: loss 0.5")
    _tab(qtbot, panel, "Log")
    qtbot.wait(50)
    assert bar.maximum() > 0 and bar.value() == bar.maximum()  # at the newest line
    panel.log("one more")
    qtbot.wait(20)
    assert bar.value() == bar.maximum()

    _wheel_up(log, 3)  # the reader goes back to read something
    kept = bar.value()
    assert kept < bar.maximum()
    for i in range(20):
        panel.log(f"later {i}")
    assert bar.value() == kept  # left where the reader is

    log.setFocus()
    qtbot.keyClick(log, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)  # back to the end: follows again
    panel.log("the newest")
    qtbot.wait(20)
    assert bar.value() == bar.maximum()
