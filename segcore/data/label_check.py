"""Whether the labels of a training run can teach what the user expects, checked before the first epoch.

Masks that are all background, a class that no training mask holds, a validation split without one of the
classes: training would run to the end and report a Dice of 0 (or none) without a word. ``check_labels``
refuses the first (nothing to learn) and returns a warning line for the others.
"""

from __future__ import annotations

import numpy as np

from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.errors import DataError


def class_pixels(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of each class over a :class:`SegmentationDataset`'s masks, ``int64 (K,)``, and the number of masks
    holding each class, ``int64 (K,)``; unlabelled pixels count nowhere."""
    k = dataset.spec.num_classes
    pixels, masks = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
    for i in range(len(dataset)):
        counts = np.bincount(dataset.arrays(i)[1].ravel(), minlength=256)
        counts[IGNORE_INDEX] = 0
        pixels += counts[:k]
        masks += counts[:k] > 0
    return pixels, masks


def _name(spec: ClassSpec, index: int) -> str:
    value = "" if spec.instances else f" (value {spec.values[index]})"
    return f"'{spec.names[index]}'{value}"


def check_labels(train, val, spec: ClassSpec) -> list[str]:
    """Warnings about the training and validation masks (datasets; ``val`` may be None).

    Raises DataError when the training masks hold fewer than two classes: a model cannot learn to tell apart
    what the masks never show apart (every mask all background, say).
    """
    pixels, _ = class_pixels(train)
    present = [c for c in range(spec.num_classes) if pixels[c]]
    if not present:
        raise DataError(f"the {len(train)} training masks hold no labelled pixel (all \"unlabelled\"): there is "
                        "nothing to learn; paint at least two classes")
    if len(present) == 1:
        only, others = present[0], [c for c in range(spec.num_classes) if c != present[0]]
        missing = _name(spec, others[0]) if len(others) == 1 else "the other classes"
        raise DataError(f"every training mask ({len(train)}, e.g. {train.samples[0].mask.name}) holds only "
                        f"{_name(spec, only)}: there is nothing to learn; paint {missing} on at least one image")
    warnings = [f"class {_name(spec, c)} is in no training mask: the model cannot learn it"
                for c in range(spec.num_classes) if not pixels[c]]
    if val is not None and len(val):
        val_pixels, _ = class_pixels(val)
        lacking = [c for c in present if not val_pixels[c]]
        if lacking:
            names = ", ".join(_name(spec, c) for c in lacking)
            warnings.append(f"no validation mask holds {names}: its Dice is not measured and the best epoch is "
                            "chosen without it; put an image that has it into validation (the val/ folder, or "
                            "another --seed)")
    return warnings
