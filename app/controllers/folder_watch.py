"""Notices what other programs do to the open folder while the window has it open.

The current mask file replaced (another annotation tool, a sync client): read again when it has no edits here,
else the user is asked whether to reload it or keep the edits. The folder moved or unplugged: said once, and
saving is refused rather than recreating it (see :meth:`segcore.annotate.AnnotationStore.check_disk`). A
``QFileSystemWatcher`` says when to look, and so does the window becoming active again; the folder's warnings
(JPEG masks, unpaired files) go to the status bar here too.
"""

from __future__ import annotations

from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from app.state.session import Session

SETTLE_MS = 300  # a program writing a file sends several change signals: look once they have stopped


class FolderWatch(QObject):
    """Watches the open folder and the current mask file for ``session``, in ``window``."""

    def __init__(self, window: QMainWindow, session: Session) -> None:
        super().__init__(window)
        self.window, self.session = window, session
        self.watcher = QFileSystemWatcher(self)
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self.check)
        self.watcher.fileChanged.connect(lambda _path: self._settle.start())
        self.watcher.directoryChanged.connect(lambda _path: self._settle.start())
        session.folderOpened.connect(lambda _folder: self._watch())
        session.imageLoaded.connect(lambda _index: self._watch())
        session.warning.connect(self._warn)
        session.store.on.ask_reload = self._ask_reload
        # A bound method, not a lambda: Qt drops the connection with this object, while a lambda on the
        # application's signal outlived its window and reached a deleted timer on the next state change.
        QApplication.instance().applicationStateChanged.connect(self._on_app_state)

    def _on_app_state(self, state: Qt.ApplicationState) -> None:
        """Back in this application: look at the disk (another program may have changed files meanwhile)."""
        if state == Qt.ApplicationState.ApplicationActive:
            self._settle.start()

    def check(self) -> None:
        """Compare the folder and the current mask file with what the session read; re-arm the watcher."""
        self.session.check_disk()
        self._watch()

    def _watch(self) -> None:
        s = self.session
        wanted = set()
        if s.folder is not None:
            wanted |= {str(s.folder), str(s.folder.parent)}  # a folder moved away tells only its parent
            if 0 <= s.index < len(s.samples) and (mask := s.samples[s.index].mask) is not None:
                wanted |= {str(mask), str(mask.parent)}  # the folder too: a replace gives the file a new inode
        watched = set(self.watcher.files()) | set(self.watcher.directories())
        if watched - wanted:
            self.watcher.removePaths(list(watched - wanted))
        if wanted - watched:
            self.watcher.addPaths(sorted(wanted - watched))  # missing paths are skipped with a warning

    def _warn(self, text: str) -> None:
        self.window.statusBar().showMessage(f"Warning: {text}", 20000)  # cut to fit, whole when hovered

    def _ask_reload(self, question: str) -> bool:
        answer = QMessageBox.question(self.window, "Mask changed on disk", question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
