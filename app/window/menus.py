"""Menus and toolbar of the main window: the actions, their icons, shortcuts and stable object names."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QToolBar, QWidget

from app.views.icons import icon

# attribute, icon (resources/icons), object name, label, shortcut(s), tip
_SPECS = [
    ("open_folder", "open-folder", "openFolderAction", "&Open Folder…", [QKeySequence.StandardKey.Open],
     "Open a folder of images (images/ + masks/, or data/ + val/)"),
    ("save", "save", "saveAction", "&Save Mask", [QKeySequence.StandardKey.Save], "Save the current mask now"),
    ("save_to", "save", "saveToAction", "Save Masks &To…", [QKeySequence.StandardKey.SaveAs],
     "Save the unsaved masks in another folder (when this one is read-only, full or gone)"),
    ("import_annotations", "import-annotations", "importAnnotationsAction", "&Import Annotations…", ["Ctrl+I"],
     "Replace this image's mask by a QuPath, Fiji, Cellpose, label-image or OME-Zarr annotation"),
    ("import_all_annotations", "import-all-annotations", "importFolderAnnotationsAction",
     "Import Annotations for &All Images…", [], "Import a folder of annotation files, matched to the images by name"),
    ("export_annotations", "export-annotations", "exportAnnotationsAction", "&Export Annotations…", ["Ctrl+E"],
     "Write this image's mask for QuPath, Fiji, Cellpose, napari or as a label TIFF"),
    ("export_all_annotations", "export-all-annotations", "exportFolderAnnotationsAction",
     "Export Annotations of All &Images…", [], "Write every mask of the folder in another tool's format"),
    ("quit", "quit", "quitAction", "&Quit", [QKeySequence.StandardKey.Quit], "Close the window (asks about unsaved masks)"),
    ("undo", "undo", "undoAction", "&Undo", ["Ctrl+Z"], "Undo the last edit of this image"),
    ("redo", "redo", "redoAction", "&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo the last undone edit"),
    ("clear_background", "clear-mask", "clearMaskAction", "Clear Mask to &Background", [],
     "Set every pixel of this mask to background (undoable)"),
    ("clear_unlabelled", "mark-unlabelled", "clearUnlabelledAction", "Mark Whole Mask &Unlabelled", [],
     "Start a sparse annotation: every pixel unlabelled, then paint only what you are sure of (undoable)"),
    ("restore_replaced", "undo", "restoreReplacedAction", "Restore Replaced &Annotation", [],
     "Put back the hand-made annotation of this image that an accepted prediction replaced (kept in the "
     "folder's .segstudio/replaced/)"),
    ("previous", "previous-image", "previousImageAction", "&Previous Image", ["PgUp", "Ctrl+Left"], "Previous image (PgUp)"),
    ("next", "next-image", "nextImageAction", "&Next Image", ["PgDown", "Ctrl+Right"], "Next image (PgDown)"),
    ("fit", "fit", "fitAction", "&Fit to Window", ["Ctrl+0"], "Zoom so the whole image fits"),
    ("zoom_100", "zoom-100", "zoom100Action", "&Actual Pixels (100 %)", ["Ctrl+1"], "One image pixel per screen pixel"),
    ("zoom_in", "zoom-in", "zoomInAction", "Zoom &In", [QKeySequence.StandardKey.ZoomIn, "="], "Zoom in"),
    ("zoom_out", "zoom-out", "zoomOutAction", "Zoom &Out", [QKeySequence.StandardKey.ZoomOut], "Zoom out"),
    ("toggle_mask", "show-mask", "toggleMaskAction", "Show &Mask", ["M"], "Show or hide the mask overlay"),
    ("toggle_outline", "outlines", "toggleOutlineAction", "&Outlines Only", ["O"], "Draw the mask as outlines"),
    ("brush_smaller", "brush-smaller", "brushSmallerAction", "Smaller Brush", ["["], "Make the brush smaller"),
    ("brush_bigger", "brush-bigger", "brushBiggerAction", "Bigger Brush", ["]"], "Make the brush bigger"),
    ("reset_layout", "fit", "resetLayoutAction", "&Reset Layout", [],
     "Put every panel back in its default place, the image in front"),
    ("quick_start", "about", "quickStartAction", "&Quick Start", [QKeySequence.StandardKey.HelpContents],
     "The three jobs (annotate, train, segment) and every shortcut, on one page"),
    ("about", "about", "aboutAction", "&About segstudio", [], "About this program"),
]


def create_actions(window: QMainWindow) -> SimpleNamespace:
    """Every window action, created once and named for automation."""
    actions = SimpleNamespace()
    for attr, icon_name, name, label, keys, tip in _SPECS:
        action = QAction(icon(icon_name), label, window)
        action.setObjectName(name)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        action.setStatusTip(tip)
        setattr(actions, attr, action)
    for action in (actions.toggle_mask, actions.toggle_outline):
        action.setCheckable(True)
    actions.toggle_mask.setChecked(True)
    for action in (actions.undo, actions.redo, actions.restore_replaced):
        action.setEnabled(False)
    return actions


def build_menus(window: QMainWindow, a: SimpleNamespace, tools: list[QAction]) -> SimpleNamespace:
    """File / Edit / Image / View / Help menus; returns the menus that others fill later (recent, panels)."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a.open_folder)
    recent = QMenu("Open &Recent", window)
    recent.setObjectName("recentMenu")
    file_menu.addMenu(recent)
    file_menu.addSeparator()
    file_menu.addActions([a.import_annotations, a.import_all_annotations, a.export_annotations,
                          a.export_all_annotations])
    file_menu.addSeparator()
    file_menu.addAction(a.save)
    file_menu.addAction(a.save_to)
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addActions([a.undo, a.redo])
    edit_menu.addSeparator()
    edit_menu.addActions(tools)
    edit_menu.addSeparator()
    edit_menu.addActions([a.brush_smaller, a.brush_bigger])
    edit_menu.addSeparator()
    edit_menu.addActions([a.clear_background, a.clear_unlabelled])
    edit_menu.addSeparator()
    edit_menu.addAction(a.restore_replaced)
    image_menu = bar.addMenu("&Image")
    image_menu.addActions([a.previous, a.next])
    view_menu = bar.addMenu("&View")
    view_menu.addActions([a.fit, a.zoom_100, a.zoom_in, a.zoom_out])
    view_menu.addSeparator()
    view_menu.addActions([a.toggle_mask, a.toggle_outline])
    view_menu.addSeparator()
    panels = view_menu.addMenu("&Panels")
    view_menu.addAction(a.reset_layout)
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([a.quick_start, a.about])
    return SimpleNamespace(file=file_menu, recent=recent, edit=edit_menu, image=image_menu, view=view_menu,
                           panels=panels, help=help_menu)


def build_toolbar(window: QMainWindow, a: SimpleNamespace, tools: list[QAction]) -> QToolBar:
    bar = QToolBar("Main", window)
    bar.setObjectName("mainToolBar")
    bar.setMovable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)  # each says what it does in its tooltip
    bar.addAction(a.open_folder)
    bar.addAction(a.save)
    bar.addSeparator()
    bar.addActions([a.previous, a.next])
    bar.addSeparator()
    bar.addActions(tools)
    bar.addSeparator()
    bar.addActions([a.undo, a.redo])
    bar.addSeparator()
    bar.addActions([a.fit, a.zoom_100])
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return bar


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About segstudio", "segstudio: annotate, train and segment biomedical images.\n"
                      "Brush B, Eraser E, Unlabelled U, Fill F, Polygon P; classes 0-9; "
                      "undo Ctrl+Z, redo Ctrl+Shift+Z; next/previous image PgDown/PgUp.")
