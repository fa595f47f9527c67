"""The per-image metrics table: the loaded model scored on every annotated image of the folder, raw and CRF
side by side, with :func:`segcore.evaluation.score_samples` (the code ``segcore eval`` runs, so the numbers are
the same); a row opens its image with the prediction; the table is exported as ``segcore eval --csv`` writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.controllers.prediction import PredictionController
from app.jobs import assist_tasks
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state.runs import model_name
from app.state.session import Session
from app.views.panels.metrics_panel import MetricsPanel
from segcore.annotate.provenance import Origin
from segcore.errors import describe

VARIANT_LABEL = {"raw": "raw", "crf": "CRF"}


def run_split(checkpoint: Path) -> dict[Path, str]:
    """Image path -> "train" / "val" from the split.json of the checkpoint's run (empty when there is none)."""
    try:
        split = json.loads((checkpoint.parent / "split.json").read_text())
        return {Path(p).resolve(): part for part in ("train", "val") for p in split.get(part, [])}
    except (OSError, ValueError, AttributeError):
        return {}


def source_of(origin: Origin) -> str:
    """The Source column for a mask accepted from another model than the one scored (or from no model)."""
    if origin.model is not None:
        return f"{model_name(origin.model)}'s"
    return "a model's" if origin.kind == "network" else "CRF proposal"


