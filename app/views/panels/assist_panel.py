"""The Assist panel: the uncertainty queue (score images, show the uncertainty, open the next most uncertain
image) and scribble-to-mask (a few strokes per class completed into a mask proposal).

Only widgets: it emits what the user asks for and shows what the controllers
(:mod:`app.controllers.uncertainty`, :mod:`app.controllers.scribbles`) pass in.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
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
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.views.colorbar import ColorBar
from app.views.elided import MessageLabel
from app.views.icons import button
from segcore.scribbles import PROPOSAL_PARAMS

# The spread's stops, in pixels: each a factor of about 1.4 apart, so an arrow key changes the proposal visibly at
# 5 px as at 400 px (1 px a press over 5-400 px did nothing visible); Page Up/Down moves two stops (x2).
SPREAD_STOPS = (5, 7, 10, 14, 20, 28, 40, 56, 80, 112, 160, 226, 320, 400)
SPREAD_SETTLE_MS = 400  # after the last change, the proposal is computed again (once, not per stop passed)
SCRIBBLE_HINT = ("Paint a few strokes of each class, the rest unlabelled (Strokes only, or Edit > Mark Whole "
                 "Mask Unlabelled), then Propose mask.")


def _label(name: str, text: str = "") -> MessageLabel:
    """Three lines whatever the message (a long error is elided, whole in its tooltip): a message growing the
    panel used to push Per-image metrics and Retrain out of sight behind a scroll bar."""
    label = MessageLabel(lines=3)
    label.setObjectName(name)
    label.setText(text)
    return label


def _stop(pixels: float) -> int:
    """The slider position whose spread is nearest ``pixels`` (on a log scale, as the stops are spaced)."""
    import math

    return min(range(len(SPREAD_STOPS)), key=lambda i: abs(math.log(SPREAD_STOPS[i] / max(pixels, 1e-3))))


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
    spreadChosen = Signal(float)  # pixels, once the slider has settled (released, or the last key press)
    cancelProposeRequested = Signal()

    def __init__(self, next_action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue_status = _label("queueStatus")
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
        self.next.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)  # as wide as Score images
        self.spread = QSlider(Qt.Orientation.Horizontal)
        self.spread.setObjectName("spreadSlider")
        self.spread.setRange(0, len(SPREAD_STOPS) - 1)
        self.spread.setSingleStep(1)
        self.spread.setPageStep(2)
        self.spread.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.spread.setValue(_stop(PROPOSAL_PARAMS.bilateral_sxy))
        self.spread.setToolTip(f"How far the scribbles spread, in pixels ({SPREAD_STOPS[0]}-{SPREAD_STOPS[-1]}): "
                               "small keeps labels near the strokes, large lets them fill whole regions of similar "
                               "brightness. A proposal on screen is computed again when you let go.")
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SPREAD_SETTLE_MS)
        self._settle.timeout.connect(lambda: self.spreadChosen.emit(self.spread_px()))
        self.spread_label = QLabel()
        self.spread_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("400 px "))
        self.use_model = QCheckBox("Use the model's probabilities")
        self.use_model.setObjectName("useModelCheck")
        self.use_model.setToolTip("Start unscribbled pixels from the loaded model's prediction; scribbles still win")
        self.use_model.setChecked(True)  # with a model loaded, the proposal follows what it has learnt (newcomer
        # check: unticked by default, the CRF alone let labels flow over thin membranes); off without one
        self.propose = button("Propose mask", "proposeMaskButton", "Complete the strokes on this image into a "
                              "full mask with the dense CRF; the proposal appears like a prediction, to accept, "
                              "correct or discard", "propose-mask")
        self.cancel_propose = button("Cancel", "cancelProposeButton", "Forget the proposal being computed", "stop")
        self.scribble_status = _label("scribbleStatus", SCRIBBLE_HINT)
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
        self.spread.valueChanged.connect(self._spread_moved)
        self.spread.sliderReleased.connect(self._settle.start)
        self.spread_label.setText(f"{self.spread_px():g} px")
        self.set_queue_state(has_model=False, scoring=False)
        self.set_scribble_state(busy=False, model=False)

    def _build_layout(self) -> None:
        queue = QGroupBox("Uncertainty queue")
        grid = QGridLayout(queue)
        grid.addWidget(self.queue_status, 0, 0, 1, 2)
        # One button a row: side by side they asked 304 px, wider than the right-hand column at 1366 px, and the
        # panel scrolled sideways with its lines cut at the edge.
        grid.addWidget(self.next, 1, 0, 1, 2)
        grid.addWidget(self.score, 2, 0, 1, 2)  # while scoring, its progress and Cancel take its place
        grid.addWidget(self.progress, 2, 0)
        grid.addWidget(self.cancel_score, 2, 1)
        grid.addWidget(self.toggle, 3, 0, 1, 2)
        grid.addWidget(self.legend, 4, 0, 1, 2)
        scribbles = QGroupBox("Scribble to mask")
        box = QGridLayout(scribbles)
        spread = QHBoxLayout()
        spread.addWidget(QLabel("Spread (px)"))
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
            group.layout().setContentsMargins(6, 4, 6, 6)  # the queue's extra row: the three groups still fit a
            column.addWidget(group)  # 1366 x 768 screen's column without scrolling
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
        self.score.setVisible(not scoring)
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
        return float(SPREAD_STOPS[self.spread.value()])

    def _spread_moved(self) -> None:
        self.spread_label.setText(f"{self.spread_px():g} px")
        if not self.spread.isSliderDown():  # a key or a click: settles by itself; a drag settles when released
            self._settle.start()

    def model_wanted(self) -> bool:
        return self.use_model.isEnabled() and self.use_model.isChecked()

    def remembered(self) -> dict:
        return {"spread": self.spread_px(), "use_model": self.use_model.isChecked()}

    def set_remembered(self, values: dict) -> None:
        if "spread" in values:
            self.spread.setValue(_stop(float(values["spread"])))
            self._settle.stop()  # a remembered value is no choice of the user's
        if "use_model" in values:
            self.use_model.setChecked(bool(values["use_model"]))
