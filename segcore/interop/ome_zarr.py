"""OME-Zarr (OME-NGFF 0.4 and 0.5) images and label groups, through ome-zarr and zarr.

An OME-Zarr image is a folder (``NAME.zarr``) whose root group has ``multiscales`` metadata: pyramid levels
(``datasets``), named ``axes`` (t, c, z, y, x) with units, and a ``scale`` per level (the physical pixel size).
Label images live under ``labels/`` (listed in its ``labels`` attribute), each a multiscale integer image with
``image-label`` metadata: ``colors`` and ``properties`` per ``label-value`` (NGFF spec, "labels" section).

Read: one 2-D plane ``(H, W, C)`` of a level of the image, and a label image as an :class:`Annotation` (a class
mask when its ``properties`` give every value a ``class``, as written here; an instance mask otherwise, as
napari and most tools store cells). Written: a label image (and its pyramid, nearest-neighbour) into the
image's ``labels/`` group, with the image's scale, a ``class`` property and colour for each class value. The
new label group is written beside the store first and moved into place, so a failed write leaves the store
as it was. The store keeps its own format: 0.4 (Zarr v2) stays 0.4, a new store is 0.5 (Zarr v3).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from pathlib import Path

import numpy as np

from segcore.data.classes import ClassSpec
from segcore.errors import DataError, OutputError
from segcore.interop import require
from segcore.interop.annotation import Annotation
from segcore.interop.ome_tiff import ImageInfo, _plane
from segcore.interop.physical import PixelSize, micrometres

SUFFIXES = (".zarr",)
DEFAULT_LABEL = "segmentation"


def is_zarr(path: str | os.PathLike) -> bool:
    """A folder that is a Zarr group (``zarr.json`` of Zarr v3, ``.zgroup``/``.zattrs`` of v2) or named .zarr."""
    path = Path(path)
    return path.suffix.lower() == ".zarr" or any((path / n).is_file() for n in ("zarr.json", ".zgroup", ".zattrs"))


def _root_attrs(path: Path) -> tuple[dict, int]:
    """The OME attributes of the store's root group (0.5 nests them under "ome") and its Zarr format."""
    zarr = require("zarr")
    if not path.is_dir():
        raise DataError(f"{path}: no such OME-Zarr folder")
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001 - zarr raises many types for a folder that is no store
        raise DataError(f"{path}: not a Zarr store ({type(exc).__name__}: {exc})") from exc
    attrs = dict(group.attrs)
    return attrs.get("ome", attrs), group.metadata.zarr_format


def _multiscale(path: Path, attrs: dict) -> dict:
    scales = attrs.get("multiscales")
    if not isinstance(scales, list) or not scales or not isinstance(scales[0], dict) \
            or not scales[0].get("datasets"):
        raise DataError(f"{path}: Zarr store without OME-NGFF 'multiscales' metadata (not an OME-Zarr image; "
                        f"bioformats2raw and ome-zarr write it)")
    return scales[0]


def _level_pixel_size(multiscale: dict, level: int) -> PixelSize | None:
    axes = [a if isinstance(a, dict) else {"name": a} for a in multiscale.get("axes", [])]
    transforms = multiscale["datasets"][level].get("coordinateTransformations", [])
    scale = next((t.get("scale") for t in transforms if t.get("type") == "scale"), None)
    names = [str(a.get("name", "")).lower() for a in axes]
    if not scale or len(scale) != len(names) or "y" not in names or "x" not in names:
        return None
    units = {str(a.get("name", "")).lower(): a.get("unit") for a in axes}
    if units.get("x") is None and units.get("y") is None:
        return None  # a scale without unit states no physical size
    y = micrometres(scale[names.index("y")], units.get("y"))
    x = micrometres(scale[names.index("x")], units.get("x"))
    return PixelSize(y or x, x or y) if (x or y) else None


def zarr_pixel_size(path: str | os.PathLike) -> PixelSize | None:
    """The level-0 physical pixel size of an OME-Zarr image, or None."""
    path = Path(path)
    attrs, _ = _root_attrs(path)
    return _level_pixel_size(_multiscale(path, attrs), 0)


