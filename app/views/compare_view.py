"""The Compare view: the raw and the CRF-refined mask side by side over the image, zoom and pan linked, a
difference overlay, the CRF parameters, Dice/IoU against the annotation, and Accept buttons for either mask.

Only display and input: it emits what the user asks for and shows what
:class:`app.controllers.compare.CompareController` computes. Wheel zooms around the cursor,
dragging pans, and whatever one pane shows the other follows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.views.icons import icon
from app.views.mask_layer import MaskLayer
from segcore.compare import ADDED_COLOR, CHANGED_COLOR, REMOVED_COLOR
from segcore.crf import CRFParams

PARAMS_DELAY_MS = 300  # recompute once the user pauses, not on every arrow click
# name, label, minimum, maximum, step, decimals (None: integer)
PARAM_SPINS = [
    ("iterations", "Iterations", 1, 50, 1, None),
    ("gaussian_sxy", "Smoothness width (px)", 0.1, 100.0, 0.5, 1),
    ("gaussian_compat", "Smoothness weight", 0.0, 100.0, 0.5, 1),
    ("bilateral_sxy", "Edge width (px)", 1.0, 500.0, 5.0, 1),
    ("bilateral_srgb", "Edge colour step", 0.5, 255.0, 1.0, 1),
    ("bilateral_compat", "Edge weight", 0.0, 100.0, 0.5, 1),
]


class PaneView(QGraphicsView):
    """One image with a mask and a difference layer; emits ``viewChanged`` when zoomed or panned."""

    viewChanged = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(40, 40, 44))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.image_item = QGraphicsPixmapItem()
        self.mask_layer = MaskLayer()
        self.mask_layer.setOpacity(0.5)
        self.diff_layer = MaskLayer()
        self.diff_layer.setOpacity(0.95)
        self.diff_layer.setVisible(False)
        for z, item in enumerate((self.image_item, self.mask_layer, self.diff_layer)):
            item.setZValue(z)
            self.scene().addItem(item)
        self.fit_mode = True  # follows resizes until the user zooms
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.viewChanged.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.viewChanged.emit())

    def set_image(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        self.image_item.setPixmap(QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)))
        self.scene().setSceneRect(QRectF(0, 0, w, h))

    def fit(self) -> None:
        self.fit_mode = True
        if not self.scene().sceneRect().isEmpty():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.transform().m11() < 1)
            self.viewChanged.emit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()

    def centre(self):
        return self.mapToScene(self.viewport().rect().center())

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.fit_mode = False
            factor = 1.25**steps
            self.scale(factor, factor)
            self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.transform().m11() < 1)
            self.viewChanged.emit()


class CompareView(QWidget):
    """``paramsChanged(CRFParams)`` after the user edits a parameter; ``acceptRequested("raw" | "crf")``."""

    paramsChanged = Signal(object)
    acceptRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.raw_view = PaneView("rawPane")
        self.crf_view = PaneView("crfPane")
        self.raw_title, self.crf_title = QLabel("<b>Network output</b>"), QLabel("<b>After dense CRF</b>")
        self.raw_score, self.crf_score = QLabel(), QLabel()
        self.raw_score.setObjectName("rawScoreLabel")
        self.crf_score.setObjectName("crfScoreLabel")
        for label in (self.raw_score, self.crf_score):  # unwrapped, the scores widened the window past 1280 px
            label.setWordWrap(True)
        self.accept_raw = QPushButton(icon("accept"), "Accept network output")
        self.accept_raw.setObjectName("acceptRawButton")
        self.accept_crf = QPushButton(icon("accept"), "Accept CRF result")
        self.accept_crf.setObjectName("acceptCrfButton")
        self.diff_check = QCheckBox("Show differences")
        self.diff_check.setObjectName("differenceCheck")
        self.diff_check.setChecked(True)
        self.diff_label = QLabel()
        self.diff_label.setObjectName("differenceLabel")
        self.diff_label.setWordWrap(True)
        self.status = QLabel("Segment an image, then click Refine with CRF.")
        self.status.setObjectName("compareStatus")
        self.status.setWordWrap(True)
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self._linking = False
        self._timer = QTimer(self, singleShot=True, interval=PARAMS_DELAY_MS)
        self._timer.timeout.connect(lambda: self.paramsChanged.emit(self.params()))
        self._build_layout()
        for a, b in ((self.raw_view, self.crf_view), (self.crf_view, self.raw_view)):
            a.viewChanged.connect(lambda a=a, b=b: self._link(a, b))
        self.diff_check.toggled.connect(self._show_diff)
        self.accept_raw.clicked.connect(lambda: self.acceptRequested.emit("raw"))
        self.accept_crf.clicked.connect(lambda: self.acceptRequested.emit("crf"))
        self.set_ready(raw=False, crf=False)

    def _build_layout(self) -> None:
        grid = QGridLayout()
        grid.addWidget(self.raw_title, 0, 0)
        grid.addWidget(self.crf_title, 0, 1)
        grid.addWidget(self.raw_view, 1, 0)
        grid.addWidget(self.crf_view, 1, 1)
        grid.addWidget(self.raw_score, 2, 0)
        grid.addWidget(self.crf_score, 2, 1)
        grid.addWidget(self.accept_raw, 3, 0)
        grid.addWidget(self.accept_crf, 3, 1)
        grid.setRowStretch(1, 1)
        column = QWidget()
        side = QVBoxLayout(column)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self._params_box())
        side.addWidget(self.diff_check)
        side.addWidget(self._legend())
        side.addWidget(self.diff_label)
        side.addWidget(self.status)
        side.addStretch(1)
        # Scrolls rather than sets the dock's minimum height: the parameters alone made the window taller than
        # a 768-pixel laptop screen.
        scroll = QScrollArea()
        scroll.setObjectName("compareSideScroll")
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(column.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(grid, 1)
        layout.addWidget(scroll)

    def _params_box(self) -> QGroupBox:
        box = QGroupBox("CRF parameters")
        box.setObjectName("crfParamsBox")
        form = QFormLayout(box)
        defaults = CRFParams()
        for name, label, low, high, step, decimals in PARAM_SPINS:
            spin = QSpinBox() if decimals is None else QDoubleSpinBox()
            if decimals is not None:
                spin.setDecimals(decimals)
            spin.setObjectName(f"crf_{name}")
            spin.setRange(low, high)
            spin.setSingleStep(step)
            spin.setValue(getattr(defaults, name))
            spin.valueChanged.connect(lambda _v: self._timer.start())
            self.spins[name] = spin
            form.addRow(label, spin)
        reset = QPushButton("Defaults")
        reset.setObjectName("crfDefaultsButton")
        reset.clicked.connect(self.reset_params)
        form.addRow(reset)
        return box

    @staticmethod
    def _legend() -> QLabel:
        def swatch(color, text):
            return f"<span style='color: rgb{color}'>■</span> {text}"

        label = QLabel("   ".join((swatch(ADDED_COLOR, "added by CRF"), swatch(REMOVED_COLOR, "removed"),
                                   swatch(CHANGED_COLOR, "other class"))))
        label.setWordWrap(True)
        return label

    # -- input --------------------------------------------------------------------------------------------------
    def params(self) -> CRFParams:
        return CRFParams(**{name: spin.value() for name, spin in self.spins.items()})

    def reset_params(self) -> None:
        defaults = CRFParams()
        for name, spin in self.spins.items():
            spin.setValue(getattr(defaults, name))

    def _link(self, source: PaneView, target: PaneView) -> None:
        """Give ``target`` the zoom and centre of ``source``."""
        if self._linking:
            return
        self._linking = True
        target.fit_mode = source.fit_mode
        target.setTransform(source.transform())
        target.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, source.transform().m11() < 1)
        target.centerOn(source.centre())
        self._linking = False

    # -- output -------------------------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray, colors) -> None:
        """Show a new image with no masks yet; ``colours`` are the class colours of the masks to come."""
        for view in (self.raw_view, self.crf_view):
            view.set_image(rgb)
            view.mask_layer.set_mask(None)
            view.diff_layer.set_mask(None)
            # Colours first, while the layers are empty: each set_mask below then draws once, not twice.
            view.mask_layer.set_colors(list(colors), show_background=False)
            view.diff_layer.set_colors([(0, 0, 0), ADDED_COLOR, REMOVED_COLOR, CHANGED_COLOR], False)
            view.fit()
        self.set_ready(False, False)

    def set_raw(self, raw: np.ndarray) -> None:
        self.raw_view.mask_layer.set_mask(raw)

    def set_crf(self, crf: np.ndarray, code: np.ndarray) -> None:
        """Show the CRF mask and the difference code (0 same, 1 added, 2 removed, 3 other class) on both panes."""
        self.crf_view.mask_layer.set_mask(crf)
        for view in (self.raw_view, self.crf_view):
            view.diff_layer.set_mask(code)
        self._show_diff(self.diff_check.isChecked())

    def _show_diff(self, on: bool) -> None:
        for view in (self.raw_view, self.crf_view):
            view.diff_layer.setVisible(on and view.diff_layer.boundingRect().width() > 0)

    def show_scores(self, raw: str, crf: str) -> None:
        """The score line under each pane (rich text)."""
        self.raw_score.setText(raw)
        self.crf_score.setText(crf)

    def show_difference(self, text: str) -> None:
        self.diff_label.setText(text)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def set_ready(self, raw: bool, crf: bool) -> None:
        self.accept_raw.setEnabled(raw)
        self.accept_crf.setEnabled(crf)
