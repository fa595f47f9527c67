"""Atomic file writes: write to a temporary file beside the target, then ``os.replace``.

A crash or kill at any moment leaves either the old file or the new one, never a truncated mix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from segcore.errors import OutputError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``target``.

    The temporary name keeps the target's suffix so that libraries that pick a format by extension still work.
    """
    target = Path(target)
    try:
        make_folder(target.parent)
        tmp_path = _create_temporary(target)
    except OSError as exc:
        raise output_error(target, exc) from exc
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:  # flush to disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except OutputError:
        raise
    except OSError as exc:  # disk full, quota, target is a folder: name the target, not the temporary
        raise output_error(target, exc) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def _create_temporary(target: Path) -> Path:
    """A new empty file beside ``target``, created as ``open()`` would create it (mode 0o666 less the umask,
    not mkstemp's 0o600, which left every mask and checkpoint unreadable to the group); a file it replaces
    passes on its mode."""
    for _ in range(100):
        tmp = target.parent / f".{target.stem}.{secrets.token_hex(4)}.{_WRITER}.tmp{target.suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def make_folder(folder: str | os.PathLike) -> None:
    """``mkdir -p`` that raises :class:`OutputError` (one line naming the folder) when it cannot."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(folder, exc) from exc


def output_error(target: Path, exc: OSError) -> OutputError:
    """A one-line :class:`OutputError` for an OSError met while writing ``target``."""
    if isinstance(exc, OutputError):
        return exc
    blocker = next((p for p in (target, *target.parents) if p.exists() and not p.is_dir()), None)
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and blocker is not None and blocker != target:
        return OutputError(f"cannot write {target}: {blocker} is a file, not a folder")
    return OutputError(f"cannot write {target}: {exc.strerror or exc}")


def _host_tag() -> str:
    """4 hex digits naming this machine, so a folder shared between machines tells whose writer a temporary is."""
    import hashlib
    import socket

    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:4]


_HOST = _host_tag()
_WRITER = f"{_HOST}-{os.getpid()}"  # who writes a temporary: a later start removes it once that process is gone

# What ``atomic_path`` names its temporaries: ".STEM." + 8 random characters (+ ".HOST-PID" since the writer is
# named) + ".tmp" + the suffix.
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}(\.(?P<host>[0-9a-f]{4})-(?P<pid>\d+))?\.tmp(\.[^.]+)?$")
STALE_AFTER_S = 3600.0  # younger temporaries of an unknown writer may belong to a write still in flight


def _writer_gone(match: re.Match) -> bool:
    """True when the temporary names a process of this machine that no longer runs (killed mid-write)."""
    if match["pid"] is None or match["host"] != _HOST:
        return False
    import psutil  # not os.kill(pid, 0): on Windows that terminates the process

    pid = int(match["pid"])
    return pid != os.getpid() and not psutil.pid_exists(pid)


def remove_stale_temporaries(folder: str | os.PathLike, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete the temporaries that killed atomic writes left in ``folder``; returns what was removed.

    Only files named as :func:`atomic_path` names them are removed: at once when the process that wrote one is
    gone (killed mid-write on this machine), else once untouched for ``older_than_s``. The target files themselves
    were never touched by the interrupted write.
    """
    removed = []
    cutoff = time.time() - older_than_s
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                match = _TEMPORARY.match(entry.name)
                if match and entry.is_file() and (_writer_gone(match) or entry.stat().st_mtime < cutoff):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))
