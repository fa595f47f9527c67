"""Persistent preferences (recent folders, last folder) in an INI file via QSettings.

Tests isolate them with ``QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tmp_path)``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION = "segstudio"
APPLICATION = "segstudio"
MAX_RECENT = 8


def settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def recent_folders() -> list[Path]:
    """Recent folders that still exist, most recent first."""
    value = settings().value("recentFolders", [])
    if isinstance(value, str):  # QSettings returns a lone string for a one-item list
        value = [value]
    return [Path(p) for p in value or [] if Path(p).is_dir()]


def add_recent_folder(folder: Path) -> None:
    folders = [str(folder)] + [str(p) for p in recent_folders() if p != folder]
    s = settings()
    s.setValue("recentFolders", folders[:MAX_RECENT])
    s.setValue("lastFolder", str(folder))


def save_window(window) -> None:
    """Remember the window's size, dock layout, brush size and overlay opacity."""
    s = settings()
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/state", window.saveState())
    s.setValue("brush/size", window.brush.size())
    s.setValue("overlay/opacity", window.view_panel.opacity.value())


def restore_window(window) -> None:
    """Restore what :func:`save_window` stored; docks added since then keep their default place."""
    s = settings()
    if s.contains("window/geometry"):
        window.restoreGeometry(s.value("window/geometry"))
        window.restoreState(s.value("window/state"))
    window.brush.spin.setValue(int(s.value("brush/size", window.brush.size())))
    window.view_panel.opacity.setValue(int(s.value("overlay/opacity", window.view_panel.opacity.value())))


def last_folder() -> Path | None:
    value = settings().value("lastFolder", "")
    return Path(value) if value and Path(value).is_dir() else None
