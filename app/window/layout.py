"""What the window remembers between sessions: its size and dock layout, the brush, the overlay, the training form."""

from __future__ import annotations

from PySide6.QtCore import QByteArray

from app.state import settings


def save_layout(window) -> None:
    """Store the layout of ``window`` (a :class:`app.window.MainWindow`); training settings even untrained."""
    settings.remember("window", {"geometry": window.saveGeometry(), "state": window.saveState()})
    settings.remember("brush", {"size": window.brush.size()})
    settings.remember("overlay", {"opacity": window.view_panel.opacity_percent()})
    settings.remember("training", window.jobs.training_panel.remembered())


def restore_layout(window) -> None:
    """What :func:`save_layout` stored; docks added since then keep their default place."""
    layout = settings.recall("window", {"geometry": QByteArray(), "state": QByteArray()})
    if not layout["geometry"].isEmpty():
        window.restoreGeometry(layout["geometry"])
        window.restoreState(layout["state"])
    window.brush.set_size(settings.recall("brush", {"size": window.brush.size()})["size"])
    window.view_panel.set_opacity_percent(
        settings.recall("overlay", {"opacity": window.view_panel.opacity_percent()})["opacity"])
