"""ImageJ / Fiji ROI sets through roifile: masks out as ``RoiSet.zip``, ROI files in as masks.

Written: one ROI per region, named ``CLASS-NNNN`` (the object id of an instance mask, else a running number),
a polygon ROI along the region's pixel edges, or a composite (shape) ROI when the region has holes or several
parts. Fiji opens the zip in the ROI Manager (File > Open, or drag it onto the image); filling a polygon by
pixel centres, as ImageJ does, gives back the same pixels. Coordinates are image pixels, origin at the top-left
corner, as in QuPath.

Read: polygon, freehand, traced, rectangle, oval, ellipse and composite ROIs from ``.zip``, ``.roi`` or an
ImageJ TIFF's overlay; lines, points and text have no area and are skipped with a note. Ovals are filled as
true ellipses (a pixel is in when its centre is), so a few edge pixels may differ from ImageJ's own polygon.
A ROI's class is its name less a trailing number (``axon-0012`` -> "axon"); ImageJ's numeric default names
(``0012-0345``) mean unclassified. A set with at most one class becomes an instance mask (one object per ROI,
as the ROI Manager holds cells); several class names make a class mask.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np

from segcore.atomic import atomic_path
from segcore.data.classes import ClassSpec
from segcore.errors import DataError
from segcore.interop import require
from segcore.interop.annotation import Annotation, class_list
from segcore.interop.regions import Region, as_area, mask_to_regions, regions_to_mask

SUFFIXES = (".zip", ".roi")
_NUMBERED = re.compile(r"^(?P<base>.*?)[-_ ]?(?P<number>\d+)$")
_AREA_TYPES = ("POLYGON", "FREEHAND", "TRACED", "RECT", "OVAL")


def write_roiset(path: str | os.PathLike, annotation: Annotation, min_area: float = 0, scale: float = 1.0) -> int:
    """Write ``annotation``'s regions as an ImageJ ROI set (``.zip``), atomically; returns the ROI count.

    ``scale`` multiplies coordinates (a mask of a reduced pyramid level written in full-resolution pixels).
    Raises DataError for an empty mask (ImageJ has no empty ROI set) or a region wider than 32767 pixels.
    """
    roifile = require("roifile")
    shapely = require("shapely")
    path = Path(path)
    regions = mask_to_regions(annotation, min_area)
    if not regions:
        raise DataError(f"{path}: the mask has no regions to write as ROIs")
    rois = []
    for number, region in enumerate(regions, start=1):
        geometry = region.geometry
        if scale != 1:
            geometry = shapely.transform(geometry, lambda xy: xy * scale)
        name = f"{annotation.spec.names[region.class_index]}-{region.object_id or number:04d}"
        rois.append(_to_roi(roifile, geometry, name, path))
    with atomic_path(path) as tmp:
        roifile.roiwrite(tmp, rois, mode="w")
    return len(rois)


def _to_roi(roifile, geometry, name: str, path: Path):
    """A polygon ROI for a simple polygon, else a composite ROI whose sub-paths are every ring."""
    left, top, right, bottom = (int(np.floor(v)) if i < 2 else int(np.ceil(v))
                                for i, v in enumerate(geometry.bounds))
    if right - left > 32767 or bottom - top > 32767:
        raise DataError(f"{path}: region {name} is {right - left}x{bottom - top} pixels; ImageJ ROIs are at most "
                        f"32767 pixels across")
    if geometry.geom_type == "Polygon" and not geometry.interiors:
        points = np.asarray(geometry.exterior.coords)[:-1]
        integral = np.array_equal(points, np.round(points))
        roi = roifile.ImagejRoi.frompoints(points.astype(np.int32) if integral else points, name=name)
        roi.roitype = roifile.ROI_TYPE.POLYGON
        return roi
    path_ops = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in (polygon.exterior, *polygon.interiors):
            xy = np.asarray(ring.coords)[:-1]
            path_ops.append([0, *xy[0]])
            path_ops.extend([1, x, y] for x, y in xy[1:])
            path_ops.append([4])
    roi = roifile.ImagejRoi()
    roi.roitype = roifile.ROI_TYPE.RECT
    roi.multi_coordinates = np.array([v for op in path_ops for v in op], dtype=np.float32)
    roi.shape_roi_size = len(roi.multi_coordinates)
    roi.left, roi.top, roi.right, roi.bottom = left, top, right, bottom
    roi.name = name
    return roi


def read_rois(path: str | os.PathLike, shape: tuple[int, int], spec: ClassSpec | None = None) -> Annotation:
    """Fill the area ROIs of an ImageJ ``.zip``/``.roi`` (or an ImageJ TIFF's overlay) into a mask of ``shape``.

    Raises DataError for a damaged or truncated file, a file without area ROIs, or a class ``spec`` lacks.
    """
    roifile = require("roifile")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found" if not path.exists() else f"{path}: is a folder, not a ROI file")
    try:
        rois = roifile.roiread(path)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, IndexError) as exc:
        raise DataError(f"{path}: damaged or truncated ImageJ ROI file ({str(exc) or type(exc).__name__})") from exc
    rois = rois if isinstance(rois, list) else [rois]
    shapes, names, numbers, skipped = [], [], [], 0
    for roi in rois:
        geometry = _area(roifile, roi)
        if geometry is None:
            skipped += 1
            continue
        name, number = _class_of(roi.name)
        shapes.append(geometry)
        names.append(name)
        numbers.append(number)
    if not shapes:
        raise DataError(f"{path}: none of its {len(rois)} ROIs has an area (lines, points and text cannot be "
                        f"filled)")
    spec, index = class_list(names, spec, instances=len(set(names)) <= 1, source=str(path))
    ids = numbers if spec.instances and None not in numbers and len(set(numbers)) == len(numbers) else [0] * len(names)
    regions = [Region(index[n], g, i) for n, g, i in zip(names, shapes, ids, strict=True)]
    annotation = regions_to_mask(regions, shape, spec, source=str(path))
    if skipped:
        annotation.warnings.append(f"{path}: {skipped} of {len(rois)} ROIs have no area (lines, points, text); "
                                   f"skipped")
    return annotation


def _area(roifile, roi):
    """The ROI's area as a shapely geometry, or None for ROIs without one."""
    shapely = require("shapely")
    kind = roifile.ROI_TYPE
    if roi.subtype == roifile.ROI_SUBTYPE.TEXT:
        return None
    if roi.composite:
        rings = [r for r in roi.coordinates(multi=True) if len(r) >= 3]
        polygons = [as_area(shapely.Polygon(r)) for r in rings]
        polygons = [p for p in polygons if p is not None]
        if not polygons:
            return None
        combined = polygons[0]
        for polygon in polygons[1:]:  # even-odd: a ring inside another is a hole
            combined = shapely.symmetric_difference(combined, polygon)
        return as_area(combined)
    if roi.roitype == kind.RECT:
        return shapely.box(roi.left, roi.top, roi.right, roi.bottom) if roi.right > roi.left else None
    if roi.roitype == kind.OVAL:
        cx, cy = (roi.left + roi.right) / 2, (roi.top + roi.bottom) / 2
        circle = shapely.Point(0, 0).buffer(1.0, quad_segs=64)
        return as_area(shapely.affinity.scale(shapely.affinity.translate(circle, cx, cy),
                                              (roi.right - roi.left) / 2, (roi.bottom - roi.top) / 2,
                                              origin=(cx, cy)))
    if roi.roitype.name not in _AREA_TYPES:
        return None
    points = roi.coordinates()
    return as_area(shapely.Polygon(points)) if len(points) >= 3 else None


def _class_of(name: str | None) -> tuple[str | None, int | None]:
    """(class name, number) of a ROI name: ``axon-0012`` -> ("axon", 12); ImageJ's ``0012-0345`` -> (None, None)."""
    name = (name or "").strip()
    match = _NUMBERED.match(name)
    base, number = (match["base"], int(match["number"])) if match else (name, None)
    base = base.strip(" -_")
    if not base:
        return None, number  # a bare number: an unclassified object with its id
    if re.fullmatch(r"[\d\-_ ]+", base):
        return None, None  # ImageJ's default name (slice-y-x): no class, and no id either
    return base, number
