"""Side-by-side comparison figure: difference counts, panel contents, legend, file names, image types."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segcore import compare
from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.errors import DataError

SPEC = ClassSpec(["background", "nucleus", "stroma"], [0, 1, 2])


def _masks():
    raw = np.zeros((30, 40), np.uint8)
    raw[5:15, 5:15] = 1  # 100 px nucleus
    raw[20:25, 30:35] = 2  # 25 px stroma
    crf = raw.copy()
    crf[5:15, 15:20] = 1  # 50 px added
    crf[5:7, 5:15] = 0  # 20 px removed
    crf[20:25, 30:32] = 1  # 10 px changed class
    return raw, crf


def test_difference_counts_added_removed_changed():
    raw, crf = _masks()
    code, diff = compare.difference_map(raw, crf)
    assert (diff.added, diff.removed, diff.changed, diff.total) == (50, 20, 10, 1200)
    assert diff.changed_fraction == pytest.approx(80 / 1200)
    assert code[10, 17] == 1 and code[6, 10] == 2 and code[22, 31] == 3 and code[0, 0] == 0
    raw[0, 0] = IGNORE_INDEX  # unlabelled is not foreground
    assert compare.difference_map(raw, crf)[1].added == 50


def test_figure_has_four_panels_and_a_legend():
    raw, crf = _masks()
    image = np.full((30, 40, 3), 128, np.uint8)
    figure = compare.render_comparison(image, raw, crf, SPEC, max_panel_size=None)
    assert figure.mode == "RGB"
    assert figure.width == 4 * 40 + 5 * compare.GAP
    assert figure.height > 30 + 2 * compare.GAP  # title row and legend around the panels
    pixels = np.asarray(figure)
    header = next(y for y in range(figure.height) if (pixels[y, compare.GAP] == 128).all())  # first image row
    diff_x = compare.GAP + 3 * (40 + compare.GAP)
    panel = pixels[header:header + 30, diff_x:diff_x + 40]
    assert tuple(panel[10, 17]) == compare.ADDED_COLOR
    assert tuple(panel[6, 10]) == compare.REMOVED_COLOR
    assert tuple(panel[22, 31]) == compare.CHANGED_COLOR
    raw_panel = pixels[header:header + 30, compare.GAP + 40 + compare.GAP:][:, :40]
    assert tuple(raw_panel[0, 0]) == (128, 128, 128)  # background is not painted
    assert tuple(raw_panel[10, 10]) != (128, 128, 128)  # nucleus is
    legend = pixels[header + 30:]
    for color in (compare.ADDED_COLOR, compare.REMOVED_COLOR, compare.CHANGED_COLOR, SPEC.colors[1]):
        assert (legend == color).all(axis=-1).sum() > 20, f"legend swatch {color} missing"


@pytest.mark.parametrize("image", [
    np.arange(30 * 40, dtype=np.uint16).reshape(30, 40, 1) * 50,
    np.random.default_rng(0).normal(size=(30, 40)).astype(np.float32),
    np.random.default_rng(0).integers(0, 255, (30, 40, 5)).astype(np.uint8),
    np.zeros((30, 40, 2), np.uint8),
])
def test_any_image_type_renders(image, tmp_path):
    raw, crf = _masks()
    path = compare.write_comparison(tmp_path / "c.png", image, raw, crf, SPEC)
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.width == 4 * 40 + 5 * compare.GAP


def test_large_images_are_shrunk_for_display_but_counted_in_full():
    raw = np.zeros((600, 900), np.uint8)
    crf = raw.copy()
    crf[:100, :100] = 1
    figure = compare.render_comparison(np.zeros((600, 900), np.uint8), raw, crf, SPEC, max_panel_size=300)
    assert figure.width == 4 * 300 + 5 * compare.GAP
    assert compare.difference_map(raw, crf)[1].added == 10000


def test_mismatched_sizes_are_refused():
    raw, crf = _masks()
    with pytest.raises(DataError, match="equal in shape"):
        compare.difference_map(raw, crf[:, :10])
    with pytest.raises(DataError, match=r"image is 40x10 .* \(width x height\)"):
        compare.render_comparison(np.zeros((10, 40), np.uint8), raw, crf, SPEC)


def test_output_names_sit_beside_the_raw_mask(tmp_path):
    assert compare.crf_mask_path(tmp_path / "out.png") == tmp_path / "out.crf.png"
    assert compare.comparison_path("a/b/cells.tif").as_posix() == "a/b/cells.compare.png"


def test_crf_outputs_are_written_beside_the_prediction(tmp_path):
    pytest.importorskip("pydensecrf.densecrf", reason="pydensecrf not installed")
    from segcore.data.io import read_mask

    image = np.zeros((30, 40), np.uint8)
    image[:, 20:] = 200
    p = np.where(np.arange(40) >= 20, 0.8, 0.3)[None].repeat(30, axis=0)
    p[::3, 15:20] = 0.6  # speckle the CRF should clean along the image edge
    probs = np.stack([1 - p, 0 * p, p]).astype(np.float32)
    written = compare.write_crf_outputs(tmp_path / "out.png", image, probs, SPEC, with_comparison=True)
    assert written == {"crf": tmp_path / "out.crf.png", "compare": tmp_path / "out.compare.png"}
    refined = read_mask(written["crf"], SPEC)
    assert refined.shape == (30, 40) and (refined[:, 20:] == 2).all() and (refined[:, :20] == 0).all()


def test_densest_window_finds_where_the_masks_differ_most():
    from segcore.compare import densest_window

    changed = np.zeros((300, 400), np.uint8)
    changed[10, 10] = 1  # a stray pixel
    changed[200:230, 300:330] = 3  # the cluster
    x, y, w, h = densest_window(changed, side=60)
    assert (w, h) == (60, 60) and x <= 300 and x + w >= 330 and y <= 200 and y + h >= 230
    assert densest_window(np.zeros((5, 5))) is None
    assert densest_window(np.ones((20, 30)))[2:] == (20, 20)  # never larger than the image
