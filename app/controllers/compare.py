"""Computes what the Compare view shows: the CRF refinement in a worker (recomputed in the background when a
parameter changes; the latest request wins), the difference map, and Dice/IoU against the annotation, the
last two in the worker as well (on a 4096 x 4096 image they take over a second).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

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


SAME_DICE = 0.0005  # a change of Dice below this is "as it was" (it prints as the same three decimals)


def verdict(raw: dict | None, crf: dict | None, has_truth: bool, fit_note: str, refused: bool) -> tuple[str, bool]:
    """Whether the CRF helped, as one statement: on the image shown (when it has an annotation) and on the model's
    validation images (``fit_note``, segcore.crf_fit.describe), each scope named. True when it hurt this image,
    or is expected to (the fit was refused and there is no annotation here to judge by)."""
    if has_truth and raw is not None and crf is not None:
        before, after = raw["mean_dice"], crf["mean_dice"]
        if after < before - SAME_DICE:
            text, hurt = (f"The CRF made this image worse: Dice {before:.3f} → {after:.3f}; keep the network output, "
                          "or try other parameters.", True)
        elif after > before + SAME_DICE:
            text, hurt = f"The CRF improved this image: Dice {before:.3f} → {after:.3f}.", False
        else:
            text, hurt = f"The CRF leaves this image's Dice as it was ({before:.3f}).", False
        return f"{text} {fit_note}".strip(), hurt
    if refused:
        return f"No annotation here to check the CRF against. {fit_note} It may well not help this image.", True
    return fit_note, False


@dataclass(frozen=True)
class CompareRequest:
    """What the Compare view refines and shows: one segmented image."""

    image: np.ndarray  # (H, W, C) as read
    probs: np.ndarray  # float32 (K, H, W) class probabilities of the network
    raw: np.ndarray  # uint8 (H, W) the network's mask
    truth: np.ndarray | None  # uint8 (H, W) the hand-made annotation to score against, if any
    colors: list[tuple[int, int, int]]  # one per class
    path: Path  # the image file
    fitted: CRFParams | None = None  # the CRF settings fitted to the model on its validation images, if they help
    fit_note: str = ""  # segcore.crf_fit.describe of that fit ("" when the model has none)

    @property
    def refused(self) -> bool:
        """The model has a CRF fit, and it found no setting that helped on the validation images."""
        return bool(self.fit_note) and self.fitted is None


class CompareController(QObject):
    """Feeds a :class:`CompareView`; ``accept(mask, what) -> bool`` puts a mask in as the annotation (asking
    first when it would replace a hand-made one).

    ``opened`` when a comparison starts (the window brings the view to the front).
    """

    opened = Signal()
    closed = Signal()  # the comparison belongs to a folder no longer open

    def __init__(self, parent: QWidget, session: Session, view: CompareView, pool: WorkerPool,
                 accept: Callable[[np.ndarray, str], bool]) -> None:
        super().__init__(parent)
        self.window, self.session, self.view, self.pool = parent, session, view, pool
        self.accept_mask = accept
        self.worker: GeneratorWorker | None = None
        self.request: CompareRequest | None = None
        self.pending: CRFParams | None = None  # the latest parameters asked for while a refinement ran
        self._busy = False
        self._generation = 0  # one per request: a refinement for an earlier one is ignored when it returns
        self._running: tuple[int, CRFParams | None] = (0, None)  # generation and parameters of the running job
        self.crf: np.ndarray | None = None  # the CRF mask shown
        self.crf_params: CRFParams | None = None  # and the parameters it was refined with
        self.raw_scores: dict | None = None
        self.crf_scores: dict | None = None
        view.paramsChanged.connect(self.recompute)
        view.acceptRequested.connect(self._accept)
        session.imageLoaded.connect(lambda _index: self._check_image())
        session.folderOpened.connect(lambda _folder: self.close())

    @property
    def raw(self) -> np.ndarray | None:
        return self.request.raw if self.request is not None else None

    def busy(self) -> bool:
        """A refinement is running (until its ``finished`` has been handled)."""
        return self._busy

    def start(self, request: CompareRequest) -> None:
        """Show the raw mask over the image at once, and refine it in the background."""
        self._generation += 1
        self.request, self.pending, self.crf, self.crf_params = request, None, None, None
        self.raw_scores = self.crf_scores = None
        image = request.image
        self.view.set_image(render.to_display(image, render.default_contrast(image))[0], request.colors)
        self.view.set_raw(request.raw)
        self.view.show_scores("Scoring…" if request.truth is not None else score_text(None, False), "")
        self.view.show_difference("")
        self.view.show_verdict("", False)
        self.view.show_fit(request.fitted, bool(request.fit_note))
        self.opened.emit()
        self._check_image()
        self.recompute(self.view.params())

    def close(self) -> None:
        """Forget the comparison (a refinement still running is ignored when it returns)."""
        if self.request is None:
            return
        self._generation += 1
        self.request, self.pending, self.crf, self.crf_params = None, None, None, None
        self.raw_scores = self.crf_scores = None
        self.view.set_ready(False, False)
        self.view.show_verdict("", False)
        self.view.set_status("Segment an image, then click Refine with CRF.")
        self.closed.emit()

    def recompute(self, params: CRFParams) -> None:
        """Refine with ``params`` in a worker; while one runs, remember only the latest request."""
        r = self.request
        if r is None:
            return
        if self.busy():
            self.pending = params
            self.view.set_status("Refining… (new parameters queued)")
            return
        self.pending = None
        self.view.set_status(f"Refining with the CRF ({params.iterations} iterations)…")
        score_raw = self.crf is None  # the raw scores come with the first refinement, computed in the worker
        self.worker = GeneratorWorker(tasks.refine_and_compare, r.image, r.probs, params, r.raw, r.truth, score_raw,
                                      name="crf")
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
        first = self.crf is None
        self.crf, self.crf_params, self.crf_scores = result.mask, params, result.crf_scores
        self.view.set_crf(result.mask, result.code)
        has_truth = self.request.truth is not None
        if first:
            self.raw_scores = result.raw_scores
            self.view.focus(result.focus)  # start where the CRF changed most; later parameter changes stay put
        self.view.show_scores(score_text(self.raw_scores, has_truth), score_text(result.crf_scores, has_truth))
        self.view.show_verdict(*verdict(self.raw_scores, result.crf_scores, has_truth, self.request.fit_note,
                                         self.request.refused))
        diff = result.difference
        self.view.show_difference(
            f"The CRF changed {diff.changed_fraction * 100:.2f} % of the pixels: {diff.added:,} added to the "
            f"foreground, {diff.removed:,} removed, {diff.changed:,} given another class.")
        self.view.set_status("Ready. Change a parameter to recompute; accept either mask.")
        self._check_image()

    def _on_error(self, exc: BaseException) -> None:
        text = describe(exc)
        self.view.set_status(f"Error: {text}")
        QMessageBox.warning(self.window, "CRF refinement failed", text)

    def _after(self) -> None:
        self._busy = False
        if self.pending is not None:
            self.recompute(self.pending)

    def _on_screen(self) -> bool:
        return self.request is not None and self.session.current_path() == self.request.path

    def _check_image(self) -> None:
        """Accepting is only offered while the compared image is the one in the window."""
        here = self._on_screen()
        self.view.set_ready(here and self.raw is not None, here and self.crf is not None)
        if self.request is not None and not here:
            self.view.set_status(f"Showing {self.request.path.name}; go back to it to accept a mask.")

    def _accept(self, kind: Literal["raw", "crf"]) -> None:
        mask = self.raw if kind == "raw" else self.crf
        what = "the network output" if kind == "raw" else "the CRF result"
        if mask is not None and self._on_screen() and self.accept_mask(mask, what):
            self.view.mark_accepted(kind)  # newcomer check: both buttons stayed as they were
            self.view.set_status(f"The {'network output' if kind == 'raw' else 'CRF result'} is now the mask "
                                 "of this image (Ctrl+Z undoes).")
