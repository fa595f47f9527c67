"""The canvas alone: mouse to image coordinates, zoom, pan, brush preview, polygon and lasso gestures."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.views.canvas import Canvas
from segcore.annotate import Tool

pytestmark = pytest.mark.gui


@pytest.fixture
def canvas(qtbot):
    view = Canvas()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(np.zeros((100, 200, 3), np.uint8))
    view.set_mask(np.zeros((100, 200), np.uint8))
    view.set_zoom(2.0)
    view.centerOn(100, 50)
    return view


def at(canvas, x, y) -> QPoint:
    return canvas.mapFromScene(QPointF(x, y))


def test_stroke_signals_are_in_image_coordinates(qtbot, canvas):
    moves = []
    canvas.strokeMoved.connect(lambda *a: moves.append(a))
    with qtbot.waitSignal(canvas.strokeFinished):
        qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(canvas, 50.25, 40.25))
        qtbot.mouseMove(canvas.viewport(), at(canvas, 60.25, 40.25))
        qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(canvas, 60.25, 40.25))
    assert moves[0][:2] == pytest.approx((50.25, 40.25), abs=0.5)
    assert moves[-1][2:] == pytest.approx((60.25, 40.25), abs=0.5)
    assert moves[-1][:2] == pytest.approx(moves[-2][2:])  # consecutive segments join


def test_brush_preview_follows_cursor_with_brush_diameter(qtbot, canvas):
    canvas.set_brush_size(24)
    qtbot.mouseMove(canvas.viewport(), at(canvas, 80, 30))
    preview = canvas._brush_preview
    assert preview.isVisible() and preview.rect().width() == 24
    assert preview.pos().x() == pytest.approx(80, abs=0.5)
    canvas.set_brush_size(8)
    assert preview.rect().width() == 8
    canvas.set_tool(Tool.FILL)
    qtbot.mouseMove(canvas.viewport(), at(canvas, 81, 30))
    assert not preview.isVisible()


def test_wheel_zooms_and_fit_shows_whole_image(qtbot, canvas):
    before = canvas.zoom()
    pos = QPointF(at(canvas, 100, 50))
    event = QWheelEvent(pos, QPointF(canvas.viewport().mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(canvas.viewport(), event)
    assert canvas.zoom() == pytest.approx(before * 1.25)
    canvas.fit()
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.contains(canvas.scene().sceneRect())


def test_middle_button_pans(qtbot, canvas):
    canvas.set_zoom(4.0)
    h = canvas.horizontalScrollBar().value()
    strokes = []
    canvas.strokeStarted.connect(lambda *a: strokes.append(a))
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.MiddleButton, pos=QPoint(200, 150))
    qtbot.mouseMove(canvas.viewport(), QPoint(150, 150))
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.MiddleButton, pos=QPoint(150, 150))
    assert canvas.horizontalScrollBar().value() == h + 50 and not strokes


def test_polygon_clicks_enter_and_escape(qtbot, canvas):
    canvas.set_tool(Tool.POLYGON)
    got = []
    canvas.polygonFinished.connect(got.append)
    for x, y in [(10, 10), (30, 10), (30, 30)]:
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(canvas, x, y))
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert len(got) == 1 and len(got[0]) == 3 and got[0][1] == pytest.approx((30, 10), abs=0.5)
    for x, y in [(10, 10), (30, 10)]:
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(canvas, x, y))
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert len(got) == 1  # cancelled


def test_lasso_drag_closes_on_release(qtbot, canvas):
    canvas.set_tool(Tool.POLYGON)
    got = []
    canvas.polygonFinished.connect(got.append)
    ring = [(50 + 20 * np.cos(t), 50 + 20 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 24)]
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(canvas, *ring[0]))
    for p in ring[1:]:
        qtbot.mouseMove(canvas.viewport(), at(canvas, *p))
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(canvas, *ring[-1]))
    assert len(got) == 1 and len(got[0]) >= 20


def test_hover_reports_pixels_and_leaving_the_image(qtbot, canvas):
    seen = []
    canvas.hovered.connect(lambda c, r: seen.append((c, r)))
    qtbot.mouseMove(canvas.viewport(), at(canvas, 12.6, 7.2))
    canvas.set_zoom(0.5)
    qtbot.mouseMove(canvas.viewport(), QPoint(1, 1))
    assert seen[0] == (12, 7) and seen[-1] == (-1, -1)


def test_fitted_view_stays_fitted_on_resize_until_the_user_zooms(qtbot, canvas):
    canvas.fit()
    canvas.resize(700, 500)
    qtbot.wait(10)
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.contains(canvas.scene().sceneRect()) and canvas.zoom() > 2.5
    canvas.set_zoom(4.0)
    canvas.resize(500, 400)
    qtbot.wait(10)
    assert canvas.zoom() == 4.0
