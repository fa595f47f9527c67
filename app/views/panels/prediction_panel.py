"""The Segment panel: which model is loaded, Segment image / Segment all with progress and Cancel, the
prediction overlay's look, Accept / Discard, and Refine with CRF (which opens the Compare view).

Only widgets: it emits what the user asks for and shows what the controller
(:class:`app.controllers.prediction.PredictionController`) passes in.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QWidget,
)

from app.views.elided import MessageLabel, keep_place
from app.views.icons import button
from app.views.rows import side_by_side

LOADED = "● Loaded"  # marks the run list's entry whose model is loaded now


class PredictionPanel(QWidget):
    """Buttons of segmentation; ``load_action`` is the window's Load Checkpoint action.

    Emits ``segmentRequested``, ``segmentAllRequested``, ``cancelRequested``, ``acceptRequested``,
    ``discardRequested``, ``refineRequested``, ``useTrainedRequested`` and ``overlayChanged`` (show, outlines).
    """

    segmentRequested = Signal()
    segmentAllRequested = Signal()
    cancelRequested = Signal()
    acceptRequested = Signal()
    discardRequested = Signal()
    refineRequested = Signal()
    useTrainedRequested = Signal()
    overlayChanged = Signal()
    ttaChanged = Signal(bool)
    runChosen = Signal(str)  # the checkpoint of a run picked from the list
    renameRunRequested = Signal()

    def __init__(self, load_action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.load_button = QToolButton()
        self.load_button.setObjectName("loadCheckpointButton")
        self.load_button.setDefaultAction(load_action)
        self.load_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.use_trained = button("Use trained model", "useTrainedButton",
                                   "Load the best checkpoint of the run that just ended")
        self.use_trained.setVisible(False)
        keep_place(self.use_trained)  # offered when a run ends: nothing moves
        self.runs = QComboBox()
        self.runs.setObjectName("runCombo")
        self.runs.setToolTip("The training runs of this folder (in its checkpoints/): name, date, architecture, "
                             "best validation Dice and on how many images, epochs, how the run ended")
        self.runs.activated.connect(self._run_activated)
        self._loaded_row = 0  # the run list's entry of the loaded model (0: none of this folder's runs)
        self.rename_run = QToolButton()
        self.rename_run.setObjectName("renameRunButton")
        self.rename_run.setText("Rename…")
        self.rename_run.setToolTip("Give one of this folder's runs another name (its folder keeps its own)")
        self.rename_run.clicked.connect(self.renameRunRequested)
        self.model_label = QLabel("No model loaded.")
        self.model_label.setToolTip("Load a checkpoint: a .pt file written by a training run")
        self.model_label.setObjectName("modelLabel")
        self.model_label.setWordWrap(True)
        # Docks ignore height-for-width: without a floor, a tall Compare dock squeezed this to one clipped line.
        self.model_label.setMinimumHeight(3 * self.model_label.fontMetrics().lineSpacing())
        self.segment = button("Segment image", "segmentButton", "Predict the mask of the image on screen", "segment")
        self.segment_all = button("Segment all", "segmentAllButton",
                                   "Predict every image of the folder; each prediction shows when you visit it",
                                   "segment-all")
        self.cancel = button("Cancel", "cancelSegmentButton", "Stop after the image being segmented", "stop")
        self.progress = QProgressBar()
        self.progress.setObjectName("segmentProgress")
        self.progress.setFormat("%v / %m")
        self.progress.setVisible(False)
        self.show_overlay = QCheckBox("Show prediction")
        self.show_overlay.setObjectName("showPredictionCheck")
        self.show_overlay.setChecked(True)
        self.outline = QCheckBox("Outlines")
        self.outline.setObjectName("predictionOutlineCheck")
        self.outline.setChecked(True)
        self.outline.setToolTip("Draw the prediction as outlines over the annotation (off: filled)")
        self.tta = QCheckBox("Test-time augmentation")
        self.tta.setObjectName("ttaCheck")
        self.tta.setToolTip("Average the predictions of the 8 flips and quarter turns of each image (slower, "
                            "usually smoother); the model's training plan chose whether it is on")
        self.accept = button("Accept", "acceptPredictionButton",
                              "Make the prediction this image's mask (one undoable step); then correct it "
                              "with the brushes", "accept")
        self.discard = button("Discard", "discardPredictionButton", "Forget the prediction of this image", "discard")
        self.crf = button("Refine with CRF…", "crfButton",
                           "Refine the prediction on screen with a dense CRF and compare both side by side "
                           "(segment the image first)", "refine-crf")
        self.status = MessageLabel(lines=3)  # messages come and go; the panel keeps its shape
        self.status.setObjectName("segmentStatus")
        self._build_layout()
        for widget, signal in ((self.segment, self.segmentRequested), (self.segment_all, self.segmentAllRequested),
                               (self.cancel, self.cancelRequested), (self.accept, self.acceptRequested),
                               (self.discard, self.discardRequested), (self.crf, self.refineRequested),
                               (self.use_trained, self.useTrainedRequested)):
            widget.clicked.connect(signal)
        self.show_overlay.toggled.connect(self.overlayChanged)
        self.tta.toggled.connect(self.ttaChanged)
        self.outline.toggled.connect(self.overlayChanged)
        self.set_state(model=False, busy=False, has_prediction=False)

    def _build_layout(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        rows = [(self.load_button, self.use_trained), (side_by_side(self.runs, self.rename_run),), (self.model_label,),
                (self.segment, self.segment_all),
                (self.progress, self.cancel), (self.tta,), (self.show_overlay, self.outline),
                (self.accept, self.discard), (self.crf,), (self.status,)]
        for row, widgets in enumerate(rows):
            for column, widget in enumerate(widgets):
                grid.addWidget(widget, row, column, 1, 2 if len(widgets) == 1 else 1)
        grid.setRowStretch(len(rows), 1)

    def set_state(self, model: bool, busy: bool, has_prediction: bool, crf_available: bool = True) -> None:
        """Enable what makes sense now."""
        self.segment.setEnabled(model and not busy)
        self.segment_all.setEnabled(model and not busy)
        self.cancel.setVisible(busy)
        self.cancel.setEnabled(busy)
        self.progress.setVisible(busy)
        self.accept.setEnabled(has_prediction and not busy)
        self.discard.setEnabled(has_prediction and not busy)
        # Refines the prediction on screen, never one it would first have to make (maybe with a model of
        # another folder) unasked.
        self.crf.setEnabled(model and has_prediction and not busy and crf_available)
        self.load_button.setEnabled(not busy)
        self.tta.setEnabled(model and not busy)  # a running job keeps the setting it started with
        self.use_trained.setEnabled(not busy)

    # -- what the controller shows ------------------------------------------------------------------------------
    def show_model(self, html: str, tooltip: str) -> None:
        """Describe the loaded model (rich text) with details in the tooltip."""
        self.model_label.setText(html)
        self.model_label.setToolTip(tooltip)
        lines = 3 * self.model_label.fontMetrics().lineSpacing()  # docks ignore height-for-width: ask for it here
        width = self.model_label.width() or self.model_label.sizeHint().width()
        self.model_label.setMinimumHeight(max(lines, self.model_label.heightForWidth(width)))

    def set_status(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)

    def show_warning(self, text: str) -> None:
        """A prediction that may not deserve trust (e.g. an image unlike the training data): said in orange."""
        self.status.setStyleSheet("color: #b35c00; font-weight: bold")
        self.status.setText(text)

    def show_runs(self, labels: list[str], checkpoints: list[str], loaded: int | None = None,
                  model: str | None = None) -> None:
        """The folder's runs (newest first), each loading its checkpoint when picked. ``model``: the loaded
        checkpoint's path (None: no model loaded); ``loaded``: the index in ``labels`` of its run (None: none of
        them), shown as the list's current entry, in bold, marked ``LOADED`` (with the file when not the one
        listed, e.g. last.pt of a run with a best.pt)."""
        self.runs.clear()
        count = f"{len(labels)} run{'s' if len(labels) != 1 else ''} of this folder"
        elsewhere = " (the loaded model is not one of them)" if loaded is None and model else ""
        name = Path(model).name if model else ""
        loaded_file = name if loaded is not None and Path(checkpoints[loaded]).name != name else ""
        self.runs.addItem(f"{count}{elsewhere}…" if labels else "No runs in this folder yet", "")
        for index, (label, path) in enumerate(zip(labels, checkpoints, strict=True)):
            mark = f"{LOADED}{f' ({loaded_file})' if loaded_file else ''}: " if index == loaded else ""
            self.runs.addItem(mark + label, path)
            row = self.runs.count() - 1
            self.runs.setItemData(row, f"{mark}{label}\n{path}", Qt.ItemDataRole.ToolTipRole)
            if index == loaded:
                font = self.runs.font()
                font.setBold(True)
                self.runs.setItemData(row, font, Qt.ItemDataRole.FontRole)
        self._loaded_row = 0 if loaded is None else loaded + 1
        self.runs.setCurrentIndex(self._loaded_row)
        self.runs.setEnabled(bool(labels))
        self.rename_run.setEnabled(bool(labels))

    def _run_activated(self, index: int) -> None:
        path = self.runs.itemData(index)
        self.runs.setCurrentIndex(self._loaded_row)  # the list shows what is loaded until another model is
        if path and index != self._loaded_row:
            self.runChosen.emit(path)

    def show_tta(self, on: bool, why: str) -> None:
        """The loaded model's test-time augmentation setting, and why it is what it is."""
        self.tta.blockSignals(True)  # shown, not asked for
        self.tta.setChecked(on)
        self.tta.blockSignals(False)
        self.tta.setToolTip(f"Average the predictions of the 8 flips and quarter turns of each image. {why}")

    def offer_trained(self, path: str | None) -> None:
        """Offer the checkpoint of the run that just ended with one click (None: no such run in this folder)."""
        self.use_trained.setVisible(path is not None)
        if path is not None:
            self.use_trained.setToolTip(f"Load {path}")

    def show_progress(self, done: int, total: int) -> None:
        """``done`` of ``total`` images segmented (shown while a job runs)."""
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def overlay_shown(self) -> bool:
        return self.show_overlay.isChecked()

    def outlines(self) -> bool:
        return self.outline.isChecked()
