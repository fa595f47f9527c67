"""Start-up on a fresh Linux desktop: missing libraries of Qt's xcb plugin are named, with the install commands,
before Qt aborts with "Could not load the Qt platform plugin xcb" (issue #19 item 1)."""

from __future__ import annotations

from app import launch, system_libs

LDD = """\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f3f)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f3f)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibfoo-bar.so.9 => not found
"""


def test_missing_libraries_are_read_from_ldd_and_named_with_their_packages():
    missing = system_libs.missing_in(LDD)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libfoo-bar.so.9"]
    hint = system_libs.install_hint(missing)
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in hint
    assert "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms" in hint
    assert "libfoo-bar.so.9" in hint.splitlines()[-1]


def test_the_window_does_not_start_qt_without_them_and_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(launch.sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(system_libs, "missing_libraries", lambda: ["libxcb-icccm.so.4"])
    assert launch.main([]) == 2
    err = capsys.readouterr().err
    assert "libxcb-icccm.so.4" in err and "apt-get install libxcb-icccm4" in err and "dnf install xcb-util-wm" in err


def test_only_an_x11_start_is_checked():
    assert system_libs.uses_xcb({"DISPLAY": ":0"}) == system_libs.sys.platform.startswith("linux")
    assert not system_libs.uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert not system_libs.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"})


def test_this_machine_is_checked_for_real():
    """Whatever the machine lacks, the check runs ldd on the real plugin and returns library names only."""
    missing = system_libs.missing_libraries()
    assert all(name.startswith("lib") and ".so" in name for name in missing)
