"""QIcons from the SVGs of :mod:`resources`, drawn in the palette's text colour (light on a dark theme).

Each icon is drawn by its SVG at the size and device-pixel ratio asked for, so it is sharp at 100 % and 200 %
scaling; disabled actions get the palette's disabled text colour, highlighted menu entries its highlighted text.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

import resources

_icons: dict[str, QIcon] = {}
_engines: list[QIconEngine] = []  # QIcon does not keep a Python engine alive by itself


def _color(mode: QIcon.Mode) -> QColor:
    palette = QGuiApplication.palette()
    if mode == QIcon.Mode.Disabled:
        return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    if mode == QIcon.Mode.Selected:
        return palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.HighlightedText)
    return palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText)


class SvgIconEngine(QIconEngine):
    """Renders one ``currentColor`` SVG in the colour the palette gives for the icon's mode."""

    def __init__(self, svg: str) -> None:
        super().__init__()
        self._svg = svg
        self._renderers: dict[str, QSvgRenderer] = {}

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        color = _color(mode).name()
        if color not in self._renderers:
            self._renderers[color] = QSvgRenderer(QByteArray(self._svg.replace("currentColor", color).encode()))
        return self._renderers[color]

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._renderer(mode).render(painter, QRectF(rect))

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        pixmap = QPixmap(size * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(0, 0, pixmap.width(), pixmap.height()), mode, state)
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def clone(self) -> QIconEngine:
        engine = SvgIconEngine(self._svg)
        _engines.append(engine)
        return engine

    def key(self) -> str:
        return "segstudio-svg"


def icon(name: str) -> QIcon:
    """The icon ``name`` of :func:`resources.icon_names` (cached)."""
    if name not in _icons:
        engine = SvgIconEngine(resources.icon_svg(name))
        _engines.append(engine)
        _icons[name] = QIcon(engine)
    return _icons[name]


def app_icon() -> QIcon:
    """The application icon for the window and the taskbar: the PNG renderings, and the SVG for other sizes."""
    result = QIcon()
    for size in resources.APP_ICON_SIZES:
        pixmap = QPixmap()
        pixmap.loadFromData(resources.app_icon_png(size), "PNG")
        result.addPixmap(pixmap)
    return result


def button(text: str, name: str, tip: str, icon_name: str | None = None):
    """A push button with an object name (for automation and tests), a tooltip, and an icon of resources/icons."""
    from PySide6.QtWidgets import QPushButton

    widget = QPushButton(icon(icon_name), text) if icon_name else QPushButton(text)
    widget.setObjectName(name)
    widget.setToolTip(tip)
    return widget
