"""Dense and sparse masks: how much of a mask is labelled.

A mask painted with a few strokes (scribbles) or a proposal the CRF left partly undecided holds mostly unlabelled
pixels (``IGNORE_INDEX``). Training learns from its labelled pixels, evaluation scores only those, but such a mask
must never be a *validation* image: a Dice measured on a few thousand stroke pixels says little about the model
and would choose best.pt by noise. A mask is **dense** when at least ``DENSE_FRACTION`` of its pixels are
labelled; the margin leaves room for the "ignore" borders some data sets draw around objects (PASCAL VOC's are
about 5 % of the pixels).
"""

from __future__ import annotations

import numpy as np

from segcore.data.classes import IGNORE_INDEX

DENSE_FRACTION = 0.9


def labelled_fraction(mask: np.ndarray) -> float:
    """Share of the pixels of ``mask`` (class indices, uint8 (H, W)) that are not ``IGNORE_INDEX``; 0 when empty."""
    return float(np.count_nonzero(mask != IGNORE_INDEX) / mask.size) if mask.size else 0.0


def is_dense(fraction: float) -> bool:
    """Whether a mask with this labelled ``fraction`` may validate and counts as a full annotation."""
    return fraction >= DENSE_FRACTION


def describe_sparse(names_and_fractions: list[tuple[str, float]], total: int) -> str:
    """One sentence on the sparse masks among ``total`` scored ones ("" when none): how many, and an example."""
    if not names_and_fractions:
        return ""
    name, fraction = names_and_fractions[0]
    count = len(names_and_fractions)
    return (f"{count} of {total} mask{'s' if total != 1 else ''} {'is' if count == 1 else 'are'} sparse (under "
            f"{DENSE_FRACTION:.0%} of the pixels labelled, e.g. {name}: {fraction:.0%}): scored on "
            f"{'its' if count == 1 else 'their'} labelled pixels only")
