"""A pyramidal OME-TIFF in the window: the level chooser, the pixel size in the status bar and the scale bar,
painting at a coarse level saved at full resolution, and Segment on the level shown, resampled to the model's
pixel size."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch

from app.views.scale_bar import length_text, nice_length
from segcore.annotate import levels
from segcore.data import io
from segcore.data.classes import ClassSpec

from .conftest import drag
from .test_train_flow import TIMEOUT, click

pytestmark = pytest.mark.gui
SPEC = ClassSpec(["background", "cell"], [0, 255])


def _slide(folder, um=0.5):
    """images/slide.ome.tif, 256 / 128 / 64 pixels at 0.5 / 1 / 2 µm, and a full-resolution mask with a
    1-pixel line no coarser level can show."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 60, (256, 256), dtype=np.uint8)
    image[64:192, 64:192] = 200
    (folder / "images").mkdir(parents=True)
    with tifffile.TiffWriter(folder / "images" / "slide.ome.tif") as tif:
        tif.write(image, subifds=2, metadata={"axes": "YX", "PhysicalSizeX": um, "PhysicalSizeY": um})
        tif.write(image[::2, ::2], subfiletype=1)
        tif.write(image[::4, ::4], subfiletype=1)
    mask = np.zeros((256, 256), np.uint8)
    mask[10, 20:200] = 1
    io.write_mask(folder / "masks" / "slide.png", mask, SPEC)
    SPEC.save(folder)
    return folder


@pytest.fixture
def slide_window(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(levels, "MAX_SHOWN_PIXELS", 128 * 128)  # a small screen: level 1 by default
    assert window.open_folder(_slide(tmp_path / "data"))
    return window


def test_the_level_shown_its_pixel_size_and_a_scale_bar(qtbot, slide_window, tmp_path):
    window = slide_window
    labels = window.status_labels
    assert labels.level.isVisible() and labels.level.count() == 3 and labels.level.currentIndex() == 1
    assert labels.level.currentText() == "Level 1 · 128×128"
    assert "slide.ome.tif · 128×128" in labels.image.full_text() and "1 µm/pixel" in labels.image.full_text()
    window.canvas.hovered.emit(30, 20)  # what a mouse move there reports (test_window moves a real pointer)
    assert labels.position.text().startswith("x 30  y 20 (30.5, 20.5 µm)")
    bar, viewport = window.scale_bar, window.canvas.viewport().geometry()
    um_per_screen_px = 1.0 / window.canvas.zoom()
    assert bar.isVisible() and viewport.contains(bar.geometry())
    assert bar.bar_length() == nice_length(um_per_screen_px)  # a round length, about 120 screen pixels
    window.canvas.zoom_by(4)
    assert bar.bar_length()[0] < nice_length(um_per_screen_px)[0]  # zoomed in: a shorter length
    window.grab().save(str(tmp_path / "pyramid_window.png"))


def test_scale_bar_lengths_are_round_and_written_in_the_right_unit():
    assert nice_length(0.5) == (50, 100)  # 60 µm wanted: 50 µm is the nearest round length
    assert nice_length(0.004)[0] == 0.5 and length_text(0.5) == "500 nm"
    assert nice_length(20.0)[0] == 2000 and length_text(2000) == "2 mm"
    for um_per_px in np.geomspace(1e-3, 1e3, 40):
        length, px = nice_length(um_per_px)
        assert 60 <= px <= 240 and f"{length / 10 ** np.floor(np.log10(length)):.3g}" in ("1", "2", "5")


def test_painting_at_level_1_is_saved_at_full_resolution_then_level_0_shows_it(qtbot, slide_window):
    window = slide_window
    drag(qtbot, window, [(100.0, 100.0), (110.0, 100.0)])
    window.status_labels.level.setCurrentIndex(0)
    window.status_labels.level.activated.emit(0)  # what choosing it in the list does
    assert window.session.image.shape[:2] == (256, 256) and not window.session.dirty
    assert window.status_labels.level.currentIndex() == 0 and "0.5 µm/pixel" in window.status_labels.image.full_text()
    saved = io.read_mask(window.session.samples[0].mask, SPEC)
    assert saved.shape == (256, 256) and saved[10, 20:200].all()  # the fine line kept
    assert saved[200, 200:220].all()  # the stroke, at full resolution
    assert np.array_equal(window.session.mask, saved)


def test_a_plain_image_shows_no_level_chooser_and_no_scale_bar(qtbot, window, folder):
    assert window.open_folder(folder)
    assert not window.status_labels.level.isVisible() and not window.scale_bar.isVisible()
    assert "µm" not in window.status_labels.image.full_text()


def test_segment_runs_on_the_level_shown_resampled_to_the_models_pixel_size(qtbot, slide_window, make_checkpoint):
    window = slide_window
    path = make_checkpoint(in_channels=1, name="at_half.pt")
    data = torch.load(path, weights_only=True)
    data["pixel_size"] = {"y_um": 0.5, "x_um": 0.5}  # learned at 0.5 µm; level 1 shows 1 µm pixels
    torch.save(data, path)
    prediction, panel = window.jobs.prediction, window.jobs.prediction_panel
    with qtbot.waitSignal(prediction.modelLoaded, timeout=TIMEOUT):
        prediction.load(path)
    qtbot.waitUntil(lambda: not prediction.busy(), timeout=TIMEOUT)
    click(qtbot, panel.segment)
    qtbot.waitUntil(lambda: prediction.current_prediction() is not None and not prediction.busy(), timeout=TIMEOUT)
    assert prediction.current_prediction().shape == (128, 128)
    assert "Image at 1 µm/pixel, the model learned at 0.5 µm/pixel: segmented resampled x2" in panel.status.text()
    predicted = prediction.current_prediction().copy()
    prediction.accept()
    assert np.array_equal(window.session.mask, predicted) and window.session.save()
    saved = io.read_mask(window.session.samples[0].mask, SPEC)
    assert saved.shape == (256, 256) and np.array_equal(saved[1::2, 1::2], predicted)  # full resolution on disk


def test_the_uncertainty_overlay_is_measured_on_the_level_shown(qtbot, slide_window, make_checkpoint):
    """The queue scores an image as Segment segments it: at the pyramid level on screen, so its map and
    prediction fit the image shown (a full-resolution read of a slide may not even fit in memory)."""
    window = slide_window
    path = make_checkpoint(in_channels=1, name="plain.pt")
    prediction, assist = window.jobs.prediction, window.jobs.assist
    with qtbot.waitSignal(prediction.modelLoaded, timeout=TIMEOUT):
        prediction.load(path)
    qtbot.waitUntil(lambda: not prediction.busy(), timeout=TIMEOUT)
    assist.panel.toggle.setChecked(True)  # not scored yet: the image on screen is scored now
    qtbot.waitUntil(lambda: not assist.uncertainty.busy() and assist.uncertainty.layer.isVisible(), timeout=TIMEOUT)
    image = window.session.current_path()
    assert assist.uncertainty.scores.map(image).shape == (128, 128)
    assert assist.uncertainty.layer.shown_map.shape == window.session.image.shape[:2] == (128, 128)
