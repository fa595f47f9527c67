"""Atomic writes and the clean-up of temporaries that killed writes leave behind."""

from __future__ import annotations

import os
import time

from segcore.atomic import atomic_path, remove_stale_temporaries, write_text_atomic


def _age(path, seconds):
    os.utime(path, (time.time() - seconds,) * 2)


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    write_text_atomic(target, "old")
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    except RuntimeError:
        pass
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_only_old_temporaries_named_like_ours_are_removed(tmp_path):
    old = tmp_path / ".cell_01.k2x_9qaz.tmp.png"  # what a save killed an hour ago leaves
    young = tmp_path / ".cell_02.ab12cd34.tmp.png"  # may be a write in flight in another process
    no_suffix = tmp_path / ".notes.zz99yy88.tmp"
    keep = [tmp_path / ".DS_Store", tmp_path / "cell_01.png", tmp_path / ".cell.tmp.png", young]
    for path in [old, no_suffix, *keep]:
        path.write_bytes(b"x")
    for path in [old, no_suffix, *keep[:3]]:
        _age(path, 7200)
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([old, no_suffix])
    assert all(p.exists() for p in keep) and not old.exists()


def test_missing_folder_removes_nothing(tmp_path):
    assert remove_stale_temporaries(tmp_path / "nope") == []


def test_new_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path):
    """mkstemp makes owner-only files: every mask saved from the window used to become unreadable to the group."""
    previous = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.txt"
        write_text_atomic(fresh, "x")
        assert fresh.stat().st_mode & 0o777 == 0o644
        shared = tmp_path / "shared.png"
        shared.write_bytes(b"old")
        shared.chmod(0o664)
        write_text_atomic(shared, "new")
        assert shared.stat().st_mode & 0o777 == 0o664 and shared.read_text() == "new"
    finally:
        os.umask(previous)
