"""The Training, Segment and Compare panels and the annotation import/export, with their controllers, added to
the main window in one call.

``install(window)`` docks the panels (Segment under the image list, Training as a tab of the right-hand column,
Compare as a view that takes the image's place while open), adds File > Load Checkpoint… and File > Export
Model…, connects File > Import / Export Annotations (whose folder export is a job), and connects the flows: a
finished run offers its checkpoint for segmenting and is listed among the folder's runs, and Refine with CRF opens
the Compare view. The window asks :meth:`JobPanels.confirm_close` and calls
:meth:`JobPanels.shutdown` when it closes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence

from app.controllers.annotation_transfer import AnnotationTransferController
from app.controllers.compare import CompareController
from app.controllers.export import ExportController
from app.controllers.prediction import PredictionController
from app.controllers.runs import RunsController
from app.controllers.training import TrainingController
from app.jobs.workers import WorkerPool
from app.state import settings
from app.state.runs import model_after_run
from app.views.compare_view import CompareView
from app.views.icons import icon
from app.views.panels.prediction_panel import PredictionPanel
from app.views.panels.training_form import SETTINGS_GROUP
from app.views.panels.training_panel import TrainingPanel
from app.window.assist_docks import install as install_assist
from segcore.training.events import DoneEvent

SEGMENT_HEIGHT = 330  # under the image list


class JobPanels:
    """What :func:`install` built: ``pool``, ``training``, ``prediction``, ``compare``, ``annotations``
    (controllers), panels, and ``assist`` (:class:`app.window.assist_docks.AssistPanels`)."""

    def __init__(self, window) -> None:
        self.window = window
        self.pool = WorkerPool(window)
        self.load_action = _load_action(window)
        self.export_action = _export_action(window)
        self.training_panel = TrainingPanel()
        self.prediction_panel = PredictionPanel(self.load_action)
        self.compare_view = CompareView()
        # In front on the first start: Train is the button a newcomer looks for (painting needs only the toolbar)
        self.training_dock = window.add_panel("Training", self.training_panel, "trainingDock", "right",
                                              tab_with="brushDock", front=True)
        self.segment_dock = window.add_panel("Segment", self.prediction_panel, "segmentDock", "left",
                                             height=SEGMENT_HEIGHT)
        window.docking.add_view("Compare", self.compare_view)  # takes the image's place while it is open
        self.training = TrainingController(window, window.session, self.training_panel, self.pool)
        self.prediction = PredictionController(window, window.session, window.canvas, self.prediction_panel,
                                               self.pool)
        self.compare = CompareController(window, window.session, self.compare_view, self.pool,
                                         self.prediction.accept_mask)
        self.annotations = AnnotationTransferController(window, window.session, self.pool, window.actions)
        self.compare.opened.connect(lambda: window.docking.show_view(self.compare_view))
        self.compare.closed.connect(lambda: window.docking.hide_view(self.compare_view))
        panel = self.training_panel
        panel.form.set_remembered(settings.recall(SETTINGS_GROUP, panel.form.remembered()))
        self.runs = RunsController(window, window.session, self.prediction_panel, self.prediction, self.training)
        self.load_action.triggered.connect(self.runs.choose_checkpoint)
        self.training.finished.connect(self._run_ended)
        self.training_panel.summaryChanged.connect(window.show_job_state)  # the tab's title never changes
        self.compare_view.zoomChanged.connect(lambda _zoom: window.show_zoom())
        window.docking.central.currentChanged.connect(lambda _index: window.show_zoom())
        self.prediction.compareRequested.connect(self.compare.start)
        self.export = ExportController(window, self.pool, lambda: self.prediction.predictor_path())
        self.export_action.triggered.connect(self.export.open)
        window.session.folderOpened.connect(lambda _folder: self.export.refresh())
        self.assist = install_assist(window, self)  # Assist and Metrics (app/window/assist_docks.py)

    def _run_ended(self, done: DoneEvent) -> None:
        """The run's best model becomes the current model (:func:`app.state.runs.model_after_run` says when not);
        the queue scores the unannotated images with it once it is loaded; the status line says which it is."""
        self.runs.refresh()
        folder, data = self.window.session.folder, self.training.last_data
        path, line = model_after_run(done, folder is not None and data is not None and Path(data) == Path(folder),
                                     self.prediction.predictor_path() is not None)
        if path is not None:
            self.assist.score_when_loaded(path)
            self.prediction.load(path)
        elif done.scored_below_start():
            self.prediction.say(f"Kept this model: the new round scored {done.best_score:.3f} < {done.start_score:.3f} "
                                "on the same validation images. Use trained model loads it anyway.")
        best = "" if done.scored_below_start() else self.training.progress.best_text()  # the line says it all
        self.window.statusBar().showMessage(f"Training {done.status}{best}{line}", 30000)

    def confirm_close(self) -> bool:
        """Ask before stopping a training run; True when the window may close."""
        return self.training.confirm_close()

    def shutdown(self) -> bool:
        """Stop every job and wait for it (a training run ends between batches and keeps its checkpoints)."""
        if self.pool.running():
            self.window.statusBar().showMessage("Stopping the running jobs…")
        return self.pool.shutdown()


def _load_action(window) -> QAction:
    action = QAction(icon("load-checkpoint"), "&Load Checkpoint…", window)
    action.setObjectName("loadCheckpointAction")
    action.setShortcut(QKeySequence("Ctrl+L"))
    action.setToolTip("Load a trained model (.pt checkpoint) to segment images (Ctrl+L)")
    action.setStatusTip("Load a trained model (.pt checkpoint) to segment images")
    window.menus.file.insertAction(window.actions.save, action)
    window.menus.file.insertSeparator(window.actions.save)
    return action


def _export_action(window) -> QAction:
    action = QAction(icon("export-model"), "&Export Model…", window)
    action.setObjectName("exportModelAction")
    action.setToolTip("Export a trained model as a bioimage.io package (Fiji, QuPath, napari), ONNX or TorchScript")
    action.setStatusTip(action.toolTip())
    window.menus.file.insertAction(window.actions.save, action)
    window.menus.file.insertSeparator(window.actions.save)
    return action


def install(window) -> JobPanels:
    """Add the job panels to ``window`` (a :class:`app.window.MainWindow`)."""
    return JobPanels(window)
