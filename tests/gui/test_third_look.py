"""What the third newcomer check in a real 1366 x 768 window still found (issue #19, last round): each driven
through the real widgets on small folders, at that window size."""

from __future__ import annotations

import html
import re

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import QAction, QHelpEvent
from PySide6.QtWidgets import QApplication, QLabel, QToolTip

from segcore.data.sample import write_sample_data

from .conftest import wait_for_jobs
from .test_second_look import train_here

pytestmark = pytest.mark.gui


@pytest.fixture
def laptop(window, tmp_path):
    """The window at 1366 x 768 with the default layout, on six small sample images."""
    folder = tmp_path / "nuclei"
    write_sample_data(folder, count=6, size=96)
    window.resize(1366, 768)
    window.reset_layout()
    assert window.open_folder(folder)
    yield window
    window.jobs.shutdown()


@pytest.fixture
def desktop_font(qapp):
    """A desktop's larger default font (the offscreen platform's is small): text that fits here may not there."""
    font = qapp.font()
    bigger = type(font)(font)
    bigger.setPointSizeF(font.pointSizeF() * 1.3)
    qapp.setFont(bigger)
    yield
    qapp.setFont(font)


def plot_fits(plot) -> list[str]:
    """What of a plot lies outside its widget (its title, its epoch axis): [] when all of it is in sight."""
    item = plot.getPlotItem()
    problems = []
    if item.geometry().width() > plot.viewport().width() + 0.5:
        problems.append(f"plot {item.geometry().width():.0f} px in a {plot.viewport().width()} px widget")
    if item.titleLabel.item.boundingRect().width() > item.vb.geometry().width() + 0.5:
        problems.append("title wider than the curves")
    return problems


def hover_tip(widget) -> tuple[QRect, str]:
    """Hover ``widget`` with the cursor near the screen's right edge (where the newcomer's tooltip ran off): where
    the tooltip window Qt shows lies, and its text. (The offscreen screen is smaller than the window.)"""
    QToolTip.hideText()
    screen = widget.screen().geometry()
    cursor = QPoint(screen.right() - 20, screen.center().y())
    QApplication.sendEvent(widget, QHelpEvent(QEvent.Type.ToolTip, widget.mapFromGlobal(cursor), cursor))
    tips = [w for w in QApplication.topLevelWidgets() if w.inherits("QTipLabel") and w.isVisible()]
    assert tips, f"no tooltip on {widget.objectName() or widget}"
    text = plain(QToolTip.text())
    QToolTip.hideText()
    return tips[0].geometry(), text


def readable_whole(widget, shown: str, message: str) -> None:
    """``message`` is on screen whole, or cut with "…" and whole in a tooltip that lies on the screen."""
    if " ".join(shown.split()) == " ".join(message.split()):
        return
    assert shown.rstrip().endswith("…"), f"cut without a sign: {shown!r}"
    where, text = hover_tip(widget)
    assert text == " ".join(message.split())
    screen = widget.screen().geometry()
    assert screen.contains(where), f"tooltip at {where} off {screen}"
    assert where.width() <= screen.width() / 2, f"a tooltip {where.width()} px wide: one line across the screen"


# -- 1: the curves show every epoch done, their legends whole -----------------------------------------------------
@pytest.mark.parametrize("dock_width", [0, 330, 600])  # 0: as narrow as the column gets
def test_curves_show_every_epoch_and_whole_legends_in_any_column_width(qtbot, laptop, desktop_font, dock_width):
    done = train_here(qtbot, laptop, epochs=7)
    assert done.status == "completed"
    dock = laptop.jobs.training_dock
    laptop.resizeDocks([dock], [dock_width], Qt.Orientation.Horizontal)
    qtbot.wait(300)
    plots = laptop.jobs.training_panel.plots
    assert plots.isVisible()
    for plot in (plots.loss_plot, plots.dice_plot):
        assert plot_fits(plot) == [], plot.objectName()
        assert plot.viewRange()[0][1] >= 7  # the x range holds all 7 epochs
        assert plot.geometry().right() <= plot.parentWidget().width()  # and the widget itself is in its panel


