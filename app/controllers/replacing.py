"""Asking before a prediction replaces a hand-made annotation (issue #19: one was replaced silently, and autosave
wrote it to disk within 30 s).

The question names the image and what is kept: the annotation is written to ``.segstudio/replaced/`` in the
folder before it is replaced (:meth:`segcore.annotate.AnnotationStore.accept_mask`), and *Edit > Restore Replaced
Annotation* brings it back. "Don't ask again for this folder" is remembered per folder.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

from app.state import settings
from app.state.session import Session
from segcore.annotate import IGNORE_INDEX

NO_ASK_KEY = "replaceWithoutAsking"


def confirm_replace(parent: QWidget, session: Session, what: str) -> bool:
    """True when ``what`` ("the network output of best.pt") may replace the current mask: it is not hand-made, the
    user said so for this folder before, or says so now. The question says whether strokes or a full annotation
    would be replaced, by what, and that they stay recoverable."""
    if not session.hand_made() or settings.recall_for_folder(NO_ASK_KEY, session.folder, False) in (True, "true"):
        return True
    path = session.current_path()
    strokes = session.mask is not None and bool((session.mask == IGNORE_INDEX).any())
    name = path.name if path else "This image"
    if strokes:
        title, question = "Replace your strokes?", f"{name} has hand-painted strokes. Replace them with {what}?"
    else:
        title, question = "Replace your annotation?", f"{name} has a hand-made annotation. Replace it with {what}?"
    yours = "your strokes" if strokes else "your annotation"
    box = QMessageBox(QMessageBox.Icon.Question, title, f"{question} {yours.capitalize()} {'stay' if strokes else 'stays'} recoverable: Ctrl+Z, "
                      "or Edit > Restore Replaced Annotation.",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName("replaceQuestion")
    box.setInformativeText(f"{yours.capitalize()}: kept in the folder's .segstudio/replaced/ until another "
                           "replacement of this image.")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Yes).setText("Replace")
    never = QCheckBox("Don't ask again for this folder")
    never.setObjectName("replaceNoAskCheck")
    box.setCheckBox(never)
    if box.exec() != QMessageBox.StandardButton.Yes:
        return False
    if never.isChecked() and session.folder is not None:
        settings.remember_for_folder(NO_ASK_KEY, session.folder, True)
    return True
