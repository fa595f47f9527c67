"""Files a run leaves beside its checkpoints: config.json, split.json, metrics.csv and, when it ends, status.json
(all written atomically). The window's run list reads them without loading a checkpoint, and names a run by
config.json's ``name``, which :func:`rename_run` changes later."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from pathlib import Path

from segcore.atomic import write_text_atomic
from segcore.errors import DataError

MAX_NAME = 80  # characters of a run name

CSV_COLUMNS = ["epoch", "train_loss", "val_loss", "val_dice", "val_iou", "lr", "seconds"]


STARTED = "started"  # config.json's key for when the run began (ISO local time): the date run lists show
_STAMP = re.compile(r"(\d{8}-\d{6})$")  # the time stamp ending a run folder's default name (config.out_dir)


def write_run_files(out_dir: Path, config, train_samples, val_samples) -> None:
    # A run continued in its own folder keeps the date it began.
    started = _config(out_dir).get(STARTED) or time.strftime("%Y-%m-%dT%H:%M:%S")
    write_text_atomic(out_dir / "config.json", json.dumps({**config.to_dict(), STARTED: started}, indent=2))
    if config.plan:  # the training plan, reasons included (also inside config.json and every checkpoint)
        write_text_atomic(out_dir / "plan.json", json.dumps(config.plan, indent=2))
    split = {"train": [str(s.image) for s in train_samples], "val": [str(s.image) for s in val_samples]}
    write_text_atomic(out_dir / "split.json", json.dumps(split, indent=2))


def validation_images(run: str | Path) -> list[str]:
    """The validation images of the run in folder ``run`` (or of its ``split.json`` itself), as split.json lists
    them. Raises DataError when there is no readable split.json or it lists no validation image."""
    path = Path(run)
    path = path / "split.json" if path.is_dir() else path
    try:
        val = json.loads(path.read_text()).get("val")
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError(f"{path}: no readable split.json of a run ({exc})") from exc
    if not isinstance(val, list) or not val:
        raise DataError(f"{path}: the run had no validation images")
    return [str(v) for v in val]


def training_images(run: str | Path) -> set[Path]:
    """The images the run in folder ``run`` trained on (its split.json, resolved); empty when unknown."""
    try:
        train = json.loads((Path(run) / "split.json").read_text()).get("train")
    except (OSError, ValueError, AttributeError):
        return set()
    return {Path(p).resolve() for p in train} if isinstance(train, list) else set()


def write_metrics_csv(path: Path, history: list[dict], class_names: list[str]) -> None:
    """One row per epoch: the fixed columns, then the validation Dice of each class."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS + [f"dice_{name}" for name in class_names])
    for row in history:
        fixed = [row["epoch"]] + [f"{row[c]:.6g}" for c in CSV_COLUMNS[1:]]
        writer.writerow(fixed + [f"{d:.6g}" for d in row.get("per_class_dice", [])])
    write_text_atomic(path, buf.getvalue())


def write_status(out_dir: Path, status: str, message: str, epochs_done: int, best: bool, last: bool,
                 scores: dict | None = None) -> None:
    """How the run ended (``completed``, ``stopped`` or ``failed``), so a stopped run never passes for a finished
    one; ``best``/``last``: whether best.pt and last.pt exist; ``scores``: the validation scores of its best
    epoch and of the model it started from (``best_score``, ``start_score``; NaN written as null)."""
    record = {"status": status, "message": message, "epochs_done": epochs_done, "best_pt": best, "last_pt": last,
              "ended": time.strftime("%Y-%m-%dT%H:%M:%S"),
              **{k: None if math.isnan(v) else v for k, v in (scores or {}).items()}}
    write_text_atomic(out_dir / "status.json", json.dumps(record, indent=2))


def _config(out_dir: str | Path) -> dict:
    try:
        config = json.loads((Path(out_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def run_started(out_dir: str | Path) -> float:
    """When the run in ``out_dir`` began, in seconds since the epoch: config.json's ``started``; for runs written
    before it was kept, the time stamp of the folder's default name, else split.json's time (written once, at the
    start). Never config.json's own file time, which renaming the run changes. 0.0 when nothing tells."""
    out_dir = Path(out_dir)
    stamp = _STAMP.search(out_dir.name)
    for text, form in ((_config(out_dir).get(STARTED), "%Y-%m-%dT%H:%M:%S"),
                       (stamp.group(1) if stamp else None, "%Y%m%d-%H%M%S")):
        if isinstance(text, str):
            try:
                return time.mktime(time.strptime(text, form))
            except ValueError:
                continue
    return _split_time(out_dir)


def _split_time(out_dir: Path) -> float:
    try:
        return (out_dir / "split.json").stat().st_mtime
    except OSError:
        return 0.0


def run_name(out_dir: str | Path) -> str | None:
    """The name in ``out_dir``'s config.json, if it has one."""
    try:
        name = json.loads((Path(out_dir) / "config.json").read_text()).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


def rename_run(out_dir: str | Path, name: str) -> str:
    """Give the run in ``out_dir`` the name ``name`` (what run lists show), written atomically into its
    config.json; the folder and the checkpoints keep theirs. Returns the name as stored (whitespace collapsed).

    Raises DataError when ``out_dir`` holds no readable config.json or the name is empty or longer than
    ``MAX_NAME`` characters; OSError (e.g. a read-only folder) passes through as the write's own error.
    """
    path = Path(out_dir) / "config.json"
    clean = " ".join(name.split())
    if not clean:
        raise DataError("a run name cannot be empty")
    if len(clean) > MAX_NAME:
        raise DataError(f"a run name has at most {MAX_NAME} characters, this one has {len(clean)}")
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{out_dir}: not a training run (no readable config.json: {exc})") from exc
    if not isinstance(config, dict):
        raise DataError(f"{path}: not a run's configuration")
    started = run_started(out_dir)  # kept where known: the date run lists show stays the run's own
    if started and STARTED not in config:
        config[STARTED] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started))
    config["name"] = clean
    write_text_atomic(path, json.dumps(config, indent=2))
    return clean
