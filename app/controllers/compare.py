"""Computes what the Compare view shows: the CRF refinement in a worker (recomputed in the background when a
parameter changes; the latest request wins), the difference map, and Dice/IoU against the annotation, the
last two in the worker as well (on a 4096 x 4096 image they take over a second).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget, QMessageBox, QWidget

from app.jobs import tasks
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state.session import Session
from app.views import render
from app.views.compare_view import CompareView
from segcore.crf import CRFParams
from segcore.errors import describe


def score_text(result: dict | None, has_truth: bool) -> str:
    """Dice and IoU (foreground mean; unlabelled pixels left out) for a pane, or why there are none."""
    if not has_truth:
        return "No annotation of this image to score against."
    if result is None:
        return "The annotation labels no pixel: nothing to score."
    return (f"Dice <b>{result['mean_dice']:.3f}</b> · IoU <b>{result['mean_iou']:.3f}</b> · pixel accuracy "
            f"{result['accuracy']:.3f} (vs. your annotation)")


class CompareController(QObject):
    """Feeds a :class:`CompareView`; ``accept(mask) -> bool`` puts a mask in as the annotation."""

    def __init__(self, parent: QWidget, session: Session, view: CompareView, dock: QDockWidget, pool: WorkerPool,
                 accept: Callable[[np.ndarray], bool]) -> None:
        super().__init__(parent)
        self.window, self.session, self.view, self.dock, self.pool = parent, session, view, dock, pool
        self.accept_mask = accept
        self.worker: GeneratorWorker | None = None
        self.pending = None
        self._busy = False
        self._generation = 0
        self._running: tuple[int, CRFParams | None] = (0, None)  # generation and parameters of the running job
        self.crf_params: CRFParams | None = None  # the parameters of the CRF mask shown
        self._score_raw = True
        self.path: Path | None = None
        self.raw = self.crf = self.truth = self.image = self.probs = None
        self.colours: list = []
        self.raw_scores: dict | None = None
        self.crf_scores: dict | None = None
        self.errors: list[str] = []
        view.paramsChanged.connect(self.recompute)
        view.acceptRequested.connect(self._accept)
        session.imageLoaded.connect(lambda _index: self._check_image())

    def busy(self) -> bool:
        """A refinement is running (until its ``finished`` has been handled)."""
        return self._busy

    def start(self, image, probs, raw, truth, colours, path) -> None:
        """Show ``raw`` over ``image`` at once, and refine it in the background."""
        self._generation += 1  # a refinement still running for an earlier image is ignored when it returns
        self.pending = None
        self.image, self.probs, self.raw, self.truth = image, probs, raw, truth
        self.colours, self.path, self.crf, self.crf_scores = list(colours), Path(path), None, None
        self.raw_scores = None
        self._score_raw = True  # the raw scores come with the first refinement, computed in the worker
        self.view.set_image(render.to_display(image, render.default_contrast(image))[0], self.colours)
        self.view.set_raw(raw)
        self.view.raw_score.setText("Scoring…" if truth is not None else score_text(None, False))
        self.view.crf_score.setText("")
        self.view.diff_label.setText("")
        self.dock.show()
        self.dock.raise_()
        self._check_image()
        self.recompute(self.view.params())

    def recompute(self, params) -> None:
        """Refine with ``params`` in a worker; while one runs, remember only the latest request."""
        if self.probs is None:
            return
        if self.busy():
            self.pending = params
            self.view.status.setText("Refining… (new parameters queued)")
            return
        self.pending = None
        self.view.status.setText(f"Refining with the CRF ({params.iterations} iterations)…")
        self.worker = GeneratorWorker(tasks.refine_and_compare, self.image, self.probs, params, self.raw, self.truth,
                                      self._score_raw, name="crf")
        self._running = (self._generation, params)
        # Bound methods, not lambdas: Qt drops them with this object, so a result that arrives after the window
        # has gone is not delivered to deleted widgets.
        self.worker.returned.connect(self._on_refined)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._after)
        self._busy = True
        self.pool.start(self.worker)

    def _on_refined(self, result: tasks.Refined) -> None:
        generation, params = self._running
        if generation != self._generation:  # refined for an image no longer compared
            return
        self.crf, self.crf_params = result.mask, params
        self.view.set_crf(result.mask, result.code)
        has_truth = self.truth is not None
        if self._score_raw:
            self._score_raw, self.raw_scores = False, result.raw_scores
            self.view.raw_score.setText(score_text(result.raw_scores, has_truth))
        self.crf_scores = result.crf_scores
        self.view.crf_score.setText(score_text(result.crf_scores, has_truth))
        diff = result.difference
        self.view.diff_label.setText(
            f"The CRF changed {diff.changed_fraction * 100:.2f} % of the pixels: {diff.added:,} added to the "
            f"foreground, {diff.removed:,} removed, {diff.changed:,} given another class.")
        self.view.status.setText("Ready. Change a parameter to recompute; accept either mask.")
        self._check_image()

    def _on_error(self, exc: BaseException) -> None:
        text = describe(exc)
        self.errors.append(text)
        self.view.status.setText(f"Error: {text}")
        QMessageBox.warning(self.window, "CRF refinement failed", text)

    def _after(self) -> None:
        self._busy = False
        if self.pending is not None:
            self.recompute(self.pending)

    def _on_screen(self) -> bool:
        s = self.session
        return self.path is not None and 0 <= s.index < len(s.samples) and s.samples[s.index].image == self.path

    def _check_image(self) -> None:
        """Accepting is only offered while the compared image is the one in the window."""
        here = self._on_screen()
        self.view.set_ready(here and self.raw is not None, here and self.crf is not None)
        if self.path is not None and not here:
            self.view.status.setText(f"Showing {self.path.name}; go back to it to accept a mask.")

    def _accept(self, kind: str) -> None:
        mask = self.raw if kind == "raw" else self.crf
        if mask is not None and self._on_screen() and self.accept_mask(mask):
            self.view.status.setText(f"The {'network output' if kind == 'raw' else 'CRF result'} is now the mask "
                                     "of this image (Ctrl+Z undoes).")
