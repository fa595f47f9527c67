"""Plan a training run for a folder: fingerprint it, probe this machine, make the plan (what `--minutes` does)."""

from __future__ import annotations

import time
from collections.abc import Callable

from segcore.errors import ConfigError
from segcore.planning.fingerprint import fingerprint
from segcore.planning.plan import (
    BATCH_SIZE,
    WIDTHS,
    Plan,
    choose_depth,
    choose_patch,
    choose_scale,
    make_plan,
)
from segcore.planning.probe import MAX_PROBE_S, probe

PROBE_SHARE = 0.05  # of the budget, at most, for the throughput probe


def plan_training(config, minutes: float, user: dict | None = None,
                  log: Callable[[str], None] | None = None, given_in: str | None = None) -> Plan:
    """The plan for training ``config.data`` in ``minutes`` on ``config.device`` (planning time included).

    ``user``: the settings the user gave explicitly (``TrainConfig`` field names: arch, width, patch_size,
    batch_size, lr, epochs, scale); they win over the plan's and the plan says so (``given_in``: where they were
    set, e.g. "under Advanced"; default: the command-line flag). Raises DataError for a
    folder without masks and ConfigError for a bad budget or device.
    """
    from segcore import crf
    from segcore.data.layout import find_samples, load_class_spec, split_samples

    if not minutes or minutes <= 0:
        raise ConfigError(f"the time budget must be a positive number of minutes, got {minutes}")
    user = {k: v for k, v in (user or {}).items() if v is not None}
    start = time.perf_counter()
    samples = find_samples(config.data)
    spec = load_class_spec(config.data, samples)
    fp = fingerprint(config.data, samples, spec)
    if log:
        log(f"fingerprint of {fp.measured} image(s) in {fp.seconds:.1f} s")
    labelled = [s for s in samples if s.mask is not None]
    _, val = split_samples(labelled, config.val_fraction, config.seed, spec, config.val_images)
    depth = user.get("depth", choose_depth(fp).value)
    scale = user.get("scale", choose_scale(fp).value)
    patch = user.get("patch_size") or choose_patch(fp, depth, scale).value
    widths = [user["width"]] if "width" in user else list(WIDTHS)
    budget_s = minutes * 60
    tp = probe(fp.channels, spec.num_classes, patch, depth, widths, user.get("batch_size", BATCH_SIZE),
               config.device, config.fast, max_s=min(MAX_PROBE_S, PROBE_SHARE * budget_s))
    if log:
        log(f"throughput probe on {tp.device} in {tp.seconds:.1f} s")
    return make_plan(fp, budget_s, tp, user, time.perf_counter() - start, len(val), crf.is_available(), given_in)
