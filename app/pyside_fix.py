"""Work around a reference-count bug of some PySide6 builds (seen with 6.12.0 on Python 3.11).

``SignalInstance.emit`` returns ``True`` without taking a reference to it. On Python < 3.12, where ``True`` is
not immortal, every emit from Python code then removes one reference from ``True``; after a few hundred signals
(a brush stroke emits one per mouse move) the interpreter aborts with "Fatal Python error: bool_dealloc". The bug
is detected once at import by measuring, and only then is ``emit`` wrapped to give the missing reference back.

The same builds also return ``None`` from every method without a result (``setText``, ``update``, every
``QPainter.draw*``) without a reference: a few thousand such calls (a live plot repaints hundreds per frame) abort
with "none_dealloc". There is no single method to wrap, so ``pin_singletons`` gives ``None``, ``True`` and
``False`` so many references that they can never run out: in effect immortal, as they are on Python >= 3.12.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

PROBE_EMITS = 16


class _Probe(QObject):
    fired = Signal()


def emit_leaks_true() -> bool:
    """True when emitting a signal from Python loses a reference to ``True`` (the bug is present)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBE_EMITS):
        probe.fired.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:  # give back what the probe itself took
        for _ in range(lost):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return lost >= PROBE_EMITS


def install() -> bool:
    """Patch ``SignalInstance.emit`` when this PySide6 has the bug; returns whether it did."""
    if getattr(SignalInstance.emit, "_segstudio_fixed", False) or not emit_leaks_true():
        return False
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    true_ref = ctypes.py_object(True)

    def emit(self, *args):
        result = original(self, *args)
        if result is True:
            incref(true_ref)  # the reference PySide forgot to take
        return result

    emit._segstudio_fixed = True
    emit.__doc__ = original.__doc__
    SignalInstance.emit = emit
    return True


def void_call_leaks_none() -> bool:
    """True when a Qt method that returns nothing loses a reference to ``None`` (the bug is present)."""
    probe = _Probe()
    before = sys.getrefcount(None)
    for _ in range(PROBE_EMITS):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= PROBE_EMITS


SINGLETON_PIN = 1 << 40  # references no process will ever drop


def pin_singletons() -> bool:
    """Make None, True and False immortal when void calls leak ``None``; returns whether it did."""
    if sys.version_info >= (3, 12) or not void_call_leaks_none():  # 3.12+: immortal already
        return False
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += SINGLETON_PIN  # ob_refcnt is the first field
    return True


INSTALLED = install()
PINNED = pin_singletons()
