"""Read any supported annotation file, write any supported format: what ``segcore convert``, ``segcore predict
--format`` and the window's Import/Export Annotations share.

Formats (``FORMATS``): ``geojson`` (QuPath), ``roi`` (ImageJ RoiSet.zip), ``png`` (segcore's own mask),
``tiff`` (label TIFF), ``cellpose`` (``IMG_masks.png``), ``zarr`` (OME-Zarr label image). The format of a file
follows its name unless told. Vector formats carry no image size: reading one needs the image (``like``).

Which class list: the one given, else the ``classes.json`` of the folder written to, else that of the folder
read from, else one built from the file (names of a vector file, values of a raster mask).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segcore.data.classes import CLASSES_FILE, ClassSpec
from segcore.data.io import IMAGE_SUFFIXES, is_image_file, read_image, read_mask_raw, write_mask
from segcore.errors import DataError
from segcore.interop import cellpose, geojson, imagej, label_tiff, ome_zarr
from segcore.interop.annotation import Annotation, classes_near

FORMATS = ("geojson", "roi", "png", "tiff", "cellpose", "zarr")
_BY_SUFFIX = {".geojson": "geojson", ".json": "geojson", ".zip": "roi", ".roi": "roi", ".png": "png",
              ".tif": "tiff", ".tiff": "tiff", ".zarr": "zarr"}
_EXTENSION = {"geojson": ".geojson", "roi": ".zip", "png": ".png", "tiff": ".tif", "zarr": ".zarr"}
VECTOR = ("geojson", "roi")
# Endings a tool adds to an image's stem when naming its annotation (removed to find the image).
_ANNOTATION_TAILS = ("_RoiSet", "_roiset", "_rois", "_seg", "_cp_masks", "_masks", "_mask", "_labels", ".ome")


@dataclass
class Written:
    """What one conversion wrote: the file, how many regions, and notes for the user."""

    path: Path
    regions: int
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.path} ({self.regions} region{'' if self.regions == 1 else 's'})"


def format_of(path: str | os.PathLike, to: str | None = None) -> str:
    """The format named by ``to``, else the one ``path``'s name implies; DataError when neither says."""
    if to is not None:
        if to not in FORMATS:
            raise DataError(f"unknown format '{to}' (choose from {', '.join(FORMATS)})")
        return to
    path = Path(path)
    if path.name.lower().endswith(cellpose.SEG_SUFFIX) or (path.suffix.lower() in (".png", ".tif", ".tiff")
                                                           and cellpose.image_stem(path)):
        return "cellpose"
    fmt = _BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: cannot tell the format from '{path.suffix or path.name}' (use --to: "
                        f"{', '.join(FORMATS)})")
    return fmt


