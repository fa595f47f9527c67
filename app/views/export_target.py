"""One save dialog for File > Export Annotations… and Export Annotations for All Images…: its file-type filter
picks the format, and the proposed name follows the filter.

Some formats are folders (an OME-Zarr store ``NAME.zarr``; every export of all images is a folder): typing the
name of an existing such folder and pressing Save chooses it, as choosing a file would, instead of opening it
(folders are still opened by double-click). Qt's own dialog is used so that the name can follow the filter.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

# label -> (segcore.interop format, name patterns)
FORMATS = {
    "QuPath GeoJSON": ("geojson", "*.geojson"),
    "ImageJ / Fiji ROI set": ("roi", "*.zip"),
    "Cellpose masks": ("cellpose", "*_masks.png *_masks.tif"),
    "Label TIFF, 16/32-bit": ("tiff", "*.tif *.tiff"),
    "OME-Zarr label image with the image, a .zarr folder": ("zarr", "*.zarr"),
    "segcore PNG mask": ("png", "*.png"),
}


def name_filter(label: str, folder: bool) -> str:
    """``Label (*.ext)``; for a folder of exports ``Label, one per image (folder)`` (its name is free: no pattern
    hides a folder, and the list shows folders only)."""
    return f"{label}, one per image (folder)" if folder else f"{label} ({FORMATS[label][1]})"


class ExportTargetDialog(QFileDialog):
    """``name_for(fmt)``: the name proposed for a format (its file, or for ``folder`` its folder of exports)."""

    def __init__(self, parent: QWidget | None, title: str, start: Path, name_for, folder: bool) -> None:
        super().__init__(parent, title, str(start))
        self.setObjectName("exportTargetDialog")
        self.setOption(QFileDialog.Option.DontUseNativeDialog)  # a native dialog cannot rename with the filter
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        self.setFileMode(QFileDialog.FileMode.AnyFile)
        self.folder, self.name_for = folder, name_for
        self.filters = {name_filter(label, folder): fmt for label, (fmt, _) in FORMATS.items()}
        self.setNameFilters(list(self.filters))
        self.filterSelected.connect(self._follow)
        self._follow(self.selectedNameFilter())

    def format(self) -> str:
        return self.filters[self.selectedNameFilter()]

    def _follow(self, name_filter_: str) -> None:
        fmt = self.filters[name_filter_]
        self.selectFile(self.name_for(fmt))
        if not self.folder:  # a name typed without extension gets the format's
            self.setDefaultSuffix(Path(self.name_for(fmt)).suffix.lstrip("."))

    def target(self) -> Path | None:
        files = self.selectedFiles()
        return Path(files[0]) if files else None

    def accept(self) -> None:
        """An existing folder named as the target (a .zarr store, a folder for all exports) is chosen, not opened."""
        target = self.target()
        if target is not None and target.is_dir() and (self.folder or self.format() == "zarr"
                                                       and target.suffix.lower() == ".zarr"):
            self.done(QFileDialog.DialogCode.Accepted)
            return
        super().accept()


def ask_export_target(parent: QWidget | None, title: str, start: Path, name_for, folder: bool = False
                      ) -> tuple[Path, str] | None:
    """(target, format) chosen in one dialog, None when cancelled."""
    dialog = ExportTargetDialog(parent, title, start, name_for, folder)
    if not dialog.exec() or dialog.target() is None:
        return None
    return dialog.target(), dialog.format()
