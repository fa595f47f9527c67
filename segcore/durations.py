"""Durations in words for people: ``53 s``, ``4 min 10 s``, ``1 h 05 min``, never ``0.881 min``.

Every message that states a time span (plans, progress, the end of a run, the window) goes through
:func:`human_duration`, so one budget reads the same in the CLI, the log and the window.
"""

from __future__ import annotations

import math


def human_duration(seconds: float) -> str:
    """A time span in words, rounded to what a person can use.

    ``0.4`` -> ``"0.4 s"``, ``9.96`` -> ``"10 s"``, ``53`` -> ``"53 s"``, ``60`` -> ``"1 min"``,
    ``250`` -> ``"4 min 10 s"``, ``3725`` -> ``"1 h 02 min"`` (seconds are left out from an hour on), ``inf`` or
    NaN -> ``"unknown"``. Negative spans read as ``"0 s"``.
    """
    if not math.isfinite(seconds):
        return "unknown"
    seconds = max(0.0, float(seconds))
    if seconds < 9.95:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    minutes = int(round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"


def human_minutes(minutes: float) -> str:
    """:func:`human_duration` of a span given in minutes (``0.881`` -> ``"53 s"``, ``1.5`` -> ``"1 min 30 s"``)."""
    return human_duration(minutes * 60)
