"""The window's size and layout: the first one fitted to the screen, the remembered one where it still fits.

Also what else the window remembers between sessions: the brush, the overlay and the training form.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSize
from PySide6.QtGui import QGuiApplication

from app.state import settings
from app.views.panels.training_form import SETTINGS_GROUP

DEFAULT_SIZE = QSize(1400, 900)
FRAME = QSize(16, 48)  # room for the window manager's frame and title bar, which the window's size leaves out
TITLE_BAR = 24  # at least this much of that is above the window


def first_geometry(available: QRect, default: QSize = DEFAULT_SIZE) -> QRect:
    """The default size where it fits the screen's ``available`` area (without its panels), else that area less
    the frame; centred in it."""
    width = min(default.width(), available.width() - FRAME.width())
    height = min(default.height(), available.height() - FRAME.height())
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect


def fits(client: QRect, available: QRect) -> bool:
    """Whether a window whose inside is ``client`` is wholly on the screen area ``available``, leaving room for a
    title bar (the frame's own size is not known before the window is shown)."""
    return available.contains(client) and client.height() + TITLE_BAR <= available.height()


def fit_to_screen(window) -> None:
    """Give ``window`` its first-start geometry on the screen it will open on."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    window.setGeometry(first_geometry(screen.availableGeometry()))


def save_layout(window) -> None:
    """Store the layout of ``window`` (a :class:`app.window.MainWindow`); training settings even untrained."""
    settings.remember("window", {"geometry": window.saveGeometry(), "state": window.saveState()})
    settings.remember("brush", {"size": window.brush.size()})
    settings.remember("overlay", {"opacity": window.view_panel.opacity_percent()})
    settings.remember(SETTINGS_GROUP, window.jobs.training_panel.form.remembered())


def restore_layout(window) -> None:
    """What :func:`save_layout` stored, or the default layout the first time.

    A remembered size and place that no longer fits a screen (a smaller one, a monitor gone) gives way to the
    first-start geometry; the panels keep their remembered places, unless those need more room than the screen
    has (panels stacked on a tall monitor, or by an older version: the window could not be made to fit a
    768-pixel laptop screen), then they take their default places too. Docks added since keep their default place.
    """
    layout = settings.recall("window", {"geometry": QByteArray(), "state": QByteArray()})
    window.docking.arrange()
    if layout["geometry"].isEmpty():
        window.docking.size_when_shown()  # the first start: the default column sizes, applied on screen
    else:
        window.restoreGeometry(layout["geometry"])
        window.restoreState(layout["state"])
        screen = QGuiApplication.screenAt(window.geometry().center()) or QGuiApplication.primaryScreen()
        maximised = window.isMaximized() or window.isFullScreen()  # the window manager fits those itself
        available = screen.availableGeometry()
        if not fits(QRect(available.topLeft(), window.minimumSizeHint()), available):
            window.docking.arrange()  # the remembered panels cannot fit this screen at any window size
            window.docking.size_when_shown()
            window.layout().activate()  # the minimum size of the default places, before the size is set
            window.setGeometry(first_geometry(available))
        elif not maximised and not fits(window.geometry(), available):
            window.setGeometry(first_geometry(available))
    window.brush.set_size(settings.recall("brush", {"size": window.brush.size()})["size"])
    window.view_panel.set_opacity_percent(
        settings.recall("overlay", {"opacity": window.view_panel.opacity_percent()})["opacity"])
