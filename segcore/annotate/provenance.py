"""Where each mask of a folder came from, kept across sessions in ``.segstudio/provenance.json``.

A mask accepted from a model's prediction (the network output, the CRF result, a proposal completed from strokes)
and never corrected is not an annotation: the file list marks it "predicted", scoring leaves it out, and a model
scored against its own output would flatter itself. Whether a mask leaves pixels unlabelled (a few strokes) is
kept too, so the file list says "strokes" for a mask not opened this session.

Each record is keyed by the image's path in the folder and holds the mask file's stamp (modification time and
size) as written or read here, and for an accepted mask its SHA-1: a record whose mask file has changed since
(another program, a folder copied without its times and a different file) is dropped, and the mask counts as
hand-made, as it did before records were kept. A missing, unreadable or malformed file is no record at all.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from segcore.atomic import write_text_atomic
from segcore.data.classes import IGNORE_INDEX
from segcore.errors import OutputError

PROVENANCE_FILE = Path(".segstudio") / "provenance.json"
KINDS = ("network", "crf", "scribbles")  # network output, CRF-refined output, a mask completed from strokes


@dataclass(frozen=True)
class Origin:
    """What an accepted mask was: ``kind`` (one of :data:`KINDS`), ``what`` (as the window named it), ``model``
    (the checkpoint path behind it, None when no model's output is in it) and ``corrected`` (edited by hand since;
    still the model's work, so still flattering to it)."""

    kind: str
    what: str
    model: str | None = None
    corrected: bool = False

    @classmethod
    def parse(cls, data) -> Origin | None:
        """The origin a record holds; None when it is not a well-formed one."""
        if not isinstance(data, dict) or data.get("kind") not in KINDS or not isinstance(data.get("what"), str):
            return None
        model = data.get("model")
        return cls(data["kind"], data["what"], model if isinstance(model, str) else None,
                   data.get("corrected") is True)


def kind_of(what: str) -> str:
    """The :data:`KINDS` entry for an accepted mask the window describes as ``what``."""
    if "strokes" in what:
        return "scribbles"
    return "crf" if "CRF" in what else "network"


def _stamp(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def _sha1(path: Path) -> str | None:
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError:
        return None


class MaskRecords:
    """The records of one folder: loaded when it opens, written (atomically) when a mask is written or read."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._records: dict[str, dict] = {}
        self.origins: dict[Path, Origin] = {}  # image -> origin, for masks whose file is as recorded
        self.sparse: set[Path] = set()  # images whose mask, as recorded, leaves pixels unlabelled

    def _key(self, image: Path) -> str:
        try:
            return image.relative_to(self.folder).as_posix()
        except ValueError:  # an image listed from outside the folder (data.txt may name any path)
            return image.as_posix()

    def load(self, masks: dict[Path, Path]) -> None:
        """Read the folder's records for ``masks`` (image -> its mask file); those whose file changed are dropped,
        and a missing, unreadable or malformed file leaves none."""
        self._records, self.origins, self.sparse = {}, {}, set()
        try:
            data = json.loads((self.folder / PROVENANCE_FILE).read_text(encoding="utf-8"))
            records = data["masks"] if isinstance(data, dict) and isinstance(data.get("masks"), dict) else {}
        except (OSError, ValueError):
            records = {}
        for image, mask in masks.items():
            record = records.get(self._key(image))
            if not isinstance(record, dict) or not self._matches(record, mask):
                continue
            origin = Origin.parse(record.get("origin"))
            if record.get("origin") is not None and origin is None:
                continue  # a malformed origin: the mask counts as hand-made rather than guessed at
            self._records[self._key(image)] = record
            if origin is not None:
                self.origins[image] = origin
            if record.get("sparse") is True:
                self.sparse.add(image)

    @staticmethod
    def _matches(record: dict, mask: Path) -> bool:
        """Whether ``mask`` is still the file ``record`` was made for: the same stamp, or (an accepted mask,
        whose origin matters most) the same bytes."""
        if record.get("stamp") == _stamp(mask):
            return True
        return record.get("origin") is not None and record.get("sha1") is not None \
            and record.get("sha1") == _sha1(mask)

    def note(self, image: Path, mask: Path, sparse: bool, origin: Origin | None) -> bool:
        """Record ``image``'s mask file ``mask`` as it is now; True when the record changed (to be written)."""
        record = {"stamp": _stamp(mask), "sparse": sparse}
        if origin is not None:
            key = self._key(image)
            old = self._records.get(key, {})
            same_file = old.get("stamp") == record["stamp"] and old.get("sha1")
            record.update(origin=asdict(origin), sha1=old["sha1"] if same_file else _sha1(mask))
        (self.sparse.add if sparse else self.sparse.discard)(image)
        if origin is None:
            self.origins.pop(image, None)
        else:
            self.origins[image] = origin
        key = self._key(image)
        if not sparse and origin is None:  # a full hand-made mask, as a mask without a record is taken to be
            return self._records.pop(key, None) is not None
        if self._records.get(key) == record:
            return False
        self._records[key] = record
        return True

    def write(self) -> None:
        """Write the records; raises OutputError when the folder cannot take them."""
        if self.folder is not None:
            text = json.dumps({"version": 1, "masks": self._records}, indent=1, sort_keys=True)
            write_text_atomic(self.folder / PROVENANCE_FILE, text)


class Provenance:
    """Where the masks of the open folder came from as the store knows it now (accepted masks not saved yet
    included) and which leave pixels unlabelled; what is on disk is kept in :attr:`records` for the next session."""

    def __init__(self) -> None:
        self.open(None, {})

    def open(self, folder: Path | None, masks: dict[Path, Path]) -> None:
        """Start from ``folder``'s records of ``masks`` (image -> its mask file); none without a folder."""
        self.records = MaskRecords(folder)
        if folder is not None:
            self.records.load(masks)
        self._origins: dict[Path, Origin] = dict(self.records.origins)  # accepted masks, saved or not
        self._strokes: set[Path] = set(self.records.sparse)  # masks, as last read or written, with unlabelled pixels
        self._write_failed = False  # the records could not be written and the user has been told

    def origin(self, image: Path) -> Origin | None:
        return self._origins.get(image)

    def is_predicted(self, image: Path) -> bool:
        """Whether ``image`` holds an accepted prediction not yet corrected by hand."""
        origin = self._origins.get(image)
        return origin is not None and not origin.corrected

    def is_strokes(self, image: Path) -> bool:
        """Whether ``image``'s mask, as last read or written, leaves pixels unlabelled (a few strokes)."""
        return image in self._strokes

    def changed(self, image: Path, origin: Origin | None = None, whole: bool = False) -> None:
        """``image``'s mask changed: accepted from ``origin``; else edited by hand (an accepted mask is then
        corrected), or replaced ``whole`` by the user's own (what made the mask before no longer matters)."""
        if origin is not None:
            self._origins[image] = origin
        elif whole:
            self._origins.pop(image, None)
        elif (old := self._origins.get(image)) is not None and not old.corrected:
            self._origins[image] = replace(old, corrected=True)

    def back_to_file(self, image: Path) -> None:
        """``image``'s mask is its file's again (undone, or read anew): what made it is what made the file."""
        if (origin := self.records.origins.get(image)) is not None:
            self._origins[image] = origin
        else:
            self._origins.pop(image, None)

    def note_file(self, image: Path, mask_file: Path, mask: np.ndarray) -> str | None:
        """``image``'s ``mask_file`` was just read or written as ``mask``: remember whether it leaves pixels
        unlabelled, and record that with the mask's origin for the next session. Returns what the user should
        hear when the records cannot be written (once; the masks are safe, only their origins are forgotten)."""
        (self._strokes.add if bool((mask == IGNORE_INDEX).any()) else self._strokes.discard)(image)
        if not self.records.note(image, mask_file, image in self._strokes, self._origins.get(image)):
            return None
        try:
            self.records.write()
        except OutputError as exc:
            if image in self._origins and not self._write_failed:
                self._write_failed = True
                return f"where masks came from is not kept for the next session: {exc}"
        return None
