"""Metrics checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from segcore.metrics import confusion_matrix, scores


def test_confusion_matrix_counts_by_hand():
    target = np.array([[0, 0, 1], [1, 1, 255]])
    pred = np.array([[0, 1, 1], [0, 1, 1]])
    cm = confusion_matrix(pred, target, 2)
    # truth 0: one right, one predicted 1; truth 1: two right, one predicted 0; the 255 pixel counts nowhere.
    assert cm.tolist() == [[1, 1], [1, 2]]


def test_scores_by_hand():
    cm = np.array([[1, 1], [1, 2]])
    s = scores(cm, ["bg", "fg"])
    # class 1: tp=2 fp=1 fn=1 -> dice 4/6, iou 2/4, precision 2/3, recall 2/3
    assert s["dice"][1] == pytest.approx(4 / 6)
    assert s["iou"][1] == pytest.approx(0.5)
    assert s["precision"][1] == pytest.approx(2 / 3)
    assert s["recall"][1] == pytest.approx(2 / 3)
    # class 0: tp=1 fp=1 fn=1 -> dice 2/4
    assert s["dice"][0] == pytest.approx(0.5)
    assert s["accuracy"] == pytest.approx(3 / 5)
    assert s["mean_dice"] == pytest.approx(4 / 6)  # background excluded
    assert s["names"] == ["bg", "fg"]


def test_absent_class_is_nan_and_left_out_of_mean():
    target = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 1, 1])
    s = scores(confusion_matrix(pred, target, 3))
    assert math.isnan(s["dice"][2])
    assert s["mean_dice"] == pytest.approx(1.0)


def test_torch_and_numpy_agree():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    target = rng.integers(0, 3, (4, 16, 16))
    target[0, :2] = 255
    pred = rng.integers(0, 3, (4, 16, 16))
    cm_np = confusion_matrix(pred, target, 3)
    cm_t = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(target), 3)
    assert np.array_equal(cm_np, cm_t.numpy())


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="pixels"):
        confusion_matrix(np.zeros(4), np.zeros(5), 2)
