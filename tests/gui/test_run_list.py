"""Issue #19 (item 8, the run list): the run whose model is loaded is marked, whatever loaded it, and a run's date
is its own (a rename does not change it). Driven through the widgets: keys on the run list, the Load Checkpoint
button, the Rename… dialog, the Train and Use trained model buttons."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from .conftest import make_folder
from .test_second_look import train_here
from .test_train_flow import TIMEOUT, click

LOADED = "● Loaded"  # the mark of the loaded run (app.views.panels.prediction_panel.LOADED)
DAY = 86_400


def _train(folder: Path, name: str, out: Path) -> Path:
    import segcore

    done = segcore.train(str(folder), epochs=1, batch_size=2, patch_size=32, val_fraction=0.34, name=name,
                         arch_kwargs={"width": 4, "depth": 2}, out=str(out))
    assert done.status == "completed"
    return out


def _texts(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def _marked(combo) -> list[str]:
    """The entries marked as loaded, and the list's current text must be the marked one."""
    marked = [t for t in _texts(combo) if t.startswith(LOADED)]
    assert not marked or combo.currentText() == marked[0]
    return marked


def _pick_with_keys(qtbot, window, combo, prefix: str) -> None:
    """Open the list with Alt+Down, walk it with the arrow keys to the entry starting with ``prefix``, Enter."""
    target = next(i for i, t in enumerate(_texts(combo)) if t.split(": ", 1)[-1].startswith(prefix))
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    for _ in range(abs(target - combo.currentIndex())):
        qtbot.keyClick(view, key)
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        qtbot.keyClick(view, Qt.Key.Key_Return)


def _load_checkpoint(qtbot, window) -> None:
    button = window.jobs.prediction_panel.load_button
    qtbot.waitUntil(button.isEnabled, timeout=TIMEOUT)  # the last load's worker has ended
    click(qtbot, button)


def test_the_loaded_run_is_marked_whatever_loaded_it(qtbot, window, tmp_path, monkeypatch):
    folder = make_folder(tmp_path, count=4)
    runs = folder / "checkpoints"
    _train(folder, "first", runs / "a")
    _train(folder, "second", runs / "b")
    (runs / "b" / "best.pt").unlink()  # a run with only last.pt (stopped early)
    other = make_folder(tmp_path / "elsewhere", count=4)
    _train(other, "theirs", other / "checkpoints" / "c")
    assert window.open_folder(folder)
    combo = window.jobs.prediction_panel.runs
    assert combo.currentText() == "2 runs of this folder…" and _marked(combo) == []

    _pick_with_keys(qtbot, window, combo, "first")  # from the list
    assert len(_marked(combo)) == 1
    assert _marked(combo)[0].startswith(f"{LOADED}: first ·")
    assert combo.font().bold() is False and combo.itemData(combo.currentIndex(), Qt.ItemDataRole.FontRole).bold()

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(runs / "b" / "last.pt"), ""))
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        _load_checkpoint(qtbot, window)  # Load Checkpoint…
    assert [m.split(" ·")[0] for m in _marked(combo)] == [f"{LOADED}: second"]

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(runs / "a" / "last.pt"), ""))
    with qtbot.waitSignal(window.jobs.prediction.modelLoaded, timeout=TIMEOUT):
        _load_checkpoint(qtbot, window)  # another file of a listed run: said which
    assert [m.split(" ·")[0] for m in _marked(combo)] == [f"{LOADED} (last.pt): first"]

    assert window.open_folder(other)  # another folder: the loaded model is none of its runs
    assert _marked(combo) == [] and combo.currentText() == "1 run of this folder (the loaded model is not one of them)…"

    done = train_here(qtbot, window, epochs=1, name="fresh")  # a run ends: its model is the current one, marked
    assert [m.split(" ·")[0] for m in _marked(combo)] == [f"{LOADED}: fresh"], (
        window.jobs.prediction_panel.status.text(), window.statusBar().message(), done.best_path)
    assert not window.jobs.prediction_panel.use_trained.isVisibleTo(window)  # nothing left to offer
    assert Path(done.out_dir).parent == other / "checkpoints"


def test_renaming_a_run_keeps_its_date(qtbot, window, tmp_path):
    folder = make_folder(tmp_path, count=4)
    began = time.time()
    run = _train(folder, "first", folder / "checkpoints" / "a")
    config = run / "config.json"
    two_days_ago = time.time() - 2 * DAY  # file times say nothing about the run: copied, synced, touched
    os.utime(config, (two_days_ago, two_days_ago))
    legacy = folder / "checkpoints" / "older-20250102-030405"  # written before runs kept their start
    legacy.mkdir()
    (legacy / "config.json").write_text(json.dumps({"arch": "unet", "name": "older"}))
    (legacy / "last.pt").write_bytes(b"x")
    assert window.open_folder(folder)
    combo = window.jobs.prediction_panel.runs
    date = next(t for t in _texts(combo) if t.startswith("first ·")).split(" · ")[1]
    assert began - 60 <= time.mktime(time.strptime(date, "%Y-%m-%d %H:%M")) <= time.time()  # when it trained
    assert next(t for t in _texts(combo) if t.startswith("older ·")).startswith("older · 2025-01-02 03:04 ·")

    for old, new in (("first", "renamed"), ("older", "older, renamed")):
        before = window.jobs.runs.dialog
        click(qtbot, window.jobs.prediction_panel.rename_run)
        dialog = window.jobs.runs.dialog
        assert dialog is not before  # a new dialog each time, on screen before it is clicked (CI is slower)
        qtbot.waitExposed(dialog)
        dialog.run.setCurrentIndex(next(i for i in range(dialog.run.count())
                                        if dialog.run.itemText(i).startswith(old)))
        dialog.name.selectAll()
        qtbot.keyClicks(dialog.name, new)
        click(qtbot, dialog.rename_button)
        qtbot.waitUntil(lambda shown=dialog: not shown.isVisible(), timeout=TIMEOUT)
    texts = _texts(combo)
    assert next(t for t in texts if t.startswith("renamed ·")).startswith(f"renamed · {date} ·")
    assert any(t.startswith("older, renamed · 2025-01-02 03:04") for t in texts), texts
    assert json.loads(config.read_text())["name"] == "renamed"
