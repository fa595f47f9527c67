"""The training runs of a folder, read from the files a run leaves (config.json, metrics.csv, split.json,
status.json) without loading a checkpoint or torch; and what the window says about a loaded model.

A run is told apart by its name (``TrainConfig.name``, else its folder's), date, architecture, best validation
Dice and on how many validation images it was measured, epochs, and how it ended: a stopped run is never shown
as a finished one.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from app.state.training_progress import dice_scope
from segcore.training.events import DoneEvent, RunStatus
from segcore.training.records import run_started

FEW_VALIDATION_IMAGES = 3  # a Dice from fewer images than this is a rough estimate, and the window says so


@dataclass
class RunInfo:
    folder: Path
    name: str
    started: float  # seconds since the epoch: when the run began (records.run_started; a rename keeps it)
    arch: str  # "unet width 24"
    epochs: int  # epochs trained
    best_dice: float | None
    best_epoch: int | None
    val_images: int | None  # None: unknown (no split.json)
    status: str  # completed, stopped, failed, or "ended?" for a run that left no status.json
    checkpoint: Path | None  # best.pt, else last.pt
    history: list[dict]  # metrics.csv rows (epoch, train_loss, val_loss, val_dice, val_iou as floats)
    classes: list[str]  # the class names, from metrics.csv's per-class Dice columns ([] when unknown)

    def label(self) -> str:
        """One line for a run list."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started)) if self.started else "date unknown"
        parts = [self.name, when, self.arch]
        if self.best_dice is not None:
            parts.append(f"Dice {self.best_dice:.3f}{on_images(self.val_images)}")
        parts += [f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}", self.status]
        return " · ".join(parts)


def on_images(count: int | None) -> str:
    """`` on 3 val images`` (or nothing when unknown)."""
    return "" if count is None else f" on {count} val image{'s' if count != 1 else ''}"


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _history(path: Path) -> tuple[list[dict], list[str]]:
    """metrics.csv: its rows (floats) and the class names of its ``dice_NAME`` columns."""
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            rows, columns = list(reader), reader.fieldnames or []
    except OSError:
        return [], []
    keys = ("epoch", "train_loss", "val_loss", "val_dice", "val_iou")
    out = []
    for row in rows:
        try:
            out.append({k: float(row[k]) for k in keys})
        except (KeyError, TypeError, ValueError):
            continue
    return out, [c.removeprefix("dice_") for c in columns if c.startswith("dice_")]


def model_name(checkpoint: str | Path) -> str:
    """A checkpoint as a sentence names it: its run's name (as the run list shows it), with the file when it is
    not the run's best.pt; the folder and file of a checkpoint outside a run. Every run's best model is "best.pt",
    so the file name alone tells two models apart only when they are of one run."""
    path = Path(checkpoint)
    config = _json(path.parent / "config.json")
    if not config:
        return f"{path.parent.name}/{path.name}"
    name = config.get("name") if isinstance(config.get("name"), str) and config.get("name") else path.parent.name
    return name if path.name == "best.pt" else f"{name} ({path.name})"


def describe_arch(arch: str, kwargs: dict) -> str:
    width = kwargs.get("width")
    return f"{arch} width {width}" if width else arch


def read_run(folder: Path) -> RunInfo | None:
    """What ``folder`` (a run's output folder) says about its run; None when it is not one."""
    config_path = folder / "config.json"
    config = _json(config_path)
    if not config:
        return None
    history, classes = _history(folder / "metrics.csv")
    scored = [r for r in history if math.isfinite(r["val_dice"])]
    best = max(scored, key=lambda r: r["val_dice"]) if scored else None
    split = _json(folder / "split.json")
    status = _json(folder / "status.json").get("status") or "ended?"
    checkpoint = next((p for p in (folder / "best.pt", folder / "last.pt") if p.is_file()), None)
    return RunInfo(folder=folder, name=config.get("name") or folder.name, started=run_started(folder),
                   arch=describe_arch(config.get("arch", "?"), config.get("arch_kwargs") or {}),
                   epochs=len(history), best_dice=best["val_dice"] if best else None,
                   best_epoch=int(best["epoch"]) if best else None,
                   val_images=len(split["val"]) if isinstance(split.get("val"), list) else None,
                   status=status, checkpoint=checkpoint, history=history, classes=classes)


