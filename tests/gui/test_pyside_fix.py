"""Thousands of signals emitted from Python must not wear down the reference count of ``True``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CODE = """
import sys
import app  # noqa: F401 - installs the work-around when this PySide6 needs it
from PySide6.QtCore import QObject, Signal

class Source(QObject):
    changed = Signal(object)

source, got = Source(), []
source.changed.connect(got.append)
before = sys.getrefcount(True)
for i in range(5000):  # far more than the ~150 references True starts with
    source.changed.emit(i)
print(len(got), sys.getrefcount(True) - before)
"""


def test_many_emits_keep_true_alive():
    # In a subprocess: without the fix the interpreter aborts ("bool_dealloc"), which must fail the test
    # rather than kill the test run.
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60,
                         cwd=REPO)
    assert out.returncode == 0, out.stderr[-500:]
    count, delta = map(int, out.stdout.split())
    assert count == 5000 and abs(delta) < 50
