"""The file list: every image of the folder with its mask state, the model's uncertainty score where measured, a
name filter and keyboard navigation."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segcore.annotate import ImageState

STATE_COLORS = {
    ImageState.NO_MASK: QColor(140, 140, 140),
    ImageState.ANNOTATED: QColor(0, 158, 115),
    ImageState.PREDICTED: QColor(86, 180, 233),
    ImageState.MODIFIED: QColor(230, 159, 0),
    ImageState.STROKES: QColor(204, 121, 167),
}
STATE_TIPS = {
    ImageState.NO_MASK: "no mask file yet: painting starts a new one",
    ImageState.ANNOTATED: "mask saved on disk",
    ImageState.PREDICTED: "mask from a prediction, not corrected by hand yet",
    ImageState.MODIFIED: "changed since the last save (saved when you move on, close, or by autosave)",
    ImageState.STROKES: "a few strokes, most pixels unlabelled: training learns from the strokes only; Propose mask "
                        "(Assist tab) completes them into a full mask",
}
HAS_MASK = (ImageState.ANNOTATED, ImageState.MODIFIED, ImageState.PREDICTED)  # STROKES: counted apart


def _dot(color: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(color)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)


class FileListPanel(QWidget):
    """Images with their state; emits ``imageChosen(index)`` when the user picks one."""

    imageChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter_edit = QLineEdit(placeholderText="Filter by name…", clearButtonEnabled=True)
        self.filter_edit.setObjectName("fileFilter")
        self.tree = QTreeWidget()
        self.tree.setObjectName("fileList")
        self.tree.setHeaderLabels(["Image", "Mask", "Uncertainty"])
        self.tree.headerItem().setToolTip(2, "How unsure the model is about the image: the share of its pixels whose "
                                             "normalised entropy (test-time-augmented prediction) is above 0.8")
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.summary = QLabel()
        self.summary.setObjectName("fileSummary")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for widget in (self.filter_edit, self.tree, self.summary):
            layout.addWidget(widget)
        self._icons = {state: _dot(color) for state, color in STATE_COLORS.items()}
        self._updating = False
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.tree.currentItemChanged.connect(self._on_current)

    def set_files(self, names: list[str], states: list[ImageState], splits: list[str | None]) -> None:
        """Show the images of a folder: file names, their states, and "train"/"val" where the layout says."""
        self._updating = True
        self.tree.clear()
        for i, (name, state, split) in enumerate(zip(names, states, splits, strict=True)):
            item = QTreeWidgetItem([name if split is None else f"{name}  ({split})", "", ""])
            item.setData(0, Qt.ItemDataRole.UserRole, i)
            self.tree.addTopLevelItem(item)
            self._show_state(item, state)
        self._updating = False
        self._apply_filter(self.filter_edit.text())

    def set_state(self, index: int, state: ImageState) -> None:
        item = self.tree.topLevelItem(index)
        if item is not None:
            self._show_state(item, state)
            self._update_summary()

    def set_score(self, index: int, score: float | None) -> None:
        """Show image ``index``'s uncertainty score (None: not scored, shown blank)."""
        item = self.tree.topLevelItem(index)
        if item is not None:
            item.setText(2, "" if score is None else f"{score:.3f}")
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def clear_scores(self) -> None:
        for i in range(self.tree.topLevelItemCount()):
            self.tree.topLevelItem(i).setText(2, "")

    def score_text(self, index: int) -> str:
        item = self.tree.topLevelItem(index)
        return item.text(2) if item is not None else ""

    def set_current(self, index: int) -> None:
        item = self.tree.topLevelItem(index)
        if item is not None and self.tree.currentItem() is not item:
            self._updating = True
            self.tree.setCurrentItem(item)
            self._updating = False
        if item is not None:
            self.tree.scrollToItem(item)

    def step(self, delta: int) -> None:
        """Move to the next/previous visible image (the filter applies)."""
        count = self.tree.topLevelItemCount()
        current = self.tree.currentItem()
        i = self.tree.indexOfTopLevelItem(current) if current is not None else -1
        while 0 <= i + delta < count:
            i += delta
            item = self.tree.topLevelItem(i)
            if not item.isHidden():
                self.tree.setCurrentItem(item)
                return

    def _show_state(self, item: QTreeWidgetItem, state: ImageState) -> None:
        item.setText(1, state.value)
        item.setIcon(0, self._icons[state])
        item.setToolTip(0, STATE_TIPS[state])
        item.setToolTip(1, STATE_TIPS[state])
        item.setData(1, Qt.ItemDataRole.UserRole, state)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setHidden(bool(needle) and needle not in item.text(0).lower())
        self._update_summary()

    def _update_summary(self) -> None:
        total = self.tree.topLevelItemCount()
        states = [self.tree.topLevelItem(i).data(1, Qt.ItemDataRole.UserRole) for i in range(total)]
        shown = sum(not self.tree.topLevelItem(i).isHidden() for i in range(total))
        done = sum(s in HAS_MASK for s in states)
        strokes = sum(s == ImageState.STROKES for s in states)
        text = f"{done} of {total} images have a mask" + (f", {strokes} only strokes" if strokes else "")
        if shown != total:
            text += f" · {shown} shown"
        self.summary.setText(text)

    def _on_current(self, current: QTreeWidgetItem | None, _previous) -> None:
        if current is not None and not self._updating:
            self.imageChosen.emit(int(current.data(0, Qt.ItemDataRole.UserRole)))
