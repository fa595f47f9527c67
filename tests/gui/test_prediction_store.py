"""Predicted masks beyond the memory budget go to a temporary folder and come back identical."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.state.prediction_store import PredictionStore


def test_masks_beyond_the_budget_are_spilled_and_read_back():
    rng = np.random.default_rng(0)
    masks = {Path(f"img_{i}.png"): rng.integers(0, 3, (64, 64), dtype=np.uint8) for i in range(5)}
    store = PredictionStore(budget=2 * 64 * 64)  # two masks fit in memory
    for path, mask in masks.items():
        store.put(path, mask)
    assert len(store) == 5 and store.memory_bytes == 2 * 64 * 64
    spilled = list(Path(store._folder.name).glob("*.npz"))
    assert len(spilled) == 3
    for path, mask in masks.items():
        assert path in store and (store.get(path) == mask).all()
    assert (store.pop(Path("img_4.png")) == masks[Path("img_4.png")]).all()
    assert Path("img_4.png") not in store and len(list(Path(store._folder.name).glob("*.npz"))) == 2
    store.put(Path("img_0.png"), masks[Path("img_1.png")])  # replacing frees the old one first
    assert (store.get(Path("img_0.png")) == masks[Path("img_1.png")]).all()
    folder = Path(store._folder.name)
    store.clear()
    assert len(store) == 0 and store.get(Path("img_1.png")) is None and not folder.exists()
