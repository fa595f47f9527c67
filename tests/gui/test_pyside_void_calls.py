"""Tens of thousands of Qt calls that return nothing (setText, painting) must not wear down ``None``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CODE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import app  # noqa: F401 - pins None/True/False when this PySide6 needs it
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel

qt = QApplication([])
label, image = QLabel(), QImage(8, 8, QImage.Format.Format_ARGB32)
painter = QPainter(image)
for i in range(30000):  # far more references than None starts with (a few thousand)
    label.setText("x")
    painter.drawRect(0, 0, 2, 2)
painter.end()
print("ok")
"""


def test_many_void_calls_keep_none_alive():
    # In a subprocess: without the fix the interpreter aborts ("none_dealloc"), failing the test, not the run.
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == "ok"
