"""The Assist panel: the uncertainty queue (score images, show the uncertainty, open the next most uncertain
image) and scribble-to-mask (a few strokes per class completed into a mask proposal).

Only widgets: it emits what the user asks for and shows what the controllers
(:mod:`app.controllers.uncertainty`, :mod:`app.controllers.scribbles`) pass in.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.views.colorbar import ColorBar
from app.views.icons import button
from segcore.scribbles import PROPOSAL_PARAMS, SPREAD_RANGE


def _label(name: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


class AssistPanel(QWidget):
    """``next_action`` is the window's Next Most Uncertain action (its shortcut works anywhere in the window).

    Emits ``scoreRequested``, ``cancelScoreRequested``, ``uncertaintyToggled(bool)``, ``proposeRequested``,
    ``cancelProposeRequested``, ``retrainRequested`` and ``metricsRequested``.
    """

    scoreRequested = Signal()
    cancelScoreRequested = Signal()
    retrainRequested = Signal()
    metricsRequested = Signal()
    uncertaintyToggled = Signal(bool)
    proposeRequested = Signal()
    cancelProposeRequested = Signal()

    def __init__(self, next_action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue_status = _label("queueStatus", "No model yet: train one, or load a checkpoint.")
        self.score = button("Score images", "scoreImagesButton", "Measure how unsure the model is about each image "
                            "without a mask (in the background; a few seconds per image)", "evaluate")
        self.cancel_score = button("Cancel", "cancelScoreButton", "Stop scoring after the current image", "stop")
        self.progress = QProgressBar()
        self.progress.setObjectName("scoreProgress")
        self.progress.setFormat("%v / %m")
        self.toggle = QCheckBox("Show uncertainty")
        self.toggle.setObjectName("uncertaintyToggle")
        self.toggle.setToolTip("Colour the image where the model hesitates (entropy of its averaged test-time-"
                               "augmented probabilities); clear where it is sure")
        self.legend = ColorBar("0 sure", "1 unsure")
        self.legend.setObjectName("uncertaintyLegend")
        self.next = QToolButton()
        self.next.setObjectName("nextUncertainButton")
        self.next.setDefaultAction(next_action)
        self.next.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.spread = QSlider(Qt.Orientation.Horizontal)
        self.spread.setObjectName("spreadSlider")
        self.spread.setRange(int(SPREAD_RANGE[0]), int(SPREAD_RANGE[1]))
        self.spread.setValue(int(PROPOSAL_PARAMS.bilateral_sxy))
        self.spread.setToolTip("How far the scribbles spread, in pixels: small keeps labels near the strokes, large "
                               "lets them fill whole regions of similar brightness")
        self.spread_label = QLabel()
        self.spread_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("400 px "))
        self.use_model = QCheckBox("Use the model's probabilities")
        self.use_model.setObjectName("useModelCheck")
        self.use_model.setToolTip("Start unscribbled pixels from the loaded model's prediction; scribbles still win")
        self.propose = button("Propose mask", "proposeMaskButton", "Complete the strokes on this image into a "
                              "full mask with the dense CRF; the proposal appears like a prediction, to accept, "
                              "correct or discard", "propose-mask")
        self.cancel_propose = button("Cancel", "cancelProposeButton", "Forget the proposal being computed", "stop")
        self.scribble_status = _label("scribbleStatus", "Mark the mask unlabelled (Edit menu), paint a few strokes "
                                      "of each class, then Propose mask.")
        self.retrain = button("Retrain", "retrainButton", "", "retrain")
        self.metrics = button("Per-image metrics", "openMetricsButton", "Score the loaded model on every annotated "
                              "image, raw and after the CRF, in a table beside the image", "evaluate")
        self.offer_retrain(None)
        self._build_layout()
        self.retrain.clicked.connect(self.retrainRequested)
        self.metrics.clicked.connect(self.metricsRequested)
        self.score.clicked.connect(self.scoreRequested)
        self.cancel_score.clicked.connect(self.cancelScoreRequested)
        self.toggle.toggled.connect(self.uncertaintyToggled)
        self.propose.clicked.connect(self.proposeRequested)
        self.cancel_propose.clicked.connect(self.cancelProposeRequested)
        self.spread.valueChanged.connect(lambda v: self.spread_label.setText(f"{v} px"))
        self.spread_label.setText(f"{self.spread.value()} px")
        self.set_queue_state(has_model=False, scoring=False)
        self.set_scribble_state(busy=False, model=False)

    def _build_layout(self) -> None:
        queue = QGroupBox("Uncertainty queue")
        grid = QGridLayout(queue)
        grid.addWidget(self.queue_status, 0, 0, 1, 2)
        grid.addWidget(self.score, 1, 0)
        grid.addWidget(self.next, 1, 1)
        grid.addWidget(self.progress, 2, 0)
        grid.addWidget(self.cancel_score, 2, 1)
        grid.addWidget(self.toggle, 3, 0, 1, 2)
        grid.addWidget(self.legend, 4, 0, 1, 2)
        scribbles = QGroupBox("Scribble to mask")
        box = QGridLayout(scribbles)
        spread = QHBoxLayout()
        spread.addWidget(QLabel("Spread"))
        spread.addWidget(self.spread, 1)
        spread.addWidget(self.spread_label)
        box.addLayout(spread, 0, 0, 1, 2)
        box.addWidget(self.use_model, 1, 0, 1, 2)
        box.addWidget(self.propose, 2, 0)
        box.addWidget(self.cancel_propose, 2, 1)
        box.addWidget(self.scribble_status, 3, 0, 1, 2)
        loop = QGroupBox("Check and retrain")
        row = QHBoxLayout(loop)
        row.addWidget(self.metrics)
        row.addWidget(self.retrain)
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(4, 4, 4, 4)
        for group in (queue, scribbles, loop):
            column.addWidget(group)
        column.addStretch(1)
        # Scrolls rather than asks for its full height: the tab group it shares would grow with it, and the
        # window's smallest size and the image's share with them.
        scroll = QScrollArea()
        scroll.setObjectName("assistScroll")
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    # -- what the controllers show ------------------------------------------------------------------------------
    def set_queue_state(self, has_model: bool, scoring: bool) -> None:
        self.score.setEnabled(has_model and not scoring)
        self.progress.setVisible(scoring)
        self.cancel_score.setVisible(scoring)

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def set_queue_status(self, text: str) -> None:
        self.queue_status.setText(text)

    def uncertainty_shown(self) -> bool:
        return self.toggle.isChecked()

    def set_scribble_state(self, busy: bool, model: bool) -> None:
        """``model``: a loaded model whose probabilities can join the scribbles."""
        self.propose.setEnabled(not busy)
        self.cancel_propose.setVisible(busy)
        self.use_model.setEnabled(model)

    def offer_retrain(self, model: str | None) -> None:
        """Enable Retrain to fine-tune ``model`` (a checkpoint path; None: no model to go on from)."""
        self.retrain.setEnabled(model is not None)
        self.retrain.setToolTip(
            f"Fine-tune the current model ({model}) on every annotated image of the folder, corrected proposals "
            "included, for the Training tab's time budget; the curves of the rounds follow each other" if model
            else "Load or train a model first: Retrain fine-tunes the current model")

    def set_scribble_status(self, text: str) -> None:
        self.scribble_status.setText(text)

    def spread_px(self) -> float:
        return float(self.spread.value())

    def model_wanted(self) -> bool:
        return self.use_model.isEnabled() and self.use_model.isChecked()

    def remembered(self) -> dict:
        return {"spread": self.spread.value(), "use_model": self.use_model.isChecked()}

    def set_remembered(self, values: dict) -> None:
        if "spread" in values:
            self.spread.setValue(int(values["spread"]))
        if "use_model" in values:
            self.use_model.setChecked(bool(values["use_model"]))
