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


def test_unwritable_folder_raises_one_line_output_error_naming_the_target(tmp_path, monkeypatch):
    import pytest

    from segcore import atomic
    from segcore.errors import OutputError, SegcoreError

    def refuse(target):  # what a read-only folder does (root, running the tests, may write anywhere)
        raise PermissionError(13, "Permission denied", str(tmp_path / ".a.x1y2z3w4.tmp.txt"))

    monkeypatch.setattr(atomic, "_create_temporary", refuse)
    with pytest.raises(OutputError) as info:
        write_text_atomic(tmp_path / "a.txt", "new")
    assert isinstance(info.value, SegcoreError) and isinstance(info.value, OSError)  # old OSError handlers still work
    assert str(info.value) == f"cannot write {tmp_path / 'a.txt'}: Permission denied"


def test_failed_write_in_the_body_names_the_target(tmp_path):
    import pytest

    from segcore.errors import OutputError

    with pytest.raises(OutputError, match="a.txt: No space left"):
        with atomic_path(tmp_path / "a.txt"):
            raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_the_usual_permissions_not_mkstemps_private_ones(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "new.txt", "x")
        assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644  # as open() would create it
        (tmp_path / "kept.txt").write_text("old")
        os.chmod(tmp_path / "kept.txt", 0o640)
        write_text_atomic(tmp_path / "kept.txt", "new")
        assert (tmp_path / "kept.txt").stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode
    finally:
        os.umask(umask)
