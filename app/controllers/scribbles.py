"""Scribble-to-mask in the window: the strokes painted on the image on screen (its mask, with unlabelled pixels)
are completed by the dense CRF in a worker (segcore.scribbles), optionally with the loaded model's probabilities,
and the result appears as a prediction of the image, to accept, correct or discard in the Segment panel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from app.controllers.prediction import PredictionController
from app.controllers.proposals import show_proposal
from app.jobs import assist_tasks
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state.session import Session
from app.views.panels.assist_panel import SCRIBBLE_HINT, AssistPanel
from segcore.errors import describe

FROM_STROKES = "the mask the dense CRF completed from your strokes"  # the proposals' origin (Accept's question)


class ScribbleController(QObject):
    """Feeds the scribble half of the :class:`AssistPanel`."""

    def __init__(self, parent: QWidget, session: Session, panel: AssistPanel, prediction: PredictionController,
                 pool: WorkerPool) -> None:
        super().__init__(parent)
        self.window, self.session, self.panel, self.prediction, self.pool = parent, session, panel, prediction, pool
        self.worker: GeneratorWorker | None = None
        self._busy = False
        self._path: Path | None = None  # the image the running proposal is for
        self._origin = ""  # what made it, for Accept's question
        self._again = False  # a setting changed while a proposal ran: compute it again after
        panel.proposeRequested.connect(self.propose)
        panel.cancelProposeRequested.connect(self.cancel)
        panel.spreadChosen.connect(self.spread_chosen)
        panel.use_model.clicked.connect(self.model_choice_changed)  # the user, not a restored setting
        prediction.modelLoaded.connect(lambda _path: self._forget())
        prediction.discarded.connect(self._on_discarded)
        # What the line says belongs to the image and model on screen: another one, and it starts afresh.
        session.imageLoaded.connect(lambda _index: self._forget())
        session.folderOpened.connect(lambda _folder: self._forget())

    def _on_discarded(self, origin: str) -> None:
        """The proposal on screen was discarded: its "ready" line goes (newcomer check: it stayed)."""
        if origin.startswith(FROM_STROKES):
            self.panel.set_scribble_status("Proposal discarded: your strokes are as they were.")

    def busy(self) -> bool:
        return self._busy

    def _forget(self) -> None:
        """Back to the hint, unless the proposal being computed is for the image on screen."""
        if not (self.busy() and self._path == self.session.current_path()):
            self.panel.set_scribble_status(SCRIBBLE_HINT)
        self._refresh()

    def model(self):
        """The loaded model when the user asked for it and its classes are the folder's, else None."""
        p = self.prediction
        return p.predictor if p.predictor is not None and self.panel.model_wanted() and not p.class_mismatch() \
            else None

    def propose(self) -> bool:
        """Complete the strokes of the image on screen in a worker; False when nothing starts (and why is shown)."""
        s = self.session
        if self.busy():
            return False
        if s.image is None or s.mask is None:
            self.panel.set_scribble_status("Open an image and paint a few strokes of each class first.")
            return False
        if s.locked_reason:
            self.panel.set_scribble_status(s.locked_reason)
            return False
        self._path, self._busy = s.current_path(), True
        model = self.model()
        worker = GeneratorWorker(assist_tasks.propose_mask, s.image, s.mask.copy(), s.spec.num_classes,
                                 self.panel.spread_px(), model, name="scribbles")
        # a cancelled worker runs on unseen (the CRF is one call): only the current one's results count
        worker.returned.connect(lambda proposal: self._on_proposal(proposal) if worker is self.worker else None)
        worker.errored.connect(lambda exc: self._on_error(exc) if worker is self.worker else None)
        worker.finished.connect(lambda: self._finished() if worker is self.worker else None)
        self.worker = worker
        with_model = " with the model's probabilities" if model is not None else ""
        self._origin = (f"{FROM_STROKES}{with_model.replace('with', 'and')} "
                        f"(spread {self.panel.spread_px():g} px)")
        self.panel.set_scribble_status(f"Completing the scribbles{with_model} (spread {self.panel.spread_px():g} px)…")
        self.pool.start(self.worker)
        self._refresh()
        return True

    def spread_chosen(self, spread: float) -> None:
        """A new spread: the proposal on screen (or being computed) for this image is computed again with it."""
        path = self.session.current_path()
        if path == self._path and f"(spread {spread:g} px)" in self._origin and not self._again:
            return  # the slider let go where it was: the proposal on screen has this spread
        self._setting_changed(f"Spread {spread:g} px")

    def model_choice_changed(self, use_model: bool) -> None:
        """Use the model's probabilities ticked or cleared: the proposal follows, as it does the spread."""
        self._setting_changed("With the model's probabilities" if use_model else "Without the model's probabilities")

    def _setting_changed(self, what: str) -> None:
        """A setting of the proposal changed: the one on screen (or being computed) for this image is computed
        again; with none, the line says Propose mask will use it."""
        path = self.session.current_path()
        if self.busy() and self._path == path:
            self._again = True
            self.panel.set_scribble_status(f"{what}: the proposal is computed again when this one ends…")
        elif path is not None and self.prediction.store.origin(path).startswith(FROM_STROKES):
            self.propose()
        else:
            self.panel.set_scribble_status(f"{what}: Propose mask uses it.")

    def cancel(self) -> None:
        """Drop the proposal being computed; Propose mask is back at once (the CRF runs as one step, so the
        dropped one finishes unseen in its worker)."""
        self._again = False
        if self.busy():
            self.worker = None
            self.panel.set_scribble_status("Cancelled: the proposal being computed will not be shown.")
            self._finished()

    def _on_proposal(self, proposal) -> None:
        if self.session.current_path() != self._path:
            self.panel.set_scribble_status(f"The proposal for {self._path.name} was dropped: another image is open.")
            return
        unreached = proposal.unreached_fraction
        left = f"; {100 * unreached:.1f} % of the pixels no stroke reached stay unlabelled" if unreached else ""
        self.panel.set_scribble_status(f"Proposal ready in {proposal.seconds:.1f} s{left}.")
        show_proposal(self.prediction, self._path, proposal.mask, "Mask proposed from your scribbles: accept it, "
                      "correct it, or discard it (your strokes stay until you accept).", self._origin)

    def _on_error(self, exc: BaseException) -> None:
        text = describe(exc)
        self.panel.set_scribble_status(text)
        QMessageBox.warning(self.window, "Cannot propose a mask", text)

    def _finished(self) -> None:
        self._busy = False
        self._refresh()
        if self._again and self._path == self.session.current_path():
            self._again = False
            self.propose()  # the spread changed while it ran

    def _refresh(self) -> None:
        self.panel.set_scribble_state(busy=self.busy(), model=self.prediction.predictor is not None)
