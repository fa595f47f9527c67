"""QuPath GeoJSON: masks out as one Feature per region, GeoJSON files in as masks (shapely geometry).

Written as QuPath exports and imports it (File > Export objects as GeoJSON, File > Import objects, or dragging
the file onto the image): a FeatureCollection whose Features carry a Polygon or MultiPolygon in full-resolution
image pixels (origin at the top-left corner), ``properties.objectType`` ("annotation" for class regions,
"detection" for the objects of an instance mask) and ``properties.classification`` = {"name", "color": [r, g, b]}
from the class list. Holes are polygon holes. Reading accepts a FeatureCollection, a list of Features (QuPath's
other export form), one Feature or a bare geometry; classifications as {"name", "color"} or QuPath 0.2's
{"name", "colorRGB"}. Points and lines have no area and are skipped with a note.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from segcore.atomic import write_text_atomic
from segcore.data.classes import ClassSpec
from segcore.errors import DataError
from segcore.interop import require
from segcore.interop.annotation import Annotation, class_list
from segcore.interop.regions import Region, as_area, mask_to_regions, regions_to_mask

SUFFIXES = (".geojson", ".json")
INSTANCE_TYPES = {"detection", "cell", "tile"}  # QuPath's many-small-objects types


def to_feature_collection(annotation: Annotation, object_type: str | None = None, min_area: float = 0,
                          scale: float = 1.0) -> dict:
    """The GeoJSON dict of ``annotation``'s regions (see the module doc); ``scale`` multiplies coordinates (a
    mask predicted on a reduced pyramid level, written in full-resolution pixels)."""
    shapely = require("shapely")
    spec = annotation.spec
    kind = object_type or ("detection" if spec.instances else "annotation")
    features = []
    for region in mask_to_regions(annotation, min_area):
        geometry = region.geometry
        if scale != 1:
            geometry = shapely.transform(geometry, lambda xy: xy * scale)
        features.append({
            "type": "Feature",
            "id": str(uuid.uuid4()),
            "geometry": shapely.geometry.mapping(geometry),
            "properties": {
                "objectType": kind,
                "classification": {"name": spec.names[region.class_index],
                                   "color": list(spec.colors[region.class_index])},
            },
        })
    return {"type": "FeatureCollection", "features": features}


def write_geojson(path: str | os.PathLike, annotation: Annotation, object_type: str | None = None,
                  min_area: float = 0, scale: float = 1.0) -> int:
    """Write ``annotation`` as QuPath GeoJSON, atomically; returns the number of Features written."""
    collection = to_feature_collection(annotation, object_type, min_area, scale)
    write_text_atomic(path, json.dumps(collection, separators=(",", ":")))
    return len(collection["features"])


def read_geojson(path: str | os.PathLike, shape: tuple[int, int], spec: ClassSpec | None = None) -> Annotation:
    """Fill the polygons of a GeoJSON file into a mask of ``shape`` ``(H, W)``.

    Classes are matched to ``spec`` by name, or a class list is built from the names (an instance list when
    every feature is a QuPath detection or cell). Raises DataError for unreadable JSON, a file without any
    polygon geometry, or a class name ``spec`` lacks.
    """
    path = Path(path)
    features = _features(path, _load(path))
    shapes, names, colors, kinds, skipped = [], [], {}, set(), 0
    for feature in features:
        geometry = _geometry(feature)
        if geometry is None:
            skipped += 1
            continue
        properties = feature.get("properties") or {}
        name, color = _classification(properties.get("classification"))
        if name is not None and color is not None:
            colors.setdefault(name, color)
        shapes.append(geometry)
        names.append(name)
        kinds.add(str(properties.get("objectType", "annotation")).lower())
    if not shapes:
        raise DataError(f"{path}: no polygon geometry in its {len(features)} features (points, lines and "
                        f"empty features have no area to fill)")
    spec, index = class_list(names, spec, colors, instances=kinds <= INSTANCE_TYPES, source=str(path))
    regions = [Region(index[n], g) for n, g in zip(names, shapes, strict=True)]
    annotation = regions_to_mask(regions, shape, spec, source=str(path))
    if skipped:
        annotation.warnings.append(f"{path}: {skipped} of {len(features)} features have no area (no geometry, "
                                   f"points or lines); skipped")
    return annotation


def looks_like_geojson(path: str | os.PathLike) -> bool:
    """True when a JSON file holds GeoJSON features or a geometry (a folder may hold other JSON files)."""
    try:
        _features(Path(path), _load(Path(path)))
    except DataError:
        return False
    return True


def _load(path: Path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise DataError(f"{path}: is a folder, not a GeoJSON file") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid GeoJSON ({exc})") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _features(path: Path, data) -> list[dict]:
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        data = data.get("features")
    elif isinstance(data, dict) and data.get("type") == "Feature":
        data = [data]
    elif isinstance(data, dict) and "coordinates" in data or isinstance(data, dict) and "geometries" in data:
        data = [{"type": "Feature", "geometry": data}]
    if not isinstance(data, list) or not all(isinstance(f, dict) for f in data):
        raise DataError(f"{path}: not GeoJSON features (expected a FeatureCollection, a list of Features, a "
                        f"Feature or a geometry)")
    if not data:
        raise DataError(f"{path}: holds no features")
    return data


def _geometry(feature: dict):
    """The feature's area as a valid shapely geometry; None for no geometry, points and lines."""
    shapely = require("shapely")
    raw = feature.get("geometry")
    if not isinstance(raw, dict):
        return None
    try:
        geometry = shapely.geometry.shape(raw)
    except (shapely.errors.ShapelyError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None
    return as_area(geometry)


def _classification(value) -> tuple[str | None, tuple | None]:
    """(name, colour) of QuPath's ``classification``: {"name", "color": [r,g,b]} or {"name", "colorRGB": int}."""
    if isinstance(value, str):
        return value, None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None, None
    color = value.get("color")
    if isinstance(value.get("colorRGB"), int):
        rgb = value["colorRGB"] & 0xFFFFFF
        color = [(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255]
    if isinstance(color, list) and len(color) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in color):
        return value["name"], tuple(color)
    return value["name"], None