def image_stem(path: Path) -> str:
    """The stem of the image an annotation file belongs to (``a.geojson``, ``a_seg.npy``, ``a_RoiSet.zip`` -> a)."""
    name = path.name
    for suffix in (cellpose.SEG_SUFFIX, ".ome.tif", ".ome.tiff", ".ome.zarr"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    else:
        name = path.stem
    for tail in _ANNOTATION_TAILS:
        if name.endswith(tail) and len(name) > len(tail):
            return name[: -len(tail)]
    return name


def image_beside(annotation: Path, folder: Path | None = None) -> Path | None:
    """The image with the annotation's stem in ``folder`` (default: beside it, or in images/ next to it)."""
    stem = image_stem(annotation)
    folders = [folder] if folder is not None else [annotation.parent, annotation.parent / "images",
                                                   annotation.parent.parent / "images"]
    for where in folders:
        for suffix in IMAGE_SUFFIXES:
            for candidate in (where / f"{stem}{suffix}", where / f"{stem}.ome{suffix}"):
                if candidate != annotation and is_image_file(candidate):
                    return candidate
    return None


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file or OME-Zarr image."""
    if ome_zarr.is_zarr(path) and path.is_dir():
        return ome_zarr.read_info(path).levels[0]
    return read_image(path).shape[:2]


def read_annotation(path: str | os.PathLike, spec: ClassSpec | None = None, like: Path | None = None,
                    label: str | None = None) -> Annotation:
    """Read an annotation file of any supported format.

    ``spec``: the class list to match (built or inferred when None). ``like``: the image whose size a vector
    file is filled to (default: the image with the file's stem beside it). ``label``: which label image of an
    OME-Zarr store. Raises DataError for unreadable files or a vector file without an image to size it.
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt in VECTOR:
        like = like or image_beside(path)
        if like is None:
            raise DataError(f"{path}: a {fmt} file has no image size; give the image it belongs to (--like IMAGE)")
        shape = image_size(like)
        return geojson.read_geojson(path, shape, spec) if fmt == "geojson" else imagej.read_rois(path, shape, spec)
    if fmt == "cellpose":
        return cellpose.read_annotation(path, spec)
    if fmt == "zarr":
        return ome_zarr.read_zarr_labels(path, label, spec=spec)
    raw = read_mask_raw(path, spec)
    return Annotation.from_values(raw, spec or _raster_spec(path, raw), source=str(path))


def _raster_spec(path: Path, raw: np.ndarray) -> ClassSpec:
    """The class list of a mask file read alone: its folder's classes.json, else inferred like a folder's."""
    from segcore.data.layout import Sample, load_class_spec

    spec = classes_near(path)
    if spec is not None:
        return spec
    return load_class_spec(path.parent, [Sample(path, path)])


def output_name(stem: str, fmt: str, annotation: Annotation | None = None) -> str:
    """File name of ``fmt`` for the image ``stem``: ``a.geojson``, ``a.zip``, ``a_masks.png``, ``a.zarr`` ..."""
    if fmt == "cellpose":
        ids = label_tiff.instance_ids(annotation) if annotation is not None else np.zeros(1, np.int64)
        return cellpose.export_name(stem, ids)
    return stem + _EXTENSION[fmt]


def write_annotation(path: str | os.PathLike, annotation: Annotation, fmt: str | None = None,
                     image: np.ndarray | None = None, pixel_size=None, label: str | None = None,
                     min_area: float = 0, object_type: str | None = None, scale: float = 1.0) -> Written:
    """Write ``annotation`` to ``path`` in ``fmt`` (default: from the name).

    ``image`` and ``pixel_size``: for a new OME-Zarr store. ``min_area`` (pixels), ``object_type`` and ``scale``
    (coordinates multiplied, for a reduced pyramid level): vector formats only. A PNG mask gets the class list
    beside it (``classes.json``) when its folder has none. Returns what was written.
    """
    path = Path(path)
    fmt = format_of(path, fmt)
    warnings = list(annotation.warnings)
    if fmt == "geojson":
        count = geojson.write_geojson(path, annotation, object_type, min_area, scale)
    elif fmt == "roi":
        count = imagej.write_roiset(path, annotation, min_area, scale)
    elif fmt == "cellpose":
        count = cellpose.write_masks(path, annotation)
    elif fmt == "tiff":
        label_tiff.write_label_tiff(path, annotation)
        count = annotation.region_count()
    elif fmt == "zarr":
        where = ome_zarr.write_zarr_labels(path, annotation, label or ome_zarr.DEFAULT_LABEL, image, pixel_size)
        return Written(where, annotation.region_count(), warnings)
    else:
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        write_mask(path, annotation.classes, annotation.spec, ids_from=annotation.ids)
        count = annotation.region_count()
        folder = dataset_folder(path)
        if ClassSpec.load(folder) is None:
            annotation.spec.save(folder)
            warnings.append(f"class list written to {folder / CLASSES_FILE}: {', '.join(annotation.spec.names)}")
    return Written(path, count, warnings)


def dataset_folder(mask_path: Path) -> Path:
    """The folder whose classes.json describes a mask: above masks/, else the mask's own."""
    return mask_path.parent.parent if mask_path.parent.name == "masks" else mask_path.parent


# -- whole conversions -------------------------------------------------------------------------------------------
def convert(src: str | os.PathLike, dst: str | os.PathLike, to: str | None = None, spec: ClassSpec | None = None,
            like: str | os.PathLike | None = None, label: str | None = None, min_area: float = 0,
            object_type: str | None = None) -> list[Written]:
    """Convert one annotation file, or every annotation of a folder, to ``dst`` (a file, or a folder).

    A folder ``src`` converts the annotation files in it (GeoJSON, ROI sets, Cellpose files) or, when it holds
    none, the masks of the images in it (any segcore layout); ``dst`` is then a folder and ``like`` a folder of
    images matched by stem. Returns what was written; per-file failures of a folder raise after the others are
    written, naming the first.
    """
    src, dst = Path(src), Path(dst)
    like = Path(like) if like is not None else None
    if not src.exists():
        raise DataError(f"{src}: no such file or folder")
    if src.is_dir() and not ome_zarr.is_zarr(src):
        return _convert_folder(src, dst, to, spec, like, label, min_area, object_type)
    fmt = format_of(dst, to)
    if dst.is_dir() and fmt != "zarr" or (fmt == "cellpose" and dst.suffix == ""):
        dst = dst / output_name(image_stem(src), fmt)
    spec = spec or _destination_spec(dst, fmt)
    annotation = read_annotation(src, spec, like, label)
    if fmt == "cellpose" and dst.name.endswith(("_masks.png", "_masks.tif")):
        dst = dst.with_name(output_name(image_stem(dst), fmt, annotation))
    image, size = _zarr_image(fmt, dst, like or image_beside(src))
    return [write_annotation(dst, annotation, fmt, image, size, label, min_area, object_type)]


def _destination_spec(dst: Path, fmt: str) -> ClassSpec | None:
    """The class list already used where a mask is going (so an import matches that data set's classes)."""
    if fmt not in ("png", "tiff"):
        return None
    return ClassSpec.load(dataset_folder(dst))


def _zarr_image(fmt: str, dst: Path, image_path: Path | None):
    """The image (and its pixel size) to create a new OME-Zarr store with; (None, None) when not needed."""
    if fmt != "zarr" or dst.exists() or image_path is None:
        return None, None
    from segcore.interop.physical import of_file

    return read_image(image_path), of_file(image_path)


def annotation_files(folder: Path) -> list[Path]:
    """The files of ``folder`` that are other tools' annotations (GeoJSON, ROI sets, Cellpose _seg.npy)."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name == CLASSES_FILE or not path.is_file():
            continue
        if path.suffix.lower() == ".json" and not geojson.looks_like_geojson(path):
            continue  # a report or settings file, not annotations
        if path.suffix.lower() in (*geojson.SUFFIXES, *imagej.SUFFIXES) or path.name.endswith(cellpose.SEG_SUFFIX):
            found.append(path)
    return found


def _convert_folder(src: Path, dst: Path, to, spec, like, label, min_area, object_type) -> list[Written]:
    from segcore.atomic import make_folder

    if to is None:
        raise DataError(f"{src}: converting a folder needs the format (--to {'|'.join(FORMATS)})")
    if dst.exists() and not dst.is_dir():
        raise DataError(f"{dst}: exists and is not a folder (a folder converts into a folder)")
    jobs = _folder_jobs(src, like)
    if not jobs:
        raise DataError(f"{src}: no annotations found (GeoJSON, RoiSet.zip, _seg.npy files, or images with masks)")
    make_folder(dst)
    written, failures = [], []
    spec = spec or (ClassSpec.load(dst) if to in ("png", "tiff") else None)
    for annotation_path, image_path, folder_spec in jobs:
        try:
            annotation = read_annotation(annotation_path, spec or folder_spec, image_path, label)
            stem = image_stem(image_path) if image_path is not None else image_stem(annotation_path)
            target = dst / output_name(stem, to, annotation)
            image, size = _zarr_image(to, target, image_path)
            written.append(write_annotation(target, annotation, to, image, size, label, min_area, object_type))
            if to == "cellpose" and image_path is not None and not (dst / image_path.name).exists():
                shutil.copy2(image_path, dst / image_path.name)  # cellpose --train wants images beside masks
        except DataError as exc:
            failures.append(str(exc))
    if failures:
        more = f" ({len(failures) - 1} more failed)" if len(failures) > 1 else ""
        raise DataError(f"{len(written)} of {len(jobs)} converted; {failures[0]}{more}")
    return written


def _folder_jobs(src: Path, like: Path | None) -> list[tuple[Path, Path | None, ClassSpec | None]]:
    """(annotation file, its image, the class list of its data set) for everything to convert in ``src``."""
    files = annotation_files(src)
    if files:
        return [(f, image_beside(f, like) if like is not None else image_beside(f), None) for f in files]
    from segcore.data.layout import find_samples, load_class_spec

    samples = [s for s in find_samples(src, warnings=[]) if s.mask is not None]
    folder_spec = load_class_spec(src, samples) if samples else None
    return [(s.mask, s.image, folder_spec) for s in samples]
