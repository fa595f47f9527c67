"""Every toolbar and menu action has an icon, a tooltip and (where it has one) its shortcut; icons follow the
palette (dark on light, light on dark) and stay sharp at 200 % scaling."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QColor, QGuiApplication, QIcon, QKeySequence, QPalette

from app.views.icons import app_icon, icon

pytestmark = pytest.mark.gui


def _menu_actions(window) -> list[QAction]:
    found = []
    for menu in (window.menus.file, window.menus.edit, window.menus.image, window.menus.view, window.menus.help):
        found += [a for a in menu.actions() if not a.isSeparator() and a.menu() is None]
    return found


def test_every_menu_and_toolbar_action_has_an_icon_tooltip_and_shortcut(window):
    actions = _menu_actions(window) + [a for a in window.toolbar.actions() if not a.isSeparator()]
    assert len(actions) > 25
    for action in actions:
        assert not action.icon().isNull(), action.text()
        assert action.toolTip() and action.toolTip() != action.text().replace("&", ""), action.text()
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if shortcut:
            assert shortcut in action.toolTip(), (action.text(), action.toolTip())
    button = window.toolbar.widgetForAction(window.actions.save)
    assert not button.icon().isNull()
    assert {16, 256} <= {s.width() for s in window.windowIcon().availableSizes()}


def _mean_ink(qicon: QIcon, scale: float = 1.0, mode: QIcon.Mode = QIcon.Mode.Normal) -> tuple[float, QSize]:
    """Mean lightness of the drawn (non-transparent) pixels, and the pixmap's size in device pixels."""
    image = qicon.pixmap(QSize(24, 24), scale, mode).toImage()
    values = [QColor(image.pixel(x, y)).lightness() for y in range(image.height()) for x in range(image.width())
              if QColor.fromRgba(image.pixel(x, y)).alpha() > 200]
    assert values, "nothing drawn"
    return sum(values) / len(values), image.size()


def test_icons_follow_the_palette_and_scale(qapp):
    original = QGuiApplication.palette()
    try:
        light = QPalette(QColor(240, 240, 240))
        QGuiApplication.setPalette(light)
        dark_ink, size = _mean_ink(icon("brush"))
        assert dark_ink < 100 and size == QSize(24, 24)
        dark = QPalette(QColor(35, 35, 38))
        dark.setColor(QPalette.ColorRole.WindowText, QColor(235, 235, 235))
        QGuiApplication.setPalette(dark)
        light_ink, _ = _mean_ink(icon("brush"))
        assert light_ink > 180
        _, doubled = _mean_ink(icon("brush"), scale=2.0)
        assert doubled == QSize(48, 48)  # drawn at 200 %, not an upscaled 24 px image
    finally:
        QGuiApplication.setPalette(original)


def test_the_application_icon_has_every_size(qapp):
    sizes = {s.width() for s in app_icon().availableSizes()}
    assert {16, 32, 48, 256, 512} <= sizes
