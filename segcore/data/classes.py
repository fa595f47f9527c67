"""Class lists and how mask files encode them.

Inside segcore a mask is always a ``uint8`` array of class indices ``0..K-1`` with ``IGNORE_INDEX`` (255) for
unlabelled pixels (sparse annotation). Files on disk may store other values (0/255 binary masks are the norm in
public data); a :class:`ClassSpec` maps file values to indices and back, and travels in every checkpoint.
A folder may carry ``classes.json`` (written by the GUI's palette) that fixes the spec; otherwise it is inferred
from the values found in the masks.

Instance masks (Cellpose, StarDist, the Data Science Bowl: each object has its own id, 0 is background) are read
by an ``instances`` spec as two classes, background and object. Writing through it keeps the ids a file already
has and gives each newly painted or predicted object (a connected region) a new one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from segcore.atomic import write_text_atomic
from segcore.errors import DataError

IGNORE_INDEX = 255
CLASSES_FILE = "classes.json"
MAX_FILE_VALUE = 65535  # masks are 8- or 16-bit files

# Distinct, colour-blind friendly defaults (Okabe-Ito, then tab10-like); background is transparent-black.
DEFAULT_COLORS = [
    (0, 0, 0), (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66),
    (0, 114, 178), (213, 94, 0), (204, 121, 167), (148, 103, 189), (140, 86, 75),
]


def default_color(index: int) -> tuple[int, int, int]:
    if index < len(DEFAULT_COLORS):
        return DEFAULT_COLORS[index]
    rng = np.random.default_rng(index)  # stable per index
    return tuple(int(v) for v in rng.integers(40, 256, 3))


@dataclass
class ClassSpec:
    """Class names, colours, and the value each class has in mask files.

    ``values[i]`` is the file value of class ``i``; ``unlabelled`` is the file value meaning "no class" (or None).
    With ``instances`` the files hold object ids: 0 is class 0, every other value is class 1 (``values`` is
    then ``[0, 1]``) and there is no unlabelled value.
    """

    names: list[str]
    values: list[int]
    colors: list[tuple[int, int, int]] = field(default_factory=list)
    unlabelled: int | None = None
    instances: bool = False

    @classmethod
    def for_instances(cls, names: list[str] | None = None, colors: list | None = None) -> ClassSpec:
        """Background and one object class, read from (and written as) instance-labelled masks."""
        return cls(names=names or ["background", "object"], values=[0, 1], colors=colors or [], instances=True)

    def __post_init__(self) -> None:
        if self.instances and (len(self.names) != 2 or list(self.values) != [0, 1] or self.unlabelled is not None):
            raise DataError("instance masks have two classes (background = 0, object = any other id) and no "
                            "unlabelled value")
        if len(self.names) != len(self.values):
            raise DataError(f"class list has {len(self.names)} names but {len(self.values)} values")
        if len(self.names) < 2:
            raise DataError("a class list needs at least two classes (background and one more)")
        file_values = [*self.values, *([] if self.unlabelled is None else [self.unlabelled])]
        if any(not 0 <= int(v) <= MAX_FILE_VALUE for v in file_values):
            raise DataError(f"class values must be 0..{MAX_FILE_VALUE} (8- or 16-bit masks), got {self.values}")
        if len(set(self.values)) != len(self.values):
            raise DataError(f"class values must be distinct, got {self.values}")
        if self.unlabelled is not None and self.unlabelled in self.values:
            raise DataError(f"unlabelled value {self.unlabelled} is also a class value")
        if len(self.names) > 255:
            raise DataError("at most 255 classes are supported")
        if len(self.colors) > len(self.names):
            raise DataError(f"class list has {len(self.names)} names but {len(self.colors)} colours")
        colors = [*self.colors, *(default_color(i) for i in range(len(self.colors), len(self.names)))]
        try:
            self.colors = [tuple(int(c) for c in col) for col in colors]
        except (TypeError, ValueError) as exc:
            raise DataError(f"class colours must be (r, g, b) triples of 0..255, got {colors}") from exc
        if any(len(col) != 3 or not all(0 <= c <= 255 for c in col) for col in self.colors):
            raise DataError(f"class colours must be (r, g, b) triples of 0..255, got {self.colors}")

    @property
    def num_classes(self) -> int:
        return len(self.names)

    # -- encoding ---------------------------------------------------------------------------------------------
    def decode(self, raw: np.ndarray, source: str = "mask") -> np.ndarray:
        """File values -> class indices (uint8, IGNORE_INDEX for unlabelled). Raises DataError on stray values."""
        if raw.dtype.kind not in "ui":
            raise DataError(f"{source}: mask must hold integers, got {raw.dtype}")
        top = int(raw.max(initial=0))
        if raw.dtype.kind == "i" and int(raw.min(initial=0)) < 0:
            self._stray(raw[raw < 0], source)
        if self.instances:  # any id: label images of many objects are often 32-bit
            return (raw != 0).view(np.uint8)
        if top > MAX_FILE_VALUE:
            self._stray(raw[raw > MAX_FILE_VALUE], source)
        lut = np.full(max(top + 1, 256), -1, dtype=np.int16)
        for index, value in enumerate(self.values):
            lut[value] = index
        if self.unlabelled is not None:
            lut[self.unlabelled] = IGNORE_INDEX
        if self.values == [0, 255] and self.unlabelled is None:
            lut[1] = 1  # a 1-bit file (CHASE_DB1's masks) stores 0/1 for the same black/white
        out = lut[raw]  # indexing with the file's own dtype: no int64 copy of a 16-megapixel mask
        if (out < 0).any():
            self._stray(raw[out < 0], source)
        return out.astype(np.uint8)

    def _stray(self, values: np.ndarray, source: str) -> None:
        bad = np.unique(values)[:10].tolist()
        allowed = self.values + ([self.unlabelled] if self.unlabelled is not None else [])
        raise DataError(f"{source}: mask values {bad} are not in the class list {allowed}")

    def encode(self, mask: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """Class indices -> file values (uint8, or uint16 when a value needs it). Unlabelled pixels need an
        ``unlabelled`` value. ``previous`` (the file's values before, instance specs only) keeps existing ids."""
        if self.instances:
            return self._encode_instances(mask, previous)
        lut = np.zeros(256, dtype=np.uint16)
        for index, value in enumerate(self.values):
            lut[index] = value
        if (mask == IGNORE_INDEX).any():
            if self.unlabelled is None:
                self.unlabelled = self.free_value()
            lut[IGNORE_INDEX] = self.unlabelled
        out = lut[mask]
        return out.astype(np.uint8) if out.max(initial=0) < 256 else out

    def _encode_instances(self, mask: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
        """Object pixels keep the id they had in ``previous``. Each new connected region joins the object it
        touches (a stroke that extends a cell stays that cell) or, touching none, becomes a new object."""
        from scipy import ndimage

        if (mask == IGNORE_INDEX).any():
            raise DataError("instance masks have no \"unlabelled\" value: paint background or the object class")
        objects = mask == 1
        out = np.zeros(mask.shape, dtype=np.int32)
        if previous is not None and previous.shape == mask.shape:
            keep = objects & (previous != 0)
            out[keep] = previous[keep]
            objects &= ~keep
        regions, _ = ndimage.label(objects)  # 4-connected: objects drawn apart stay apart
        # new ids start above every id the file had, kept or not: an erased object's id is never given again
        top = max(int(out.max(initial=0)), int(previous.max(initial=0)) if previous is not None else 0)
        kept = out.copy() if top else None  # ids from before: new regions join those, never each other
        for region, box in enumerate(ndimage.find_objects(regions), start=1):
            # the region's box grown by one pixel: its ring of neighbours, looked at only there
            grown = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in box)
            here = regions[grown] == region
            if kept is not None:
                ring = ndimage.binary_dilation(here, structure=np.ones((3, 3), bool)) & ~here
                near = kept[grown][ring]
                near = near[near != 0]
            else:
                near = np.zeros(0, dtype=np.int32)
            if near.size:
                value = int(np.bincount(near).argmax())
            else:
                top += 1
                value = top
            out[grown][here] = value
        if int(out.max(initial=0)) > MAX_FILE_VALUE:  # ids of a 32-bit file, or too many objects: uint16 would wrap
            raise DataError(f"object ids above {MAX_FILE_VALUE} (up to {int(out.max())}) cannot be saved in a 16-bit "
                            f"PNG mask; renumber the objects 1..N first")
        return out.astype(np.uint8 if out.max(initial=0) < 256 else np.uint16)

    def free_value(self) -> int:
        """A file value usable for "unlabelled" that no class uses (255 unless taken)."""
        for candidate in (255, 254, 128, *range(253, 0, -1)):
            if candidate not in self.values:
                return candidate
        raise DataError("no free mask value left for unlabelled pixels")

    # -- persistence ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["colors"] = [list(c) for c in self.colors]
        if not self.instances:
            del d["instances"]  # classes.json and checkpoints of class masks stay as they were
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ClassSpec:
        try:
            if d.get("instances", False) is True:  # {"instances": true} alone is enough in classes.json
                return cls.for_instances([str(n) for n in d["names"]] if "names" in d else None,
                                         [tuple(c) for c in d.get("colors", [])])
            return cls(
                names=[str(n) for n in d["names"]],
                values=[int(v) for v in d["values"]],
                colors=[tuple(c) for c in d.get("colors", [])],
                unlabelled=None if d.get("unlabelled") is None else int(d["unlabelled"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"invalid class list: {exc}") from exc

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``classes.json`` into ``folder`` atomically."""
        path = Path(folder) / CLASSES_FILE
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> ClassSpec | None:
        path = Path(folder) / CLASSES_FILE
        if not path.exists():
            return None
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not valid JSON ({exc})") from exc
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from exc

    @classmethod
    def infer(cls, values: set[int]) -> ClassSpec:
        """Guess the class list from the union of values found in mask files.

        {0,255} (or a subset) is binary background/foreground; otherwise the values found are the classes (none
        is invented: values {0, 1, 3} give three classes), and a value of 255 beside small class values means
        unlabelled.
        """
        values = {int(v) for v in values} or {0}
        if values <= {0, 255}:
            return cls(names=["background", "foreground"], values=[0, 255])
        unlabelled = None
        if 255 in values and max(values - {255}) < 64:
            unlabelled = 255
            values = values - {255}
        top = max(values)
        if top >= 255:
            found = sorted(values)
            shown = found if len(found) <= 5 else [*found[:4], "...", found[-1]]
            raise DataError(f"mask values {shown} cannot be read as classes 0..{top} (at most 255 classes): name "
                            f"each class and its value in {CLASSES_FILE}, or write {{\"instances\": true}} there "
                            f"if each value is one object")
        spec = cls.of_values(sorted(values | {0}) if len(values) == 1 else sorted(values))
        spec.unlabelled = unlabelled
        return spec

    @classmethod
    def of_values(cls, values: list[int]) -> ClassSpec:
        """Classes with exactly these file values: "background" for the lowest, "foreground" for the other of
        two, else "class V"."""
        values = sorted(int(v) for v in values)
        if len(values) == 2:
            return cls(names=["background", "foreground"], values=values)
        return cls(names=["background"] + [f"class {v}" for v in values[1:]], values=values)

    @property
    def file_values(self) -> list[int]:
        """Every value a mask file of this class list may hold: the class values and the unlabelled value."""
        return [*self.values, *([] if self.unlabelled is None else [self.unlabelled])]
