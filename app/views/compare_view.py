"""The Compare view: the raw and the CRF-refined mask side by side over the image, zoom and pan linked, the
differences drawn on the CRF side (the network's output stays clean), the CRF parameters (those fitted to the
model on its validation images when there are any, and whether the CRF helped it there), Dice/IoU against the
annotation, and Accept buttons for either mask. It takes the image's place while open, starting zoomed to where
the masks differ most.

Only display and input: it emits what the user asks for and shows what
:class:`app.controllers.compare.CompareController` computes. Wheel zooms around the cursor,
dragging pans, and whatever one pane shows the other follows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.views.compare_pane import PaneView
from app.views.elided import MessageLabel
from app.views.icons import icon
from app.views.prediction_layer import FILLED_OPACITY, OUTLINE_OPACITY, outline_colors
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


class CompareView(QWidget):
    """``paramsChanged(CRFParams)`` after the user edits a parameter; ``acceptRequested("raw" | "crf")``."""

    paramsChanged = Signal(object)
    acceptRequested = Signal(str)
    zoomChanged = Signal(float)  # 1.0 = 100 %, both panes (they are linked)

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
        self.fit_button = QPushButton("Whole image")
        self.fit_button.setObjectName("compareFitButton")
        self.fit_button.setToolTip("Zoom both panes out to the whole image (Ctrl+0)")
        self.focus_button = QPushButton("Where they differ most")
        self.focus_button.setObjectName("compareFocusButton")
        self.focus_button.setToolTip("Zoom both panes to where the two masks differ most (where Compare starts)")
        self.outline_check = QCheckBox("Outlines")
        self.outline_check.setObjectName("compareOutlineCheck")
        self.outline_check.setChecked(True)
        self.outline_check.setToolTip("Draw the masks as bright outlines, as the image view draws predictions "
                                      "(off: translucent fills, which on stained tissue can look like the stain)")
        self.diff_check = QCheckBox("Show differences (on the CRF side)")
        self.diff_check.setObjectName("differenceCheck")
        self.diff_check.setChecked(True)
        # Fixed heights: a refinement's messages come and go without moving the panes.
        self.diff_label = MessageLabel(lines=2)
        self.diff_label.setObjectName("differenceLabel")
        self.fit_label = MessageLabel(lines=2)  # which settings: whether they help is the verdict's to say
        self.fit_label.setObjectName("crfFitLabel")
        self.verdict_label = MessageLabel(lines=3)  # did the CRF help, on this image and the model's (read first)
        self.verdict_label.setObjectName("crfVerdictLabel")
        self.status = MessageLabel(lines=2)
        self.status.setText("Segment an image, then click Refine with CRF.")
        self.status.setObjectName("compareStatus")
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self._model_params = CRFParams()
        self._colors: list[tuple[int, int, int]] = []
        self._focus_box: tuple[int, int, int, int] | None = None  # where the masks differ most
        self._linking = False
        self._timer = QTimer(self, singleShot=True, interval=PARAMS_DELAY_MS)
        self._timer.timeout.connect(lambda: self.paramsChanged.emit(self.params()))
        self._build_layout()
        for a, b in ((self.raw_view, self.crf_view), (self.crf_view, self.raw_view)):
            a.viewChanged.connect(lambda a=a, b=b: self._link(a, b))
        self.raw_view.viewChanged.connect(lambda: self.zoomChanged.emit(self.zoom()))
        self.diff_check.toggled.connect(self._show_diff)
        self.outline_check.toggled.connect(self._style_masks)
        self.fit_button.clicked.connect(self.fit)
        self.focus_button.clicked.connect(lambda: self.focus(self._focus_box))
        self.accept_raw.clicked.connect(lambda: self.acceptRequested.emit("raw"))
        self.accept_crf.clicked.connect(lambda: self.acceptRequested.emit("crf"))
        self.set_ready(raw=False, crf=False)

    def _build_layout(self) -> None:
        """The two panes get the whole width; parameters and explanations share a strip beneath them."""
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for column, widgets in enumerate(((self.raw_title, self.raw_view, self.raw_score, self.accept_raw),
                                          (self.crf_title, self.crf_view, self.crf_score, self.accept_crf))):
            for row, widget in enumerate(widgets):
                grid.addWidget(widget, row, column)
        grid.setRowStretch(1, 1)
        info = QWidget()
        side = QVBoxLayout(info)
        side.setContentsMargins(0, 0, 0, 0)
        for widget in (self.fit_label, self.diff_check, self._legend(), self.diff_label,
                       self.status):
            side.addWidget(widget)
        side.addStretch(1)
        strip = QHBoxLayout()
        strip.addWidget(self._params_box())
        strip.addWidget(info, 1)
        view_row = QHBoxLayout()  # the way back to the whole image is always in sight
        for widget in (self.fit_button, self.focus_button, self.outline_check):
            view_row.addWidget(widget)
        view_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(view_row)
        layout.addLayout(grid, 1)
        layout.addWidget(self.verdict_label)  # the whole width: the statement is read whole, not elided
        layout.addLayout(strip)

    def _params_box(self) -> QGroupBox:
        """Six parameters in two columns of three, with Reset."""
        box = QGroupBox("CRF parameters")
        box.setObjectName("crfParamsBox")
        grid = QGridLayout(box)
        defaults = CRFParams()
        for i, (name, label, low, high, step, decimals) in enumerate(PARAM_SPINS):
            spin = QSpinBox() if decimals is None else QDoubleSpinBox()
            if decimals is not None:
                spin.setDecimals(decimals)
            spin.setObjectName(f"crf_{name}")
            spin.setRange(low, high)
            spin.setSingleStep(step)
            spin.setValue(getattr(defaults, name))
            spin.valueChanged.connect(lambda _v: self._timer.start())
            self.spins[name] = spin
            grid.addWidget(QLabel(label), i % 3, 2 * (i // 3))
            grid.addWidget(spin, i % 3, 2 * (i // 3) + 1)
        reset = QPushButton("Reset")
        reset.setObjectName("crfDefaultsButton")
        reset.setToolTip("Back to the model's fitted settings (or the defaults when it has none)")
        reset.clicked.connect(self.reset_params)
        grid.addWidget(reset, 3, 3)
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
        self.set_params(self._model_params)

    def set_params(self, params: CRFParams) -> None:
        """Show ``params`` in the spin boxes (a change starts a refinement after a pause, as a user's edit)."""
        for name, spin in self.spins.items():
            spin.setValue(getattr(params, name))

    def show_fit(self, params: CRFParams | None, fitted: bool) -> None:
        """The settings to start from: the model's fitted ones (``params``), else the defaults; ``fitted``: the
        model had a CRF fit at all. Whether the CRF helps is said once, in the verdict."""
        self._model_params = params or CRFParams()
        self.fit_label.setText("Settings: fitted to this model on its validation images." if params is not None
                               else "Settings: the defaults (the model's CRF fit kept none)." if fitted
                               else "Settings: the defaults (this model has no CRF fit).")
        self.set_params(self._model_params)
        self._timer.stop()  # the caller refines with them now
    def _link(self, source: PaneView, target: PaneView) -> None:
        """Give ``target`` the zoom and centre of ``source``."""
        if self._linking:
            return
        self._linking = True
        target.fit_mode, target.focus_rect = source.fit_mode, source.focus_rect
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
            view.diff_layer.set_colors([(0, 0, 0), ADDED_COLOR, REMOVED_COLOR, CHANGED_COLOR], False)
            view.focus(None)
        self._colors, self._focus_box = list(colors), None
        self._style_masks()  # while the layers are empty: each set_mask below then draws once, not twice
        self.focus_button.setEnabled(False)
        self.set_ready(False, False)

    def _style_masks(self) -> None:
        """Outlines in bright colours, or translucent fills, as the image view draws a prediction: filled blue
        on an H&E stain, both panes looked alike."""
        outline = self.outline_check.isChecked()
        for view in (self.raw_view, self.crf_view):
            layer = view.mask_layer
            layer.set_outline(outline)
            layer.set_colors(outline_colors(self._colors) if outline else self._colors, show_background=False)
            layer.setOpacity(OUTLINE_OPACITY if outline else FILLED_OPACITY)

    def fit(self) -> None:
        """Both panes show the whole image (Ctrl+0 while Compare is on screen)."""
        self.raw_view.fit_whole()

    def zoom(self) -> float:
        """The panes' zoom, 1.0 = 100 % (what the status bar shows while Compare is in front)."""
        return self.raw_view.transform().m11()

    def zoom_by(self, factor: float) -> None:
        self.raw_view.zoom_by(factor)

    def zoom_100(self) -> None:
        self.raw_view.zoom_100()

    def set_raw(self, raw: np.ndarray) -> None:
        self.raw_view.mask_layer.set_mask(raw)

    def set_crf(self, crf: np.ndarray, code: np.ndarray) -> None:
        """Show the CRF mask and, on its pane only, the difference code (0 same, 1 added, 2 removed, 3 other
        class): the network's output stays as it came."""
        self.crf_view.mask_layer.set_mask(crf)
        self.crf_view.diff_layer.set_mask(code)
        self._show_diff(self.diff_check.isChecked())

    def focus(self, box: tuple[int, int, int, int] | None) -> None:
        """Zoom both panes to ``box`` (x, y, width, height), e.g. where the masks differ most; *Where they differ
        most* comes back to it."""
        self._focus_box = box
        self.focus_button.setEnabled(box is not None)
        self.raw_view.focus(box)

    def _show_diff(self, on: bool) -> None:
        layer = self.crf_view.diff_layer
        layer.setVisible(on and layer.boundingRect().width() > 0)

    def show_scores(self, raw: str, crf: str) -> None:
        """The score line under each pane (rich text)."""
        self.raw_score.setText(raw)
        self.crf_score.setText(crf)

    def show_verdict(self, text: str, hurt: bool) -> None:
        """Whether the CRF helped the image shown; in orange when it made it worse (or is expected to)."""
        self.verdict_label.setText(text)
        self.verdict_label.setStyleSheet("color: #b35c00; font-weight: bold" if hurt else "font-weight: bold")

    def show_difference(self, text: str) -> None:
        self.diff_label.setText(text)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def set_ready(self, raw: bool, crf: bool) -> None:
        self.accept_raw.setText("Accept network output")
        self.accept_crf.setText("Accept CRF result")
        self.accept_raw.setEnabled(raw)
        self.accept_crf.setEnabled(crf)

    def mark_accepted(self, kind: str) -> None:
        """``kind`` ("raw", "crf") is the image's mask now: its button says so; the other one can still replace it."""
        accepted, other = (self.accept_raw, self.accept_crf) if kind == "raw" else (self.accept_crf, self.accept_raw)
        accepted.setText("Accepted")
        accepted.setEnabled(False)
        other.setText("Accept network output" if kind == "crf" else "Accept CRF result")
        other.setEnabled(True)
