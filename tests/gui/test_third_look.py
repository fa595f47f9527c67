"""What the third newcomer check in a real 1366 x 768 window still found (issue #19, last round): each driven
through the real widgets on small folders, at that window size."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from segcore.data.sample import write_sample_data

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