def list_runs(data_folder: Path) -> list[RunInfo]:
    """The runs under ``data_folder``/checkpoints with a trained checkpoint to load, newest first: not a run
    stopped before its first epoch ended (its status.json says 0 epochs; earlier versions left a last.pt of
    untrained weights there)."""
    root = data_folder / "checkpoints"
    if not root.is_dir():
        return []
    runs = [read_run(d) for d in root.iterdir() if d.is_dir()]
    usable = (r for r in runs if r is not None and r.checkpoint is not None and _trained_an_epoch(r.folder))
    return sorted(usable, key=lambda r: -r.started)


def _trained_an_epoch(folder: Path) -> bool:
    return _json(folder / "status.json").get("epochs_done") != 0


def model_after_run(done: DoneEvent, here: bool, has_model: bool = False) -> tuple[str | None, str]:
    """When a run ends: the checkpoint that becomes the current model of every panel (None: the current one
    stays) and what the status line adds. ``here``: the run trained on the folder on screen; ``has_model``: a
    model is loaded now.

    The run's best model becomes the current model, unless it trained no epoch, failed, trained another folder,
    was stopped while a model is loaded (Stop abandons a run: a half-trained model must not replace a good one
    unasked), or is a fine-tuning round whose best epoch scored below the model it continued from on the same
    validation images: then the current one stays, and the line says so and how to use the new one anyway.
    """
    path = done.best_path or done.last_path
    if done.status is RunStatus.FAILED or done.epochs_done < 1 or not path:
        return None, "; no epoch was trained, so the current model stays"
    if not here:
        return None, f"; its model is in {done.out_dir} (open its folder to use it)"
    if done.status is RunStatus.STOPPED and has_model:
        return None, "; the current model stays (Use trained model loads this run's)"
    if done.scored_below_start():
        return None, (f": new model {done.best_score:.3f} < current {done.start_score:.3f} on the same validation "
                      "images, so the current model stays (Use trained model loads the new one)")
    return path, "; its best model is now the current model (Segment, Assist and Metrics use it)"


def describe_model(path: Path, arch: str, arch_kwargs: dict, name: str | None, metrics: dict,
                   epoch: int) -> tuple[str, str]:
    """(rich text, tooltip) for a loaded model: what it is, which run, and what its Dice is measured on."""
    run = read_run(path.parent)
    name = (name or path.parent.name) if run is None else run.name
    text = f"<b>{describe_arch(arch, arch_kwargs)}</b> · {name} · {path.name}"
    dice = metrics.get("mean_dice")
    if isinstance(dice, float) and math.isfinite(dice):
        count = run.val_images if run is not None and run.val_images is not None else metrics.get("images")
        scope = f" ({dice_scope(metrics['names'])})" if metrics.get("names") else ""
        text += f"<br>validation Dice {dice:.3f}{scope}{on_images(count)} (epoch {epoch})"
        if count is not None and count < FEW_VALIDATION_IMAGES:
            text += " — <i>few images: a rough estimate</i>"
    elif metrics:
        text += "<br>no validation images: no Dice to go by"
    if run is not None and run.status != "completed":
        text += f"<br>run {run.status}"
    return text, str(path)


def trained_elsewhere(checkpoint: Path, folder: Path | None) -> str:
    """Where the loaded model comes from when not from the open ``folder`` ("" when its checkpoint lies inside it).

    A model of another folder stays usable, but its Dice was measured on that folder's validation images, so the
    Segment panel says where it comes from.
    """
    if folder is None or checkpoint.resolve().is_relative_to(Path(folder).resolve()):
        return ""
    run = checkpoint.parent
    source = run.parent.parent if run.parent.name == "checkpoints" else run
    same = source.name == Path(folder).name  # two folders of one name: their parents tell them apart
    return f"From another folder: {source.parent.name + '/' if same else ''}{source.name}"


def describe_loaded(predictor, folder: Path | None, mismatch: str | None) -> tuple[str, str]:
    """(rich text, tooltip) for the Segment panel: the loaded ``predictor`` (a segcore Predictor), where it comes
    from when not from the open ``folder``, and ``mismatch`` (why its classes are not the folder's, or None)."""
    text, tip = describe_model(predictor.path, predictor.arch, predictor.arch_kwargs, predictor.name,
                               predictor.metrics or {}, predictor.epoch)
    if elsewhere := trained_elsewhere(predictor.path, folder):  # first: it must not be clipped
        text = f"<b style='color:#d55e00'>{elsewhere}</b><br>{text}"
        tip += f"\n{elsewhere}: its Dice was measured on that folder's validation images, not on this one's"
    if mismatch:
        text += f"<br><b>{mismatch}</b>: predictions can be viewed, not accepted."
    return text, f"{tip}\n{predictor.spec.num_classes} classes: {', '.join(predictor.spec.names)}"
