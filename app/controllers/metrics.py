"""The per-image metrics table: the loaded model scored on every annotated image of the folder, raw and CRF
side by side, with :func:`segcore.evaluation.score_samples` (the code ``segcore eval`` runs, so the numbers are
the same); a row opens its image with the prediction; the table is exported as ``segcore eval --csv`` writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.controllers.prediction import PredictionController
from app.jobs import assist_tasks
from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state.session import Session
from app.views.panels.metrics_panel import MetricsPanel
from segcore.errors import describe

VARIANT_LABEL = {"raw": "raw", "crf": "CRF"}


def run_split(checkpoint: Path) -> dict[Path, str]:
    """Image path -> "train" / "val" from the split.json of the checkpoint's run (empty when there is none)."""
    try:
        split = json.loads((checkpoint.parent / "split.json").read_text())
        return {Path(p).resolve(): part for part in ("train", "val") for p in split.get(part, [])}
    except (OSError, ValueError, AttributeError):
        return {}


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
        prediction.modelLoaded.connect(self._on_model)

    def busy(self) -> bool:
        return self._busy

    def _on_model(self, path: str) -> None:
        """The current model changed: the status says which one the table is (or would be) of."""
        self._refresh()
        if self.busy():
            return
        name = f"{Path(path).parent.name}/{Path(path).name}"
        if self.results and Path(self.checkpoint) != Path(path):
            self.panel.set_status(f"These scores are of {Path(self.checkpoint).parent.name}/"
                                  f"{Path(self.checkpoint).name}; the current model is {name}: score again.")
        elif not self.results:
            self.panel.set_status(f"Current model {name}: score the annotated images to see where it fails.")

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
        self.panel.set_columns(*self._columns())
        self.worker = GeneratorWorker(assist_tasks.evaluate_images, predictor, items, with_crf, self.prediction.store,
                                      s.folder, name="metrics")
        self.worker.yielded.connect(self._on_row)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._finished)
        self._busy = True
        self.panel.show_progress(0, len(items))
        self.panel.set_status(f"Scoring {len(items)} annotated images with {predictor.path.name}…")
        self.pool.start(self.worker)
        self._refresh()
        return True

    def _columns(self) -> tuple[list[str], list[str]]:
        headers, tips = ["Image", "Split"], ["The image (click to open it with the prediction)",
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
        cells: list = [self.split.get(image.resolve(), "")]
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
        self.panel.add_row(item.index, item.image.name, self._cells(item.image, item.result))
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
            from segcore.evaluation import EvalReport

            cancelled = " (cancelled)" if worker.aborted else ""
            sparse = EvalReport(self.spec, self.results).sparse_note()
            self.panel.set_status(f"{len(self.results)} images scored{cancelled}; click a row to open the image with "
                                  "the prediction, a column to sort." + (f" {len(self.skipped)} skipped." if
                                                                          self.skipped else "")
                                  + (f" {sparse[0].upper()}{sparse[1:]}." if sparse else ""))
        if self.skipped:
            QMessageBox.warning(self.window, "Some images were not scored", "\n".join(self.skipped[:10]))
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
        from segcore.evaluation import EvalReport, write_csv

        if not self.results:
            return
        folder = self.session.folder
        start = str(folder / "metrics.csv") if folder is not None else "metrics.csv"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the scores as CSV", start, "CSV (*.csv)")
        if not path:
            return
        report = EvalReport(self.spec, list(self.results), self.checkpoint, str(folder))
        try:
            write_csv(path, report)
        except OSError as exc:
            QMessageBox.warning(self.window, "Cannot export the scores", describe(exc))
            return
        self.panel.set_status(f"Wrote {path}")

    def _refresh(self) -> None:
        from segcore import crf

        self.panel.set_state(model=self.prediction.predictor is not None, busy=self.busy(),
                             rows=bool(self.results), crf_available=crf.is_available())
