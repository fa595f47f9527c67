"""The question asked before work could be lost: save, discard, or stay."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.controllers.save_elsewhere import save_elsewhere
from app.state.session import Session


def confirm_unsaved(parent: QWidget, session: Session, ask_first: bool = True, leaving: str = "Close") -> bool:
    """Ask what to do with masks not on disk yet: save (default), discard, or cancel; True to go on.

    With ``ask_first`` False the save was already tried and failed: only discard or cancel remain.
    """
    s = session
    count = s.unsaved_count()
    if not count:
        return True
    buttons = QMessageBox.StandardButton
    answer = buttons.Save
    if ask_first:
        answer = QMessageBox.question(
            parent, "Unsaved masks", f"{count} mask(s) have changes that are not saved yet. Save them?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    if answer == buttons.Save and not s.save_all():
        answer = QMessageBox.question(
            parent, "Masks not saved", f"{s.unsaved_count()} mask(s) could not be saved (see the status bar). "
            f"Save them in another folder, or {leaving.lower()} anyway and lose these changes?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Cancel)
        if answer == buttons.Save:
            return save_elsewhere(parent, s)
    if answer == buttons.Cancel:
        return False
    if answer == buttons.Discard:
        s.discard_unsaved()
    return True
