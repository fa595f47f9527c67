"""File > Export Model…: the dialog exports in the background, shows the checks and the validation result, and
reports a refused export in its verdict while the window keeps running."""

from __future__ import annotations

import importlib.util

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

MISSING = [m for m in ("onnx", "onnxscript", "onnxruntime", "bioimageio.spec") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed "
                                                      "(pip install 'segstudio[export]')")


def _open_dialog(window):
    action = window.findChild(QAction, "exportModelAction")
    assert action is not None and action in window.menus.file.actions()
    action.trigger()
    return window.jobs.export.dialog


def _export_and_wait(qtbot, dialog, timeout_s=600):
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled() and dialog.verdict.text() != "Exporting…",
                    timeout=timeout_s * 1000)
    return dialog.verdict.text()


def test_export_menu_writes_onnx_then_a_valid_package(qtbot, window, make_checkpoint, tmp_path):
    checkpoint = make_checkpoint("unet", name="best.pt")
    dialog = _open_dialog(window)
    qtbot.keyClicks(dialog.checkpoint, str(checkpoint))
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    assert dialog.output.text() == str(checkpoint.with_name("best.onnx"))  # suggested beside the checkpoint
    verdict = _export_and_wait(qtbot, dialog)
    assert verdict.startswith("✔ Exported to") and "masks agree with PyTorch on" in verdict, verdict
    assert checkpoint.with_name("best.onnx").stat().st_size > 1000
    assert "onnx: max |p - p_pytorch|" in dialog.log.toPlainText()

    dialog.format.setCurrentIndex(dialog.format.findData("bioimageio"))
    assert dialog.output.text() == str(checkpoint.with_name("best_bioimageio"))
    dialog.authors.setText("Ada Lovelace, Alan Turing")
    verdict = _export_and_wait(qtbot, dialog)
    assert verdict.startswith("✔ Valid bioimage.io package (bioimageio.spec"), verdict
    assert (tmp_path / "best_bioimageio" / "rdf.yaml").is_file() and (tmp_path / "best_bioimageio.zip").is_file()
    assert "Ada Lovelace" in (tmp_path / "best_bioimageio" / "rdf.yaml").read_text()
    dialog.resize(760, 560)
    dialog.grab().save(str(tmp_path / "export_dialog.png"))


def test_a_refused_export_is_shown_and_the_window_goes_on(qtbot, window, make_checkpoint, tmp_path):
    checkpoint = make_checkpoint("unet", name="best.pt")
    (tmp_path / "mine.onnx").write_bytes(b"keep me")
    dialog = _open_dialog(window)
    dialog.checkpoint.setText(str(checkpoint))
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    dialog.output.setText(str(tmp_path / "mine.onnx"))
    verdict = _export_and_wait(qtbot, dialog)
    assert verdict.startswith("✘") and "exists; choose another output or pass --overwrite" in verdict
    assert (tmp_path / "mine.onnx").read_bytes() == b"keep me"
    dialog.checkpoint.setText(str(tmp_path / "missing.pt"))
    dialog.output.setText(str(tmp_path / "other.onnx"))
    verdict = _export_and_wait(qtbot, dialog)
    assert verdict.startswith("✘") and "missing.pt" in verdict and "no such checkpoint" in verdict
    dialog.checkpoint.clear()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.verdict.text() == "✘ Choose the model to export and where to save it."
    assert window.isVisible()
