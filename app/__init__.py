"""The segstudio desktop window (PySide6) on top of :mod:`segcore`.

Importing ``app`` first works around a PySide6 reference-count bug in signal emission (see ``pyside_fix``).
"""

from app import pyside_fix  # noqa: F401  (must run before any signal is emitted)
