"""The training plan in words: each setting, its value, and why (from :class:`segcore.planning.plan.Plan`).

Shown before a run (*Show plan*) and during it; settings the user fixed under Advanced are marked "yours".
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtWidgets import QTextBrowser, QWidget

from segcore.durations import human_duration, human_minutes
from segcore.interop.physical import PixelSize
from segcore.planning.plan import UNBOUNDED_EPOCHS, UNBOUNDED_TEXT, Plan

LABELS = {
    "arch": "Architecture", "scale": "Scale", "depth": "Depth", "patch_size": "Patch size", "width": "Width",
    "steps": "Optimiser steps", "batch_size": "Batch size", "lr": "Learning rate", "train_minutes": "Training time",
    "epochs": "Epochs", "epoch_samples": "Validation", "oversample": "Rare-class crops",
    "jitter": "Intensity jitter", "deform": "Shape augmentation", "normalisation": "Normalisation",
    "tta": "Test-time augmentation", "calibrate_crf": "CRF fit", "pixel_size": "Pixel size",
}


EMPTY = ("With a time budget, Train plans the run for this folder and this machine first: network size, patches, "
         "steps and schedule, each with its reason. Show plan previews it.")


def show_value(name: str, value: Any) -> str:
    """An entry's value for people: ``256`` -> ``"256 px"``, ``0.333`` oversampling -> ``"33 %"``, ``0.881``
    minutes of training -> ``"53 s"``."""
    if value is None:
        return {"patch_size": "whole images", "pixel_size": "as stored"}.get(name, "—")
    if name == "pixel_size" and (size := PixelSize.from_dict(value)) is not None:
        return str(size)
    if name == "epochs" and value == UNBOUNDED_EPOCHS:
        return UNBOUNDED_TEXT
    if name == "normalisation":
        return {"image": "per image", "dataset": "training set"}.get(value, str(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    if name == "train_minutes" and isinstance(value, int | float):
        return human_minutes(value)
    units = {"patch_size": "{:d} px", "steps": "~{:,d}", "oversample": "{:.0%}",
             "jitter": "±{:.0%}", "epoch_samples": "every {:,d} crops", "scale": "{:g}", "lr": "{:g}",
             "deform": "strength {:g}"}
    try:
        return units[name].format(value) if name in units else str(value)
    except (TypeError, ValueError):
        return str(value)


def summary(plan: Plan) -> str:
    """One line: what will train, how long, and what prediction will do."""
    e = plan.entries

    def get(name: str, default=None):
        return e[name].value if name in e else default

    net = "U-Net" if get("arch") == "unet" else str(get("arch"))
    if get("width"):
        net += f" width {get('width')}, depth {get('depth')}"
    patch = show_value("patch_size", get("patch_size"))
    parts = [net, f"{patch} patches", f"batch {get('batch_size')}"]
    if get("steps"):
        parts.append(f"~{get('steps'):,} steps")
    parts.append(f"{show_value('train_minutes', get('train_minutes'))} of training")
    parts.append("TTA on" if get("tta") else "TTA off")
    if get("calibrate_crf"):
        parts.append("CRF fitted after")
    return " · ".join(parts)


class PlanView(QTextBrowser):
    """Read-only, selectable; ``show_plan(plan, note)``, ``clear_plan(text)``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planView")
        self.setOpenLinks(False)
        self.clear_plan()

    def clear_plan(self, text: str = EMPTY) -> None:
        self.has_plan = False
        self.setHtml(f"<p style='color: gray'>{escape(text)}</p>")

    def show_plan(self, plan: Plan, note: str = "") -> None:
        self.has_plan = True
        head = (f"<p><b>Plan for {human_duration(plan.budget_s)}</b> ({human_duration(plan.planning_s)} of it spent "
                "planning"
                f"{', on ' + escape(str(plan.throughput.get('device'))) if plan.throughput.get('device') else ''})"
                f"{'<br>' + escape(note) if note else ''}</p>")
        rows = []
        for name, entry in plan.entries.items():
            yours = " <i>(yours)</i>" if entry.source == "user" else ""
            rows.append(f"<p style='margin: 4px 0'><b>{escape(LABELS.get(name, name.replace('_', ' ')))}</b>: "
                        f"{escape(show_value(name, entry.value))}{yours}<br>"
                        f"<span style='color: gray'>{escape(entry.reason)}</span></p>")
        self.setHtml(head + "".join(rows))
