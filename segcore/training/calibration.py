"""The checks after training: decide the best model's test-time augmentation (:mod:`segcore.tta_fit`) and fit the
dense CRF to it (:mod:`segcore.crf_fit`) on the validation images; both records go into both checkpoints.

It works from the saved best.pt through :class:`~segcore.inference.Predictor`, as prediction will, so it needs
no trainer: the checkpoints, the validation images, what to check, the time the training plan set aside and a
stop check. A StageEvent comes before each image predicted and each CRF setting tried, so a progress bar keeps
moving; a stop request ends the work with what was done so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path

from segcore import checkpoint as ckpt
from segcore.data.classes import ClassSpec
from segcore.data.layout import Sample, load_sample
from segcore.interop.physical import of_file
from segcore.training.events import Event, LogEvent, StageEvent

MIN_CRF_SECONDS = 5.0  # the CRF fit tries at least its first setting, however little of the plan's time is left


def calibrate(checkpoints: tuple[Path, Path], samples: Sequence[Sample], spec: ClassSpec, *, tta: bool, crf: bool,
              device: str, fast: bool, seconds: float, stop: Callable[[], bool]) -> Generator[Event, None, str]:
    """Check TTA (when ``tta``) and fit the CRF (when ``crf`` and pydensecrf is installed) with the model in
    ``checkpoints`` = (best.pt, last.pt) on ``samples``; the CRF fit ends ``seconds`` from now (at least
    ``MIN_CRF_SECONDS``). Returns what the run's message adds ("" or how a stop request cut the work short)."""
    from segcore.crf import is_available as crf_installed

    want_crf = crf and crf_installed()
    if crf and not want_crf:
        yield LogEvent("CRF not fitted: pydensecrf is not installed (pip install pydensecrf2)")
    if not (tta or want_crf):
        return ""
    deadline = time.perf_counter() + seconds
    yield LogEvent(f"checking test-time augmentation{' and fitting the CRF' if want_crf else ''} on "
                   f"{len(samples)} validation image(s)")
    stage = " and ".join([*(["Checking test-time augmentation"] if tta else []),
                          *(["Fitting the CRF"] if want_crf else [])])
    items = yield from _predict(checkpoints[0], samples, spec, tta, device, fast, stage, stop)
    if items is None:
        yield LogEvent("TTA not checked, CRF not fitted: stop requested")
        return "; the checks after training were skipped (stop requested)"
    use_tta = False
    if tta:
        from segcore import tta_fit

        fit = tta_fit.fit_tta([(r, a, t) for _, r, t, a in items], spec.num_classes)
        _store(checkpoints, "tta_fit", fit)
        use_tta = fit["helps"]
        yield LogEvent(tta_fit.describe(fit))
    if not want_crf:
        return ""
    return (yield from _fit_crf([(i, a if use_tta else r, t) for i, r, t, a in items], spec.num_classes,
                                max(MIN_CRF_SECONDS, deadline - time.perf_counter()), checkpoints, stop))


def _predict(best_path: Path, samples: Sequence[Sample], spec: ClassSpec, tta: bool, device: str, fast: bool,
             stage: str, stop: Callable[[], bool]) -> Generator[StageEvent, None, list | None]:
    """(image, raw probabilities, target, TTA-averaged probabilities or None) for each of ``samples``, with a
    StageEvent before each; None when a stop request comes first."""
    from segcore.inference import Predictor

    raw = Predictor(best_path, device=device, fast=fast, tta=False)
    averaged = Predictor(best_path, device=device, fast=fast, tta=True) if tta else None
    items = []
    for n, sample in enumerate(samples, start=1):
        if stop():
            return None
        yield StageEvent(f"{stage}: predicting", n, len(samples))
        image, target = load_sample(sample, spec)
        pixel_size = of_file(sample.image)
        items.append((image, raw.predict_proba(image, pixel_size), target,
                      averaged.predict_proba(image, pixel_size) if averaged else None))
    return items


def _fit_crf(items: list, num_classes: int, seconds: float, checkpoints: tuple[Path, Path],
             stop: Callable[[], bool]) -> Generator[Event, None, str]:
    """Fit the CRF on ``items`` (segcore.crf_fit), a StageEvent per setting; a stop request ends the search with
    the settings tried so far. Returns what the run's message adds."""
    from segcore import crf_fit

    steps = crf_fit.fit_crf_steps(items, num_classes, seconds, stop=stop)
    while True:
        try:
            n, of = next(steps)
        except StopIteration as end:
            fit = end.value
            break
        yield StageEvent("Fitting the CRF", n, of, "setting")
    if fit is None:
        yield LogEvent("CRF not fitted: stop requested")
        return "; the CRF fit was skipped (stop requested)"
    _store(checkpoints, "crf", fit)
    yield LogEvent(crf_fit.describe(fit))
    cut = stop() and fit["tried"] < fit["of"]
    return f"; the CRF fit was cut short by the stop request ({fit['tried']} of {fit['of']} settings tried)" \
        if cut else ""


def _store(checkpoints: tuple[Path, Path], key: str, value: dict) -> None:
    """Record ``value`` as ``key`` in each of ``checkpoints`` that exists."""
    for path in checkpoints:
        if path.exists():
            data = ckpt.load(path)
            data[key] = value
            ckpt.save(path, data)