class MetricsController(QObject):
    """Feeds a :class:`MetricsPanel`; keeps the results of the last scoring for the CSV."""

    def __init__(self, parent: QWidget, session: Session, panel: MetricsPanel, prediction: PredictionController,
                 pool: WorkerPool) -> None:
        super().__init__(parent)
        self.window, self.session, self.panel, self.prediction, self.pool = parent, session, panel, prediction, pool
        self.worker: GeneratorWorker | None = None
        self.results: list = []  # segcore.evaluation.ImageResult, in the order scored
        self.skipped: list[str] = []
        self.spec = None
        self.variants: tuple[str, ...] = ("raw",)
        self.split: dict[Path, str] = {}
        self.checkpoint = ""
        self._busy = False
        panel.evaluateRequested.connect(self.evaluate)
        panel.cancelRequested.connect(self.cancel)
        panel.exportRequested.connect(self.export)
        panel.rowChosen.connect(self.open_row)
        prediction.modelLoaded.connect(self._model_changed)
        self.sources: dict[str, str] = {}  # image name -> where its mask came from, as the Source column says
        self.left_out: dict[str, str] = {}  # image name -> why the mean leaves it out

    def busy(self) -> bool:
        return self._busy

    def evaluate(self) -> bool:
        """Score every annotated image (accepted predictions not corrected yet left out) in a worker."""
        from segcore import crf

        predictor, s = self.prediction.predictor, self.session
        if predictor is None or self.busy():
            return False
        if mismatch := self.prediction.class_mismatch():
            QMessageBox.warning(self.window, "Cannot score this model here", mismatch)
            return False
        if not s.save_all():
            self.panel.set_status("Some masks could not be saved: the images are scored against the masks on disk.")
        items = [(i, smp) for i, smp in enumerate(s.samples) if smp.mask is not None and not s.is_predicted(i)]
        if not items:
            self.panel.set_status("No image has a mask of your own yet: annotate (or accept and correct) some first.")
            return False
        with_crf = self.panel.crf_wanted() and crf.is_available()
        self.spec, self.variants = predictor.spec, ("raw", "crf") if with_crf else ("raw",)
        self.split, self.checkpoint = run_split(predictor.path), str(predictor.path)
        self.results, self.skipped = [], []
        self.sources, self.left_out = self._provenance(items)
        self.panel.set_columns(*self._columns())
        self.worker = GeneratorWorker(assist_tasks.evaluate_images, predictor, items, with_crf, self.prediction.store,
                                      s.folder, name="metrics")
        self.worker.yielded.connect(self._on_row)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._finished)
        self._busy = True
        self.panel.show_progress(0, len(items))
        self.panel.set_status(f"Scoring {len(items)} annotated images with {model_name(predictor.path)}…")
        self.pool.start(self.worker)
        self._refresh()
        return True

    def _provenance(self, items: list) -> tuple[dict[str, str], dict[str, str]]:
        """Where each mask came from, and the images left out of the mean: masks accepted from this very model's
        predictions (corrected or not) score the model against itself and inflate its mean."""
        sources, left_out = {}, {}
        for _, sample in items:
            origin = self.session.origin(sample.image)  # kept with the folder across sessions
            if origin is None:
                sources[sample.image.name] = "hand"
            elif origin.model == self.checkpoint:
                sources[sample.image.name] = "this model's"
                left_out[sample.image.name] = "its mask is this model's accepted prediction"
            else:
                sources[sample.image.name] = source_of(origin)
        return sources, left_out

    def _columns(self) -> tuple[list[str], list[str]]:
        headers, tips = ["Image", "Source", "Split"], [
            "The image (click to open it with the prediction)",
            "Where its mask came from: hand (painted or loaded), a model's accepted prediction, or an accepted CRF "
            "proposal; masks accepted from this model are left out of the mean (they flatter it)",
            "train / val: how the model's run used the image (split.json)"]
        names = self.spec.names
        groups = [("mean", "foreground classes' mean")] if len(names) > 2 else []
        groups += [(name, f"class {name}") for name in names[1:]]
        for label, what in groups:
            for metric in ("Dice", "IoU"):
                for v in self.variants:
                    headers.append(f"{metric} {label} {VARIANT_LABEL[v]}")
                    tips.append(f"{metric} of {what}, {'raw network output' if v == 'raw' else 'after the CRF'}")
        if self.spec.instances:
            for v in self.variants:
                headers += [f"found {VARIANT_LABEL[v]}", f"missed {VARIANT_LABEL[v]}", f"extra {VARIANT_LABEL[v]}"]
                tips += ["true objects matched at IoU >= 0.5", "true objects not found", "predicted objects that "
                         "match no true one"]
        return headers, tips

    def _cells(self, image: Path, result) -> list:
        names = self.spec.names
        by_variant = {v: result.scores(v, names) for v in self.variants}
        cells: list = [self.sources.get(image.name, "hand"), self.split.get(image.resolve(), "")]
        keys = ([("mean_dice", None), ("mean_iou", None)] if len(names) > 2 else [])
        cells += [by_variant[v][key] for key, _ in keys for v in self.variants]
        for c in range(1, len(names)):
            cells += [by_variant[v][metric][c] for metric in ("dice", "iou") for v in self.variants]
        if self.spec.instances:
            for v in self.variants:
                o = result.objects.get(v, {})
                cells += [o.get("matched"), o.get("true", 0) - o.get("matched", 0) if o else None,
                          o.get("predicted", 0) - o.get("matched", 0) if o else None]
        return cells

    def _on_row(self, item: assist_tasks.Evaluated) -> None:
        self.panel.show_progress(item.done, item.total)
        if item.result is None:
            self.skipped.append(item.error)
            return
        self.results.append(item.result)
        self.panel.add_row(item.index, item.image.name, self._cells(item.image, item.result), str(item.image),
                           left_out=item.image.name in self.left_out)
        if item.image == self.session.current_path():
            self.prediction.show_current()

    def _on_error(self, exc: BaseException) -> None:
        text = describe(exc)
        self.panel.set_status(f"Error: {text}")
        QMessageBox.warning(self.window, "Scoring failed", text)

    def _finished(self) -> None:
        self._busy = False
        worker = self.worker
        if worker.error is None:

            cancelled = " (cancelled)" if worker.aborted else ""
            sparse = self.report().sparse_note()
            self.panel.set_status(f"{len(self.results)} images scored{cancelled}{self._mean_text()}; click a row to "
                                  "open the image with the prediction, a column to sort." +
                                  (f" {len(self.skipped)} skipped." if self.skipped else "")
                                  + (f" {sparse[0].upper()}{sparse[1:]}." if sparse else ""))
        if self.skipped:
            QMessageBox.warning(self.window, "Some images were not scored", "\n".join(self.skipped[:10]))
        self._refresh()

    def report(self):
        """The scores as :class:`segcore.evaluation.EvalReport` (the mean leaves out ``left_out``)."""
        from segcore.evaluation import EvalReport

        folder = self.session.folder
        return EvalReport(self.spec, list(self.results), self.checkpoint, str(folder),
                          left_out={k: v for k, v in self.left_out.items() if any(r.name == k for r in self.results)})

    def _mean_text(self) -> str:
        report = self.report()
        if not report.counted():
            return ""
        dice = report.mean("raw")["mean_dice"]
        out = report.left_out
        return (f"; mean Dice {dice:.3f} over {len(report.counted())}" + self._validation_text(report) +
                (f" ({len(out)} accepted from this model left out: they score it against itself)" if out else ""))

    def _validation_text(self, report) -> str:
        """The mean over the images the model's run validated on, when its split is known: the others it trained
        on, so their scores flatter it (newcomer check #6: after Retrain the mean over all rose on an image the
        new round had trained on, while the images it had not seen did not move)."""
        if not self.split:
            return ""
        paths = {sample.image.name: sample.image.resolve() for sample in self.session.samples}
        parts = [self.split.get(paths.get(r.name)) for r in report.counted()]
        held = [s["mean_dice"] for part, s in zip(parts, report.image_scores("raw"), strict=True) if part == "val"]
        if not held:  # trained on some of them (or on another folder: then nothing to say)
            return " (it trained on all of them)" if "train" in parts else ""
        return f", {np.nanmean(held):.3f} over the {len(held)} it was validated on (it trained on the others)"

    def _model_changed(self, path: str | None) -> None:
        """Scores of another model would pass for this one's: they go, and the line says so."""
        if self.results and not self.busy() and str(path) != self.checkpoint:
            self.results, self.left_out = [], {}
            self.panel.set_columns(["Image"], [""])
            old, new = model_name(self.checkpoint), model_name(str(path))
            if old == new:  # two runs of one name: their folders tell them apart
                old, new = self.checkpoint, str(path)
            self.panel.set_status(f"The scores were of {old}; the current model is {new}: Score annotated images "
                                  "again.")
        elif path and not self.results and not self.busy():  # say which model the table will be of
            self.panel.set_status(f"Current model {model_name(path)}: score the annotated images to see where it "
                                  "fails.")
        self._refresh()

    def cancel(self) -> None:
        if self.busy():
            self.worker.abort()
            self.panel.set_status("Cancelling after the current image…")

    def open_row(self, index: int) -> None:
        """Open image ``index``; its prediction (kept when it was scored) shows over it."""
        self.session.select(index)  # False when it is the image on screen already
        self.prediction.show_current()

    def export(self) -> None:
        from segcore.evaluation import write_csv

        if not self.results:
            return
        folder = self.session.folder
        start = str(folder / "metrics.csv") if folder is not None else "metrics.csv"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the scores as CSV", start, "CSV (*.csv)")
        if not path:
            return
        try:
            write_csv(path, self.report())
        except OSError as exc:
            QMessageBox.warning(self.window, "Cannot export the scores", describe(exc))
            return
        self.window.statusBar().showMessage(f"Wrote {path}", 15000)  # the panel keeps its summary of the scores

    def _refresh(self) -> None:
        from segcore import crf

        self.panel.set_state(model=self.prediction.predictor is not None, busy=self.busy(),
                             rows=bool(self.results), crf_available=crf.is_available())
