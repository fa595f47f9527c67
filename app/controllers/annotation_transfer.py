"""File > Import Annotations… / Export Annotations…: other tools' annotations in and out of the open folder.

Import reads a QuPath GeoJSON, ImageJ ROI set, Cellpose file, label image or OME-Zarr label group
(``segcore.interop``), matched to the folder's class list by name, and hands the mask with its object ids to the
session as one undoable step (``AnnotationStore.accept_mask(ids=)``), saved like a painted mask. A folder import
matches annotation files to images by stem (one undoable step on each image). Export writes the current image's
mask, or every mask of the folder (in a worker thread), in the format picked by the save dialog's file type
(:mod:`app.views.export_target`).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from app.jobs.workers import GeneratorWorker, WorkerPool
from app.state.session import Session
from app.views.export_target import ask_export_target
from segcore.annotate import ImageState
from segcore.errors import DataError, SegcoreError, describe

EXPORTS = "exports"  # FOLDER/exports/: where exports are proposed, a folder no layout reads images from
IMPORT_FILTER = ("Annotations (*.geojson *.json *.zip *.roi *_seg.npy *.tif *.tiff *.png);;QuPath GeoJSON "
                 "(*.geojson *.json);;ImageJ ROIs (*.zip *.roi);;Cellpose (*_seg.npy *_masks.png *_masks.tif);;"
                 "Label images (*.tif *.tiff *.png);;All files (*)")


class AnnotationTransferController(QObject):
    """Connects the four File-menu actions (``actions``, from :mod:`app.window.menus`) to the session."""

    def __init__(self, window: QMainWindow, session: Session, pool: WorkerPool, actions: SimpleNamespace) -> None:
        super().__init__(window)
        self.window, self.session, self.pool = window, session, pool
        actions.import_annotations.triggered.connect(lambda: self.import_file())
        actions.import_all_annotations.triggered.connect(lambda: self.import_folder())
        actions.export_annotations.triggered.connect(lambda: self.export_file())
        actions.export_all_annotations.triggered.connect(lambda: self.export_folder())

    def _sample(self):
        s = self.session
        return s.samples[s.index] if s.index >= 0 and s.image is not None else None

    def _fail(self, text: str) -> None:
        QMessageBox.warning(self.window, "Annotations", text)
        self.window.statusBar().showMessage(f"Error: {text}", 15000)

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    # -- import -------------------------------------------------------------------------------------------------
    def import_file(self, path: str | None = None) -> bool:
        """Replace the current mask by the annotation in ``path`` (asked for when None); True when imported."""
        sample = self._sample()
        if sample is None:
            self._fail("Open a folder and an image first: an annotation is imported onto the image shown.")
            return False
        if not path:
            path, _ = QFileDialog.getOpenFileName(self.window, f"Import annotations onto {sample.image.name}",
                                                  str(self._import_start(sample.image.parent)), IMPORT_FILTER)
            if not path:
                return False
        try:
            notes = self._import_onto_current(Path(path), sample.image)
        except SegcoreError as exc:
            self._fail(str(exc))
            return False
        self._say(f"imported {Path(path).name} onto {sample.image.name} (Ctrl+Z undoes it)"
                  + (f"; {notes[0]}" if notes else ""))
        return True

    def _import_start(self, otherwise: Path) -> Path:
        """Where an import dialog opens: ``FOLDER/exports/`` when there is one, where Export writes (files made
        here and edited elsewhere come back from there); else ``otherwise``."""
        exports = self.session.folder / EXPORTS
        return exports if exports.is_dir() else otherwise

    def _import_onto_current(self, path: Path, image: Path) -> list[str]:
        """Read ``path`` for the image on screen and accept it as one step; its warnings. Raises SegcoreError."""
        from segcore.interop.convert import read_annotation

        s = self.session
        if s.locked_reason:
            raise DataError(f"{image.name}: {s.locked_reason}")
        annotation = read_annotation(path, s.spec, like=image)
        if annotation.shape not in (s.mask.shape, s.view.full_shape):  # full resolution at any level shown
            h, w = s.view.full_shape
            raise DataError(f"{path.name}: annotation is {annotation.shape[1]}x{annotation.shape[0]} but "
                            f"{image.name} is {w}x{h}")
        s.accept_mask(annotation.classes, ImageState.MODIFIED, ids=annotation.ids)
        return annotation.warnings

    def import_folder(self, folder: str | None = None) -> int:
        """Import every annotation file of ``folder`` onto the image with its stem; returns how many."""
        from segcore.interop.convert import annotation_files, image_stem

        s = self.session
        if not s.samples:
            self._fail("Open a folder of images first.")
            return 0
        if not folder:
            folder = QFileDialog.getExistingDirectory(self.window, "Folder of annotation files (GeoJSON, ROI sets, "
                                                                   "_seg.npy)", str(self._import_start(s.folder)))
            if not folder:
                return 0
        by_stem = {image_stem(p): p for p in annotation_files(Path(folder))}
        targets = [(i, by_stem[image_stem(x.image)]) for i, x in enumerate(s.samples) if image_stem(x.image) in by_stem]
        if not targets:
            self._fail(f"{folder}: no annotation file is named after an image of this folder")
            return 0
        start, done, failures = s.index, 0, []
        for index, path in targets:
            s.select(index)
            try:
                self._import_onto_current(path, s.samples[index].image)
                done += 1
            except SegcoreError as exc:
                failures.append(str(exc))
        s.save_all()
        s.select(start if start >= 0 else targets[0][0])
        if failures:
            self._fail(f"imported {done} of {len(targets)}; {failures[0]}")
        else:
            self._say(f"imported {done} annotation files (each image's Ctrl+Z undoes its import)")
        return done

    # -- export -------------------------------------------------------------------------------------------------
    def _exports(self) -> Path:
        """Where exports are proposed: ``FOLDER/exports/``, beside ``checkpoints/``. Not the image folder, which
        the window reads as images (a label TIFF or a Cellpose ``_masks.png`` there became an image or a mask);
        no folder layout reads this one. Made when needed; the home folder when the data folder is read-only."""
        folder = self.session.folder / EXPORTS
        try:
            folder.mkdir(exist_ok=True)
        except OSError:
            return Path.home()
        return folder

    @staticmethod
    def _tidy(folder: Path) -> None:
        """Remove the exports folder again when the user went elsewhere (or cancelled) and it stayed empty."""
        if folder.name == EXPORTS and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()

    def export_file(self, path: str | None = None, fmt: str | None = None) -> bool:
        """Write the current mask to ``path`` in ``fmt`` (asked for in one save dialog when None); True when
        written."""
        from segcore.data.io import read_image
        from segcore.interop.annotation import Annotation
        from segcore.interop.convert import output_name, write_annotation
        from segcore.interop.physical import of_file

        s, sample = self.session, self._sample()
        if sample is None or s.mask is None:
            self._fail("Open an image with a mask first.")
            return False
        mask, ids = s.full_resolution()  # as saving writes it, whatever pyramid level is shown
        annotation = Annotation(mask.copy(), s.spec, ids)
        if not path or not fmt:
            exports = self._exports()
            chosen = ask_export_target(self.window, f"Export the mask of {sample.image.name}", exports,
                                       lambda f: output_name(sample.image.stem, f, annotation))
            if chosen is None:
                self._tidy(exports)
                return False
            path, fmt = chosen
        try:
            image = s.image if not s.view.active else None
            if image is None and fmt == "zarr":  # a new OME-Zarr store holds the image, at full resolution
                image = read_image(sample.image)
            written = write_annotation(Path(path), annotation, fmt, image=image, pixel_size=of_file(sample.image))
        except SegcoreError as exc:
            self._fail(str(exc))
            return False
        self._tidy(s.folder / EXPORTS)  # saved elsewhere: no empty folder left behind
        self._say(f"exported {written}")
        return True

    def export_folder(self, folder: str | None = None, fmt: str | None = None) -> GeneratorWorker | None:
        """Write every mask of the open folder into ``folder`` in ``fmt`` (asked for in one save dialog when
        None), in a worker thread (returned)."""
        from segcore.interop.convert import convert

        s = self.session
        if s.folder is None:
            self._fail("Open a folder of images first.")
            return None
        if not folder or not fmt:
            exports = self._exports()
            chosen = ask_export_target(self.window, "Export the masks of every image into a folder", exports,
                                       lambda f: f"{s.folder.name}_{f}", folder=True)
            if chosen is None:
                self._tidy(exports)
                return None
            folder, fmt = str(chosen[0]), chosen[1]
        if not s.save_all():  # export what is on disk, so unsaved edits must be there first
            return None
        worker = GeneratorWorker(convert, s.folder, Path(folder), fmt, name="exportAnnotations")
        worker.returned.connect(lambda written: self._say(f"exported {len(written)} annotations to {folder}"))
        worker.errored.connect(lambda exc: self._fail(describe(exc)))
        self._say(f"exporting the masks of {s.folder.name} to {folder}…")
        return self.pool.start(worker)
