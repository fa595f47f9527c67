"""What a new mask's unpainted pixels are, decided once per folder: background (a full mask) or unlabelled (strokes
only). Asked by :class:`app.views.new_mask_notice.NewMaskNotice` at the first stroke on an image without a mask.

Until the folder's answer is known a new mask starts unlabelled, so every stroke, of any class, stays what it is
whatever the answer: *Rest is background* then fills the untouched pixels with background (one undoable step),
*Strokes only* leaves them. (Starting as background lost background-class strokes painted before the answer:
background over background is no change; newcomer check #7.) Unanswered, nothing is made up: what is saved is
the strokes. Instance masks have no room for unlabelled pixels: theirs start as background, unasked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from app.state import settings
from app.state.session import Session
from app.views.new_mask_notice import NewMaskNotice
from segcore.annotate import IGNORE_INDEX, ImageState

KEY = "newMasks"  # per folder: "background" or "unlabelled"


class NewMasks(QObject):
    """``ask()`` is called by the editor at a first stroke on an image without a mask; ``say`` is the status line;
    ``show_background()`` makes background pixels visible (so that unlabelled ones look different)."""

    def __init__(self, session: Session, notice: NewMaskNotice, say: Callable[[str], None],
                 show_background: Callable[[], None]) -> None:
        super().__init__(notice)
        self.session, self.notice, self.say, self.show_background = session, notice, say, show_background
        notice.backgroundChosen.connect(lambda: self._choose("background"))
        notice.unlabelledChosen.connect(lambda: self._choose("unlabelled"))
        session.folderOpened.connect(lambda _folder: notice.hide())
        session.imageLoaded.connect(lambda _index: notice.hide())  # it was about the last image
        session.store.new_mask_value = self._start_value

    def choice(self, folder: Path | None = None) -> str | None:
        return settings.recall_for_folder(KEY, folder or self.session.folder, None)

    def _start_value(self, folder: Path | None) -> int:
        """What a new mask in ``folder`` starts as (the store asks as it starts one)."""
        if folder is None or self.session.spec.instances or self.choice(folder) == "background":
            return 0
        return IGNORE_INDEX

    def ask(self, value: int) -> None:
        """At a first stroke of class ``value`` on an image without a mask: ask, unless this folder's answer is
        known (or its masks are instance masks)."""
        path = self.session.current_path()
        self.class_chosen(value)
        if self.choice() is None and path is not None and not self.session.spec.instances:
            self.notice.ask(path.name)

    def class_chosen(self, index: int) -> None:
        """Background strokes over unlabelled pixels are drawn in the background colour, or they would not show
        (newcomer check #7: membrane strokes, the background class, looked lost)."""
        mask = self.session.mask
        if index == 0 and mask is not None and (mask == IGNORE_INDEX).any():
            self.show_background()

    def _choose(self, choice: str) -> None:
        self.notice.hide()
        self.notice.parentWidget().setFocus()  # keys go on painting (a class number typed into the file filter)
        if self.session.folder is None:
            return
        settings.remember_for_folder(KEY, self.session.folder, choice)
        if choice == "unlabelled":
            self.say("New masks in this folder: only what you paint is labelled; the rest stays unlabelled.")
            return
        mask = self.session.mask  # the new mask the question was about (the notice goes with its image)
        if mask is not None and (mask == IGNORE_INDEX).any():  # the strokes stay, the untouched rest is background
            self.session.accept_mask(np.where(mask == IGNORE_INDEX, 0, mask).astype(mask.dtype),
                                     state=ImageState.MODIFIED)
        self.say("New masks in this folder: what you do not paint is background.")
