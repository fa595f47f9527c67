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
from PySide6.QtWidgets import QMessageBox, QWidget

from app.controllers.crf_request import crf_request
from app.controllers.replacing import confirm_replace
from app.jobs import tasks
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state.prediction_store import PredictionStore
from app.state.runs import describe_loaded
from app.state.session import Session
from app.views.canvas import Canvas
from app.views.panels.prediction_panel import PredictionPanel
from app.views.prediction_layer import PredictionLayer
from segcore.annotate import ImageState
from segcore.annotate.provenance import Origin, kind_of
from segcore.errors import describe


class PredictionController(QObject):
    """Drives the Segment panel. ``compareRequested(CompareRequest)``; ``modelLoaded(path)``."""

    compareRequested = Signal(object)  # CompareRequest
    modelLoaded = Signal(str)
    discarded = Signal(str)  # what had made the prediction discarded on screen (its origin)

    def __init__(self, parent: QWidget, session: Session, canvas: Canvas, panel: PredictionPanel,
                 pool: WorkerPool) -> None:
        super().__init__(parent)
        self.window, self.session, self.canvas, self.panel, self.pool = parent, session, canvas, panel, pool
        self.predictor = None
        self.worker: GeneratorWorker | None = None
        self.store = PredictionStore()
        self.probs: tuple[Path, np.ndarray] | None = None
        self.compare_after = False  # Compare opens when the segmenting started for it ends
        self._load_after: str | None = None  # a model to load when the running job ends
        self._busy = False
        self.skipped: list[str] = []  # reasons, for the job running or the last one
        self.notes: dict[Path, tuple[str, str]] = {}  # an image's resampling and warning, said when it is on screen
        self.done, self.total = 0, 0  # images of that job handled so far, and in all
        self.layer = PredictionLayer()
        canvas.scene().addItem(self.layer)
        panel.segmentRequested.connect(self.segment_current)
        panel.segmentAllRequested.connect(self.segment_all)
        panel.cancelRequested.connect(self.cancel)
        panel.acceptRequested.connect(self.accept)
        panel.discardRequested.connect(self.discard)
        panel.refineRequested.connect(self.compare)
        panel.overlayChanged.connect(self.show_current)
        panel.ttaChanged.connect(self._set_tta)
        session.imageLoaded.connect(lambda _index: self._on_image())
        session.folderOpened.connect(lambda _folder: self._on_folder())
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
        return self.session.view.fit(self.store.get(self.current_path()))  # at the pyramid level shown

    def _refresh(self) -> None:
        self.panel.set_state(model=self.predictor is not None, busy=self.busy(),
                             has_prediction=self.current_prediction() is not None)

    def _on_image(self) -> None:
        """Another image: what the panel said about the last one goes (a running job keeps its progress)."""
        if not self.busy():
            self.say("")
        self.show_current()

    def say(self, text: str) -> None:
        """``text`` in the panel, with the warning about the prediction on screen, if there is one."""
        resampled, note = self.notes.get(self.current_path(), ("", ""))
        text = f"{text} {resampled}".strip()
        self.panel.show_warning(f"{text} {note}".strip()) if note else self.panel.set_status(text)

    def _on_folder(self) -> None:
        """Another folder: its predictions, messages and the model's fit to its classes start afresh."""
        self._forget_all()
        self.notes.clear()
        if self.predictor is not None:
            self._describe()
        if not self.busy():
            self.panel.set_status("")

    def _forget_all(self) -> None:
        if self.busy() and self.worker.name == "segment":  # it would keep filling the store
            self.cancel()
        self.store.clear()
        self.probs = None
        self.show_current()

    # -- model --------------------------------------------------------------------------------------------------
    def load(self, path: str | Path | None) -> None:
        """Make ``path`` the current model, the one every panel uses (``modelLoaded`` says so); while a job runs
        it loads when that job has ended."""
        if not path:
            return
        if self.busy():
            self._load_after = str(path)
            return
        self.panel.set_status(f"Loading {Path(path).name}…")
        self._start(GeneratorWorker(tasks.load_predictor, str(path), name="load"), self._on_loaded)

    def _on_loaded(self, predictor) -> None:
        self.predictor = predictor
        self._forget_all()
        self._describe()
        self.panel.set_status("Model loaded. Segment the image, or all images.")
        self.modelLoaded.emit(str(predictor.path))

    def describe_model(self) -> None:
        """Describe the loaded model again (its run was renamed); nothing when none is loaded."""
        if self.predictor is not None:
            self._describe()

    def _describe(self) -> None:
        """The loaded model in the panel, checked against the open folder's classes."""
        predictor = self.predictor
        self.panel.show_model(*describe_loaded(predictor, self.session.folder, self.class_mismatch()))
        self.panel.show_tta(predictor.tta, predictor.tta_reason or "Trained without a plan: off unless you tick it.")

    def _set_tta(self, on: bool) -> None:
        """The next segmentation averages flips and turns (or not); shown predictions stay as they were made."""
        if self.predictor is not None and not self.busy():
            self.predictor.tta = on

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
                                 self.session.chosen_levels(), name="segment")
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
        self.notes[result.image] = (result.resampled, result.warning)
        if result.warning and result.image == self.current_path():
            self.panel.show_warning(result.warning)
        if result.image == self.current_path():
            self.show_current()

    def _segment_done(self) -> None:
        worker = self.worker  # the segmenting one: no other job starts while it runs
        if worker.error is not None:
            return
        cancelled = " (cancelled)" if worker.aborted else ""  # also when the last image was under way
        skipped = f"; {len(self.skipped)} skipped" if self.skipped else ""
        self.say(f"Segmented {self.done - len(self.skipped)} of {self.total} image(s){skipped}{cancelled}.")
        if self.skipped:
            self.compare_after = False  # Compare opens when the segmenting started for it ends
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
        if self._load_after is not None:
            path, self._load_after = self._load_after, None
            self.compare_after = False  # the prediction to refine was the previous model's
            self.load(path)
        elif self.compare_after:
            self.compare_after = False  # Compare opens when the segmenting started for it ends
            self.compare()

    def _on_error(self, exc: BaseException) -> None:
        text = describe(exc)
        self.compare_after = False  # Compare opens when the segmenting started for it ends
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
        shown = mask if self.panel.overlay_shown() else None
        self.layer.show_prediction(shown, self.colors(), self.panel.outlines())
        self._refresh()

    def accept(self) -> None:
        """Make the prediction the current mask (one undoable step, marked 'predicted')."""
        path = self.current_path()
        model = f" of {self.predictor.path.name}" if self.predictor is not None else ""
        self.accept_mask(self.current_prediction(), self.store.origin(path) or f"the network output{model}")

    def accept_mask(self, mask: np.ndarray | None, what: str = "the network output") -> bool:
        """Make ``mask`` the annotation of the image on screen, after asking when it replaces a hand-made one."""
        if mask is None or not self.session.can_edit():  # can_edit reports why not (e.g. a locked mask)
            return False
        if mismatch := self.class_mismatch():
            text = f"{mismatch}; add the missing classes in the Classes panel first."
            QMessageBox.warning(self.window, "Cannot accept the prediction", text)
            return False
        if not confirm_replace(self.window, self.session, what):
            return False
        made_by_model = what.startswith("the network") or "model's probabilities" in what
        model = str(self.predictor.path) if self.predictor is not None and made_by_model else None
        # kept with the folder: the file list and the Metrics table flag these (they would flatter the model)
        self.session.accept_mask(mask, state=ImageState.PREDICTED, origin=Origin(kind_of(what), what, model))
        self.store.pop(self.current_path())
        self.panel.set_status("Accepted as the mask: correct it with the brushes (Ctrl+Z undoes).")
        self.show_current()
        return True

    def discard(self) -> None:
        path = self.current_path()
        origin = self.store.origin(path) if path is not None else ""
        if path is not None and self.store.pop(path) is not None:
            self.panel.set_status("Prediction discarded.")
            self.discarded.emit(origin)
        self.show_current()

    # -- compare ------------------------------------------------------------------------------------------------
    def compare(self) -> None:
        """Refine the prediction of the image on screen with the CRF and open the Compare view."""
        request = crf_request(self)
        if request is not None:
            self.compareRequested.emit(request)
