"""Masks to polygons and back, exactly, with shapely.

Coordinates are image pixels with the origin at the top-left corner of the top-left pixel, x to the right and y
down: the convention of QuPath's GeoJSON and of ImageJ ROIs. A region's outline runs along pixel edges (the
union of its pixels' squares, collinear points dropped), so filling it again (a pixel is inside when its centre
is, the rule of ImageJ's PolygonFiller) gives back exactly the same pixels. Holes are kept as polygon holes.

Regions of a class mask are its 8-connected components per class (pixels touching at a corner are one region,
then a MultiPolygon); regions of an instance mask are its objects, one per id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from segcore.data.classes import IGNORE_INDEX
from segcore.errors import DataError
from segcore.interop import require
from segcore.interop.annotation import Annotation, fill_value

EIGHT = np.ones((3, 3), dtype=bool)
FILL_BATCH = 1 << 20  # pixel centres tested at once: bounded memory for regions as large as a slide


@dataclass(frozen=True)
class Region:
    """One region: ``class_index`` into the class list, its ``geometry`` (shapely Polygon or MultiPolygon in
    pixel coordinates) and, for instance masks, its ``object_id``."""

    class_index: int
    geometry: object
    object_id: int = 0

    @property
    def area(self) -> float:
        return float(self.geometry.area)


def pixels_to_geometry(region: np.ndarray, y0: int = 0, x0: int = 0):
    """The outline of the True pixels of ``region`` (bool ``(h, w)``, placed at row ``y0``, column ``x0``) as a
    valid shapely Polygon or MultiPolygon along pixel edges."""
    shapely = require("shapely")
    padded = np.zeros((region.shape[0], region.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = region
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)
    _, stops = np.nonzero(step == -1)  # row-major order: the n-th stop closes the n-th start
    boxes = shapely.box(starts + x0, rows + y0, stops + x0, rows + y0 + 1)
    return shapely.simplify(shapely.union_all(boxes), 0)  # tolerance 0: only points on a straight edge go


def class_regions(annotation: Annotation) -> Iterator[tuple[int, np.ndarray, int]]:
    """``(class index, 8-connected labels, count)`` for each class with regions to export: every class but
    background, and background too when the mask has unlabelled pixels (it was then painted on purpose)."""
    from scipy import ndimage

    classes = annotation.classes
    sparse = bool((classes == IGNORE_INDEX).any())
    for index in range(0 if sparse else 1, annotation.spec.num_classes):
        labels, count = ndimage.label(classes == index, structure=EIGHT)
        if count:
            yield index, labels, count


def mask_to_regions(annotation: Annotation, min_area: float = 0) -> list[Region]:
    """The regions of a mask (see the module doc), in reading order; regions of fewer than ``min_area`` pixels
    are left out (0 keeps every one, and the round trip is exact)."""
    from scipy import ndimage

    regions = []
    if annotation.ids is not None:
        ids = annotation.ids
        for object_id, box in enumerate(ndimage.find_objects(ids), start=1):
            if box is None:
                continue
            here = ids[box] == object_id
            if here.sum() < max(min_area, 1):
                continue
            index = int(np.bincount(annotation.classes[box][here]).argmax())
            regions.append(Region(index, pixels_to_geometry(here, box[0].start, box[1].start), object_id))
        return regions
    for index, labels, _ in class_regions(annotation):
        for label, box in enumerate(ndimage.find_objects(labels), start=1):
            here = labels[box] == label
            if here.sum() >= max(min_area, 1):
                regions.append(Region(index, pixels_to_geometry(here, box[0].start, box[1].start)))
    return regions


def fill_geometry(geometry, shape: tuple[int, int]) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """The pixels of an image of ``shape`` whose centres lie inside ``geometry``: ``(box, inside)`` with
    ``inside`` a bool array of the box, or None when no pixel centre is inside."""
    shapely = require("shapely")
    if geometry.is_empty:
        return None
    x0, y0, x1, y1 = geometry.bounds
    top, left = max(int(np.floor(y0)), 0), max(int(np.floor(x0)), 0)
    bottom, right = min(int(np.ceil(y1)), shape[0]), min(int(np.ceil(x1)), shape[1])
    if bottom <= top or right <= left:
        return None
    shapely.prepare(geometry)
    inside = np.zeros((bottom - top, right - left), dtype=bool)
    xs = np.arange(left, right) + 0.5
    step = max(1, FILL_BATCH // (right - left))
    for y in range(top, bottom, step):
        ys = np.arange(y, min(y + step, bottom)) + 0.5
        inside[y - top:y - top + len(ys)] = shapely.contains_xy(geometry, xs[None, :], ys[:, None])
    if not inside.any():
        return None
    return (slice(top, bottom), slice(left, right)), inside


def regions_to_mask(regions: list[Region], shape: tuple[int, int], annotation_spec, source: str = "annotation",
                    painted_background: bool | None = None) -> Annotation:
    """Fill ``regions`` into an :class:`Annotation` of ``shape``.

    Larger regions are filled first, so a small region drawn on top of a large one (a nucleus inside a tissue
    outline) stays visible; regions exported here never overlap, so their order does not matter. Instance
    lists give each region its own id (its ``object_id`` when all are distinct, else 1..N in file order).
    Pixels no region covers are background, or unlabelled when a region of class 0 was drawn.
    """
    spec = annotation_spec
    if painted_background is None:
        painted_background = any(r.class_index == 0 for r in regions)
    classes = np.full(shape, fill_value(spec, painted_background), dtype=np.uint8)
    ids = np.zeros(shape, dtype=np.int32) if spec.instances else None
    given = [r.object_id for r in regions]
    keep_ids = all(i > 0 for i in given) and len(set(given)) == len(given)
    outside = 0
    order = sorted(range(len(regions)), key=lambda i: -regions[i].area)
    for i in order:
        filled = fill_geometry(regions[i].geometry, shape)
        if filled is None:
            outside += 1
            continue
        box, inside = filled
        classes[box][inside] = regions[i].class_index
        if ids is not None:
            ids[box][inside] = (given[i] if keep_ids else i + 1) if regions[i].class_index else 0
    annotation = Annotation(classes, spec, ids)
    if outside:
        annotation.warnings.append(f"{source}: {outside} of {len(regions)} regions cover no pixel of the "
                                   f"{shape[1]}x{shape[0]} image (outside it, or thinner than a pixel); left out")
    if regions and outside == len(regions):
        raise DataError(f"{source}: none of its {len(regions)} regions lies on the {shape[1]}x{shape[0]} image; "
                        f"is it the annotation of another image?")
    return annotation


def as_area(geometry):
    """The polygonal part of a shapely geometry, made valid (a self-crossing freehand outline is repaired the
    way GEOS repairs it); None when it has no area (points, lines)."""
    shapely = require("shapely")
    if geometry is None or geometry.is_empty:
        return None
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon") and g.area > 0]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)
