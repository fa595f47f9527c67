"""Live training curves (pyqtgraph): loss per batch and per epoch, validation Dice and IoU, the best epoch marked.

Events arrive as fast as the worker yields them (hundreds per second for small models); they only append to
lists, and the curves are redrawn by a single-shot timer at most every ``REDRAW_MS`` (superqt's ``qthrottled``
idea), so drawing never competes with the rest of the window. A redraw is kept cheap (about 5 ms instead of 45 ms
on a busy 2-core machine, see bench/gui_responsiveness.py): the epoch axis spans the whole run from the start and
the loss axis changes only when a value leaves it, so the axes are not laid out again, and the axes are cached
as pixmaps.

Each plot's legend is its title line (coloured keys above the curves), not a box over them: in the narrow Training
tab a legend box covered a third of the curves.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QBoxLayout, QGraphicsItem, QWidget

REDRAW_MS = 250
LOSS_HEADROOM = 1.1
MIN_PLOT_HEIGHT = 100  # each plot: stacked in a 768-pixel screen, the window still fits it
TITLE_SIZE = "8.5pt"
# Okabe-Ito colours: distinct for colour-blind readers.
BLUE, ORANGE, GREEN, PURPLE, GREY = (0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (170, 170, 170)
GOLD = (255, 200, 0)


def _key(color, glyph: str, text: str) -> str:
    """One legend entry for a title: a coloured glyph and its words."""
    return f"<span style='color: rgb{tuple(color)}'>{glyph}</span>&nbsp;{text}"


def _plot(name: str) -> pg.PlotWidget:
    """A plot without a legend box: its legend is its title line, above the curves, so it never covers one."""
    plot = pg.PlotWidget(background="w")
    plot.setObjectName(name)
    plot.setLabel("bottom", "epoch")
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMinimumSize(170, MIN_PLOT_HEIGHT)
    item = plot.getPlotItem()
    item.setMenuEnabled(False)
    item.setMouseEnabled(x=False, y=False)
    item.hideButtons()
    for side in ("left", "bottom"):
        item.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return plot


def _curve(plot: pg.PlotWidget, color, symbol: str | None = "o", style=None, width: float = 2):
    pen = pg.mkPen(color, width=width) if style is None else pg.mkPen(color, width=width, style=style)
    kwargs = dict(symbol=symbol, symbolSize=7, symbolBrush=color, symbolPen="w") if symbol else {}
    return plot.plot([], [], pen=pen, connect="finite", **kwargs)


class TrainingPlots(QWidget):
    """``lossPlot`` (batch loss, train and validation loss per epoch) and ``dicePlot`` (validation Dice, IoU)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = _plot("lossPlot")
        self.loss_plot.setLabel("left", "loss")  # both plots labelled alike, so their epoch axes line up
        self.loss_plot.setTitle(f"<b>Loss</b>&nbsp;&nbsp;{_key(GREY, '━', 'batch')}&nbsp;&nbsp;"
                                f"{_key(BLUE, '●', 'train')}&nbsp;&nbsp;{_key(ORANGE, '●', 'validation')}",
                                color="k", size=TITLE_SIZE)
        self.dice_plot = _plot("dicePlot")
        self.dice_plot.setYRange(0, 1, padding=0.02)
        self.dice_plot.enableAutoRange(y=False)
        self.describe_validation("", None)
        self.batch_curve = _curve(self.loss_plot, GREY, symbol=None, width=1)
        self.curves = {
            "train_loss": _curve(self.loss_plot, BLUE),
            "val_loss": _curve(self.loss_plot, ORANGE),
            "val_dice": _curve(self.dice_plot, GREEN),
            "val_iou": _curve(self.dice_plot, PURPLE, style=Qt.PenStyle.DashLine),
        }
        self.best_marker = pg.ScatterPlotItem(size=18, symbol="star", brush=pg.mkBrush(*GOLD),
                                              pen=pg.mkPen("k", width=1))
        self.dice_plot.addItem(self.best_marker)
        self.best_lines = [pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DotLine))
                           for _ in range(2)]
        for plot, line in zip((self.loss_plot, self.dice_plot), self.best_lines, strict=True):
            plot.addItem(line)
            line.setVisible(False)
        layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.dice_plot)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self.redraws = 0
        self.round_lines: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []
        self.clear()

    def resizeEvent(self, event) -> None:
        """Side by side where the panel is wide (docked at the bottom), stacked where it is tall and narrow; stacked,
        the epoch axis is named once, under the lower plot."""
        super().resizeEvent(event)
        wide = self.width() >= 1.2 * self.height()
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.layout().direction() != direction:
            self.layout().setDirection(direction)
            self.loss_plot.getAxis("bottom").showLabel(wide)

    def describe_validation(self, scope: str, images: int | None) -> None:
        """Say what the Dice curve is: ``scope`` (:func:`app.state.training_progress.dice_scope`, e.g. "nucleus"
        or "mean of axon, myelin") and on how many validation ``images``."""
        on = f", {images} image{'' if images == 1 else 's'}" if images is not None else ""
        self.dice_plot.setTitle(f"<b>Validation{on}</b>&nbsp; {_key(GREEN, '●', 'Dice')}&nbsp; "
                                f"{_key(PURPLE, '◆', 'IoU')}&nbsp; {_key(GOLD, '★', 'best')}",
                                color="k", size=TITLE_SIZE)
        self.dice_plot.setLabel("left", scope or "score")  # what the Dice is of

    def begin(self, epochs: int, keep: bool = False, round_start: float | None = None) -> None:
        """A run of ``epochs`` starts: clear (unless ``keep``: a run continued), and span the epoch axis over the
        whole run. ``round_start``: a new round (a retraining run, whose epochs count from 1 again) drawn after the
        curves so far from that x, with a marked line, so the rounds' gains read left to right."""
        if round_start is not None:
            keep = True
            self.offset = round_start
            self._mark_round(round_start)
        if not keep:
            self.clear()
        for plot in (self.loss_plot, self.dice_plot):
            plot.enableAutoRange(x=False)
            plot.setXRange(0, self.offset + max(epochs, 1), padding=0.02)
        self.loss_plot.enableAutoRange(y=False)
        self.loss_top = 0.0
        self.epoch_axis = self.offset + max(epochs, 1)

    def _mark_round(self, x: float) -> None:
        self.rounds += 1
        for plot in (self.loss_plot, self.dice_plot):
            line = pg.InfiniteLine(x, angle=90, pen=pg.mkPen(GREY, width=1, style=Qt.PenStyle.DashLine),
                                   label=f"round {self.rounds}",
                                   labelOpts={"position": 0.12, "color": (60, 60, 60), "anchors": [(1.05, 0.5)] * 2})
            plot.addItem(line)
            self.round_lines.append((plot, line))

    def clear(self) -> None:
        for plot, line in self.round_lines:
            plot.removeItem(line)
        self.round_lines.clear()
        self.rounds = 1  # the first run is round 1; each retraining run after it adds one
        self.offset = 0.0
        self.loss_top = 0.0
        self.epoch_axis = getattr(self, "epoch_axis", 1)
        self.batch_x: list[float] = []
        self.batch_y: list[float] = []
        self.epochs: list[float] = []
        self.values: dict[str, list[float]] = {key: [] for key in self.curves}
        self.best_epoch: float | None = None
        self.best_dice = math.nan
        self.redraw()

    def show_history(self, rows: list[dict]) -> None:
        """Draw a finished run from its metrics.csv rows (epoch, train_loss, val_loss, val_dice, val_iou)."""
        self.begin(max((int(r["epoch"]) for r in rows), default=1))
        best = -1.0
        for row in rows:
            self.epochs.append(int(row["epoch"]))
            for key in self.curves:
                self.values[key].append(float(row[key]))
            if math.isfinite(row["val_dice"]) and row["val_dice"] > best:
                best, self.best_epoch, self.best_dice = row["val_dice"], int(row["epoch"]), row["val_dice"]
        self.redraw()

    def add_batch(self, epoch: int, batch: int, batches: int, loss: float) -> None:
        self.batch_x.append(self.offset + epoch - 1 + batch / max(batches, 1))
        self.batch_y.append(loss)
        self._schedule()

    def add_epoch(self, event) -> None:
        """Append an :class:`segcore.training.events.EpochEvent`."""
        self.epochs.append(self.offset + event.epoch)
        for key in self.curves:
            self.values[key].append(float(getattr(event, key)))
        if event.is_best:
            self.best_epoch, self.best_dice = self.offset + event.epoch, float(event.val_dice)
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _fit_loss_axis(self) -> None:
        """Grow the loss axis when a value leaves it, shrink it when the values fell below half of it."""
        values = [v for v in self.batch_y + self.values["train_loss"] + self.values["val_loss"] if math.isfinite(v)]
        if not values:
            return
        top = max(values)
        if top > self.loss_top or top < self.loss_top / 2:
            self.loss_top = top * LOSS_HEADROOM
            self.loss_plot.setYRange(0, self.loss_top, padding=0)

    def _fit_epoch_axis(self) -> None:
        """A planned run's epoch count is an estimate: widen the axis by a quarter when the run passes it."""
        last = max(self.epochs[-1] if self.epochs else 0, self.batch_x[-1] if self.batch_x else 0)
        if last > self.epoch_axis:
            self.epoch_axis = math.ceil(last * 1.25)
            for plot in (self.loss_plot, self.dice_plot):
                plot.setXRange(0, self.epoch_axis, padding=0.02)

    def redraw(self) -> None:
        """Push the collected points to the curves (called by the throttle timer)."""
        self.redraws += 1
        self._fit_loss_axis()
        self._fit_epoch_axis()
        self.batch_curve.setData(self.batch_x, self.batch_y)
        for key, curve in self.curves.items():
            curve.setData(self.epochs, self.values[key])
        best = self.best_epoch is not None and not math.isnan(self.best_dice)  # none without validation
        self.best_marker.setData([self.best_epoch] if best else [], [self.best_dice] if best else [])
        for line in self.best_lines:
            line.setVisible(best)
            if best:
                line.setValue(self.best_epoch)

    def curve_points(self) -> dict[str, int]:
        """How many points each per-epoch curve shows (for tests and scripts)."""
        return {key: len(curve.getData()[0] if curve.getData()[0] is not None else []) for key, curve in
                self.curves.items()}
