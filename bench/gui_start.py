"""GUI figures: start-up time to the first shown window, and UI-thread lateness while training.

Start-up: a fresh process runs the real launcher (``app.launch.main``) with the offscreen Qt platform and an
empty settings folder; the moment the window has been shown and the event loop has run once, it prints the
time and whether torch was loaded by then (it should not be: torch loads lazily, after the window shows).
The parent times from its ``Popen`` to that line, so interpreter start-up and every import count.

Lateness comes from ``bench/gui_responsiveness.py`` (the GUI engineers' benchmark), run as a subprocess.

    python -m bench.gui_start [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, last_json, run_python

MARKER = "FIRST_WINDOW"


def child() -> None:
    """Runs in the measured process: the launcher, with a hook that reports the first shown window."""
    from PySide6.QtCore import QTimer

    from app import window as window_module

    show = window_module.MainWindow.show

    def show_and_report(self) -> None:
        show(self)

        def report() -> None:
            print(MARKER, json.dumps({"torch_loaded": "torch" in sys.modules}), flush=True)
            os._exit(0)  # measured: stop here, before the folder opens

        QTimer.singleShot(0, report)

    window_module.MainWindow.show = show_and_report
    from app.launch import main

    main(["--sample"])


def first_window_once(home: Path) -> tuple[float, dict]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "HOME": str(home), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.gui_start", "--child"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in proc.stdout:
        if line.startswith(MARKER):
            seconds = time.perf_counter() - start
            proc.wait(timeout=60)
            return seconds, json.loads(line[len(MARKER):])
    proc.wait(timeout=60)
    raise RuntimeError(f"the window never showed: {proc.stderr.read().strip()[-300:]}")


def first_window(repeats: int, root: Path) -> dict:
    runs = [first_window_once(root) for _ in range(repeats + 1)][1:]  # the first warms the file cache
    return {"first_window_s": round(statistics.median(s for s, _ in runs), 3),
            "torch_loaded_at_first_window": any(info["torch_loaded"] for _, info in runs)}


def ui_lateness(quick: bool) -> dict:
    script = ROOT / "bench" / "gui_responsiveness.py"
    if not script.is_file():
        return {"ui_lateness_p99_ms": None, "ui_lateness_max_ms": None,
                "ui_lateness_note": "bench/gui_responsiveness.py is not there yet"}
    result = run_python([str(script), "--epochs", "1" if quick else "2"], env={"QT_QPA_PLATFORM": "offscreen"})
    if result["rc"] != 0:
        return {"ui_lateness_p99_ms": None, "ui_lateness_max_ms": None,
                "ui_lateness_note": f"gui_responsiveness failed: {result['stderr'].strip()[-200:]}"}
    data = last_json(result["stdout"])
    training = data.get("training", {})
    return {"ui_lateness_p99_ms": training.get("p99_ms"), "ui_lateness_max_ms": training.get("worst_stall_ms"),
            "ui_lateness_baseline_p99_ms": data.get("baseline_without_training", {}).get("p99_ms")}


def measure(quick: bool, root: Path) -> dict:
    """The ``gui`` section."""
    return {**first_window(2 if quick else 5, root), **ui_lateness(quick)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    with tempfile.TemporaryDirectory(prefix="bench_gui_") as tmp:
        print(json.dumps(measure(args.quick, Path(tmp)), indent=1))


if __name__ == "__main__":
    main()
