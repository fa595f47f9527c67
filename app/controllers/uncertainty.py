"""The uncertainty queue in the window: score the unannotated images with the current model in a worker, show
each score in the file list and the current image's map over the canvas, and open the image the model is least
sure about with its prediction ready to accept or correct (*Next most uncertain*).

Scores are computed after each training run (the window calls :meth:`UncertaintyController.set_model` and
:meth:`score_unannotated`), on demand (*Score images*), and for the image on screen when the overlay is turned on
for an image not scored yet. Never in the UI thread.
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
from app.state.uncertainty_scores import UncertaintyScores
from app.views.canvas import Canvas
from app.views.panels.assist_panel import AssistPanel
from app.views.panels.file_list import FileListPanel
from app.views.uncertainty_layer import UncertaintyLayer
from segcore.annotate import ImageState
from segcore.errors import describe

NO_MODEL = "No model yet: train one, or load a checkpoint."
ALIKE_SHOWN = 0.3  # said when an image is at least this much like an annotated one (thumbnail correlation)


class UncertaintyController(QObject):
    """Feeds the queue half of the :class:`AssistPanel`, the file list's score column and the overlay."""

    def __init__(self, parent: QWidget, session: Session, canvas: Canvas, files: FileListPanel, panel: AssistPanel,
                 prediction: PredictionController, pool: WorkerPool) -> None:
        super().__init__(parent)
        self.window, self.session, self.files, self.panel = parent, session, files, panel
        self.prediction, self.pool, self.canvas = prediction, pool, canvas
        self.scores = UncertaintyScores()
        self.skipped: set[Path] = set()  # images discarded or passed with N: offered again after the others
        self._awaited: tuple[Path, str] | None = None  # the image N opened before its prediction, and its line
        self.layer = UncertaintyLayer()
        self.layer.setVisible(False)
        canvas.scene().addItem(self.layer)
        self.worker: GeneratorWorker | None = None
        self.errors: list[str] = []
        self._jump_after = False  # Next was asked for before any image was scored
        self._waiting: list[tuple[int, Path]] = []  # asked for while a job ran: scored when it ends
        self._busy = False
        panel.scoreRequested.connect(self.score_requested)
        panel.cancelScoreRequested.connect(self.cancel)
        panel.uncertaintyToggled.connect(lambda _on: self.show_map(on_demand=True))
        session.imageLoaded.connect(lambda _index: self._refresh())  # a message about another image goes
        session.imageLoaded.connect(lambda _index: self.show_map(on_demand=True))
        session.stateChanged.connect(lambda _index, _state: self._refresh())  # an image annotated leaves the queue
        session.folderOpened.connect(lambda _folder: self._forget())
        prediction.discarded.connect(lambda _origin: self._skip_current())
        self._refresh()

    @property
    def model(self) -> str | None:
        """The checkpoint the queue scores with: the current model, the Segment panel's (one for every panel)."""
        path = self.prediction.predictor_path()
        return str(path) if path is not None else None

    def busy(self) -> bool:
        return self._busy

    def set_model(self, path: str | None) -> None:
        """``path`` is the current model now: scores of another model are forgotten (they would mislead)."""
        if path == self.scores.model:
            return
        self.cancel()
        self.scores.reset(path)
        self.skipped.clear()  # another model: new proposals
        self.files.clear_scores()
        self._refresh()
        self.show_map()

    def _forget(self) -> None:
        self.cancel()
        self.scores.reset(self.scores.model)
        self.scores.forget_images()
        self.skipped.clear()
        self._refresh()

    def _skip_current(self) -> None:
        """A proposal discarded: that image goes to the end of the queue (N went back and forth between two
        discarded images; newcomer check #7). It comes back once every other image has been offered."""
        path = self.session.current_path()
        if path is not None:
            self.skipped.add(path)
            self._refresh()

    def _peek(self) -> list[tuple[int, Path]]:
        """What N may open: the unannotated images but the one on screen; those not skipped, while there are."""
        others = [(i, p) for i, p in self.unannotated() if i != self.session.index]
        return [(i, p) for i, p in others if p not in self.skipped] or others

    def candidates(self) -> list[tuple[int, Path]]:
        """:meth:`_peek`, for N: once only skipped images are left, they are all offered again."""
        out = self._peek()
        if out and all(p in self.skipped for _, p in out):
            self.skipped.clear()
        return out

    # -- scoring ------------------------------------------------------------------------------------------------
    def unannotated(self) -> list[tuple[int, Path]]:
        s = self.session
        return [(i, smp.image) for i, smp in enumerate(s.samples) if s.state(i) == ImageState.NO_MASK]

    def annotated(self) -> list[Path]:
        s = self.session
        return [smp.image for i, smp in enumerate(s.samples) if s.state(i) != ImageState.NO_MASK]

    def score_requested(self) -> None:
        """Score images: scores what is not scored yet, or says that nothing is left (the button did nothing
        visible then; newcomer check #8)."""
        if self.model is not None and not self.busy() and not self.score_unannotated():
            count = len(self.unannotated())
            self._tell(f"All {count} unannotated images are scored with this model: N opens the most uncertain."
                       if count else "No image without a mask: nothing to score.")

    def score_unannotated(self) -> bool:
        """Score every unannotated image not scored yet with the current model; False when nothing starts."""
        items = [(i, p) for i, p in self.unannotated() if self.scores.score(p) is None]
        return self._score(items)

    def _score(self, items: list[tuple[int, Path]]) -> bool:
        """Score ``items`` in a worker; while one runs they wait their turn (False when nothing will be scored)."""
        if self.model is None or not items:
            return False
        if self.busy():
            self._waiting += [item for item in items if item not in self._waiting]
            return True
        self.errors = []
        undescribed = tuple(p for p in self.annotated() if not self.scores.has_descriptor(p))
        worker = GeneratorWorker(assist_tasks.score_images, self.model, "auto", items, self.scores,
                                 self.prediction.store, self.session.chosen_levels(), undescribed, name="uncertainty")
        worker.yielded.connect(self._on_scored)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._finished)
        self.worker, self._busy = worker, True
        self.panel.show_progress(0, len(items))
        self.pool.start(worker)
        self._refresh()
        return True

    def cancel(self) -> None:
        self._jump_after, self._waiting = False, []
        if self.busy():
            self.worker.abort()
            self.panel.set_queue_status("Cancelling after the current image…")

    def _on_scored(self, scored: assist_tasks.Scored) -> None:
        samples = self.session.samples
        if not (0 <= scored.index < len(samples) and samples[scored.index].image == scored.image):
            return  # of a folder no longer open
        if scored.error:
            self.errors.append(scored.error)
        self.files.set_score(scored.index, self.scores.score(scored.image))  # None if it was another model's
        self.panel.show_progress(scored.done, scored.total)
        line = None
        if self._awaited is not None and self._awaited[0] == scored.image:
            line, self._awaited = self._awaited[1], None
        if scored.image == self.session.current_path():
            self.prediction.show_current()
            self.show_map()
            if line is not None:
                self.prediction.say(line)
        self._refresh()

    def _on_error(self, exc: BaseException) -> None:
        self._jump_after = False
        text = describe(exc)
        self.panel.set_queue_status(f"Error: {text}")
        QMessageBox.warning(self.window, "Scoring failed", text)

    def _finished(self) -> None:
        self._busy = False
        failed = self.worker.error is not None
        self._refresh(failed, cancelled=self.worker.aborted)
        if self.errors:
            QMessageBox.warning(self.window, "Some images were not scored", "\n".join(self.errors[:10]))
        if self._jump_after and not failed:
            self._jump_after = False
            self.next_most_uncertain()
        waiting, self._waiting = [(i, p) for i, p in self._waiting if self.scores.score(p) is None or
                                  p not in self.prediction.store], []
        if waiting and not failed:
            self._score(waiting)  # now, or after the job Next has just started

    # -- the queue ----------------------------------------------------------------------------------------------
    def next_most_uncertain(self) -> None:
        """Open the unannotated image the model is least sure about (not the one on screen), with its prediction."""
        if self.model is None:
            self._tell("Train a model or load a checkpoint first: the queue ranks images by how unsure the current "
                       "model is about them.")
            return
        index = self.session.index
        if 0 <= index < len(self.session.samples) and self.session.state(index) == ImageState.NO_MASK:
            # passed without accepting or discarding: after the others, as a discarded one (N went back and forth
            # between the queue's first two; newcomer check #8)
            self.skipped.add(self.session.current_path())
        candidates = self.candidates()
        best = self.scores.most_uncertain(candidates, self.annotated())
        if best is None:
            if candidates and (self.busy() or self.score_unannotated()):
                self._jump_after = True
                self.panel.set_queue_status("Scoring the unannotated images first; the most uncertain one opens "
                                            "when they are done.")
            elif not candidates:
                self._tell("No other image without a mask: the queue is empty.")
            return
        index, path, alike, like = best.head
        if not self.session.select(index):
            return
        text = (f"Next in the queue (uncertainty {self.scores.score(path):.3f}{_alike_text(alike, like)}): accept "
                "the prediction, correct it with the brushes, or discard it.")
        if path in self.prediction.store:
            show_proposal(self.prediction, path, None, text)
        else:  # the store was cleared since (another model loaded, or it was discarded): segment it again
            show_proposal(self.prediction, path, None, "Segmenting the most uncertain image…")
            self._awaited = (path, text)  # said once it is on screen (newcomer check #7: "Segmenting…" stayed)
            self._score([(index, path)])

    def _tell(self, text: str) -> None:
        """Answer N in the Assist panel and in the status bar: the key works with any tab in front."""
        self.panel.set_queue_status(text)
        self.window.statusBar().showMessage(text, 10000)

    # -- the overlay --------------------------------------------------------------------------------------------
    def show_map(self, on_demand: bool = False) -> None:
        """Draw the current image's map when the toggle is on; ``on_demand``: score the image if it has none."""
        path = self.session.current_path()
        # at the pyramid level shown, like the prediction (None when it was made at another level)
        indices = self.session.view.fit(self.scores.map(path)) if self.panel.uncertainty_shown() else None
        self.layer.set_map(indices)
        self.layer.setVisible(indices is not None)
        self.canvas.mask_layer.force_outline(indices is not None)
        if on_demand and self.panel.uncertainty_shown() and indices is None and path is not None:
            if self.model is None:
                self.panel.set_queue_status("No model to measure uncertainty with: train one or load a checkpoint.")
            else:
                self._score([(self.session.index, path)])

    def _refresh(self, failed: bool = False, cancelled: bool = False) -> None:
        self.panel.set_queue_state(has_model=self.model is not None, scoring=self.busy())
        if self.model is None:
            self.panel.set_queue_status(NO_MODEL)
        if self.model is None or failed:
            return
        queue = self.unannotated()
        scored = sum(self.scores.score(p) is not None for _, p in queue)
        text = f"Model {Path(self.model).parent.name}/{Path(self.model).name}: {scored} of {len(queue)} " \
               "unannotated scored"
        queue_head = self.scores.most_uncertain(self._peek(), self.annotated())
        if queue_head is not None:  # three lines in the panel: the least sure image's wait before the head's likeness
            head, top = queue_head
            waits = top is not None and top.like is not None  # why the model's least sure image is not next
            text += f"; N opens {head.path.name} ({self.scores.score(head.path):.3f}" + \
                (")" if waits else f"{_alike_text(head.alike, head.like)})")
            if waits:
                text += (f"; {top.path.name} ({self.scores.score(top.path):.3f}) waits, {top.alike:.0%} alike "
                         f"annotated {top.like.name}")
        self.panel.set_queue_status(text + (" · scoring…" if self.busy() else " (cancelled)." if cancelled else "."))


def _alike_text(alike: float, like: Path | None) -> str:
    """How much the image is like an annotated one (named), when enough to have moved it down the queue."""
    return f", {alike:.0%} alike annotated {like.name}" if alike >= ALIKE_SHOWN and like is not None else ""
