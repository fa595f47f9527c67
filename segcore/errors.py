"""Typed errors of the headless core.

Every message is one readable line meant for a user; the CLI prints it on stderr and exits non-zero, the GUI
shows it in a dialog or the status bar.
"""

from __future__ import annotations


class SegcoreError(Exception):
    """Base class of every error segcore raises on purpose."""


class DataError(SegcoreError):
    """An image, mask or folder cannot be used (missing, corrupt, wrong size, bad values, empty)."""


class OutputError(SegcoreError, OSError):
    """An output file or folder cannot be written (read-only, a file in the way, disk full).

    Also an OSError, so callers that already catch OSError around writes keep working.
    """


class CheckpointError(SegcoreError):
    """A file is not a usable checkpoint (not one, corrupt, incompatible)."""


class ConfigError(SegcoreError):
    """An option or argument is invalid (unknown architecture, bad value)."""


class TrainingError(SegcoreError):
    """Training cannot go on (loss became NaN, device failure)."""


class CRFUnavailableError(SegcoreError):
    """pydensecrf cannot be imported; the message says how to install it."""


class ExportError(SegcoreError):
    """A model cannot be exported to, or checked in, a format (ONNX, TorchScript, bioimage.io)."""


def describe(exc: BaseException, out_of_memory: str = "") -> str:
    """One line for a user: a typed error's own message, an OSError as ``FILE: reason``, running out of memory
    as "out of memory" (plus the advice ``out_of_memory``), else ``Type: message``.

    The one place an exception becomes text for a dialog, the status bar or stderr.
    """
    if isinstance(exc, SegcoreError):
        return _first_line(exc) or type(exc).__name__
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return "out of memory" + (f"; {out_of_memory}" if out_of_memory else "")
    if isinstance(exc, OSError):
        reason = exc.strerror or _first_line(exc) or type(exc).__name__
        return f"{exc.filename}: {reason}" if exc.filename else reason
    text = _first_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
