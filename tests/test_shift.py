"""segcore.shift: warnings for images unlike the training data (issue #19 item 9: false confidence)."""

from __future__ import annotations

import numpy as np

from segcore import shift


def reference(**changes) -> shift.Reference:
    fingerprint = {"min_size": [256, 256], "max_size": [512, 512], "percentiles": [[10.0, 80.0, 200.0]],
                   "classes": [{"pixel_fraction": 0.85, "object_diameter": 0.0},
                               {"pixel_fraction": 0.15, "object_diameter": 12.0}]}
    fingerprint.update(changes)
    return shift.Reference(fingerprint, [0.3], [0.1], ["background", "nucleus"])


def blobs(size: int, diameter: int, count: int = 6) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    for i in range(count):
        cy, cx = 30 + 40 * (i // 3), 30 + 60 * (i % 3)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= (diameter / 2) ** 2] = 1
    return mask


def test_an_image_like_the_training_data_gets_no_warning():
    image = np.full((300, 300), 80, np.uint8)
    assert shift.differences(image, blobs(300, 12), reference()) == []
    assert shift.warning([]) == ""


def test_objects_twice_as_large_suggest_another_magnification():
    image = np.full((300, 300), 80, np.uint8)
    notes = shift.differences(image, blobs(300, 26), reference())
    assert len(notes) == 1 and "2.2x the size" in notes[0] and "magnification" in notes[0]
    assert shift.warning(notes).startswith("Unlike the training images")


def test_a_class_covering_most_of_the_image_is_flagged():
    mask = np.ones((300, 300), np.uint8)
    mask[:40] = 0
    notes = shift.differences(np.full((300, 300), 80, np.uint8), mask, reference())
    assert notes == ["nucleus covers 87% of it, 15% of the training pixels"]


def test_size_and_intensity_outside_the_training_range():
    image = np.full((4000, 3000), 250, np.uint8)
    notes = shift.differences(image, np.zeros((4000, 3000), np.uint8), reference())
    assert any("3000x4000 px" in n for n in notes) and any("median 250" in n for n in notes)


def test_without_a_fingerprint_the_normalisation_statistics_judge_the_brightness():
    ref = shift.Reference(None, [0.3], [0.1], ["background", "nucleus"])
    assert shift.differences(np.full((50, 50), 76, np.uint8), np.zeros((50, 50), np.uint8), ref) == []
    notes = shift.differences(np.full((50, 50), 250, np.uint8), np.zeros((50, 50), np.uint8), ref)
    assert notes == ["it is much brighter than the training images"]


def test_the_reference_comes_from_a_planned_checkpoint():
    from segcore.checkpoint import prediction_info

    data = {"config": {"plan": {"fingerprint": {"min_size": [1, 1]}}}, "normalization": {"mean": [0.5], "std": [0.2]},
            "classes": {"names": ["a", "b"]}}
    ref = shift.Reference.from_checkpoint(prediction_info(data))
    assert ref.fingerprint == {"min_size": [1, 1]} and ref.mean == [0.5] and ref.class_names == ["a", "b"]
    assert shift.Reference.from_checkpoint(prediction_info({"config": {}})).fingerprint is None


def test_every_run_keeps_the_fingerprint_a_planned_one_had(tmp_path):
    """Shift warnings worked only for planned runs (#19): a fixed-recipe run now keeps its training data's
    fingerprint in its checkpoints, and prediction reads it from there first."""
    import segcore
    from segcore import checkpoint
    from segcore.data.sample import write_sample_data

    data = tmp_path / "data"
    write_sample_data(data, count=4, size=64)
    done = segcore.train(str(data), epochs=1, batch_size=2, patch_size=32, arch_kwargs={"width": 4, "depth": 2},
                         out=str(tmp_path / "run"))
    saved = checkpoint.load(done.last_path)
    assert saved["config"]["plan"] is None and list(saved["fingerprint"]["max_size"]) == [64, 64]
    ref = shift.Reference.from_checkpoint(checkpoint.prediction_info(saved))
    notes = shift.differences(np.zeros((600, 600, 3), np.uint8), np.zeros((600, 600), np.uint8), ref)
    assert notes[0] == "the image is 600x600 px; the training images were 64-64 px a side"
