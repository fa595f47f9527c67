"""The runs of the open folder in the Segment panel, and the model remembered per folder (issue #19 item 8).

After a restart the window comes back to the model last used on a folder (loaded in the background) and shows its
run's curves; the folder's runs are listed by name, date, architecture, best Dice and its number of validation
images, epochs, and how the run ended, to pick from, and can be renamed (Rename… beside the list).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.controllers.prediction import PredictionController
from app.controllers.training import TrainingController
from app.state import settings
from app.state.runs import list_runs, read_run
from app.state.session import Session
from app.views.panels.prediction_panel import PredictionPanel
from app.views.rename_run_dialog import RenameRunDialog
from segcore.errors import DataError, describe
from segcore.training.records import rename_run

MODEL_KEY = "model"


class RunsController(QObject):
    """Fills the run list, remembers the model loaded on each folder and brings it back."""

    def __init__(self, parent: QObject, session: Session, panel: PredictionPanel, prediction: PredictionController,
                 training: TrainingController) -> None:
        super().__init__(parent)
        self.session, self.panel, self.prediction, self.training = session, panel, prediction, training
        session.folderOpened.connect(self._on_folder)
        panel.runChosen.connect(prediction.load)
        panel.renameRunRequested.connect(self.ask_rename)
        panel.useTrainedRequested.connect(lambda: prediction.load(self.trained_path))
        prediction.modelLoaded.connect(self._remember)
        prediction.modelLoaded.connect(lambda _path: self._offer_trained())
        prediction.modelLoaded.connect(lambda _path: self.refresh())  # the mark follows the model loaded now
        training.finished.connect(lambda done: self.offer_trained(done, training.last_data))
        self.dialog: RenameRunDialog | None = None
        self.trained_path: str | None = None  # the checkpoint of the run that ended last
        self.trained_data: str | None = None  # and the folder it trained on

    def refresh(self) -> None:
        """List the runs of the open folder again (after a run ends, or a folder opens)."""
        folder = self.session.folder
        runs = list_runs(folder) if folder is not None else []
        loaded = self.prediction.predictor_path()
        self.panel.show_runs([r.label() for r in runs], [str(r.checkpoint) for r in runs],
                             self._index_of(runs, loaded), str(loaded) if loaded is not None else None)

    @staticmethod
    def _index_of(runs, checkpoint: Path | None) -> int | None:
        """Which of ``runs`` the loaded ``checkpoint`` belongs to (best.pt or last.pt of its folder), if any."""
        if checkpoint is None:
            return None
        folder = checkpoint.resolve().parent
        return next((i for i, r in enumerate(runs) if r.folder.resolve() == folder), None)

    # -- renaming -----------------------------------------------------------------------------------------------
    def ask_rename(self) -> RenameRunDialog | None:
        """Rename… beside the run list: a dialog to pick a run of this folder (the loaded model's first) and name
        it; None when the folder has no run."""
        runs = list_runs(self.session.folder) if self.session.folder is not None else []
        if not runs:
            return None
        current = self._index_of(runs, self.prediction.predictor_path()) or 0
        self.dialog = RenameRunDialog([(r.label(), str(r.folder), r.name) for r in runs], current, self.parent())
        self.dialog.renameRequested.connect(self.rename)
        self.dialog.open()
        return self.dialog

    def rename(self, folder: str, name: str) -> bool:
        """Write ``name`` into the run's config.json (atomically); the lists and the loaded model's description
        follow. A failure is said in a dialog and changes nothing."""
        try:
            stored = rename_run(folder, name)
        except (DataError, OSError) as exc:
            QMessageBox.warning(self.parent(), "Cannot rename the run", describe(exc))
            return False
        self.training.run_renamed(Path(folder), stored)
        self.refresh()
        self.prediction.describe_model()
        return True

    # -- the run that just ended ---------------------------------------------------------------------------------
    def offer_trained(self, done, data: str | None) -> None:
        """After a run on the folder ``data`` (a DoneEvent): offer its best checkpoint (else its last) with one
        click while that folder is open; not when it was stopped before one epoch ended (its last.pt then holds
        untrained weights)."""
        path = done.best_path or done.last_path
        if path and done.epochs_done > 0:
            self.trained_path, self.trained_data = path, data
            self._offer_trained()

    def _offer_trained(self) -> None:
        """Use trained model belongs to the folder its run trained on: hidden in any other, and while that model
        is the current one already."""
        here = self.trained_path is not None and self.session.folder is not None \
            and self.trained_data is not None and Path(self.trained_data) == Path(self.session.folder)
        loaded = self.prediction.predictor_path()
        current = loaded is not None and self.trained_path is not None and Path(loaded) == Path(self.trained_path)
        self.panel.offer_trained(self.trained_path if here and not current else None)

    def _on_folder(self, folder: Path) -> None:
        self._offer_trained()
        self.refresh()
        remembered = settings.recall_for_folder(MODEL_KEY, folder)
        if remembered and Path(remembered).is_file():
            self.prediction.load(remembered)
            run = read_run(Path(remembered).parent)
            if run is not None and run.history:
                self.training.show_history(run.name, run.history, run.classes, run.val_images)

    def _remember(self, path: str) -> None:
        if self.session.folder is not None:
            settings.remember_for_folder(MODEL_KEY, self.session.folder, path)

    def start_folder(self) -> Path | None:
        """Where Load Checkpoint… opens: the remembered model's run, else the folder's checkpoints/."""
        folder = self.session.folder
        remembered = settings.recall_for_folder(MODEL_KEY, folder)
        if remembered and Path(remembered).parent.is_dir():
            return Path(remembered).parent
        if folder is not None and (folder / "checkpoints").is_dir():
            return folder / "checkpoints"
        return folder

    def choose_checkpoint(self) -> None:
        """File > Load Checkpoint…: a file dialog that opens among the runs."""
        start = self.start_folder()
        path, _ = QFileDialog.getOpenFileName(self.parent(), "Load a checkpoint", str(start or ""),
                                              "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.prediction.load(path)
