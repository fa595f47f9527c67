"""The annotation assistant's panels with their controllers, added to the main window in one call: *Assist*
(the uncertainty queue, scribble-to-mask and Retrain, a tab of the right-hand column's group) and *Metrics* (the
per-image scores, a view that takes the image's place while open, like Compare), the Image > Next Most Uncertain
action (N), and the loop between them: the current model is the Segment panel's (a run's best model becomes it when
the run ends, :meth:`app.window.job_docks.JobPanels._run_ended`), the unannotated images are scored with it after
every training run, and Retrain fine-tunes it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from app.controllers.metrics import MetricsController
from app.controllers.scribbles import ScribbleController
from app.controllers.uncertainty import UncertaintyController
from app.state import settings
from app.views.icons import icon
from app.views.panels.assist_panel import AssistPanel
from app.views.panels.metrics_panel import MetricsPanel

NEXT_SHORTCUT = "N"


class AssistPanels:
    """What :func:`install` built: ``panel``, ``metrics_panel`` and the controllers ``uncertainty``,
    ``scribbles``, ``metrics``; ``jobs`` are the window's :class:`app.window.job_docks.JobPanels`."""

    def __init__(self, window, jobs) -> None:
        self.window, self.jobs = window, jobs
        self._score_after: str | None = None  # a run's model being loaded: the queue scores with it then
        self.next_action = _next_action(window)
        self.panel = AssistPanel(self.next_action)
        self.metrics_panel = MetricsPanel()
        self.dock = window.add_panel("Assist", self.panel, "assistDock", "right", tab_with="brushDock")
        window.docking.add_view("Metrics", self.metrics_panel)
        self.uncertainty = UncertaintyController(window, window.session, window.canvas, window.files, self.panel,
                                                 jobs.prediction, jobs.pool)
        self.scribbles = ScribbleController(window, window.session, self.panel, jobs.prediction, jobs.pool)
        self.metrics = MetricsController(window, window.session, self.metrics_panel, jobs.prediction, jobs.pool)
        self.panel.set_remembered(settings.recall("assist", self.panel.remembered()))
        self.panel.spread.valueChanged.connect(self._remember)
        self.panel.use_model.toggled.connect(self._remember)
        self.next_action.triggered.connect(self.uncertainty.next_most_uncertain)
        jobs.prediction.modelLoaded.connect(self.set_model)
        self.panel.retrainRequested.connect(lambda: self.retrain(self.uncertainty.model))
        self.panel.metricsRequested.connect(self.open_metrics)
        self.metrics_panel.rowChosen.connect(lambda _index: window.docking.show_image())

    def retrain(self, model: str | None) -> bool:
        """Fine-tune ``model`` (the current checkpoint) on the open folder, which has grown since it was trained,
        for the Training tab's budget; its curves go on after the previous round's. False (and why) if not."""
        training, refusal = self.jobs.training, None
        if not model:
            refusal = "Load or train a model first: Retrain fine-tunes the current model on the enlarged set."
        elif not Path(model).is_file():
            refusal = f"{model} is gone, so it cannot be retrained; load another checkpoint or Train."
        elif training.is_running():
            refusal = "A training run is under way: Retrain when it has ended (or Stop it)."
        if refusal:
            QMessageBox.warning(self.window, "Retrain", refusal)
            return False
        if not training.start(retrain_from=model):
            return False
        self.jobs.training_dock.raise_()  # the rounds' curves, side by side
        return True

    def open_metrics(self) -> None:
        """Bring the Metrics view forward; with a model and nothing scored yet, score the annotated images."""
        self.window.docking.show_view(self.metrics_panel)
        if not self.metrics_panel.row_count() and not self.metrics.busy():
            self.metrics.evaluate()

    def _remember(self, *_args) -> None:
        settings.remember("assist", self.panel.remembered())

    def set_model(self, path: str | None) -> None:
        """``path`` is the current model now (the Segment panel loaded it): the queue scores with it and Retrain
        goes on from it; after a training run the unannotated images are scored with it at once."""
        self.uncertainty.set_model(path)
        self.panel.offer_retrain(path)
        if path is not None and self._score_after is not None and Path(path) == Path(self._score_after):
            self._score_after = None
            self.uncertainty.score_unannotated()

    def score_when_loaded(self, path: str) -> None:
        """Score the unannotated images once ``path`` (a run's model, being loaded) is the current model."""
        self._score_after = path


def _next_action(window) -> QAction:
    action = QAction(icon("next-uncertain"), "Next Most &Uncertain", window)
    action.setObjectName("nextUncertainAction")
    action.setShortcut(QKeySequence(NEXT_SHORTCUT))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    tip = ("Open the unannotated image the current model is least sure about, passing over images much like an "
           "annotated one, with its prediction to correct")
    action.setToolTip(f"{tip} ({NEXT_SHORTCUT})")
    action.setStatusTip(tip)
    window.menus.image.addSeparator()
    window.menus.image.addAction(action)
    return action


def install(window, jobs) -> AssistPanels:
    """Add the assistant's panels to ``window`` (a :class:`app.window.MainWindow`) beside its job panels."""
    return AssistPanels(window, jobs)
