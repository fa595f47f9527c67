"""Persistent preferences (recent folders, window layout, panel values) in an INI file via QSettings.

Panels never read or write settings themselves: whoever composes them passes values in and out with
:func:`remember` and :func:`recall`. Tests isolate the file with
``QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tmp_path)``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

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


def last_folder() -> Path | None:
    value = settings().value("lastFolder", "")
    return Path(value) if value and Path(value).is_dir() else None


def remember(group: str, values: dict) -> None:
    """Store ``values`` (str, int, float, bool or bytes) under ``group/KEY``."""
    s = settings()
    for key, value in values.items():
        s.setValue(f"{group}/{key}", value)


def recall(group: str, defaults: dict) -> dict:
    """The values stored under ``group`` for the keys of ``defaults``, each of its default's type.

    A key never stored, or one a hand-edited file made unreadable, keeps its default.
    """
    s = settings()
    values = dict(defaults)
    for key, default in defaults.items():
        stored = s.value(f"{group}/{key}")
        if stored is None:
            continue
        if isinstance(default, bool):
            values[key] = stored in (True, "true", "1", 1)
        elif isinstance(default, bytes | QByteArray):
            values[key] = stored
        else:
            try:
                values[key] = type(default)(stored)
            except (TypeError, ValueError):
                continue
    return values


def recall_for_folder(key: str, folder: Path | None, default=None):
    """A value remembered for one folder (see :func:`remember_for_folder`), or ``default``."""
    if folder is None:
        return default
    stored = settings().value(f"folders/{key}", {})
    return stored.get(str(folder), default) if isinstance(stored, dict) else default


def remember_for_folder(key: str, folder: Path, value) -> None:
    """Remember ``value`` (str, int, float or bool) for ``folder`` under ``key`` (e.g. the last model used there)."""
    s = settings()
    stored = s.value(f"folders/{key}", {})
    stored = dict(stored) if isinstance(stored, dict) else {}
    stored[str(folder)] = value
    s.setValue(f"folders/{key}", stored)