def _axes(multiscale: dict, ndim: int) -> str:
    axes = multiscale.get("axes")
    if not axes:  # NGFF 0.1-0.3: always 5-D tczyx, trailing dims
        return "TCZYX"[-ndim:]
    return "".join(str(a.get("name") if isinstance(a, dict) else a)[0].upper() for a in axes)


def _open_level(path: Path, group_path: str, multiscale: dict, level: int):
    zarr = require("zarr")
    datasets = multiscale["datasets"]
    if not 0 <= level < len(datasets):
        raise DataError(f"{path}: no pyramid level {level}; it has levels 0..{len(datasets) - 1}")
    try:
        return zarr.open_array(str(path / group_path / datasets[level]["path"]), mode="r")
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: level {level} ({datasets[level]['path']}) cannot be read ({exc})") from exc


def read_info(path: str | os.PathLike) -> ImageInfo:
    """Axes, channel names, pixel size and pyramid levels of an OME-Zarr image, without reading pixels."""
    path = Path(path)
    attrs, _ = _root_attrs(path)
    multiscale = _multiscale(path, attrs)
    levels = []
    axes = ""
    shape: tuple[int, ...] = ()
    for i in range(len(multiscale["datasets"])):
        array = _open_level(path, "", multiscale, i)
        axes = axes or _axes(multiscale, array.ndim)
        shape = shape or tuple(array.shape)
        levels.append((array.shape[axes.index("Y")], array.shape[axes.index("X")]))
    channels = (attrs.get("omero") or {}).get("channels") or []
    names = [str(c.get("label")) for c in channels if isinstance(c, dict) and c.get("label")]
    return ImageInfo(axes, shape, levels, names, _level_pixel_size(multiscale, 0))


def read_zarr_image(path: str | os.PathLike, level: int = 0, z: int | None = None,
                    t: int | None = None) -> tuple[np.ndarray, ImageInfo]:
    """One 2-D plane ``(H, W, C)`` of pyramid ``level`` of an OME-Zarr image, and its :class:`ImageInfo`.

    Raises DataError for a store without multiscales metadata, a bad level or plane, or an unchosen z/t stack.
    """
    path = Path(path)
    info = read_info(path)
    attrs, _ = _root_attrs(path)
    array = _open_level(path, "", _multiscale(path, attrs), level)
    return _plane(path, np.asarray(array[...]), info.axes, {"Z": z, "T": t}), info


def label_names(path: str | os.PathLike) -> list[str]:
    """The label images an OME-Zarr image lists under ``labels/``."""
    path = Path(path)
    if not (path / "labels").is_dir():
        return []
    attrs, _ = _root_attrs(path / "labels")
    names = attrs.get("labels", [])
    return [str(n) for n in names] if isinstance(names, list) else []


def read_zarr_labels(path: str | os.PathLike, name: str | None = None, level: int = 0,
                     spec: ClassSpec | None = None) -> Annotation:
    """Label image ``name`` (the first listed when None) of an OME-Zarr image as an :class:`Annotation`.

    Also accepts the label image's own folder (``img.zarr/labels/cells``). Raises DataError when the store has
    no such label image, no multiscales metadata, or values ``spec`` does not list.
    """
    path = Path(path)
    attrs, _ = _root_attrs(path)
    _multiscale(path, attrs)  # a store without it is no OME-Zarr image (nor label image): said so first
    if "image-label" not in attrs:
        names = label_names(path)
        if not names:
            raise DataError(f"{path}: OME-Zarr image without label images (no labels/ group listing any)")
        if name is not None and name not in names:
            raise DataError(f"{path}: no label image '{name}'; it has {', '.join(names)}")
        path = path / "labels" / (name or names[0])
        attrs, _ = _root_attrs(path)
    multiscale = _multiscale(path, attrs)
    array = _open_level(path, "", multiscale, level)
    raw = _plane(path, np.asarray(array[...]), _axes(multiscale, array.ndim), {})[..., 0]
    if raw.dtype.kind not in "ui":
        raise DataError(f"{path}: label image holds {raw.dtype} values, not integer labels")
    spec = spec or _spec_from_properties(attrs.get("image-label") or {})
    return Annotation.from_values(raw, spec, source=str(path))


