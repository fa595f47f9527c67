"""Painting a 4096 x 4096 mask redraws only its region (a killed save: tests/test_annotation_store.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from segcore.data import io

from .conftest import drag

pytestmark = pytest.mark.gui


def test_stroke_on_4096_image_redraws_only_touched_region(qtbot, window, tmp_path):
    folder = tmp_path / "large"
    image = np.tile(np.arange(4096, dtype=np.uint16)[None, :] // 16, (4096, 1)).astype(np.uint8)
    io.write_image(folder / "images" / "large.png", image)
    assert window.open_folder(folder)
    window.canvas.zoom_100()
    window.canvas.centerOn(2048, 2048)
    window.brush.spin.setValue(20)
    layer = window.canvas.mask_layer
    full_before = layer.full_redraws
    points = [(2000.5 + 4 * i, 2000.5 + 2 * i) for i in range(30)]
    QApplication.processEvents()
    start = time.perf_counter()
    drag(qtbot, window, points)
    QApplication.processEvents()
    elapsed = time.perf_counter() - start
    assert layer.full_redraws == full_before  # never the whole 16-megapixel overlay during a stroke
    assert layer.region_updates >= len(points)
    y0, x0, y1, x1 = layer.last_region
    assert (y1 - y0) * (x1 - x0) < 40 * 40
    assert window.session.mask[2030, 2060] == 1 and window.session.mask[2100, 2100] == 255  # unpainted: unlabelled
    per_move = elapsed / len(points)
    print(f"4096x4096 stroke: {per_move * 1000:.2f} ms per mouse move including repaint")
    assert per_move < 0.1
