"""How responsive the window stays while it trains: a timer on the UI thread records its own lateness.

``QT_QPA_PLATFORM=offscreen python bench/gui_responsiveness.py [--epochs 3] [--threads N]``

The window opens synthetic sample data, Train is clicked, and a 10 ms precise timer runs on the UI thread for the
whole run. Each tick records how late it fired (gap - interval); meanwhile the image view is zoomed and repainted
every 50 ms (``--no-paint`` to skip) so the UI thread has real drawing work, as with a user looking around.
Prints one JSON object: lateness percentiles and the worst stall for a baseline without training (what the
machine's own load costs), for the setup phase (torch loads and the data is decoded in the worker), for the
training batches and for Segment all with the trained model, the five worst ticks of training with the event that preceded each, the torch thread count, the CPU
count and the load average.
Targets (training and segmenting): p99 under 50 ms, no stall over 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

import app.jobs.workers  # noqa: E402  (applies the PySide fix first)
from app.window import MainWindow  # noqa: E402
from segcore.data.sample import write_sample_data  # noqa: E402
from segcore.training.events import BatchEvent  # noqa: E402

TARGET_P99_MS, TARGET_STALL_MS = 50.0, 200.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--count", type=int, default=12, help="sample images")
    p.add_argument("--size", type=int, default=256, help="sample image side")
    p.add_argument("--width", type=int, default=16, help="U-Net width")
    p.add_argument("--patch", type=int, default=128)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--threads", type=int, help="torch threads of the job (default: the app's, all cores but one)")
    p.add_argument("--interval-ms", type=float, default=10.0)
    p.add_argument("--paint-ms", type=int, default=50, help="zoom and repaint the canvas this often (ms)")
    p.add_argument("--no-paint", action="store_true", help="do not zoom and repaint the canvas meanwhile")
    p.add_argument("--no-segment", action="store_true", help="skip Segment all with the trained model")
    p.add_argument("--baseline", type=float, default=5.0, metavar="S",
                   help="first measure S seconds without training: the lateness the machine causes by itself")
    return p.parse_args(argv)


def summary(lateness_ms: list[float]) -> dict:
    if not lateness_ms:
        return {"ticks": 0}
    values = np.asarray(lateness_ms)
    return {"ticks": int(values.size), "p50_ms": round(float(np.percentile(values, 50)), 2),
            "p99_ms": round(float(np.percentile(values, 99)), 2), "worst_stall_ms": round(float(values.max()), 1),
            "stalls_over_200ms": int((values > TARGET_STALL_MS).sum())}


class Probe:
    """The UI-thread timer: records lateness per phase; 'setup' until the first batch, then 'training'."""

    def __init__(self, interval_ms: float) -> None:
        self.interval = interval_ms / 1000
        self.phase = "setup"
        self.lateness: dict[str, list[float]] = {"baseline": [], "setup": [], "training": [], "segmenting": []}
        self.worst: list[tuple[float, float, str]] = []  # (lateness ms, when, phase) of the worst ticks
        self.timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=int(interval_ms))
        self.timer.timeout.connect(self.tick)
        self.last = time.perf_counter()

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()

    def tick(self) -> None:
        now = time.perf_counter()
        late = max(0.0, (now - self.last - self.interval) * 1000)
        self.lateness[self.phase].append(late)
        if late > 20:
            self.worst.append((late, now, self.phase))
        self.last = now


def segment_all(jobs, checkpoint: str, probe: Probe, loop: QEventLoop) -> None:
    """Load the trained model, then Segment all with the probe in phase 'segmenting'."""
    jobs.prediction.load(checkpoint)
    if jobs.pool.running():
        loop.exec()
    probe.phase = "segmenting"
    jobs.prediction.segment_all()
    if jobs.pool.running():
        loop.exec()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        app.jobs.workers.JOB_THREADS = args.threads
    tmp = Path(tempfile.mkdtemp(prefix="gui_bench_"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    QMessageBox.warning = lambda *a, **k: print("warning:", *a[1:3], file=sys.stderr)
    write_sample_data(tmp / "data", count=args.count, size=args.size)
    qt = QApplication.instance() or QApplication([])
    window = MainWindow(autosave_ms=0)
    window.resize(1400, 900)
    window.show()
    window.open_folder(tmp / "data")
    jobs = window.jobs
    jobs.training_panel.form.set_values("unet", f"width={args.width}", epochs=args.epochs, batch_size=args.batch,
                                        patch_size=args.patch, out=str(tmp / "run"), minutes=0)
    jobs.training_panel.plots  # noqa: B018 - the curves load just after the window shows; not part of a run
    probe = Probe(args.interval_ms)
    batches = []
    paint_ms: list[float] = []

    events: list[tuple[float, str]] = []

    def on_event(event) -> None:
        events.append((time.perf_counter(), type(event).__name__))
        if isinstance(event, BatchEvent):
            probe.phase = "training"
            batches.append(event.images_per_s)

    painter = QTimer(interval=args.paint_ms)
    zoom = [1.0]

    def paint() -> None:  # zoom in and out a little and repaint now: the work a user's looking around costs
        t0 = time.perf_counter()
        zoom[0] = 1.1 if zoom[0] == 1.0 else 1.0
        window.canvas.zoom_by(zoom[0] if zoom[0] > 1 else 1 / 1.1)
        window.canvas.viewport().repaint()
        paint_ms.append((time.perf_counter() - t0) * 1000)

    if not args.no_paint:
        painter.timeout.connect(paint)
        painter.start()
    probe.phase = "baseline"
    probe.start()
    if args.baseline > 0:
        wait = QEventLoop()
        QTimer.singleShot(int(args.baseline * 1000), wait.quit)
        wait.exec()
    probe.phase = "setup"
    started = time.perf_counter()
    jobs.training_panel.train_button.click()
    jobs.training.worker.yielded.connect(on_event)
    loop = QEventLoop()  # the real event loop, as in the application
    jobs.pool.busyChanged.connect(lambda busy: None if busy else loop.quit())
    if jobs.pool.running():
        loop.exec()
    done = jobs.training.last_done
    if done is not None and done.best_path and not args.no_segment:
        segment_all(jobs, done.best_path, probe, loop)
    probe.timer.stop()
    painter.stop()
    import torch

    result = {
        "benchmark": "gui_responsiveness", "status": done.status if done else "error",
        "seconds": round(time.perf_counter() - started, 1), "epochs": args.epochs, "batches": len(batches),
        "patches_per_s_median": round(float(np.median(batches)), 1) if batches else None,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()], "canvas_repaint_every_ms": None if args.no_paint else args.paint_ms,
        "repaint_ms_median": round(float(np.median(paint_ms)), 1) if paint_ms else None,
        "baseline_without_training": summary(probe.lateness["baseline"]),
        "setup": summary(probe.lateness["setup"]), "training": summary(probe.lateness["training"]),
        "segmenting": summary(probe.lateness["segmenting"]),
        "target": {"p99_ms": TARGET_P99_MS, "worst_stall_ms": TARGET_STALL_MS},
    }
    result["worst_ticks"] = [
        {"late_ms": round(late, 1), "phase": phase,
         "after": next((name for t, name in reversed(events) if t < when - late / 1000), "start")}
        for late, when, phase in sorted(probe.worst, reverse=True) if phase == "training"][:5]
    result["meets_target"] = all(
        phase.get("ticks", 0) == 0 or (phase["p99_ms"] < TARGET_P99_MS and phase["worst_stall_ms"] < TARGET_STALL_MS)
        for phase in (result["training"], result["segmenting"])) and bool(result["training"].get("ticks"))
    print(json.dumps(result, indent=2))
    window.close()
    qt.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
