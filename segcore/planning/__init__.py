"""Self-configuring training: a dataset fingerprint, a measured throughput probe, and a plan made from both.

The idea is nnU-Net's (Isensee et al., Nature Methods 2021: plan the pipeline from a dataset fingerprint), made
for minutes on any CPU or GPU instead of days on a GPU: the plan also knows the time budget and how fast this
machine trains each candidate network, measured, not looked up.

    fingerprint(DATA) -> Fingerprint      what the images and masks are like        (fingerprint.py)
    probe(...)        -> Throughput       seconds per step of candidate networks     (probe.py)
    make_plan(fp, budget_s, throughput)   every choice with its reason in words      (plan.py, pure)

Qt-free; torch is imported only by the probe.
"""

from segcore.planning.fingerprint import ClassStats, Fingerprint, fingerprint
from segcore.planning.plan import Plan, PlanEntry, make_plan

__all__ = ["ClassStats", "Fingerprint", "Plan", "PlanEntry", "fingerprint", "make_plan"]
