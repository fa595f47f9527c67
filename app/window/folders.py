"""Opening folders: File > Open Folder…, Open Recent, drag and drop; a mixin of :class:`app.window.MainWindow`.

When a folder opens, every message and state of the one before goes: status line, model warnings, the title.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.state import settings
from app.state.paths import folder_to_open
from segcore.errors import DataError


class FolderMixin:
    """Expects ``session``, ``files``, ``menus`` and ``confirm_unsaved`` on the window it is mixed into."""


    def choose_folder(self) -> None:
        start = str(self.session.folder or settings.last_folder() or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> bool:
        """Open ``folder``; a folder that cannot be used is reported in a dialog and the window carries on.

        Masks of the current folder are saved first; if that fails the user chooses to discard them or stay.
        """
        if not self.session.save_all() and not self.confirm_unsaved(ask_first=False, leaving="Open the other folder"):
            return False
        try:
            self.session.open_folder(folder)
        except DataError as exc:
            QMessageBox.warning(self, "Cannot open folder", str(exc))
            return False
        return True

    def _on_folder(self, folder: Path) -> None:
        s = self.session
        names = [smp.image.name for smp in s.samples]
        self.files.set_files(names, [s.state(i) for i in range(len(names))], [smp.split for smp in s.samples])
        settings.add_recent_folder(folder)
        self._refresh_recent()
        self.statusBar().showMessage(f"Opened {folder} ({len(names)} images)", 5000)

    def _refresh_recent(self) -> None:
        menu = self.menus.recent
        menu.clear()
        for folder in settings.recent_folders():
            menu.addAction(str(folder), lambda f=folder: self.open_folder(f))
        menu.setEnabled(not menu.isEmpty())


    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and folder_to_open(Path(urls[0].toLocalFile())) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """A dropped folder opens; a dropped image opens its folder at that image."""
        target = folder_to_open(Path(event.mimeData().urls()[0].toLocalFile()))
        if target is None or not self.open_folder(target[0]):
            return
        images = [s.image.resolve() for s in self.session.samples]
        if target[1] is not None and target[1].resolve() in images:
            self.session.select(images.index(target[1].resolve()))