# -- 2: every message can be read whole -----------------------------------------------------------------------------
def plain(tip: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", tip)).replace("\u200b", "").split())


def test_the_end_of_run_status_line_is_cut_with_a_sign_and_whole_when_hovered(qtbot, laptop, desktop_font):
    bar = laptop.statusBar()
    done = train_here(qtbot, laptop, epochs=1)
    assert done.status == "completed"
    message = plain(bar.toolTip()) or bar.currentMessage()  # the whole message: in the tooltip when cut
    assert message.startswith("Training completed, best validation Dice") and "is now the current model" in message
    room = bar.width() - laptop.status_labels.width()
    assert bar.fontMetrics().horizontalAdvance(bar.currentMessage()) < room  # none of it under the labels
    readable_whole(bar, bar.currentMessage(), message)
    bar.showMessage("Saved.")
    assert bar.toolTip() == ""  # a message that fits has no tooltip left from the last one


def test_long_progress_and_warning_lines_are_whole_in_a_tooltip_on_screen(qtbot, laptop, desktop_font):
    panel, segment = laptop.jobs.training_panel, laptop.jobs.prediction_panel
    panel.show_failure("the run stopped during epoch 3; the last good checkpoint is " + "/very/long/path" * 12)
    readable_whole(panel.progress, panel.progress.text(), panel.progress.format())
    warning = ("Unlike the training images: the image is 576x576 px; the training images were 96-96 px a side, "
               "and its mean intensity is far outside theirs. Check the prediction before you trust it; a model "
               "trained on images like this one will do better.")
    segment.show_warning(warning)  # the domain-shift warning, as the controller says it
    readable_whole(segment.status, QLabel.text(segment.status), warning)  # MessageLabel.text(): the whole message


# -- 3: the line under Train answers the budget typed, and says what a very short one gives -----------------------
def type_budget(qtbot, spin, text: str) -> None:
    qtbot.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Tab)


def test_before_the_first_run_the_line_under_train_follows_the_budget(qtbot, laptop):
    panel = laptop.jobs.training_panel
    laptop.docks["trainingDock"].raise_()
    assert not panel.plan_view.has_plan  # no run, no plan yet
    type_budget(qtbot, panel.form.minutes, "25")
    assert panel.form.budget_minutes() == 25
    assert "25 min" in panel.plan_summary.text() and "trial" not in panel.plan_summary.text()
    type_budget(qtbot, panel.form.minutes, "0.5")
    assert panel.form.budget_minutes() == 0.5  # allowed: a quick trial of the whole flow
    line = panel.plan_summary.text()
    assert line.startswith("30 s is a trial only") and "5+ min for a usable model" in line
    assert " ".join(QLabel.text(panel.plan_summary).split()) == line  # whole on screen, not elided
    panel.grab().save(str(laptop.session.folder.parent / "short_budget.png"))
    type_budget(qtbot, panel.form.minutes, "3")
    assert "3 min run" in panel.plan_summary.text()


# -- 4: what the status bar, the curves and the tabs show belongs to what is in front -----------------------------
def test_the_status_bar_zoom_is_compares_while_compare_is_in_front(qtbot, laptop):
    import numpy as np
    from PySide6.QtWidgets import QLabel as Label

    view, zoom = laptop.jobs.compare_view, laptop.findChild(Label, "zoomLabel")
    view.set_image(np.full((400, 500, 3), 128, np.uint8), [(0, 0, 0), (255, 0, 0)])
    laptop.docking.show_view(view)
    qtbot.wait(50)
    for _ in range(3):
        qtbot.keyClick(laptop, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)  # zooms Compare's panes
    panes = view.raw_view.transform().m11()  # both panes' zoom (they are linked)
    assert abs(panes - laptop.canvas.zoom()) > 0.05
    assert zoom.text() == f"Zoom {panes * 100:.0f} %"
    laptop.docking.show_image()  # back to the image: its own zoom
    assert zoom.text() == f"Zoom {laptop.canvas.zoom() * 100:.0f} %"


def test_another_folder_gives_the_empty_loss_plot_a_fresh_axis(qtbot, laptop, tmp_path):
    from app.views.panels.training_plots import TrainingPlots

    done = train_here(qtbot, laptop, epochs=1)
    assert done.status == "completed"
    plots = laptop.jobs.training_panel.plots
    assert plots.loss_plot.viewRange()[1][1] > 1.2  # the run's loss (about 1.5) set it
    other = tmp_path / "other"
    write_sample_data(other, count=4, size=80)
    assert laptop.open_folder(other)
    fresh = TrainingPlots()
    qtbot.addWidget(fresh)
    assert plots.loss_plot.viewRange()[1] == pytest.approx(fresh.loss_plot.viewRange()[1])


def right_tabs(window) -> list[tuple[str, int]]:
    """The names and widths of the tabs in the Training dock's group (Qt rebuilds the tab bar at times)."""
    from PySide6.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        names = [bar.tabText(i) for i in range(bar.count())]
        if "Training" in names and bar.isVisible():
            return [(name, bar.tabRect(i).width()) for i, name in enumerate(names)]
    raise AssertionError("no tab named Training")


