"""The main window: composes the canvas, the dock panels, menus and the status bar. Wiring only.

A new panel is added with :meth:`MainWindow.add_panel` in a few lines (see ``app/window/job_docks.py``):
``window.add_panel("Training", TrainingPanel(), "trainingDock", "bottom")``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QWidget

from app.controllers.editor import Editor
from app.controllers.folder_watch import FolderWatch
from app.controllers.save_elsewhere import report_save_failed, save_elsewhere
from app.state import settings
from app.state.paths import folder_to_open
from app.state.session import Session
from app.views import render
from app.views.canvas import Canvas
from app.views.icons import app_icon
from app.views.panels.brush_panel import BrushPanel
from app.views.panels.class_palette import ClassPalette
from app.views.panels.display_panel import DisplayPanel
from app.views.panels.file_list import FileListPanel
from app.views.panels.view_panel import ViewPanel
from app.views.status_labels import StatusLabels
from app.window.job_docks import install as install_job_panels
from app.window.layout import restore_layout, save_layout
from app.window.menus import build_menus, build_toolbar, create_actions, show_about
from app.window.tool_actions import ToolActions
from app.window.unsaved import confirm_unsaved
from segcore.annotate import IGNORE_INDEX, ImageState, Tool
from segcore.errors import DataError

AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}


class MainWindow(QMainWindow):
    """Browse a folder, see each mask over its image, paint and correct it."""

    def __init__(self, autosave_ms: int = 30_000) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("segstudio")
        self.setWindowIcon(app_icon())
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        # The right-hand column (classes, brush, overlay, contrast) runs the full height: under the bottom dock
        # its word-wrapped hints were clipped at the default size.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.session = Session(self, autosave_ms=autosave_ms)
        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas)
        self.editor = Editor(self.canvas, self.session, self)
        self.actions = create_actions(self)
        self.tools = ToolActions(self)
        tool_list = list(self.tools.actions.values())
        self.menus = build_menus(self, self.actions, tool_list)
        self.toolbar = build_toolbar(self, self.actions, tool_list)
        self.docks: dict[str, QDockWidget] = {}
        self.files = FileListPanel()
        self.palette_panel = ClassPalette()
        self.brush = BrushPanel()
        self.view_panel = ViewPanel()
        self.display = DisplayPanel()
        self.add_panel("Images", self.files, "filesDock", "left")
        self.add_panel("Classes", self.palette_panel, "classesDock", "right")
        self.add_panel("Brush", self.brush, "brushDock", "right")
        self.add_panel("Overlay", self.view_panel, "overlayDock", "right")
        self.add_panel("Contrast", self.display, "contrastDock", "right")
        self.jobs = install_job_panels(self)  # Training, Segment, Compare (app/window/job_docks.py)
        self.folder_watch = FolderWatch(self, self.session)  # files changed by other programs
        self._build_status_bar()
        self._connect()
        self._refresh_recent()
        self.canvas.set_brush_size(self.brush.size())
        restore_layout(self)

    # -- composition --------------------------------------------------------------------------------------------
    def add_panel(self, title: str, widget: QWidget, object_name: str, area: str = "right",
                  tab_with: str | None = None) -> QDockWidget:
        """Dock ``widget`` under ``title`` (optionally as a tab beside another dock) with a View > Panels toggle."""
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(AREAS[area], dock)
        if tab_with in self.docks:
            self.tabifyDockWidget(self.docks[tab_with], dock)
        self.menus.panels.addAction(dock.toggleViewAction())
        self.docks[object_name] = dock
        return dock

    def _build_status_bar(self) -> None:
        self.status_labels = StatusLabels()
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
        a.fit.triggered.connect(c.fit)
        a.zoom_100.triggered.connect(c.zoom_100)
        a.zoom_in.triggered.connect(lambda: c.zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: c.zoom_by(0.8))
        a.toggle_mask.toggled.connect(self.view_panel.set_mask_visible)
        a.toggle_outline.toggled.connect(self.view_panel.set_outlines)
        a.brush_smaller.triggered.connect(lambda: self.brush.step(0.8))
        a.brush_bigger.triggered.connect(lambda: self.brush.step(1.25))
        a.about.triggered.connect(lambda: show_about(self))
        a.clear_background.triggered.connect(lambda: self._clear_mask(0))
        a.clear_unlabelled.triggered.connect(lambda: self._clear_mask(IGNORE_INDEX))
        self.tools.toolChosen.connect(self.editor.set_tool)
        self.files.imageChosen.connect(s.select)
        self.palette_panel.classChosen.connect(self.editor.set_class)
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
        c.zoomChanged.connect(self.status_labels.show_zoom)
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

    # -- folder -------------------------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = str(self.session.folder or settings.last_folder() or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> bool:
        """Open ``folder``; a folder that cannot be used is reported in a dialog and the window carries on.

        Masks of the current folder are saved first; if that fails the user chooses to discard them or stay.
        """
        if not self.session.save_all() and not self.confirm_unsaved(ask_first=False, leaving="Open the other folder"):
            return False
        try:
            self.session.open_folder(folder)
        except DataError as exc:
            QMessageBox.warning(self, "Cannot open folder", str(exc))
            return False
        return True

    def _on_folder(self, folder: Path) -> None:
        s = self.session
        names = [smp.image.name for smp in s.samples]
        self.files.set_files(names, [s.state(i) for i in range(len(names))], [smp.split for smp in s.samples])
        settings.add_recent_folder(folder)
        self._refresh_recent()
        self.statusBar().showMessage(f"Opened {folder} ({len(names)} images)", 5000)

    def _refresh_recent(self) -> None:
        menu = self.menus.recent
        menu.clear()
        for folder in settings.recent_folders():
            menu.addAction(str(folder), lambda f=folder: self.open_folder(f))
        menu.setEnabled(not menu.isEmpty())

    # -- image --------------------------------------------------------------------------------------------------
    def _on_image(self, index: int) -> None:
        s = self.session
        if 0 <= s.index < len(s.samples):
            self.files.set_current(s.index)  # also an unreadable image: PgDown/PgUp step on from it
        if index < 0 or s.image is None:
            self.canvas.set_image(None)
            self.status_labels.show_image("")
            self._update_title()
            return
        self.display.set_image(s.image)
        if (s.mask == IGNORE_INDEX).any():
            self.view_panel.set_background_shown(True)  # sparse mask: show labelled background apart
        self._show_image_pixels()
        self.canvas.set_mask(s.mask)
        self._apply_colors()
        h, w, ch = s.image.shape
        self.status_labels.show_image(f"{s.samples[index].image.name} · {w}×{h} · {ch} ch · {s.image.dtype}")
        self._update_title()

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

    def _on_history(self, can_undo: bool, can_redo: bool) -> None:
        self.actions.undo.setEnabled(can_undo)
        self.actions.redo.setEnabled(can_redo)

    def _update_title(self) -> None:
        s = self.session
        parts = ["segstudio"]
        if s.folder is not None:
            parts.append(s.folder.name)
        if 0 <= s.index < len(s.samples):
            parts.append(s.samples[s.index].image.name + (" *" if s.dirty else ""))
        self.setWindowTitle(" — ".join(parts))

    def _show_position(self, col: int, row: int) -> None:
        s = self.session
        if col < 0 or s.image is None or s.mask is None:
            self.status_labels.show_pixel("")
            return
        self.status_labels.show_pixel(render.describe_pixel(s.image, s.mask, s.spec.names, col, row))

    def _show_error(self, text: str) -> None:
        self.statusBar().showMessage(f"Error: {text}", 15000)

    def _clear_mask(self, value: int) -> None:
        """Set every pixel to background or unlabelled (one undoable step), e.g. to start a sparse annotation."""
        mask = self.session.mask
        if mask is not None:
            self.session.accept_mask(np.full_like(mask, value), state=ImageState.MODIFIED)
            if value == IGNORE_INDEX:
                self.view_panel.set_background_shown(True)

    # -- drag and drop, closing ---------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and folder_to_open(Path(urls[0].toLocalFile())) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """A dropped folder opens; a dropped image opens its folder at that image."""
        target = folder_to_open(Path(event.mimeData().urls()[0].toLocalFile()))
        if target is None or not self.open_folder(target[0]):
            return
        images = [s.image.resolve() for s in self.session.samples]
        if target[1] is not None and target[1].resolve() in images:
            self.session.select(images.index(target[1].resolve()))

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
