"""Live training curves (pyqtgraph): loss per batch and per epoch, validation Dice and IoU, the best epoch marked.

Events arrive as fast as the worker yields them (hundreds per second for small models); they only append to
lists, and the curves are redrawn by a single-shot timer at most every ``REDRAW_MS`` (superqt's ``qthrottled``
idea), so drawing never competes with the rest of the window. A redraw is kept cheap (about 5 ms instead of 45 ms
on a busy 2-core machine, see bench/gui_responsiveness.py): the epoch axis spans the whole run from the start and
the loss axis changes only when a value leaves it, so the axes are not laid out again, and the axes are cached
as pixmaps.

Each plot's legend is its title (coloured keys above the curves), not a box over them: in the narrow Training
tab a legend box covered a third of the curves. The title breaks into lines to fit the plot's width: pyqtgraph
widens a plot to its title otherwise, past its widget's edge, and a newcomer's 1366-pixel screen then showed
"Loss batch tra" over an epoch axis cut at 3.5 of 7 epochs.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QBoxLayout, QGraphicsItem, QWidget

REDRAW_MS = 250
LOSS_HEADROOM = 1.1
AXIS_PAD = 0.05  # of the epoch axis's span, each side: the best epoch's star (18 px) whole at the last epoch
DICE_RANGE = (-0.03, 1.12)  # room above 1 for the star, down to the smallest plot (100 px)
DICE_FINE_TICKS_HEIGHT = 150  # px of a plot from which its Dice axis is marked every 0.2, not every 0.5
MIN_PLOT_HEIGHT = 100  # each plot: stacked in a 768-pixel screen, the window still fits it
MIN_PLOT_WIDTH = 170
ROUND_LABEL_HEIGHTS = (0.12, 0.3, 0.48)  # of the plot's height, for rounds 2, 3, 4, 5, ...
TITLE_MARGIN = 12  # pixels of the plot's width besides its left axis that the title may not use
TITLE_SIZE = "8.5pt"
SPACE = "&nbsp;&nbsp;"  # between a title's parts
# Okabe-Ito colours: distinct for colour-blind readers.
BLUE, ORANGE, GREEN, PURPLE, GREY = (0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (170, 170, 170)
GOLD = (255, 200, 0)


def _key(color, glyph: str, text: str) -> str:
    """One legend entry for a title: a coloured glyph and its words."""
    return f"<span style='color: rgb{tuple(color)}'>{glyph}</span>&nbsp;{text}"


def pack_legend(parts: list[str], width: float, measure) -> list[list[str]]:
    """``parts`` (a heading, then one key each) in as few lines as fit ``width`` pixels, in order; a part wider
    than ``width`` has a line of its own. ``measure(html)``: the (width, height) the title would take."""
    lines: list[list[str]] = []
    for part in parts:
        if lines and measure(SPACE.join([*lines[-1], part]))[0] <= width:
            lines[-1].append(part)
        else:
            lines.append([part])
    return lines


class LegendPlot(pg.PlotWidget):
    """A plot without a legend box: its legend is its title, above the curves, so it never covers one; the title
    breaks into lines to stay within the plot's width."""

    def __init__(self, name: str) -> None:
        super().__init__(background="w")
        self.setObjectName(name)
        self.setLabel("bottom", "epoch")
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setMinimumSize(MIN_PLOT_WIDTH, MIN_PLOT_HEIGHT)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        for side in ("left", "bottom"):
            item.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.legend_parts: list[str] = []
        self.legend_lines: list[list[str]] = []

    def set_legend(self, heading: str, keys: list[str]) -> None:
        """The title: ``heading`` (bold) and the coloured ``keys`` (:func:`_key`)."""
        self.legend_parts = [f"<b>{heading}</b>", *keys]
        self.legend_lines = []
        self._fit_legend()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._fit_legend()  # first: pyqtgraph then sizes the plot to the widget, never below the title's width
        super().resizeEvent(event)

    def _fit_legend(self) -> None:
        if not getattr(self, "legend_parts", None):  # pyqtgraph's constructor resizes before there is one
            return
        room = self.width() - self.getPlotItem().getAxis("left").width() - TITLE_MARGIN
        lines = pack_legend(self.legend_parts, room, self._measure)
        if lines == self.legend_lines:
            return
        self.legend_lines = lines
        html = "<br>".join(SPACE.join(line) for line in lines)
        height = math.ceil(self._measure(html)[1])
        item = self.getPlotItem()
        self.setTitle(html, color="k", size=TITLE_SIZE)
        item.titleLabel.setMaximumHeight(height)  # pyqtgraph's title row is one line (30 px) tall
        item.layout.setRowFixedHeight(0, height)

    def _measure(self, html: str) -> tuple[float, float]:
        """The size ``html`` takes in the title, measured by the title's own text item (its font and DPI)."""
        text = self.getPlotItem().titleLabel.item
        shown = text.toHtml()
        text.setHtml(f"<span style='font-size: {TITLE_SIZE}'>{html}</span>")
        size = text.boundingRect().size()
        text.setHtml(shown)
        return size.width(), size.height()