def _spec_from_properties(label_meta: dict) -> ClassSpec:
    """Classes named by ``properties[].class`` (one per value, as written here), else an instance list."""
    properties = [p for p in label_meta.get("properties") or [] if isinstance(p, dict)]
    classes = {int(p["label-value"]): str(p["class"]) for p in properties
               if isinstance(p.get("label-value"), int) and isinstance(p.get("class"), str)}
    unlabelled = next((v for v, c in classes.items() if c == "unlabelled"), None)
    classes.pop(unlabelled, None)
    if not classes or len(set(classes.values())) != len(classes):
        return ClassSpec.for_instances()
    colors = {int(c["label-value"]): tuple(c["rgba"][:3]) for c in label_meta.get("colors") or []
              if isinstance(c, dict) and isinstance(c.get("label-value"), int) and len(c.get("rgba") or []) >= 3}
    classes.setdefault(0, "background")
    values = sorted(classes)
    palette = [colors.get(v) for v in values]
    return ClassSpec([classes[v] for v in values], values, palette if all(palette) else [], unlabelled)


def _label_metadata(annotation: Annotation) -> dict:
    spec = annotation.spec
    if spec.instances:
        return {}
    values = annotation.file_values()
    present = set(np.unique(values).tolist())
    pairs = [(v, n, c) for v, n, c in zip(spec.values, spec.names, spec.colors, strict=True) if v in present]
    meta = {"colors": [{"label-value": int(v), "rgba": [*map(int, c), 0 if v == 0 else 255]} for v, _, c in pairs],
            "properties": [{"label-value": int(v), "class": n} for v, n, _ in pairs]}
    if spec.unlabelled is not None and spec.unlabelled in present:
        meta["properties"].append({"label-value": int(spec.unlabelled), "class": "unlabelled"})
    return meta


