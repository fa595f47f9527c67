"""The line under Train: what Train will do with the time budget in the field, said as the budget changes.

A newcomer set 0.5 min and got no remark: planning (about 10-12 s: measuring the images, probing this machine,
docs/accuracy.md) takes a good part of so short a budget, and the plan's network then gets a few dozen optimiser
steps where a usable one needs hundreds. Such a budget is allowed (a quick trial of the whole flow), and said to
be one.
"""

from __future__ import annotations

from segcore.durations import human_duration
from segcore.planning.plan import Plan

SHORT_BUDGET_MIN = 2.0  # below this, a budget gives a trial, not a model (5 min gives ~650 steps on a CPU)
USUAL_MINUTES = 5


def short_budget_note(minutes: float) -> str:
    """The remark on a budget too short for a usable model ("" for a longer one, or none)."""
    if not 0 < minutes < SHORT_BUDGET_MIN:
        return ""
    return (f"{human_duration(minutes * 60)} is a trial only: planning takes about 10 s of it and the network "
            f"barely learns ({USUAL_MINUTES}+ min for a usable model).")


def budget_line(minutes: float, plan: Plan | None, plan_summary: str = "") -> str:
    """What Train does with ``minutes`` (0: no budget); ``plan``: the plan shown (None: none yet), whose one-line
    ``plan_summary`` is said when the budget is still that plan's."""
    if minutes <= 0:
        return "No time budget: the Advanced settings are the whole recipe."
    if plan is not None and abs(plan.budget_s - minutes * 60) < 0.5:
        return plan_summary
    if note := short_budget_note(minutes):
        return note
    budget = human_duration(minutes * 60)
    if plan is None:
        return f"Train plans a {budget} run for this folder and this machine, then trains (Show plan: now)."
    return (f"The plan shown is for {human_duration(plan.budget_s)}: Train plans again for {budget} first "
            "(Show plan: now).")


def planned_model(plan: Plan) -> str | None:
    """The U-Net options ``plan`` trains with, as the Model options field writes them ("width=16, depth=4");
    None for a plan without them."""
    entries = plan.entries
    if "width" not in entries or "depth" not in entries:
        return None
    return f"width={entries['width'].value}, depth={entries['depth'].value}"
