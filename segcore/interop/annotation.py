"""The annotation of one image as the interchange formats see it, and class lists matched by name.

An :class:`Annotation` holds what segcore keeps for a mask (``classes``: class indices into ``spec``) plus the
object ids of an instance mask (``ids``), so a conversion never renumbers or merges objects it does not have to.
Vector formats name classes, raster formats store values: :func:`class_list` builds a class list from the names
a file uses, or matches them to a given one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segcore.data.classes import CLASSES_FILE, IGNORE_INDEX, ClassSpec
from segcore.errors import DataError

BACKGROUND = "background"
FOREGROUND = "foreground"


@dataclass
class Annotation:
    """Class indices ``classes`` ``(H, W)`` uint8 (``IGNORE_INDEX`` = unlabelled), object ids ``ids`` ``(H, W)``
    int32 (0 = no object; instance masks only, else None), the class list ``spec``, and notes for the user
    (``warnings``: features skipped, shapes approximated)."""

    classes: np.ndarray
    spec: ClassSpec
    ids: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.classes.shape

    @classmethod
    def from_values(cls, raw: np.ndarray, spec: ClassSpec, source: str = "mask") -> Annotation:
        """From mask-file values (``ClassSpec`` values, or object ids for an instance spec)."""
        classes = spec.decode(raw, source=source)
        ids = raw.astype(np.int32) if spec.instances else None
        if ids is not None and raw.size and int(raw.max()) > np.iinfo(np.int32).max:
            raise DataError(f"{source}: object ids above {np.iinfo(np.int32).max} are not supported")
        return cls(classes, spec, ids)

    @classmethod
    def from_classes(cls, classes: np.ndarray, spec: ClassSpec) -> Annotation:
        """From class indices (a prediction): an instance spec numbers each connected object region 1..N."""
        ids = spec.encode(classes).astype(np.int32) if spec.instances else None
        return cls(classes, spec, ids)

    def file_values(self) -> np.ndarray:
        """What a label file stores: object ids (uint16, or uint32 above 65535) for instance masks, else the
        class values of ``spec`` (uint8 or uint16)."""
        if self.ids is not None:
            top = int(self.ids.max(initial=0))
            return self.ids.astype(np.uint16 if top <= 65535 else np.uint32)
        return self.spec.encode(self.classes)

    def region_count(self) -> int:
        """Objects of an instance mask, else 8-connected regions of every labelled class but background."""
        from segcore.interop.regions import class_regions

        if self.ids is not None:
            return int(np.count_nonzero(np.bincount(self.ids.ravel())[1:]))
        return sum(count for _, _, count in class_regions(self))


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def class_list(names: list[str | None], spec: ClassSpec | None, colors: dict[str, tuple] | None = None,
               instances: bool = False, source: str = "annotation") -> tuple[ClassSpec, dict[str | None, int]]:
    """The class list for regions named ``names`` (None: unclassified) and each name's class index.

    With ``spec`` the names are matched to its classes (case and spacing ignored; unclassified regions go to
    a class named "foreground" or to the only non-background class; every region of an instance list is an
    object). Without, a list is built: background first, then the names in order of first use (colours from
    ``colors``), values 0..K; one class alone is stored as 0/255 like most binary masks; ``instances`` builds an
    instance list. Raises DataError for a name the given list lacks.
    """
    colors = colors or {}
    if spec is None:
        spec = _build(names, colors, instances)
    index = {}
    for name in dict.fromkeys(names):
        index[name] = _match(name, spec, source)
    return spec, index


def _build(names: list[str | None], colors: dict[str, tuple], instances: bool) -> ClassSpec:
    found = [n for n in dict.fromkeys(names) if n is not None and _key(n) != BACKGROUND]
    if instances:
        name = found[0] if len(found) == 1 else "object"
        return ClassSpec.for_instances([BACKGROUND, name], [(0, 0, 0), *([colors[name]] if name in colors else [])])
    if None in names and not any(_key(n) == FOREGROUND for n in found):
        found.append(FOREGROUND if not found else "unclassified")
    unique = list(dict.fromkeys(found, None))
    all_names = [BACKGROUND, *unique]
    values = [0, 255] if len(unique) == 1 else list(range(len(all_names)))
    palette = [tuple(colors.get(n, ())) or None for n in all_names]
    if all(c is not None for c in palette[1:]):
        return ClassSpec(all_names, values, [(0, 0, 0), *palette[1:]])
    return ClassSpec(all_names, values)


def _match(name: str | None, spec: ClassSpec, source: str) -> int:
    keys = [_key(n) for n in spec.names]
    if name is not None and _key(name) in keys:
        return keys.index(_key(name))
    if spec.instances:
        return 0 if name is not None and _key(name) == BACKGROUND else 1
    if name is None or _key(name) == "unclassified":
        if "unclassified" in keys:
            return keys.index("unclassified")
        if FOREGROUND in keys:
            return keys.index(FOREGROUND)
        if spec.num_classes == 2:
            return 1
        raise DataError(f"{source}: unclassified regions, and the class list {spec.names} has no 'foreground' "
                        f"class to put them in; classify them, or give a class list with one")
    raise DataError(f"{source}: class '{name}' is not in the class list {spec.names}; add it to {CLASSES_FILE}, "
                    f"or leave the class list out to build one from the file's names")


def classes_near(path: str | os.PathLike) -> ClassSpec | None:
    """The ``classes.json`` of the data folder a mask file belongs to (beside it, or above ``masks/``)."""
    folder = Path(path).parent
    for candidate in (folder, folder.parent) if folder.name in ("masks", "data", "val") else (folder,):
        spec = ClassSpec.load(candidate)
        if spec is not None:
            return spec
    return None


def load_classes_file(path: str | os.PathLike) -> ClassSpec:
    """A ``classes.json`` given by name (``--classes``); raises DataError when it is missing or not one."""
    import json

    path = Path(path)
    try:
        return ClassSpec.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise DataError(f"{path}: class list not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc


def fill_value(spec: ClassSpec, painted_background: bool) -> int:
    """What pixels no region covers become: background, or unlabelled when the file drew background itself
    (a sparse annotation: what it does not cover was not looked at)."""
    return IGNORE_INDEX if painted_background and not spec.instances else 0
