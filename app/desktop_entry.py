"""``segstudio --install-desktop-entry``: put segstudio in the Linux application menu, with its icon.

Follows the XDG specifications: the entry goes to ``$XDG_DATA_HOME/applications`` and the icon into the
``hicolor`` theme under ``$XDG_DATA_HOME/icons`` (one PNG per size, and the SVG as ``scalable``). ``Exec`` names
the ``segstudio`` command of this installation by its full path, so the menu starts the same environment.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import resources
from segcore.atomic import make_folder, write_bytes_atomic, write_text_atomic


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launch_command() -> str:
    """How the menu starts this installation: its ``segstudio`` script, else this Python running the launcher."""
    beside = Path(sys.executable).with_name("segstudio")
    script = beside if beside.is_file() else shutil.which("segstudio")
    if script:
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m app.launch"


def install(home: Path | None = None, command: str | None = None) -> list[Path]:
    """Write the desktop entry and the icons under ``home`` (default :func:`data_home`); the files written.

    Raises OutputError (one line naming the folder) when they cannot be written.
    """
    home = home or data_home()
    entry = resources.path(resources.DESKTOP_ENTRY).read_text(encoding="utf-8")
    entry = entry.replace("Exec=segstudio %f", f"Exec={command or launch_command()} %f")
    written = [home / "applications" / resources.DESKTOP_ENTRY]
    for size in resources.APP_ICON_SIZES:
        written.append(home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "segstudio.png")
    written.append(home / "icons" / "hicolor" / "scalable" / "apps" / "segstudio.svg")
    for path in written:
        make_folder(path.parent)
    write_text_atomic(written[0], entry)
    for size, path in zip(resources.APP_ICON_SIZES, written[1:-1], strict=True):
        write_bytes_atomic(path, resources.app_icon_png(size))
    write_bytes_atomic(written[-1], resources.app_icon_svg())
    return written
