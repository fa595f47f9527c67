"""Screenshots of the train, segment and compare flows, taken during and after a real training run.

``QT_QPA_PLATFORM=offscreen python docs/screenshots/make_job_screenshots.py`` plans a run of ``MINUTES`` minutes
on the bundled sample data (written into a temporary folder) and grabs the plan, then trains by it and grabs the
window mid-run and after it, then loads the best checkpoint, segments an image, refines it with the CRF and grabs
the Segment overlay and the Compare view. Takes about three minutes on two cores.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import app  # noqa: E402, F401  (applies the PySide fixes first)
from app.window import MainWindow  # noqa: E402
from segcore.data.sample import write_sample_data  # noqa: E402

MINUTES = 1.5
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


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="job_shots_"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    write_sample_data(tmp / "sample", count=12, size=256)
    qt = QApplication.instance() or QApplication([])
    window = MainWindow(autosave_ms=0)
    window.resize(1400, 900)  # the default size on a large screen
    window.show()
    window.reset_layout()
    window.open_folder(tmp / "sample")
    jobs = window.jobs
    panel = jobs.training_panel
    window.docks["trainingDock"].raise_()
    panel.form.set_values("unet", minutes=MINUTES, val_fraction=0.25, name="nuclei demo")
    panel.plan_button.click()
    wait_until(qt, lambda: panel.plan_view.has_plan and not jobs.pool.running())
    settle(qt)
    grab(window, "train_plan.png")
    panel.tabs.setCurrentIndex(0)  # the curves
    panel.train_button.click()
    wait_until(qt, lambda: len(panel.plots.epochs) >= EARLY_EPOCH)
    out = Path(jobs.training.run_config.out)
    early = tmp / "early.pt"
    early.write_bytes((out / "last.pt").read_bytes())
    progress = jobs.training.progress
    wait_until(qt, lambda: progress.fraction_done() > 0.6)
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
    settle(qt)  # it opens zoomed to where the network's mask and the CRF's differ most
    grab(window, "compare_crf.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
