"""The main window: composes the canvas, the dock panels, menus and the status bar. Wiring only.

A new panel is added with :meth:`MainWindow.add_panel` in a few lines (see ``app/window/job_docks.py``):
``window.add_panel("Training", TrainingPanel(), "trainingDock", "right", tab_with="brushDock")``; a large view
that takes the image's place while open with ``window.docking.add_view`` (see ``app/window/docking.py``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from app.controllers.editor import Editor
from app.controllers.folder_watch import FolderWatch
from app.controllers.new_masks import NewMasks
from app.controllers.save_elsewhere import report_save_failed, save_elsewhere
from app.state.session import Session
from app.views import render
from app.views.canvas import Canvas
from app.views.dock_tabs import compact_dock_tabs
from app.views.icons import app_icon
from app.views.message_bar import MessageBar
from app.views.new_mask_notice import NewMaskNotice
from app.views.panels.brush_panel import BrushPanel
from app.views.panels.class_palette import ClassPalette
from app.views.panels.display_panel import DisplayPanel
from app.views.panels.file_list import FileListPanel
from app.views.panels.view_panel import ViewPanel
from app.views.scale_bar import ScaleBar
from app.views.status_labels import StatusLabels
from app.window.docking import Docking
from app.window.folders import FolderMixin
from app.window.job_docks import install as install_job_panels
from app.window.layout import fit_to_screen, restore_layout, save_layout
from app.window.menus import build_menus, build_toolbar, create_actions, show_about
from app.window.quick_start import show_quick_start
from app.window.shortcuts import install as install_shortcut_guard
from app.window.tool_actions import ToolActions
from app.window.unsaved import confirm_unsaved
from segcore.annotate import IGNORE_INDEX, ImageState, Tool

CLASSES_HEIGHT = 150  # the class list (five classes in sight) above the tab group of the right-hand column


class MainWindow(FolderMixin, QMainWindow):
    """Browse a folder, see each mask over its image, paint and correct it."""

    def __init__(self, autosave_ms: int = 30_000) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("segstudio")
        self.setWindowIcon(app_icon())
        fit_to_screen(self)
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        # The right-hand column (classes, brush, overlay, contrast) runs the full height: under the bottom dock
        # its word-wrapped hints were clipped at the default size.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.session = Session(self, autosave_ms=autosave_ms)
        self.canvas = Canvas(self)
        self.scale_bar = ScaleBar(self.canvas)
        self.editor = Editor(self.canvas, self.session, self, on_new_mask=lambda value: self.new_masks.ask(value))
        self.actions = create_actions(self)
        self.tools = ToolActions(self)
        tool_list = list(self.tools.actions.values())
        self.menus = build_menus(self, self.actions, tool_list)
        self.toolbar = build_toolbar(self, self.actions, tool_list)
        self.docking = Docking(self, self.canvas, self.menus.panels)
        compact_dock_tabs(self)  # the right-hand column's five tab names stay whole at 1366 px
        self.docks = self.docking.docks
        self.files = FileListPanel()
        self.palette_panel = ClassPalette()
        self.brush = BrushPanel()
        self.view_panel = ViewPanel()
        self.new_masks = NewMasks(self.session, NewMaskNotice(self.canvas), lambda text: self.statusBar().showMessage(
            text, 20000), lambda: self.view_panel.set_background_shown(True))
        self.display = DisplayPanel()
        self.add_panel("Images", self.files, "filesDock", "left")
        self.add_panel("Classes", self.palette_panel, "classesDock", "right", height=CLASSES_HEIGHT)
        self.add_panel("Brush", self.brush, "brushDock", "right")
        self.add_panel("Overlay", self.view_panel, "overlayDock", "right", tab_with="brushDock")
        self.add_panel("Contrast", self.display, "contrastDock", "right", tab_with="brushDock")
        self.jobs = install_job_panels(self)  # Training, Segment, Compare (app/window/job_docks.py)
        self.folder_watch = FolderWatch(self, self.session)  # files changed by other programs
        self.shortcut_guard = install_shortcut_guard(self)  # shortcuts work whatever field has the focus
        self._build_status_bar()
        self._connect()
        self._refresh_recent()
        self.canvas.set_brush_size(self.brush.size())
        restore_layout(self)

    # -- composition --------------------------------------------------------------------------------------------
    def add_panel(self, title: str, widget: QWidget, object_name: str, area: str = "right",
                  tab_with: str | None = None, height: int | None = None, front: bool = False) -> QDockWidget:
        """Dock ``widget`` (see :meth:`app.window.docking.Docking.add_panel`)."""
        return self.docking.add_panel(title, widget, object_name, area, tab_with, height, front)

    def reset_layout(self) -> None:
        """Every panel back in its default place (View > Reset Layout); the image in front."""
        self.docking.arrange()
        self.docking.show_image()

    def zoomed_view(self):
        """What Fit, 100 % and zoom act on: the Compare view while it has the image's place, else the canvas."""
        compare = self.jobs.compare_view
        return compare if self.docking.is_shown(compare) else self.canvas

    def _build_status_bar(self) -> None:
        self.setStatusBar(MessageBar())
        self.status_labels = StatusLabels()
        self.status_labels.levelChosen.connect(self._choose_level)
        self.statusBar().addPermanentWidget(self.status_labels)
        self.statusBar().showMessage("Open a folder of images to start (Ctrl+O), or drop one on the window.")

    def _connect(self) -> None:
        a, s, c = self.actions, self.session, self.canvas
        a.open_folder.triggered.connect(self.choose_folder)
        a.save.triggered.connect(s.save)
        a.save_to.triggered.connect(lambda: save_elsewhere(self, s))
        a.quit.triggered.connect(self.close)
        a.undo.triggered.connect(s.undo)
        a.redo.triggered.connect(s.redo)
        a.previous.triggered.connect(lambda: self.files.step(-1))
        a.next.triggered.connect(lambda: self.files.step(1))
        a.fit.triggered.connect(lambda: self.zoomed_view().fit())
        a.zoom_100.triggered.connect(lambda: self.zoomed_view().zoom_100())
        a.zoom_in.triggered.connect(lambda: self.zoomed_view().zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: self.zoomed_view().zoom_by(0.8))
        a.toggle_mask.toggled.connect(self.view_panel.set_mask_visible)
        a.toggle_outline.toggled.connect(self.view_panel.set_outlines)
        a.brush_smaller.triggered.connect(lambda: self.brush.step(0.8))
        a.brush_bigger.triggered.connect(lambda: self.brush.step(1.25))
        a.about.triggered.connect(lambda: show_about(self))
        a.quick_start.triggered.connect(lambda: show_quick_start(self))
        a.reset_layout.triggered.connect(self.reset_layout)
        a.restore_replaced.triggered.connect(s.restore_replaced)
        a.clear_background.triggered.connect(lambda: self._clear_mask(0))
        a.clear_unlabelled.triggered.connect(lambda: self._clear_mask(IGNORE_INDEX))
        self.tools.toolChosen.connect(self.editor.set_tool)
        self.tools.toolChosen.connect(self.brush.show_tool)
        self.files.imageChosen.connect(s.select)
        self.palette_panel.classChosen.connect(self.editor.set_class)
        self.palette_panel.classChosen.connect(self.new_masks.class_chosen)
        self.palette_panel.specEdited.connect(s.set_spec)
        self.brush.sizeChanged.connect(c.set_brush_size)
        self.view_panel.opacityChanged.connect(c.set_opacity)
        self.view_panel.maskVisibleChanged.connect(c.set_mask_visible)
        self.view_panel.maskVisibleChanged.connect(a.toggle_mask.setChecked)
        self.view_panel.outlineChanged.connect(c.set_outline)
        self.view_panel.outlineChanged.connect(a.toggle_outline.setChecked)
        self.view_panel.backgroundChanged.connect(lambda _on: self._apply_colors())
        self.display.contrastChanged.connect(lambda _contrast: self._show_image_pixels())
        c.hovered.connect(self._show_position)
        c.zoomChanged.connect(lambda _zoom: self.show_zoom())
        s.folderOpened.connect(self._on_folder)
        s.imageLoaded.connect(self._on_image)
        s.maskEdited.connect(c.update_mask)
        s.maskReplaced.connect(c.mask_layer.redraw)
        s.stateChanged.connect(self._on_state)
        s.specChanged.connect(self._on_spec)
        s.historyChanged.connect(self._on_history)
        s.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        s.error.connect(self._show_error)
        s.saveFailed.connect(lambda text: report_save_failed(self, s, text))
        for digit in range(10):
            shortcut = QShortcut(QKeySequence(str(digit)), self)
            shortcut.activated.connect(lambda d=digit: self.palette_panel.select(d))

    # -- image --------------------------------------------------------------------------------------------------
    def _on_image(self, index: int) -> None:
        s = self.session
        self.status_labels.show_pixel("")  # the last image's pixel: the next mouse move describes this one's
        if 0 <= s.index < len(s.samples):
            self.files.set_current(s.index)  # also an unreadable image: PgDown/PgUp step on from it
        self.actions.restore_replaced.setEnabled(s.replaced() is not None)
        if index < 0 or s.image is None:
            self.canvas.set_image(None)
            self.status_labels.show_image("")
            self.status_labels.show_levels([], 0)
            self.scale_bar.set_pixel_size(None)
            self._update_title()
            return
        self.display.set_image(s.image)
        if s.state(index) is not ImageState.NO_MASK and (s.mask == IGNORE_INDEX).any():
            self.view_panel.set_background_shown(True)  # sparse mask: show labelled background apart (not a new,
            # wholly unlabelled one: app.controllers.new_masks)
        self._show_image_pixels()
        self.canvas.set_mask(s.mask)
        self._apply_colors()
        self._show_image_info(index)
        self._update_title()

    def _show_image_info(self, index: int) -> None:
        """Name, size, channels, dtype and pixel size in the status bar; the level chooser for pyramids; the
        scale bar."""
        s = self.session
        h, w, ch = s.image.shape
        size = f" · {s.pixel_size}" if s.pixel_size is not None else ""
        self.status_labels.show_image(f"{s.samples[index].image.name} · {w}×{h} · {ch} ch · {s.image.dtype}{size}")
        self.status_labels.show_levels(s.pyramid.levels if s.pyramid is not None else [], s.view.level)
        self.scale_bar.set_pixel_size(s.pixel_size.x if s.pixel_size is not None else None)

    def _choose_level(self, level: int) -> None:
        """Show another pyramid level (the mask is saved first); the chooser goes back when that fails."""
        if not self.session.set_level(level):
            self.status_labels.show_levels(self.session.pyramid.levels if self.session.pyramid else [],
                                           self.session.view.level)

    def _show_image_pixels(self) -> None:
        image = self.session.image
        if image is None:
            return
        rgb, limits = render.to_display(image, self.display.contrast())
        self.canvas.set_image(rgb)
        self.display.show_limits(image.dtype, limits)

    def _apply_colors(self) -> None:
        self.canvas.mask_layer.set_colors(self.session.spec.colors, self.view_panel.background_shown())

    def _on_spec(self) -> None:
        spec = self.session.spec
        self.palette_panel.set_spec(spec)
        self._apply_colors()
        # instance masks (one id per object) are dense: no "unlabelled" value to paint
        unlabelled = self.tools.actions[Tool.UNLABELLED]
        if spec.instances and unlabelled.isChecked():
            self.tools.choose(Tool.BRUSH)
        for action in (unlabelled, self.actions.clear_unlabelled):
            action.setEnabled(not spec.instances)

    def _on_state(self, index: int, state: ImageState) -> None:
        self.files.set_state(index, state)
        self._update_title()
        self.actions.restore_replaced.setEnabled(self.session.replaced() is not None)

    def _on_history(self, can_undo: bool, can_redo: bool) -> None:
        self.actions.undo.setEnabled(can_undo)
        self.actions.redo.setEnabled(can_redo)

    def show_zoom(self) -> None:
        """The zoom of the view in front (the image or Compare) in the status bar."""
        self.status_labels.show_zoom(self.zoomed_view().zoom())

    def show_job_state(self, text: str) -> None:
        """A training run's short state ("planning", "42%", "done"; "" for none) in the window's title, readable
        from any tab; in the dock's tab title it widened that tab and squeezed its neighbours' names."""
        self.job_state = text
        self._update_title()

    def _update_title(self) -> None:
        s = self.session
        parts = ["segstudio"]
        if s.folder is not None:
            parts.append(s.folder.name)
        if 0 <= s.index < len(s.samples):
            parts.append(s.samples[s.index].image.name + (" *" if s.dirty else ""))
        if getattr(self, "job_state", ""):
            parts.append(f"training {self.job_state}")
        self.setWindowTitle(" — ".join(parts))

    def _show_position(self, col: int, row: int) -> None:
        s = self.session
        if col < 0 or s.image is None or s.mask is None:
            self.status_labels.show_pixel("")
            return
        self.status_labels.show_pixel(render.describe_pixel(s.image, s.mask, s.spec.names, col, row, s.pixel_size))

    def _show_error(self, text: str) -> None:
        self.statusBar().showMessage(f"Error: {text}", 15000)

    def _clear_mask(self, value: int) -> None:
        """Set every pixel to background or unlabelled (one undoable step), e.g. to start a sparse annotation."""
        mask = self.session.mask
        if mask is not None:
            self.session.accept_mask(np.full_like(mask, value), state=ImageState.MODIFIED)
            if value == IGNORE_INDEX:
                self.view_panel.set_background_shown(True)

    # -- closing ------------------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self.jobs.confirm_close() and self.confirm_unsaved():
            self.jobs.shutdown()  # a running training ends between batches, keeping its checkpoints
            self.session.autosave.stop()
            save_layout(self)
            event.accept()
        else:
            event.ignore()

    def confirm_unsaved(self, ask_first: bool = True, leaving: str = "Close") -> bool:
        """Save, discard or cancel for masks not on disk yet (see :func:`app.window.unsaved.confirm_unsaved`)."""
        return confirm_unsaved(self, self.session, ask_first, leaving)

    def select_tool(self, tool: Tool) -> None:
        self.tools.choose(tool)
