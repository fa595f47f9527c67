"""Screenshots of the train, segment and compare flows, taken during and after a real training run.

``QT_QPA_PLATFORM=offscreen python docs/screenshots/make_job_screenshots.py`` trains a small U-Net on the bundled
sample data (written into a temporary folder), grabs the window mid-run and after it, then loads the best
checkpoint, segments an image, refines it with the CRF and grabs the Segment overlay and the Compare view.
Takes about a minute on two cores.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from PySide6.QtCore import QEventLoop, QPointF, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import app  # noqa: E402, F401  (applies the PySide fixes first)
from app.window import MainWindow  # noqa: E402
from segcore.data.sample import write_sample_data  # noqa: E402

EPOCHS = 14
EARLY_EPOCH = 2  # the compare view uses this early model: the CRF has more to correct
SHOW_IMAGE = 3  # a validation image of the split with seed 0


def wait_until(qt: QApplication, condition, timeout_s: float = 600) -> None:
    """Run the event loop until ``condition()`` holds."""
    loop, timer = QEventLoop(), QTimer(interval=50)
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the window did not get there in time")


def settle(qt: QApplication, ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def grab(window: MainWindow, name: str) -> None:
    window.grab().save(str(HERE / name))
    print("wrote", HERE / name)


def zoom_pane(view, steps: float, x: float, y: float) -> None:
    """A real wheel event on a compare pane at image point (x, y); the other pane follows."""
    pos = QPointF(view.mapFromScene(QPointF(x, y)))
    event = QWheelEvent(pos, view.viewport().mapToGlobal(pos), QPointF().toPoint(), QPointF(0, 120 * steps).toPoint(),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="job_shots_"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    write_sample_data(tmp / "sample", count=12, size=256)
    qt = QApplication.instance() or QApplication([])
    window = MainWindow(autosave_ms=0)
    window.resize(1500, 950)
    window.show()
    window.open_folder(tmp / "sample")
    jobs = window.jobs
    panel = jobs.training_panel
    panel.form.set_values("unet", "width=16", epochs=EPOCHS, lr=0.003, batch_size=4, patch_size=128,
                          val_fraction=0.25, out=str(tmp / "sample" / "checkpoints" / "unet-demo"))
    panel.train_button.click()
    out = tmp / "sample" / "checkpoints" / "unet-demo"
    wait_until(qt, lambda: len(panel.plots.epochs) >= EARLY_EPOCH)
    early = tmp / "early.pt"
    early.write_bytes((out / "last.pt").read_bytes())
    progress = jobs.training.progress
    wait_until(qt, lambda: len(panel.plots.epochs) >= EPOCHS // 2 and progress.batch >= progress.batches // 2)
    settle(qt)
    grab(window, "train_during_run.png")
    wait_until(qt, lambda: not jobs.pool.running() and not jobs.training.is_running())
    settle(qt)
    grab(window, "train_finished.png")

    jobs.prediction_panel.use_trained.click()
    wait_until(qt, lambda: jobs.prediction.predictor is not None and not jobs.prediction.busy())
    window.session.select(SHOW_IMAGE)
    jobs.prediction_panel.segment.click()
    wait_until(qt, lambda: jobs.prediction.current_prediction() is not None and not jobs.prediction.busy())
    settle(qt)
    grab(window, "segment_overlay.png")

    jobs.prediction.load(early)
    wait_until(qt, lambda: jobs.prediction.predictor.path == early and not jobs.prediction.busy())
    jobs.prediction_panel.crf.click()
    wait_until(qt, lambda: jobs.compare.crf is not None and not jobs.compare.busy())
    window.resizeDocks([jobs.compare_dock], [520], Qt.Orientation.Vertical)
    settle(qt)
    zoom_pane(jobs.compare_view.raw_view, 5, 128, 128)  # zoom one pane; the other follows
    settle(qt)
    grab(window, "compare_crf.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