def _curve(plot: pg.PlotWidget, color, symbol: str | None = "o", style=None, width: float = 2):
    pen = pg.mkPen(color, width=width) if style is None else pg.mkPen(color, width=width, style=style)
    kwargs = dict(symbol=symbol, symbolSize=7, symbolBrush=color, symbolPen="w") if symbol else {}
    return plot.plot([], [], pen=pen, connect="finite", **kwargs)


class TrainingPlots(QWidget):
    """``lossPlot`` (batch loss, train and validation loss per epoch) and ``dicePlot`` (validation Dice, IoU)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = LegendPlot("lossPlot")
        self.loss_plot.setLabel("left", "loss")  # both plots labelled alike, so their epoch axes line up
        self.loss_plot.set_legend("Loss", [_key(GREY, "━", "batch"), _key(BLUE, "●", "train"),
                                           _key(ORANGE, "●", "validation")])
        self.dice_plot = LegendPlot("dicePlot")
        self.dice_plot.setYRange(*DICE_RANGE, padding=0)
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
        the epoch axis is named once, under the lower plot. Side by side only where both get their minimum width,
        else the right one would be cut off."""
        super().resizeEvent(event)
        spacing = self.layout().spacing()
        wide = self.width() >= max(1.2 * self.height(), 2 * MIN_PLOT_WIDTH + spacing)
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.layout().direction() != direction:
            self.layout().setDirection(direction)
            self.loss_plot.getAxis("bottom").showLabel(wide)
        fine = (self.height() if wide else self.height() / 2) >= DICE_FINE_TICKS_HEIGHT  # pyqtgraph chose 0.5
        self.dice_plot.getAxis("left").setTickSpacing(*((0.2, 0.1) if fine else (0.5, 0.25)))

    def describe_validation(self, scope: str, images: int | None) -> None:
        """Say what the Dice curve is: ``scope`` (:func:`app.state.training_progress.dice_scope`, e.g. "nucleus"
        or "mean of axon, myelin") and on how many validation ``images``."""
        on = f", {images} image{'' if images == 1 else 's'}" if images is not None else ""
        self.dice_plot.set_legend(f"Validation{on}", [_key(GREEN, "●", "Dice"), _key(PURPLE, "◆", "IoU"),
                                                      _key(GOLD, "★", "best")])
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
            plot.setXRange(0, self.offset + max(epochs, 1), padding=AXIS_PAD)
        self.loss_plot.enableAutoRange(y=False)
        self.loss_top = 0.0
        self.epoch_axis = self.offset + max(epochs, 1)

    def _mark_round(self, x: float) -> None:
        self.rounds += 1
        # Labels at three heights in turn: rounds of a few epochs each sit close, and their labels overlapped.
        height = ROUND_LABEL_HEIGHTS[(self.rounds - 2) % len(ROUND_LABEL_HEIGHTS)]
        for plot in (self.loss_plot, self.dice_plot):
            line = pg.InfiniteLine(x, angle=90, pen=pg.mkPen(GREY, width=1, style=Qt.PenStyle.DashLine),
                                   label=f"round {self.rounds}",
                                   labelOpts={"position": height, "color": (60, 60, 60), "anchors": [(1.05, 0.5)] * 2})
            plot.addItem(line)
            self.round_lines.append((plot, line))

    def drop_round(self) -> None:
        """The last round ended before its first epoch: its line goes (nothing of it is drawn after it)."""
        if self.rounds < 2:
            return
        label = f"round {self.rounds}"
        for plot, line in [(p, ln) for p, ln in self.round_lines if ln.label.format == label]:
            plot.removeItem(line)
            self.round_lines.remove((plot, line))
        self.rounds -= 1

    def clear(self) -> None:
        for plot, line in self.round_lines:
            plot.removeItem(line)
        self.round_lines.clear()
        self.rounds = 1  # the first run is round 1; each retraining run after it adds one
        self.offset = 0.0
        self.loss_top = 0.0
        self.loss_plot.setYRange(0, 1, padding=0)  # the last run's loss range goes with its curves
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
                plot.setXRange(0, self.epoch_axis, padding=AXIS_PAD)

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
