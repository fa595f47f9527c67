"""Saving masks in another folder when the open one cannot take them (read-only, full, gone): nothing is lost."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from app.state.session import Session
from segcore.errors import DataError, describe


def save_elsewhere(window: QMainWindow, session: Session) -> bool:
    """Ask for a folder and write every unsaved mask there; True when all of them are on disk now."""
    if not session.unsaved_count():
        window.statusBar().showMessage("No unsaved masks", 5000)
        return True
    start = str(session.folder.parent if session.folder is not None else Path.home())
    folder = QFileDialog.getExistingDirectory(window, "Save the unsaved masks in a folder", start)
    if not folder:
        return False
    try:
        count = session.save_to(folder)
    except (DataError, OSError) as exc:
        QMessageBox.warning(window, "Masks not saved", f"{describe(exc)}\n\nYour changes are kept in memory.")
        return False
    window.statusBar().showMessage(f"saved {count} mask(s) in {folder}; later saves of them go there too", 10000)
    return True


def report_save_failed(window: QMainWindow, session: Session, text: str) -> None:
    """A failed save must not go unnoticed: the status bar, and a dialog that offers to save elsewhere."""
    window.statusBar().showMessage(f"Error: {text}", 15000)
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.warning(window, "Mask not saved", f"{text}\n\nYour changes are kept in memory. Save them "
                                 "in another folder?", buttons.Save | buttons.Close, buttons.Close)
    if answer == buttons.Save:
        save_elsewhere(window, session)