def write_zarr_labels(path: str | os.PathLike, annotation: Annotation, name: str = DEFAULT_LABEL,
                      image: np.ndarray | None = None, pixel_size: PixelSize | None = None) -> Path:
    """Write ``annotation`` as label image ``name`` of the OME-Zarr image at ``path``; returns its folder.

    A new store needs ``image`` ``(H, W, C)`` (written first, with ``pixel_size`` when known). Raises DataError
    when ``path`` exists but is no OME-Zarr image, or its level 0 differs in size from the mask; OutputError
    when it cannot be written. An existing label image of that name is replaced.
    """
    path = Path(path)
    if not name or "/" in name or name.startswith("."):
        raise DataError(f"label image name {name!r} must be a plain name")
    logging.getLogger("ome_zarr").setLevel(logging.ERROR)  # its reader logs every hidden group it meets
    if not path.exists():
        if image is None:
            raise DataError(f"{path}: no such OME-Zarr image; labels live under an image: give the image "
                            f"(--like IMAGE) to create the store, or an existing OME-Zarr image")
        return _new_store(path, image, annotation, name, pixel_size)
    attrs, zarr_format = _root_attrs(path)
    multiscale = _multiscale(path, attrs)
    level0 = _open_level(path, "", multiscale, 0)
    axes = _axes(multiscale, level0.ndim)
    size = (level0.shape[axes.index("Y")], level0.shape[axes.index("X")])
    if size != annotation.shape:
        raise DataError(f"{path}: image is {size[1]}x{size[0]} but the mask is {annotation.shape[1]}x"
                        f"{annotation.shape[0]}")
    scale = _yx_scale(multiscale)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        _write_labels(tmp, annotation, name, zarr_format, scale, _yx_units(multiscale))
        _move_label(tmp / "labels" / name, path, name, zarr_format)
    except OSError as exc:
        raise OutputError(f"cannot write {path / 'labels' / name}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path / "labels" / name


def _yx_scale(multiscale: dict) -> dict[str, float] | None:
    axes = [str(a.get("name") if isinstance(a, dict) else a).lower() for a in multiscale.get("axes", [])]
    transforms = multiscale["datasets"][0].get("coordinateTransformations", [])
    scale = next((t.get("scale") for t in transforms if t.get("type") == "scale"), None)
    if not scale or len(scale) != len(axes) or "y" not in axes:
        return None
    return {"y": float(scale[axes.index("y")]), "x": float(scale[axes.index("x")])}


def _yx_units(multiscale: dict) -> dict[str, str] | None:
    units = {str(a.get("name")).lower(): a.get("unit") for a in multiscale.get("axes", []) if isinstance(a, dict)}
    return {k: units[k] for k in ("y", "x") if units.get(k)} or None


def _format(zarr_format: int):
    fmt = require("ome_zarr.format", "ome-zarr")
    return fmt.FormatV04() if zarr_format == 2 else fmt.FormatV05()


def _write_labels(store: Path, annotation: Annotation, name: str, zarr_format: int,
                  scale: dict | None, units: dict | None) -> None:
    zarr = require("zarr")
    writer = require("ome_zarr.writer", "ome-zarr")
    root = zarr.open_group(str(store), mode="w", zarr_format=zarr_format)
    values = annotation.file_values()
    values = values.astype(np.uint32 if annotation.spec.instances else values.dtype)
    writer.write_labels(values, root, name=name, axes="yx", fmt=_format(zarr_format), scale=scale, scaler=None,
                        axes_units=units, label_metadata=_label_metadata(annotation))


def _move_label(source: Path, store: Path, name: str, zarr_format: int) -> None:
    """Put the written label group into ``store/labels/`` (renames: the old one goes only once the new is in)
    and list it in the ``labels`` attribute."""
    zarr = require("zarr")
    labels_dir = store / "labels"
    root = zarr.open_group(str(store), mode="r+")
    labels = root.require_group("labels")
    target = labels_dir / name
    old = labels_dir / f".{name}.{secrets.token_hex(4)}.old"
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(source, target)
    except OSError:
        if old.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    attrs = dict(labels.attrs)
    ome = attrs.get("ome", attrs) if zarr_format == 3 else attrs
    names = [n for n in ome.get("labels", []) if n != name] + [name]
    if zarr_format == 3:
        labels.attrs["ome"] = {**ome, "labels": names, "version": ome.get("version", "0.5")}
    else:
        labels.attrs["labels"] = names


def _new_store(path: Path, image: np.ndarray, annotation: Annotation, name: str,
               pixel_size: PixelSize | None) -> Path:
    zarr = require("zarr")
    writer = require("ome_zarr.writer", "ome-zarr")
    if image.shape[:2] != annotation.shape:
        raise DataError(f"{path}: image is {image.shape[1]}x{image.shape[0]} but the mask is "
                        f"{annotation.shape[1]}x{annotation.shape[0]}")
    scale = {"y": pixel_size.y, "x": pixel_size.x} if pixel_size else None
    units = {"y": "micrometer", "x": "micrometer"} if pixel_size else None
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        pixels = np.moveaxis(image, -1, 0) if image.shape[2] > 1 else image[..., 0]
        axes = "cyx" if image.shape[2] > 1 else "yx"
        writer.write_image(pixels, root, axes=axes, fmt=_format(3),
                           scale={**({"c": 1.0} if image.shape[2] > 1 else {}), **scale} if scale else None,
                           axes_units=units)
        values = annotation.file_values()
        writer.write_labels(values.astype(np.uint32 if annotation.spec.instances else values.dtype), root,
                            name=name, axes="yx", fmt=_format(3), scale=scale, axes_units=units, scaler=None,
                            label_metadata=_label_metadata(annotation))
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
    return path / "labels" / name
