"""Segmentation from the window: load a checkpoint, segment the image on screen or the whole folder in a
worker, show each prediction as an overlay, and accept it as the annotation or discard it.

Predictions are kept per image (masks only, in a :class:`PredictionStore` that spills to disk beyond a memory
budget; the class probabilities only for the image on screen, which the CRF needs), so after *Segment all* every
image shows its prediction when visited.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.controllers.compare import CompareRequest
from app.jobs import tasks
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state.prediction_store import PredictionStore
from app.state.session import Session
from app.views.canvas import Canvas
from app.views.mask_layer import MaskLayer
from app.views.panels.prediction_panel import PredictionPanel
from segcore.annotate import ImageState
from segcore.errors import describe

# Outlines of a prediction in colours that stand out against the filled annotation beneath.
OUTLINE_CANDIDATES = [(255, 230, 0), (0, 220, 255), (255, 60, 200), (120, 255, 80), (255, 140, 0), (255, 255, 255)]


def outline_colors(class_colors: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """For each class the bright outline colour farthest from its fill colour (yellow on blue, cyan on yellow)."""
    def distance(a, b) -> int:
        return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))

    return [tuple(max(OUTLINE_CANDIDATES, key=lambda c, fill=fill: distance(c, fill))) for fill in class_colors]


class PredictionController(QObject):
    """Drives the Segment panel. ``compareRequested(CompareRequest)``; ``modelLoaded(path)``."""

    compareRequested = Signal(object)  # CompareRequest
    modelLoaded = Signal(str)

    def __init__(self, parent: QWidget, session: Session, canvas: Canvas, panel: PredictionPanel,
                 pool: WorkerPool) -> None:
        super().__init__(parent)
        self.window, self.session, self.canvas, self.panel, self.pool = parent, session, canvas, panel, pool
        self.predictor = None
        self.worker: GeneratorWorker | None = None
        self.store = PredictionStore()
        self.probs: tuple[Path, np.ndarray] | None = None
        self.trained_path: str | None = None
        self._compare_after = False
        self._busy = False
        self.skipped: list[str] = []  # reasons, for the job running or the last one
        self.done, self.total = 0, 0  # images of that job handled so far, and in all
        self.layer = MaskLayer()
        self.layer.setZValue(2)
        self.layer.setOpacity(0.9)
        self.layer.setVisible(False)
        canvas.scene().addItem(self.layer)
        panel.segmentRequested.connect(self.segment_current)
        panel.segmentAllRequested.connect(self.segment_all)
        panel.cancelRequested.connect(self.cancel)
        panel.acceptRequested.connect(self.accept)
        panel.discardRequested.connect(self.discard)
        panel.refineRequested.connect(self.compare)
        panel.useTrainedRequested.connect(lambda: self.load(self.trained_path))
        panel.overlayChanged.connect(self.show_current)
        session.imageLoaded.connect(lambda _index: self.show_current())
        session.folderOpened.connect(lambda _folder: self._forget_all())
        session.specChanged.connect(self.show_current)

    # -- state --------------------------------------------------------------------------------------------------
    def busy(self) -> bool:
        """A job is running (until its ``finished`` has been handled, so buttons and state agree)."""
        return self._busy

    def predictor_path(self) -> Path | None:
        """The loaded checkpoint, if any."""
        return self.predictor.path if self.predictor is not None else None

    def current_path(self) -> Path | None:
        return self.session.current_path()

    def current_prediction(self) -> np.ndarray | None:
        return self.store.get(self.current_path())

    def _refresh(self) -> None:
        self.panel.set_state(model=self.predictor is not None, busy=self.busy(),
                             has_prediction=self.current_path() in self.store)

    def _forget_all(self) -> None:
        if self.busy() and self.worker.name == "segment":  # it would keep filling the store
            self.cancel()
        self.store.clear()
        self.probs = None
        self.show_current()

    # -- model --------------------------------------------------------------------------------------------------
    def choose_checkpoint(self) -> None:
        """File dialog for a checkpoint (starts in the folder's checkpoints/ when there is one)."""
        folder = self.session.folder
        start = folder / "checkpoints" if folder is not None and (folder / "checkpoints").is_dir() else folder
        path, _ = QFileDialog.getOpenFileName(self.window, "Load a checkpoint", str(start or ""),
                                              "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.load(path)

    def offer_trained(self, done) -> None:
        """After a run (a DoneEvent): offer its best checkpoint (else its last) with one click; not when it was
        stopped before one epoch ended (its last.pt then holds untrained weights)."""
        path = done.best_path or done.last_path
        if path and done.epochs_done > 0:
            self.trained_path = path
            self.panel.offer_trained(path)

    def load(self, path: str | Path | None) -> None:
        if not path or self.busy():
            return
        self.panel.set_status(f"Loading {Path(path).name}…")
        self._start(GeneratorWorker(tasks.load_predictor, str(path), name="load"), self._on_loaded)

    def _on_loaded(self, predictor) -> None:
        self.predictor = predictor
        self._forget_all()
        metrics = predictor.metrics or {}
        dice = metrics.get("mean_dice")
        score = f" · Dice {dice:.3f}" if isinstance(dice, float) and dice == dice else ""
        names = ", ".join(predictor.spec.names)
        text = f"<b>{predictor.arch}</b> {predictor.path.parent.name}/{predictor.path.name}{score}"
        if mismatch := self.class_mismatch():
            text += f"<br><b>{mismatch}</b>: predictions can be viewed, not accepted."
        self.panel.show_model(text, f"{predictor.path}\n{predictor.spec.num_classes} classes: {names}")
        self.panel.set_status("Model loaded. Segment the image, or all images.")
        self.modelLoaded.emit(str(predictor.path))

    # -- segmenting ---------------------------------------------------------------------------------------------
    def segment_current(self) -> None:
        path = self.current_path()
        if self.predictor is None or path is None or self.busy():
            return
        items = [(self.session.index, path, self.session.image)]
        self._predict(items, f"Segmenting {path.name}…")

    def segment_all(self) -> None:
        if self.predictor is None or not self.session.samples or self.busy():
            return
        s = self.session
        items = [(i, smp.image, s.image if i == s.index else None) for i, smp in enumerate(s.samples)]
        self._predict(items, f"Segmenting {len(items)} images…")

    def _predict(self, items: list, text: str) -> None:
        self.skipped, self.done, self.total = [], 0, len(items)
        self.panel.show_progress(0, self.total)
        self.panel.set_status(text)
        worker = GeneratorWorker(tasks.predict_images, self.predictor, items, self.session.index, self.store,
                                 name="segment")
        worker.yielded.connect(self._on_prediction)
        worker.finished.connect(self._segment_done)  # also after Cancel (nothing returned)
        self._start(worker, None)

    def _on_prediction(self, result: tasks.Prediction | tasks.Skipped) -> None:
        self.done = result.done
        self.panel.show_progress(self.done, self.total)
        if isinstance(result, tasks.Skipped):
            self.skipped.append(result.reason)
            return
        if result.probs is not None:
            self.probs = (result.image, result.probs)
        if result.image == self.current_path():
            self.show_current()

    def _segment_done(self) -> None:
        worker = self.worker  # the segmenting one: no other job starts while it runs
        if worker.error is not None:
            return
        cancelled = " (cancelled)" if worker.aborted and self.done < self.total else ""
        skipped = f"; {len(self.skipped)} skipped" if self.skipped else ""
        self.panel.set_status(f"Segmented {self.done - len(self.skipped)} of {self.total} image(s){skipped}"
                              f"{cancelled}.")
        if self.skipped:
            self._compare_after = False
            shown = "\n".join(self.skipped[:10]) + ("\n…" if len(self.skipped) > 10 else "")
            QMessageBox.warning(self.window, "Some images were not segmented", shown)

    def cancel(self) -> None:
        if self.busy():
            self.worker.abort()
            self.panel.set_status("Cancelling after the current image…")

    def _start(self, worker: GeneratorWorker, on_return) -> None:
        self.worker = worker
        if on_return is not None:
            worker.returned.connect(on_return)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._job_finished)
        self._busy = True
        self.pool.start(worker)
        self._refresh()

    def _job_finished(self) -> None:
        self._busy = False
        self._refresh()
        if self._compare_after:
            self._compare_after = False
            self.compare()

    def _on_error(self, exc: BaseException) -> None:
        text = describe(exc)
        self._compare_after = False
        self.panel.set_status(f"Error: {text}")
        loading = self.worker is not None and self.worker.name == "load"
        QMessageBox.warning(self.window, "Cannot load the checkpoint" if loading else "Segmentation failed", text)

    # -- overlay, accept, discard -------------------------------------------------------------------------------
    def class_mismatch(self) -> str | None:
        """Why the model's predictions cannot become this folder's masks (None when they can).

        The one class-count check; asked again each time, since the folder's classes may change meanwhile.
        """
        model, folder = self.predictor, self.session.spec
        if model is None or model.spec.num_classes == folder.num_classes:
            return None
        return f"This model predicts {model.spec.num_classes} classes but the folder has {folder.num_classes}"

    def colors(self) -> list[tuple[int, int, int]]:
        """The model's class colours when its classes are not the folder's, else the folder's."""
        return list((self.predictor.spec if self.class_mismatch() else self.session.spec).colors)

    def show_current(self) -> None:
        mask = self.current_prediction()
        visible = mask is not None and self.panel.overlay_shown()
        if visible:
            outline = self.panel.outlines()
            colors = outline_colors(self.colors()) if outline else self.colors()
            self.layer.set_mask(None)  # style first, on an empty layer, so the mask is drawn once
            self.layer.set_outline(outline)
            self.layer.set_colors(colors, show_background=False)
            self.layer.set_mask(mask)
        self.layer.setVisible(visible)
        self._refresh()

    def show_proposal(self, path: Path, mask: np.ndarray | None, text: str) -> None:
        """Show a mask proposed elsewhere (scribbles, the uncertainty queue) as ``path``'s prediction, ready to
        accept, correct or discard (``mask`` None: it is in the store already); ``text`` goes to the panel."""
        if mask is not None:
            self.store.put(path, mask)
        self.panel.set_status(text)
        self.show_current()

    def accept(self) -> None:
        """Make the prediction the current mask (one undoable step, marked 'predicted')."""
        self.accept_mask(self.current_prediction())

    def accept_mask(self, mask: np.ndarray | None) -> bool:
        if mask is None or not self.session.can_edit():  # can_edit reports why not (e.g. a locked mask)
            return False
        if mismatch := self.class_mismatch():
            text = f"{mismatch}; add the missing classes in the Classes panel first."
            QMessageBox.warning(self.window, "Cannot accept the prediction", text)
            return False
        self.session.accept_mask(mask, state=ImageState.PREDICTED)
        self.store.pop(self.current_path())
        self.panel.set_status("Accepted as the mask: correct it with the brushes (Ctrl+Z undoes).")
        self.show_current()
        return True

    def discard(self) -> None:
        path = self.current_path()
        if path is not None and self.store.pop(path) is not None:
            self.panel.set_status("Prediction discarded.")
        self.show_current()

    # -- compare ------------------------------------------------------------------------------------------------
    def compare(self) -> None:
        """Refine the prediction of the image on screen with the CRF and open the Compare view."""
        from segcore import crf

        if not crf.is_available():
            text = f"Dense-CRF refinement needs pydensecrf; install it with `{crf.INSTALL_HINT}`."
            QMessageBox.warning(self.window, "CRF not available", text)
            return
        path = self.current_path()
        if path is None or self.predictor is None or self.busy():
            return
        if self.probs is None or self.probs[0] != path:  # e.g. after Segment all: probabilities are not kept
            self._compare_after = True
            self.segment_current()
            return
        s = self.session
        hand_made = s.state(s.index) in (ImageState.ANNOTATED, ImageState.MODIFIED)
        hand_made = hand_made and not s.is_predicted(s.index) and not s.locked_reason  # locked: mask unread
        truth = s.mask.copy() if hand_made and s.mask is not None else None
        raw = self.store.get(path)
        raw = raw if raw is not None else self.probs[1].argmax(axis=0).astype(np.uint8)
        self.compareRequested.emit(CompareRequest(s.image, self.probs[1], raw, truth, self.colors(), path))
