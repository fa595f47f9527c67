"""The runs of the open folder in the Segment panel, and the model remembered per folder (issue #19 item 8).

After a restart the window comes back to the model last used on a folder (loaded in the background) and shows its
run's curves; the folder's runs are listed by name, date, architecture, best Dice and its number of validation
images, epochs, and how the run ended, to pick from.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from app.controllers.prediction import PredictionController
from app.state import settings
from app.state.runs import list_runs, read_run
from app.state.session import Session
from app.views.panels.prediction_panel import PredictionPanel
from app.views.panels.training_panel import TrainingPanel

MODEL_KEY = "model"


class RunsController(QObject):
    """Fills the run list, remembers the model loaded on each folder and brings it back."""

    def __init__(self, parent: QObject, session: Session, panel: PredictionPanel, prediction: PredictionController,
                 training: TrainingPanel) -> None:
        super().__init__(parent)
        self.session, self.panel, self.prediction, self.training = session, panel, prediction, training
        session.folderOpened.connect(self._on_folder)
        panel.runChosen.connect(prediction.load)
        prediction.modelLoaded.connect(self._remember)

    def refresh(self) -> None:
        """List the runs of the open folder again (after a run ends, or a folder opens)."""
        folder = self.session.folder
        runs = list_runs(folder) if folder is not None else []
        self.panel.show_runs([r.label() for r in runs], [str(r.checkpoint) for r in runs])

    def _on_folder(self, folder: Path) -> None:
        self.refresh()
        remembered = settings.recall_for_folder(MODEL_KEY, folder)
        if remembered and Path(remembered).is_file():
            self.prediction.load(remembered)
            run = read_run(Path(remembered).parent)
            if run is not None and run.history:
                self.training.show_history(run.name, run.history)

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
