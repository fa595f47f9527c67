"""The tabs of the window's dock groups keep their names whole.

Five panels share the right-hand column (Brush, Overlay, Contrast, Training, Assist). With the style's padding
(24 px a tab in Fusion) their names need ~335 px and the column gets ~325 px on a 1366 px laptop: Qt elided them
to "Br…", "Overl…", "As…". The dock tab bars get a third of that padding (~275 px for the five), with room to
spare; the tab bars Qt creates later (a panel tabbed by the user) get it too.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QMainWindow, QProxyStyle, QStyle, QTabBar

TAB_PADDING = 8  # pixels of horizontal space around a tab's text (icon included), both sides together


class CompactTabStyle(QProxyStyle):
    """The application's style with less horizontal space around each tab's text."""

    def pixelMetric(self, metric, option=None, widget=None) -> int:  # noqa: N802 - Qt's name
        if metric == QStyle.PixelMetric.PM_TabBarTabHSpace:
            return TAB_PADDING
        return super().pixelMetric(metric, option, widget)


class _DockTabBars(QObject):
    """Event filter on the main window: every tab bar it gets (one per dock tab group) takes the compact style."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.style = CompactTabStyle()
        self.style.setParent(self)  # lives as long as the window; QWidget.setStyle does not take ownership

    def adopt(self, bar: QTabBar) -> None:
        if bar.style() is not self.style:
            bar.setStyle(self.style)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ChildPolished and isinstance(event.child(), QTabBar):
            self.adopt(event.child())
        return False


def compact_dock_tabs(window: QMainWindow) -> None:
    """Give the dock tab bars of ``window`` (now and later) the compact tab style."""
    bars = _DockTabBars(window)
    window.installEventFilter(bars)
    for bar in window.findChildren(QTabBar):
        if bar.parent() is window:
            bars.adopt(bar)
