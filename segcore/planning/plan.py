"""The training plan: a pure function of a fingerprint, a time budget and measured throughput.

Every entry carries its value and the reason for it in words; an entry the user set explicitly keeps the user's
value and says so (``source == "user"``). ``Plan.apply`` turns the plan into a :class:`TrainConfig`.

Rules (why, in short; docs/accuracy.md has the measurements behind them):
- In minutes on a CPU, the number of optimiser steps limits accuracy more than network capacity, so the width
  is the widest candidate that still fits ``MIN_STEPS`` steps in the budget, measured on this machine.
- The patch must hold the structures with context (a few object diameters) but no more: pixels cost time.
- Crops that would mostly miss a rare class are centred on it a third of the time (nnU-Net's 33 %).
- The learning rate anneals (cosine) over the training time, not over a guessed number of epochs.
- Images stating different physical pixel sizes are resampled to their median (nnU-Net's target spacing), so an
  object has one size in pixels; prediction resamples to it too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from segcore.durations import human_duration, human_minutes
from segcore.interop.physical import TOLERANCE, PixelSize, median_pixel_size, resample_factor
from segcore.planning.fingerprint import Fingerprint

WIDTHS = (16, 24, 32)  # U-Net widths the probe measures
MIN_STEPS = 1000  # fewer steps than this: a narrower network learns more in the budget
BATCH_SIZE = 4  # batch norm needs a few samples per batch; more would cost steps on a CPU
VAL_SHARE = 0.08  # of the training time, at most, spent validating
MIN_STEPS_PER_EPOCH = 25
TTA_TRANSFORMS = 8  # the dihedral group: 4 rotations x optional flip
TTA_MAX_S = 10.0  # TTA on when a median image would take at most this long on this machine
CRF_SHARE, CRF_MAX_S = 0.06, 60.0  # time kept for fitting the CRF on validation images
RARE_PIXELS, RARE_IMAGES = 0.10, 0.5  # a class rarer than this is oversampled
OVERSAMPLE = 1 / 3
LR = 1e-3
DEFORM = 0.5  # spatial augmentation strength (segcore.data.spatial); chosen on ISBI train slices, docs/accuracy.md
MIN_TRAIN_SHARE = 0.1  # of the budget, trained however long planning took (a tiny budget is then overrun)
UNBOUNDED_EPOCHS = 10_000  # a budgeted run's epoch bound: never reached, the time ends it
UNBOUNDED_TEXT = "as many as fit"  # how that bound reads ("Epochs: 10000" read as a count; newcomer check #8)
USER_KEYS = ("arch", "width", "depth", "patch_size", "batch_size", "lr", "epochs", "scale", "deform", "normalisation")


@dataclass
class PlanEntry:
    value: Any
    reason: str
    source: str = "plan"  # "plan" or "user"


@dataclass
class Throughput:
    """What the probe measured on this machine (seconds), keyed by U-Net width as a string (JSON keys)."""

    device: str  # Runtime.describe(), e.g. "cpu (float32)"
    patch_size: int
    batch_size: int
    step_s: dict[str, float]  # one training step (forward, backward, AdamW) at patch_size, batch_size
    forward_s_per_mpx: dict[str, float]  # inference, per megapixel
    seconds: float = 0.0  # the probe's own time

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Plan:
    budget_s: float
    entries: dict[str, PlanEntry] = field(default_factory=dict)
    planning_s: float = 0.0  # fingerprint + probe, already spent from the budget
    fingerprint: dict = field(default_factory=dict)
    throughput: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.entries[name].value

    def to_dict(self) -> dict:
        return {"budget_s": self.budget_s, "planning_s": self.planning_s,
                "entries": {k: asdict(v) for k, v in self.entries.items()},
                "fingerprint": self.fingerprint, "throughput": self.throughput}

    @classmethod
    def from_dict(cls, d: dict) -> Plan:
        entries = {k: PlanEntry(**v) for k, v in d.get("entries", {}).items()}
        return cls(float(d["budget_s"]), entries, float(d.get("planning_s", 0.0)), d.get("fingerprint", {}),
                   d.get("throughput", {}))

    def table(self) -> str:
        """The plan as an aligned text table: setting, value, reason (user settings marked)."""
        rows = [(name, _show(e.value, name) + (" (you)" if e.source == "user" else ""), e.reason)
                for name, e in self.entries.items()]
        w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
        head = f"plan for {human_duration(self.budget_s)} ({human_duration(self.planning_s)} of it spent planning)"
        return "\n".join([head] + [f"  {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows])

    def apply(self, config):
        """A new TrainConfig with the plan's values (the user's explicit ones are in the plan already)."""
        kwargs = dict(config.arch_kwargs)
        if self["arch"] == "unet":  # the user's own architecture arguments are in the plan already
            kwargs.update(width=self["width"], depth=self["depth"])
        return replace(config, arch=self["arch"], arch_kwargs=kwargs, patch_size=self["patch_size"] or None,
                       batch_size=self["batch_size"], lr=self["lr"], epochs=self["epochs"], scale=self["scale"],
                       time_limit=self["train_minutes"], epoch_samples=self["epoch_samples"],
                       oversample=self["oversample"], jitter=self["jitter"], deform=self["deform"],
                       per_image_norm=self["normalisation"] == "image",
                       tta=self["tta"], calibrate_crf=self["calibrate_crf"], plan=self.to_dict(),
                       pixel_size=self.entries["pixel_size"].value if "pixel_size" in self.entries else None)


def _show(value: Any, name: str = "") -> str:
    if name == "train_minutes" and isinstance(value, int | float):
        return human_minutes(value)
    if name == "epochs" and value == UNBOUNDED_EPOCHS:
        return UNBOUNDED_TEXT
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict) and (size := PixelSize.from_dict(value)) is not None:
        return str(size)
    return str(value)


def _round_up(value: float, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)


def _dominant(fp: Fingerprint) -> int:
    return max(range(len(fp.classes)), key=lambda c: fp.classes[c].pixel_fraction)


def choose_depth(fp: Fingerprint) -> PlanEntry:
    side = min(fp.median_size)
    depth = 4 if side >= 128 else 3
    why = (f"4 poolings (down to 1/16): the median image side {side} px leaves room"
           if depth == 4 else f"3 poolings: images are small (median side {side} px)")
    return PlanEntry(depth, why)


def choose_scale(fp: Fingerprint) -> PlanEntry:
    structures = [c for i, c in enumerate(fp.classes) if i != _dominant(fp) and c.thickness > 0]
    thinnest = min((c.thickness for c in structures), default=0.0)
    smallest = min((c.object_diameter for c in structures), default=0.0)
    if thinnest >= 24 and smallest >= 96 and min(fp.median_size) >= 1024:
        return PlanEntry(0.5, f"structures are large (thinnest {thinnest:.0f} px, objects {smallest:.0f} px): "
                              "half resolution keeps them and quarters the cost")
    return PlanEntry(1.0, f"full resolution: the thinnest structure is {thinnest:.0f} px thick" if thinnest
                     else "full resolution")


def choose_patch(fp: Fingerprint, depth: int, scale: float) -> PlanEntry:
    unit = 2**depth
    side = min(fp.median_size) * scale
    # Objects, not networks: a class whose regions span half the image (a background, a connected membrane
    # mesh) has no object size to give context for.
    sizes = [c.object_diameter_p90 * scale for c in fp.classes if 0 < c.object_diameter_p90 * scale < side / 2]
    diameter = max(sizes, default=64.0)
    patch = max(256, _round_up(2.5 * diameter, 64))
    patch = min(patch, 384, _round_up(side, unit))
    patch = max(patch, 4 * unit)
    if patch >= side:
        why = f"whole images ({side:.0f} px median side), padded to a multiple of {unit}"
    else:
        why = (f"holds 2.5x the larger objects ({diameter:.0f} px, p90) with context; larger crops cost time "
               "per step")
    return PlanEntry(int(patch), why)


def choose_width(budget_train_s: float, tp: Throughput) -> tuple[PlanEntry, PlanEntry]:
    """(width, expected steps): the widest measured width that fits MIN_STEPS; the fastest otherwise."""
    steps = {int(w): budget_train_s * (1 - VAL_SHARE) / s for w, s in tp.step_s.items() if s > 0}
    fitting = [w for w in sorted(steps) if steps[w] >= MIN_STEPS]
    measured = ", ".join(f"{w}: {tp.step_s[str(w)]:.2f} s" for w in sorted(steps))
    if fitting:
        width = fitting[-1]
        why = (f"widest that fits {MIN_STEPS}+ steps in the time (measured per step on {tp.device}: {measured})")
    else:
        width = min(steps, key=lambda w: tp.step_s[str(w)])
        why = (f"fastest measured ({measured} per step on {tp.device}): even it fits only {steps[width]:.0f} "
               f"steps, and in few steps a narrower network learns more")
    return PlanEntry(width, why), PlanEntry(int(steps[width]), "expected optimiser steps in the training time")


def choose_oversample(fp: Fingerprint) -> PlanEntry:
    if fp.sparse:
        return PlanEntry(0.5, f"sparse annotation ({fp.labelled_fraction:.0%} of pixels labelled): half the crops "
                              "are centred on a labelled pixel")
    rare = [c for c in fp.classes if c.pixel_fraction < RARE_PIXELS or c.image_fraction < RARE_IMAGES]
    if rare:
        names = ", ".join(f"{c.name} ({c.pixel_fraction:.1%} of pixels, in {c.image_fraction:.0%} of images)"
                          for c in rare)
        return PlanEntry(round(OVERSAMPLE, 3), f"random crops would mostly miss {names}: a third of the crops are "
                                               "centred on a pixel of a rare class")
    rarest = min(fp.classes, key=lambda c: c.pixel_fraction)
    return PlanEntry(0.0, f"every class is common (rarest: {rarest.name}, {rarest.pixel_fraction:.0%} of pixels)")


def choose_jitter(fp: Fingerprint) -> PlanEntry:
    jitter = round(min(0.3, max(0.1, 0.1 + fp.mean_spread)), 2)
    return PlanEntry(jitter, f"brightness/contrast +-{jitter:.0%}: image means vary by {fp.mean_spread:.0%} "
                             "(plus flips and quarter turns: microscopy has no up)")


def choose_pixel_size(fp: Fingerprint) -> PlanEntry:
    """The pixel size (µm, as ``PixelSize.to_dict()``) to resample training images to, or None: as stored.

    As nnU-Net's target spacing: the median of the images' pixel sizes, used only when some image is off it by
    more than the tolerance (resampling by less blurs more than it helps)."""
    sizes = fp.stated_pixel_sizes()
    if not sizes:
        return PlanEntry(None, "the images state no physical pixel size: each is used as stored")
    unknown = fp.labelled - len(sizes)
    also = f"; {unknown} image(s) state none and are used as stored" if unknown else ""
    target = median_pixel_size(sizes)
    off = sum(resample_factor(size, target) != 1.0 for size in sizes)
    if not off:
        return PlanEntry(None, f"every image is at {target} (within {TOLERANCE:.0%}): used as stored{also}")
    smallest, largest = min(sizes, key=lambda s: s.x), max(sizes, key=lambda s: s.x)
    return PlanEntry(target.to_dict(), f"pixel sizes range from {smallest} to {largest}: the {off} image(s) more "
                                       f"than {TOLERANCE:.0%} off the median are resampled to it, so objects have "
                                       f"one size in pixels; prediction resamples to it too{also}")


def choose_deform(patch_size: int) -> PlanEntry:
    if not patch_size:
        return PlanEntry(0.0, "whole images: no crops to rotate or deform")
    return PlanEntry(DEFORM, "half the crops rotated (any angle), scaled and elastically deformed at half the U-Net "
                             "paper's strength: gentler shapes helped in minutes of training, where full strength "
                             "slowed learning (docs/accuracy.md)")


def choose_normalisation(fp: Fingerprint) -> PlanEntry:
    if fp.dtype == "uint8":
        how = "8-bit: values / 255"
    else:
        how = (f"{fp.dtype} using {fp.bit_depth} bits: each image stretched between its 0.5 and 99.5 percentiles "
               "(robust to camera offsets and hot pixels)")
    return PlanEntry("dataset", f"{how}, then the training set's mean and std per channel; standardising each "
                                "image on its own (--normalise image) scored no better on the real sets "
                                "(docs/accuracy.md)")


def choose_tta(fp: Fingerprint, tp: Throughput, width: int) -> PlanEntry:
    per_mpx = tp.forward_s_per_mpx.get(str(width))
    if not per_mpx:
        return PlanEntry(False, "no inference time was measured")
    mpx = fp.median_size[0] * fp.median_size[1] / 1e6
    seconds = per_mpx * mpx * TTA_TRANSFORMS
    if seconds <= TTA_MAX_S:
        return PlanEntry(True, f"8 flips/rotations averaged: about {seconds:.1f} s per median image here")
    return PlanEntry(False, f"8 flips/rotations would take about {seconds:.0f} s per median image here "
                            f"(limit {TTA_MAX_S:g} s); turn on with --tta")


def make_plan(fp: Fingerprint, budget_s: float, tp: Throughput, user: dict | None = None,
              planning_s: float = 0.0, val_images: int = 1, crf_available: bool = True,
              given_in: str | None = None) -> Plan:
    """Plan a U-Net training run of ``budget_s`` seconds (planning included) for the fingerprinted data.

    ``user``: explicit settings (keys of ``USER_KEYS``) that override the plan's; ``val_images``: how many
    validation images the run will have (0: no CRF fitting, no best-epoch choice). Pure: same inputs, same plan.
    """
    user = {k: v for k, v in (user or {}).items() if v is not None}
    plan = Plan(float(budget_s), planning_s=float(planning_s), fingerprint=fp.to_dict(), throughput=tp.to_dict())
    e = plan.entries
    left = max(0.0, budget_s - planning_s)
    calibrate = crf_available and val_images > 0
    crf_s = min(CRF_SHARE * left, CRF_MAX_S) if calibrate else 0.0
    train_s = max(left - crf_s, 0.25 * left, MIN_TRAIN_SHARE * budget_s)  # planning may eat a tiny budget

    e["arch"] = PlanEntry("unet", "U-Net: strong on thin structures and cells, and the planner can size it")
    e["pixel_size"] = choose_pixel_size(fp)
    e["scale"] = choose_scale(fp)
    e["depth"] = choose_depth(fp)
    e["patch_size"] = choose_patch(fp, e["depth"].value, e["scale"].value)
    e["width"], e["steps"] = choose_width(train_s, tp)
    e["batch_size"] = PlanEntry(tp.batch_size, "batch norm needs a few samples per batch; more would cost steps")
    e["lr"] = PlanEntry(LR, "AdamW peak rate, with a short warm-up")
    e["train_minutes"] = PlanEntry(round(train_s / 60, 3), f"of the {human_duration(budget_s)}: "
                                   f"{human_duration(planning_s)} planning, {human_duration(crf_s)} fitting the CRF; "
                                   "the rate anneals (cosine) exactly over this time")
    e["epochs"] = PlanEntry(UNBOUNDED_EPOCHS, "no epoch count: the time decides")
    steps_per_val = max(MIN_STEPS_PER_EPOCH, int(e["steps"].value * VAL_SHARE / max(1, val_images)))
    e["epoch_samples"] = PlanEntry(steps_per_val * tp.batch_size,
                                   f"validate every {steps_per_val} steps (keeps validation under "
                                   f"{VAL_SHARE:.0%} of the time; the best validated model is kept)")
    e["oversample"] = choose_oversample(fp)
    e["jitter"] = choose_jitter(fp)
    e["deform"] = choose_deform(e["patch_size"].value)
    e["normalisation"] = choose_normalisation(fp)
    e["tta"] = choose_tta(fp, tp, e["width"].value)
    e["calibrate_crf"] = PlanEntry(calibrate, "fit the CRF on the validation images and keep it only if it helps"
                                   if calibrate else ("no validation images to fit the CRF on" if crf_available
                                                      else "pydensecrf is not installed"))
    _apply_user(plan, user, given_in)
    return plan


def _apply_user(plan: Plan, user: dict, given_in: str | None = None) -> None:
    flags = {"arch": "--arch", "width": "--width", "depth": "--arch-arg depth", "patch_size": "--patch-size",
             "batch_size": "-b",
             "lr": "-l", "epochs": "-e", "scale": "--scale", "deform": "--deform", "normalisation": "--normalise"}
    for key, value in user.items():
        if key not in flags:
            continue
        old = plan.entries.get(key)
        was = f"; the plan would use {_show(old.value)}" if old is not None and old.value != value else ""
        how = f"set {given_in}" if given_in else f"set with {flags[key]}"
        plan.entries[key] = PlanEntry(value, f"{how}{was}", "user")
    if "patch_size" in user and "deform" not in user:  # the user's whole images have no crops to deform
        plan.entries["deform"] = choose_deform(user["patch_size"])
    if "epochs" in user:
        plan.entries["epochs"].reason += " (an upper bound; the time limit still applies)"
    if user.get("arch", "unet") != "unet":
        for key in ("width", "depth"):
            if key not in user:
                plan.entries[key] = PlanEntry(None, f"not used by {user['arch']} (its own defaults)")
