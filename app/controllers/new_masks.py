"""What a new mask's unpainted pixels are, decided once per folder: background (a full mask) or unlabelled (strokes
only). Asked by :class:`app.views.new_mask_notice.NewMaskNotice` at the first stroke on an image without a mask;
the answer is remembered for the folder, and new masks start from it (``AnnotationStore.new_mask_value``).
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
        return IGNORE_INDEX if folder is not None and self.choice(folder) == "unlabelled" else 0

    def ask(self) -> None:
        """At a first stroke on an image without a mask: ask, unless this folder's answer is known."""
        path = self.session.current_path()
        if self.choice() is None and path is not None:
            self.notice.ask(path.name)

    def _choose(self, choice: str) -> None:
        self.notice.hide()
        if self.session.folder is None:
            return
        settings.remember_for_folder(KEY, self.session.folder, choice)
        if choice == "background":
            self.say("New masks in this folder: what you do not paint is background.")
            return
        mask = self.session.mask  # the new mask the question was about (the notice goes with its image)
        if mask is not None and (mask != 0).any():  # its strokes stay, its untouched background becomes unlabelled
            self.session.accept_mask(np.where(mask == 0, IGNORE_INDEX, mask).astype(mask.dtype),
                                     state=ImageState.MODIFIED)
        self.show_background()
        self.say("New masks in this folder: only what you paint is labelled; the rest stays unlabelled.")
