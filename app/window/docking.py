"""Where panels live: docks around the image, and large views (Compare) that take the image's place while open.

The image comes first: by default the left column holds the file list and the Segment panel, the right column the
class list above one tab group (Brush, Overlay, Contrast, Training, the Training tab in front so that Train is
in sight on the first start), so the canvas gets over half of the window and every panel is one click away. A dock added later with :meth:`Docking.add_panel` (``tab_with`` a dock of the
group, or an area of its own) takes part in the default layout and in *View > Reset Layout* the same way; a view
added with :meth:`Docking.add_view` becomes a tab beside the image when it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabWidget, QWidget

from app.views.wheel_guard import guard_wheel

AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
LEFT_SHARE, RIGHT_SHARE = 0.17, 0.24  # of the window's width, for the two columns
LEFT_RANGE, RIGHT_RANGE = (190, 280), (250, 360)  # their widths in pixels, at most and at least


@dataclass
class Place:
    area: str
    tab_with: str | None
    height: int | None  # preferred height in a column (None: what is left)
    front: bool = False  # the tab in front of its group in the default layout (else the group's first)


class Docking:
    """The window's docks (``docks[object_name]``) and central views (``central``, the image first)."""

    def __init__(self, window: QMainWindow, image: QWidget, panels_menu) -> None:
        self.window = window
        self.panels_menu = panels_menu
        self.docks: dict[str, QDockWidget] = {}
        self.places: dict[str, Place] = {}
        self.central = QTabWidget()
        self.central.setObjectName("centralTabs")
        self.central.setDocumentMode(True)
        self.central.setTabBarAutoHide(True)  # only the image: no tab bar, no pixel lost
        self.central.setTabsClosable(True)
        self.central.addTab(image, "Image")
        self.central.tabBar().setTabButton(0, self.central.tabBar().ButtonPosition.RightSide, None)
        self.central.tabCloseRequested.connect(self._close_view)
        self.image = image
        window.setCentralWidget(self.central)
        window.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self._views: dict[QWidget, str] = {}
        self._first_show = _OnFirstShow(window, lambda: QTimer.singleShot(0, self.size_columns))

    # -- docks --------------------------------------------------------------------------------------------------
    def add_panel(self, title: str, widget: QWidget, object_name: str, area: str = "right",
                  tab_with: str | None = None, height: int | None = None, front: bool = False) -> QDockWidget:
        """Dock ``widget`` under ``title`` (as a tab beside dock ``tab_with``, or below the docks of ``area``),
        with a View > Panels toggle; ``front``: its tab is the one in front of its group in the default layout.
        Its wheel-driven fields are guarded (:mod:`app.views.wheel_guard`)."""
        dock = QDockWidget(title, self.window)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        guard_wheel(widget)  # scrolling the panel never changes a value under the cursor
        self.docks[object_name] = dock
        self.places[object_name] = Place(area, tab_with if tab_with in self.docks else None, height, front)
        self._place(object_name)
        self.panels_menu.addAction(dock.toggleViewAction())
        return dock

    def _place(self, name: str) -> None:
        dock, place = self.docks[name], self.places[name]
        dock.setFloating(False)
        self.window.addDockWidget(AREAS[place.area], dock)
        if place.tab_with is not None:
            self.window.tabifyDockWidget(self.docks[place.tab_with], dock)

    def arrange(self) -> None:
        """The default layout: every dock in its place and shown, in each tab group the tab added with ``front``
        (else the group's first) in front, the two columns sized for the window's width (View > Reset Layout)."""
        for name in self.docks:
            self._place(name)
            self.docks[name].show()
        for name, place in self.places.items():
            members = [n for n, p in self.places.items() if p.tab_with == name]
            if place.tab_with is None and members:
                chosen = next((n for n in members if self.places[n].front), name)
                self.docks[chosen].raise_()
        self.size_columns()

    def size_when_shown(self) -> None:
        """Size the columns again once the window is on screen: before that Qt ignores the sizes asked for, and at
        the first start the class list took half the column, squeezing the Training tab's curves."""
        self.window.installEventFilter(self._first_show)

    def size_columns(self) -> None:
        width = self.window.width()
        firsts = {}
        for name, place in self.places.items():
            firsts.setdefault(place.area, self.docks[name])
        sizes = {"left": _clamp(LEFT_SHARE * width, LEFT_RANGE), "right": _clamp(RIGHT_SHARE * width, RIGHT_RANGE)}
        columns = [(firsts[a], sizes[a]) for a in ("left", "right") if a in firsts]
        self.window.resizeDocks([d for d, _ in columns], [s for _, s in columns], Qt.Orientation.Horizontal)
        tall = [(self.docks[n], p.height) for n, p in self.places.items() if p.height and p.tab_with is None]
        if tall:
            self.window.resizeDocks([d for d, _ in tall], [h for _, h in tall], Qt.Orientation.Vertical)

    # -- central views ------------------------------------------------------------------------------------------
    def add_view(self, title: str, widget: QWidget) -> None:
        """A large view that appears as a tab beside the image when :meth:`show_view` is called."""
        guard_wheel(widget)
        widget.setParent(self.central)  # found by its object name before it is first shown
        widget.hide()
        self._views[widget] = title

    def show_view(self, widget: QWidget) -> None:
        """Bring ``widget`` to the front beside the image (a closable tab)."""
        if self.central.indexOf(widget) < 0:
            self.central.addTab(widget, self._views[widget])
        self.central.setCurrentWidget(widget)

    def hide_view(self, widget: QWidget) -> None:
        """Take ``widget`` away (its content belongs to what is no longer open); the image comes back."""
        index = self.central.indexOf(widget)
        if index >= 0:
            self.central.removeTab(index)

    def is_shown(self, widget: QWidget) -> bool:
        return self.central.indexOf(widget) >= 0 and self.central.currentWidget() is widget

    def show_image(self) -> None:
        self.central.setCurrentWidget(self.image)

    def _close_view(self, index: int) -> None:
        if self.central.widget(index) is not self.image:
            self.central.removeTab(index)


class _OnFirstShow(QObject):
    """Event filter: calls ``then()`` when the watched widget is first shown, then lets go of it."""

    def __init__(self, parent: QObject, then) -> None:
        super().__init__(parent)
        self.then = then

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Show:
            obj.removeEventFilter(self)
            self.then()
        return False


def _clamp(value: float, limits: tuple[int, int]) -> int:
    return int(min(max(value, limits[0]), limits[1]))
