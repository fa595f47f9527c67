"""The Metrics panel: per-image scores of the loaded model on the annotated images, raw and CRF side by side,
in a sortable table; a row opens its image; the table is exported as CSV.

Only widgets: :class:`app.controllers.metrics.MetricsController` decides the columns and computes the numbers
(with :mod:`segcore.evaluation`, the implementation ``segcore eval`` uses).
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.views.icons import button
from segcore.data.layout import natural_key

INDEX_ROLE = Qt.ItemDataRole.UserRole


class _Name(QTableWidgetItem):
    """An image name that sorts as the file list does: 2.png before 10.png."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        return natural_key(Path(self.text())) < natural_key(Path(other.text()))


class _Number(QTableWidgetItem):
    """A cell that sorts by its value; an undefined score (None, NaN) shows as a dash and sorts lowest."""

    def __init__(self, value: float | int | None, digits: int = 3) -> None:
        self.value = -math.inf if value is None or (isinstance(value, float) and math.isnan(value)) else value
        text = "–" if self.value == -math.inf else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))
        super().__init__(text)
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, _Number):
            return self.value < other.value
        return super().__lt__(other)



class MetricsPanel(QWidget):
    """Emits ``evaluateRequested``, ``cancelRequested``, ``exportRequested`` and ``rowChosen(image index)``."""

    evaluateRequested = Signal()
    cancelRequested = Signal()
    exportRequested = Signal()
    rowChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.evaluate = button("Score annotated images", "evaluateButton", "Segment every annotated image with the "
                               "loaded model and score it against your mask (Dice, IoU; objects for instance "
                               "masks), as `segcore eval` does", "evaluate")
        self.crf = QCheckBox("With CRF")
        self.crf.setObjectName("metricsCrfCheck")
        self.crf.setChecked(True)
        self.crf.setToolTip("Also refine each prediction with the dense CRF (the model's fitted settings) and score "
                            "it beside the raw one")
        self.cancel = button("Cancel", "cancelMetricsButton", "Stop after the current image", "stop")
        self.export = button("Export CSV…", "exportMetricsButton", "Save every score of the table as CSV (the "
                             "format of `segcore eval --csv`)", "export-table")
        self.progress = QProgressBar()
        self.progress.setObjectName("metricsProgress")
        self.progress.setFormat("%v / %m")
        self.table = QTableWidget(0, 1)
        self.table.setObjectName("metricsTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("Click a column to sort, drag a header's edge to widen it; click a row to open the "
                              "image with the model's prediction")
        self._user_sized, self._fitting = False, False
        self.table.horizontalHeader().sectionResized.connect(self._resized)
        self.status = QLabel("Load or train a model, then score the annotated images.")
        self.status.setObjectName("metricsStatus")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        for widget in (self.evaluate, self.crf, self.cancel, self.progress, self.export):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self.evaluate.clicked.connect(self.evaluateRequested)
        self.cancel.clicked.connect(self.cancelRequested)
        self.export.clicked.connect(self.exportRequested)
        self.table.itemClicked.connect(self._clicked)
        self.set_state(model=False, busy=False, rows=False, crf_available=True)

    def set_state(self, model: bool, busy: bool, rows: bool, crf_available: bool) -> None:
        self.evaluate.setEnabled(model and not busy)
        self.crf.setEnabled(crf_available and not busy)
        if not crf_available:
            self.crf.setChecked(False)
            self.crf.setToolTip("Needs pydensecrf (pip install pydensecrf2)")
        self.cancel.setVisible(busy)
        self.progress.setVisible(busy)
        self.export.setEnabled(rows and not busy)

    def crf_wanted(self) -> bool:
        return self.crf.isEnabled() and self.crf.isChecked()

    def set_columns(self, headers: list[str], tips: list[str]) -> None:
        """Start an empty table with these columns (the first is the image name)."""
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        for column, tip in enumerate(tips):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        # Every column the user's to widen or narrow (a stretched name column was ~40 px at 1366 px and refused
        # to widen); each starts as wide as its header and is fitted to its cells as rows come in.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        self.table.resizeColumnsToContents()
        self._user_sized = False
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)  # by name, A to Z (Qt's default is Z to A)
        self.table.setSortingEnabled(True)

    def add_row(self, index: int, name: str, cells: list, path: str = "", left_out: bool = False) -> None:
        """One image: ``cells`` after the name are numbers (None for undefined) or text; ``path`` the name's
        tooltip; ``left_out``: listed, but not in the mean (shown in italics, its tooltip says why)."""
        self.table.setSortingEnabled(False)  # rows added while sorted would land apart from their cells
        row = self.table.rowCount()
        self.table.insertRow(row)
        first = _Name(name)
        first.setData(INDEX_ROLE, index)
        first.setToolTip(path + ("\nLeft out of the mean: its mask is this model's accepted prediction, so it "
                                 "scores the model against itself." if left_out else ""))
        self.table.setItem(row, 0, first)
        for column, value in enumerate(cells, start=1):
            item = QTableWidgetItem(value) if isinstance(value, str) else _Number(value)
            self.table.setItem(row, column, item)
        if left_out:
            for column in range(self.table.columnCount()):
                font = self.table.item(row, column).font()
                font.setItalic(True)
                self.table.item(row, column).setFont(font)
        if not self._user_sized:  # fitted to the rows so far, until the user sets a width
            self._fitting = True
            self.table.resizeColumnsToContents()
            self._fitting = False
        self.table.setSortingEnabled(True)

    def _resized(self, *_args) -> None:
        if not self._fitting:
            self._user_sized = True

    def row_count(self) -> int:
        return self.table.rowCount()

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def _clicked(self, item: QTableWidgetItem) -> None:
        first = self.table.item(item.row(), 0)
        if first is not None:
            self.rowChosen.emit(int(first.data(INDEX_ROLE)))