def test_planning_changes_no_tab_name(qtbot, laptop):
    panel = laptop.jobs.training_panel
    laptop.docks["trainingDock"].raise_()
    qtbot.wait(50)
    before = right_tabs(laptop)
    panel.form.set_values("unet", "width=4", minutes=0.3)
    with qtbot.waitSignal(panel.summaryChanged, check_params_cb=lambda text: text == "planning", timeout=10_000):
        qtbot.mouseClick(panel.plan_button, Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    assert right_tabs(laptop) == before
    assert laptop.windowTitle().endswith(" — training planning")  # the state, readable from any tab
    wait_for_jobs(qtbot, laptop.jobs, timeout=180_000)
    assert right_tabs(laptop) == before and "training" not in laptop.windowTitle()



# -- 7: what is shown about the model is what the run will use ------------------------------------------------------
def test_the_model_options_hint_is_the_plans_width_and_depth(qtbot, laptop):
    from app.views.panels.training_form import ARCHITECTURES

    panel = laptop.jobs.training_panel
    options = panel.form.options
    assert options.text() == ""  # auto: the hint is what the run will use
    type_budget(qtbot, panel.form.minutes, "0")
    assert options.placeholderText() == "auto: width=32, depth=4 (the defaults)"  # the fixed recipe's U-Net
    panel.form.set_values("unet", "", minutes=0.3)
    qtbot.mouseClick(panel.plan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.plan_view.has_plan and panel.train_button.isEnabled(), timeout=180_000)
    entries = panel._plan.entries
    planned = f"width={entries['width'].value}, depth={entries['depth'].value}"
    assert options.placeholderText() == f"auto: {planned} (the plan's)"
    assert f"width {entries['width'].value}, depth {entries['depth'].value}" in panel.plan_summary.text()
    type_budget(qtbot, panel.form.minutes, "5")  # another budget: another plan, not yet made
    assert options.placeholderText() == "auto: the plan's width and depth"
    panel.form.arch.setCurrentIndex(1)
    assert options.placeholderText() == f"auto: {ARCHITECTURES[1][2]} (the defaults)"  # the plan sizes U-Nets only


# -- 6: Import opens where Export writes ---------------------------------------------------------------------------
def test_import_dialogs_open_in_the_exports_folder_export_wrote(qtbot, laptop, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    folder = laptop.session.folder
    monkeypatch.setattr("app.controllers.annotation_transfer.ask_export_target",  # the first format offered, under the name proposed
                        lambda _parent, _title, start, name_for, *a, **k: (start / name_for("geojson"), "geojson"))
    laptop.canvas.setFocus()
    qtbot.keyClick(laptop, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)  # Export: written in exports/
    assert any((folder / "exports").iterdir())
    opened = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda _p, _t, start, *a, **k: opened.append(start) or ("", ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda _p, _t, start, *a, **k: opened.append(start) or "")
    qtbot.keyClick(laptop, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)  # Import
    laptop.findChild(QAction, "importFolderAnnotationsAction").trigger()  # Import for all images (a menu item)
    assert opened == [str(folder / "exports")] * 2


def test_the_assist_panel_fits_its_column_on_a_laptop_screen(qtbot, laptop, desktop_font):
    """The queue's two buttons side by side asked more than the right-hand column's width at 1366 px: the panel
    scrolled sideways, its lines and Next Most Uncertain cut at the edge."""
    from PySide6.QtWidgets import QScrollArea

    laptop.show()
    laptop.docks["assistDock"].raise_()
    qtbot.wait(100)
    scroll = laptop.findChild(QScrollArea, "assistScroll")
    assert scroll.isVisible() and scroll.horizontalScrollBar().maximum() == 0
    assert scroll.widget().minimumSizeHint().width() <= scroll.viewport().width()


def test_the_best_epochs_star_is_whole_at_the_last_epoch_and_near_dice_1(qtbot):
    """It was half cut by the plot's right edge when the last epoch was the best (as annealing makes it)."""
    from PySide6.QtCore import QPointF

    from app.views.panels.training_plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(700, 220)
    plots.show()
    qtbot.waitExposed(plots)
    plots.show_history([{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e, "val_dice": 1 - 0.3 / e ** 2,
                         "val_iou": 0.9 - 0.3 / e} for e in range(1, 41)])
    box = plots.dice_plot.getViewBox()
    star = box.mapViewToScene(QPointF(plots.best_epoch, plots.best_dice))
    room = box.sceneBoundingRect()
    half = plots.best_marker.opts["size"] / 2
    assert plots.best_epoch == 40 and room.right() - star.x() >= half and star.y() - room.top() >= half
