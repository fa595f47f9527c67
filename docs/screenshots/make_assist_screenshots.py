"""Screenshots of the annotation assistant on real data: the uncertainty queue, scribble-to-mask, the metrics
table and a retraining round.

``QT_QPA_PLATFORM=offscreen python docs/screenshots/make_assist_screenshots.py`` links 12 ISBI 2012 slices from
../shared/data (masks for the first 4) into a temporary folder, trains a small U-Net from the window, lets the queue
score the other 8, opens the most uncertain one with its uncertainty shown, completes synthetic scribbles on
another with the model's probabilities, scores the annotated images with and without the CRF, accepts a proposal and retrains. A few minutes on
two cores.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import app  # noqa: E402, F401  (applies the PySide fixes first)
from app.window import MainWindow  # noqa: E402
from bench.scribble_synth import skeleton_scribbles  # noqa: E402
from docs.screenshots.make_job_screenshots import grab, settle, wait_until  # noqa: E402
from segcore.data import io  # noqa: E402
from segcore.data.classes import ClassSpec  # noqa: E402

ISBI = ROOT.parent / "shared" / "data" / "isbi2012_em"
SPEC = ClassSpec(["membrane", "cell"], [0, 255])


def isbi_folder(root: Path, count: int = 12, annotated: int = 4) -> Path:
    for kind in ("images", "masks"):
        (root / kind).mkdir(parents=True)
    for i in range(count):
        (root / "images" / f"{i}.png").symlink_to(ISBI / "images" / f"{i}.png")
        if i < annotated:
            (root / "masks" / f"{i}.png").symlink_to(ISBI / "masks" / f"{i}.png")
    SPEC.save(root)
    return root


def main() -> int:
    if not ISBI.is_dir():
        print(f"needs the ISBI 2012 data at {ISBI}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="assist_shots_"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    folder = isbi_folder(tmp / "isbi")
    qt = QApplication.instance() or QApplication([])
    window = MainWindow(autosave_ms=0)
    window.resize(1500, 950)
    window.show()
    window.open_folder(folder)
    jobs, assist = window.jobs, window.jobs.assist
    form = jobs.training_panel.form
    form.set_values("unet", "width=8, depth=3", epochs=6, lr=0.003, batch_size=4, patch_size=128,
                    val_fraction=0.25, minutes=0, out=str(folder / "checkpoints" / "round1"))
    jobs.training_panel.train_button.click()
    wait_until(qt, lambda: jobs.training.last_done is not None and not jobs.training.is_running())
    wait_until(qt, lambda: not assist.uncertainty.busy() and len(assist.uncertainty.scores) == 8)
    jobs.prediction.load(assist.uncertainty.model)
    wait_until(qt, lambda: jobs.prediction.predictor is not None and not jobs.prediction.busy())
    assist.dock.raise_()
    assist.panel.toggle.setChecked(True)
    assist.next_action.trigger()
    wait_until(qt, lambda: assist.uncertainty.layer.isVisible() and jobs.prediction.layer.isVisible())
    settle(qt)
    grab(window, "assist_queue.png")

    assist.panel.toggle.setChecked(False)
    window.session.select(10)
    window.actions.clear_unlabelled.trigger()
    labels = skeleton_scribbles(io.read_mask(ISBI / "masks" / "10.png", SPEC), 0.03, seed=0)
    window.session.accept_mask(labels)
    assist.panel.use_model.setChecked(True)  # the strokes refine the model's prediction
    assist.panel.propose.click()
    wait_until(qt, lambda: not assist.scribbles.busy() and jobs.prediction.current_prediction() is not None)
    settle(qt)
    grab(window, "assist_scribbles.png")
    jobs.prediction_panel.accept.click()

    assist.panel.metrics.click()  # the Metrics view, scoring at once
    wait_until(qt, lambda: not assist.metrics.busy() and assist.metrics_panel.row_count() > 0)
    assist.metrics_panel.table.sortItems(2)
    settle(qt)
    grab(window, "assist_metrics.png")

    window.docking.show_image()
    form.set_values("unet", "width=8, depth=3", epochs=4, lr=0.003, batch_size=4, patch_size=128,
                    val_fraction=0.25, minutes=0, out=str(folder / "checkpoints" / "round2"))
    assist.panel.retrain.click()
    wait_until(qt, lambda: jobs.training.last_done is not None and not jobs.training.is_running()
               and not jobs.prediction.busy())
    settle(qt, 800)
    grab(window, "assist_retrain.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
