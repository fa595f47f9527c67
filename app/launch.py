"""Start the desktop window: ``segstudio [FOLDER]`` or ``python main_window.py [FOLDER]``.

Without a folder it reopens the last one, or the bundled sample data (generated on first use). Where no display
is available it says why and runs the headless demo instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SAMPLE_COUNT, SAMPLE_SIZE, SAMPLE_SEED = 12, 256, 0


def has_display() -> tuple[bool, str]:
    """Whether Qt can open a window here, and why not."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True, ""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display found (DISPLAY and WAYLAND_DISPLAY are unset)"
    return True, ""


def sample_folder() -> Path:
    """Where the bundled sample data lives: $SEGSTUDIO_SAMPLE_DIR, else the user's data folder."""
    override = os.environ.get("SEGSTUDIO_SAMPLE_DIR")
    if override:
        return Path(override)
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home()))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "segstudio" / "sample"


def ensure_sample_data() -> Path:
    """The sample folder, written on first use (deterministic synthetic nuclei images with masks)."""
    folder = sample_folder()
    if not (folder / "images").is_dir():
        from segcore.data.sample import write_sample_data

        write_sample_data(folder, count=SAMPLE_COUNT, size=SAMPLE_SIZE, seed=SAMPLE_SEED)
    return folder


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segstudio", description="Annotate, train and segment biomedical images.")
    parser.add_argument("folder", nargs="?", help="folder of images to open (default: the last one, or the "
                        "bundled sample data)")
    parser.add_argument("--sample", action="store_true", help="open the bundled sample data")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add segstudio with its icon to the application menu of a Linux desktop "
                             "($XDG_DATA_HOME/applications, icons in the hicolor theme), then exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.install_desktop_entry:
        return _install_desktop_entry()
    ok, reason = has_display()
    if not ok:
        print(f"segstudio: {reason}; running the headless demo instead (segcore demo). "
              "Set QT_QPA_PLATFORM=offscreen to force the window.", file=sys.stderr)
        from segcore.cli import main as cli_main

        return cli_main(["demo"])
    from app import system_libs

    if system_libs.uses_xcb() and (missing := system_libs.missing_libraries()):
        print(system_libs.install_hint(missing), file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.state import settings
    from app.ui_thread_gc import UiThreadCollector
    from app.views.icons import app_icon
    from app.window import MainWindow
    from segcore.errors import SegcoreError, describe

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(settings.ORGANISATION)
    app.setApplicationName(settings.APPLICATION)
    app.setDesktopFileName("segstudio")  # Wayland and docks match the window to segstudio.desktop and its icon
    app.setWindowIcon(app_icon())
    collector = UiThreadCollector(app)  # noqa: F841 (lives as long as the application, its parent)
    window = MainWindow()
    window.show()

    def open_initial() -> None:  # after the window is on screen, so it appears at once
        folder = args.folder
        if folder is None and not args.sample:
            folder = settings.last_folder()
        if folder is None:
            window.statusBar().showMessage("Preparing the sample data…")
            app.processEvents()
            try:
                folder = ensure_sample_data()
            except (SegcoreError, OSError) as exc:  # shown, never fatal: the window stays usable
                window.statusBar().showMessage(f"Error: could not create the sample data: {describe(exc)}")
                return
        window.open_folder(folder)

    QTimer.singleShot(0, open_initial)
    return app.exec()


def _install_desktop_entry() -> int:
    from app.desktop_entry import install
    from segcore.errors import SegcoreError

    try:
        written = install()
    except SegcoreError as exc:
        print(f"segstudio: error: {exc}", file=sys.stderr)
        return 2
    print(f"installed {written[0]} and the icon in {len(written) - 1} sizes under {written[1].parents[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
