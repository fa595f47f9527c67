"""Durations in words (issue #19: the plan said "0.881 min" for a one-minute budget)."""

from __future__ import annotations

import math

import pytest

from segcore.durations import human_duration, human_minutes


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (0.44, "0.4 s"), (3, "3 s"), (9.96, "10 s"), (53.2, "53 s"), (59.6, "1 min"), (60, "1 min"),
    (75, "1 min 15 s"), (250, "4 min 10 s"), (3599.4, "59 min 59 s"), (3600, "1 h"), (3725, "1 h 02 min"),
    (-5, "0 s"), (math.inf, "unknown"), (math.nan, "unknown"),
])
def test_a_duration_reads_as_people_say_it(seconds, text):
    assert human_duration(seconds) == text


def test_minutes_of_a_plan_become_minutes_and_seconds():
    assert (human_minutes(0.881), human_minutes(1.5), human_minutes(10)) == ("53 s", "1 min 30 s", "10 min")


def test_the_plan_table_and_its_reasons_say_no_fraction_of_a_minute():
    from segcore.planning.plan import Plan, PlanEntry

    plan = Plan(60.0, {"train_minutes": PlanEntry(0.881, "of the 1 min")}, planning_s=4.2)
    table = plan.table()
    assert table.splitlines()[0] == "plan for 1 min (4.2 s of it spent planning)"
    assert "53 s" in table and "0.881" not in table
