"""Scribble-to-mask: strokes completed by the dense CRF, with and without a model, and every refusal."""

from __future__ import annotations

import numpy as np
import pytest

from bench.scribble_synth import skeleton_scribbles
from segcore import scribbles
from segcore.data.classes import IGNORE_INDEX
from segcore.errors import DataError

pytest.importorskip("pydensecrf.densecrf")


def square_image(size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """A bright square on a dark noisy background, and its true mask."""
    rng = np.random.default_rng(0)
    image = rng.integers(20, 60, (size, size, 1)).astype(np.uint8)
    truth = np.zeros((size, size), np.uint8)
    truth[24:72, 24:72] = 1
    image[truth == 1] += 150
    return image, truth


def strokes(size: int = 96) -> np.ndarray:
    labels = np.full((size, size), IGNORE_INDEX, np.uint8)
    labels[46:49, 30:66] = 1  # a stroke across the square
    labels[8:11, 8:88] = 0  # one along the top of the background
    return labels


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.sum((a == 1) & (b == 1)) / (np.sum(a == 1) + np.sum(b == 1))


def test_two_strokes_complete_the_square():
    image, truth = square_image()
    proposal = scribbles.propose(image, strokes(), 2)
    assert proposal.mask.dtype == np.uint8 and proposal.mask.shape == truth.shape
    assert proposal.probabilities.shape == (2, *truth.shape)
    assert dice(proposal.mask, truth) > 0.95
    assert proposal.unreached_fraction < 0.01 and proposal.seconds > 0


def test_a_small_spread_leaves_far_pixels_unlabelled():
    image, _ = square_image(160)
    labels = np.full((160, 160), IGNORE_INDEX, np.uint8)
    labels[30:32, 30:40] = 1
    labels[36:38, 10:20] = 0
    near = scribbles.propose(image, labels, 2, spread=5)
    far = scribbles.propose(image, labels, 2, spread=300)
    assert near.mask[150, 150] == IGNORE_INDEX and near.unreached_fraction > 0.3
    assert far.unreached_fraction < near.unreached_fraction


def test_strokes_win_over_the_model_and_the_model_fills_the_rest():
    image, truth = square_image()
    model = np.stack([1.0 - truth, truth]).astype(np.float32) * 0.98 + 0.01
    labels = np.full(truth.shape, IGNORE_INDEX, np.uint8)
    labels[40:44, 40:44] = 0  # the user says: this bit inside the square is background
    proposal = scribbles.propose(image, labels, 2, model_probabilities=model)
    assert (proposal.mask[40:44, 40:44] == 0).all()
    assert dice(proposal.mask, truth) > 0.9  # one class scribbled is enough with a model


@pytest.mark.parametrize("labels, model, message", [
    (np.zeros((96, 96), np.uint8), None, "no unlabelled pixels"),
    (np.full((96, 96), IGNORE_INDEX, np.uint8), None, "at least two classes"),
    (np.full((96, 96), IGNORE_INDEX, np.uint8), "model", "at least one stroke"),
    (np.full((50, 96), IGNORE_INDEX, np.uint8), None, "96x50 but the image is 96x96"),
])
def test_what_cannot_be_completed_says_what_to_do(labels, model, message):
    image, truth = square_image()
    probs = np.stack([1.0 - truth, truth]).astype(np.float32) if model else None
    with pytest.raises(DataError, match=message):
        scribbles.propose(image, labels, 2, model_probabilities=probs)


def test_bad_spread_class_and_model_shape_are_refused():
    image, truth = square_image()
    with pytest.raises(DataError, match="spread"):
        scribbles.propose(image, strokes(), 2, spread=1000)
    labels = strokes()
    labels[0, 0] = 5
    with pytest.raises(DataError, match="class 5"):
        scribbles.propose(image, labels, 2)
    with pytest.raises(DataError, match="model probabilities"):
        scribbles.propose(image, strokes(), 2, model_probabilities=np.full((2, 10, 10), 0.5, np.float32))


def test_synthetic_skeleton_scribbles_cover_the_share_asked_with_true_labels():
    _, truth = square_image(160)
    labels = skeleton_scribbles(truth, 0.03, seed=1)
    drawn = labels != IGNORE_INDEX
    assert 0.01 < drawn.mean() < 0.06
    assert (labels[drawn] == truth[drawn]).all()
    assert set(np.unique(labels[drawn])) == {0, 1}


def test_published_scribbles_agree_with_the_published_crf_output(crf_examples_dir):
    from segcore import crf_inputs
    from segcore.data import io

    image = io.read_image(crf_examples_dir / "images" / "im3.png")
    labels, spec = crf_inputs.read_label_mask(crf_examples_dir / "masks" / "im3.png")
    reference = io.read_image(crf_examples_dir / "reference" / "out3.png")[..., :3].astype(int)
    colours = np.array(spec.colors)
    truth = np.argmin(((reference[:, :, None] - colours[None, None]) ** 2).sum(-1), axis=2)
    proposal = scribbles.propose(image, labels, spec.num_classes)
    assert (proposal.mask == truth).mean() > 0.9
