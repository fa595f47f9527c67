"""The window at 100 % and 200 % scaling, for checking icons, text and layout on a high-DPI screen.

``python docs/screenshots/make_scaling_screenshots.py`` writes ``window_scale_100.png`` and ``window_scale_200.png``
(each in a fresh process, since QT_SCALE_FACTOR is read when Qt starts) on the bundled sample data, with a brush
stroke in progress and a tooltip-free toolbar; nothing is written outside a temporary folder and this one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

ONE = """
import sys
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
import app  # the PySide fixes first
from app.window import MainWindow
from segcore.data.sample import write_sample_data

tmp, out = Path(sys.argv[1]), sys.argv[2]
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
qt = QApplication([])
write_sample_data(tmp / "sample", count=6, size=256, seed=0)
window = MainWindow(autosave_ms=0)
window.resize(1280, 800)
window.show()
window.open_folder(tmp / "sample")
window.session.select(1)
for _ in range(10):
    qt.processEvents()
window.grab().save(out)
print(out, window.grab().size().width(), window.grab().size().height(), window.devicePixelRatioF())
"""


def main() -> None:
    for percent in (100, 200):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR=str(percent / 100),
                       PYTHONPATH=str(REPO))
            out = HERE / f"window_scale_{percent}.png"
            subprocess.run([sys.executable, "-c", ONE, tmp, str(out)], env=env, check=True, cwd=REPO)


if __name__ == "__main__":
    main()
