"""Dense-CRF refinement: published reference outputs, shapes and classes, image types, tiling, missing pydensecrf."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from segcore import crf, crf_inputs
from segcore.cli import main as cli_main
from segcore.data import io
from segcore.data.classes import IGNORE_INDEX
from segcore.errors import ConfigError, CRFUnavailableError, DataError

pytest.importorskip("pydensecrf.densecrf", reason="pydensecrf (pip install pydensecrf2) is not installed")

# Measured agreement with the published outputs is 100.00 % on all four; allow a little for other builds.
MIN_REFERENCE_AGREEMENT = 0.995
REFERENCE_CASES = [("im1.png", "anno1.png", "out1.png"), ("im1.png", "anno1-b.png", "out1-b.png"),
                   ("im2.png", "anno2.png", "out2.png"), ("im3.png", "anno3.png", "out3.png")]


def _rgb(path):
    return io.read_image(path)[..., :3]


@pytest.mark.parametrize(("image", "anno", "out"), REFERENCE_CASES)
def test_scribbles_reproduce_the_published_outputs(crf_examples_dir, image, anno, out):
    ref = crf_examples_dir / "reference"
    labels, spec = crf_inputs.read_label_mask(ref / anno)
    probs = crf.probabilities_from_labels(labels, spec.num_classes, crf.SCRIBBLE_CONFIDENCE)
    _, mask = crf.refine(io.read_image(ref / image), probs, crf.SCRIBBLE_PARAMS)
    produced = np.asarray(spec.colors, dtype=np.uint8)[mask]  # the spec keeps the scribble colours
    agreement = (produced == _rgb(ref / out)).all(axis=-1).mean()
    assert agreement >= MIN_REFERENCE_AGREEMENT, f"{out}: {agreement:.4%} pixel agreement"
    # the CRF did the work: filling the unlabelled pixels with the commonest label agrees far less
    naive = np.where(labels == IGNORE_INDEX, np.bincount(labels[labels != IGNORE_INDEX]).argmax(), labels)
    naive_agreement = (np.asarray(spec.colors, dtype=np.uint8)[naive] == _rgb(ref / out)).all(axis=-1).mean()
    assert naive_agreement < agreement - 0.02


def test_crf_command_on_scribbles_matches_reference(crf_examples_dir, tmp_path, capsys):
    out = tmp_path / "out3.png"
    code = cli_main(["crf", "-i", str(crf_examples_dir / "images" / "im3.png"),
                     "--labels", str(crf_examples_dir / "masks" / "im3.png"), "-o", str(out), "--compare",
                     "--save-probabilities", str(tmp_path / "q.npz")])
    assert code == 0
    agreement = (_rgb(out) == _rgb(crf_examples_dir / "reference" / "out3.png")).all(axis=-1).mean()
    assert agreement >= MIN_REFERENCE_AGREEMENT
    assert (tmp_path / "out3.compare.png").is_file()
    probs, spec = crf_inputs.read_probabilities(tmp_path / "q.npz")
    assert probs.shape == (3, 320, 240) and spec.num_classes == 3
    assert "3 classes" in capsys.readouterr().out


def test_label_probabilities_match_pydensecrf_unary():
    from pydensecrf.utils import unary_from_labels

    rng = np.random.default_rng(1)
    file_labels = rng.integers(0, 4, size=(9, 7))  # pydensecrf convention: 0 = unknown, 1..3
    ours = crf.probabilities_from_labels(np.where(file_labels == 0, IGNORE_INDEX, file_labels - 1), 3, 0.7)
    theirs = np.exp(-unary_from_labels(file_labels, 3, gt_prob=0.7, zero_unsure=True)).reshape(3, 9, 7)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def _two_region_case(shape=(48, 64), noise=0.35, seed=0):
    """A bright square on a dark background and noisy probabilities of it."""
    rng = np.random.default_rng(seed)
    truth = np.zeros(shape, dtype=np.uint8)
    truth[shape[0] // 4: 3 * shape[0] // 4, shape[1] // 4: 3 * shape[1] // 4] = 1
    image = (40 + 160 * truth + rng.normal(0, 8, shape)).clip(0, 255).astype(np.uint8)
    p = np.clip(0.25 + 0.5 * truth + rng.normal(0, noise, shape), 0.01, 0.99)
    return image, np.stack([1 - p, p]).astype(np.float32), truth


def test_crf_removes_noise_along_image_edges():
    image, probs, truth = _two_region_case()
    raw_errors = (probs.argmax(0) != truth).sum()
    refined, mask = crf.refine(image, probs, crf.CRFParams())
    assert raw_errors > 50
    assert (mask != truth).sum() < raw_errors / 2  # the gentle defaults
    np.testing.assert_allclose(refined.sum(axis=0), 1, atol=1e-4)
    strong = crf.refine(image, probs, crf.CRFParams(bilateral_compat=5, gaussian_compat=3))[1]
    assert (strong != truth).sum() < raw_errors / 5


@pytest.mark.parametrize("num_classes", [2, 3, 7])
@pytest.mark.parametrize("kind", ["grey2d", "grey", "rgb", "uint16", "float", "five_channels"])
def test_shape_and_class_set_never_change(num_classes, kind):
    rng = np.random.default_rng(num_classes)
    h, w = 23, 31
    images = {
        "grey2d": rng.integers(0, 256, (h, w), dtype=np.uint8),
        "grey": rng.integers(0, 256, (h, w, 1), dtype=np.uint8),
        "rgb": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        "uint16": rng.integers(0, 4096, (h, w, 1), dtype=np.uint16),
        "float": rng.normal(0, 1, (h, w, 2)).astype(np.float32),
        "five_channels": rng.integers(0, 65535, (h, w, 5), dtype=np.uint16),
    }
    probs = rng.dirichlet(np.ones(num_classes), size=(h, w)).transpose(2, 0, 1).astype(np.float32)
    refined, mask = crf.refine(images[kind], probs)
    assert refined.shape == probs.shape and refined.dtype == np.float32
    assert mask.shape == (h, w) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= set(range(num_classes))
    np.testing.assert_array_equal(mask, refined.argmax(axis=0))


def test_confident_probabilities_survive_unchanged():
    image, _, truth = _two_region_case(noise=0)
    probs = np.stack([1 - truth, truth]).astype(np.float32) * 0.98 + 0.01
    assert np.array_equal(crf.refine(image, probs)[1], truth)


def test_tiny_and_one_pixel_images():
    for shape in [(1, 1), (1, 9), (5, 1)]:
        probs = np.full((2, *shape), 0.5, dtype=np.float32)
        probs[1] += 0.1
        probs[0] -= 0.1
        refined, mask = crf.refine(np.zeros((*shape, 3), np.uint8), probs)
        assert mask.shape == shape and (mask == 1).all()


def test_tiled_refinement_matches_whole_image():
    image, probs, truth = _two_region_case(shape=(150, 170), seed=3)
    params = crf.CRFParams(bilateral_sxy=15, tile_size=64)
    whole = crf.refine(image, probs, crf.CRFParams(bilateral_sxy=15))[1]
    tiled_probs, tiled = crf.refine(image, probs, params)
    assert tiled.shape == truth.shape and tiled_probs.shape == probs.shape
    assert (tiled == whole).mean() > 0.99


def test_bilateral_features_put_every_image_type_on_0_255():
    grey16 = np.linspace(0, 60000, 40 * 30).reshape(40, 30, 1).astype(np.uint16)
    f = crf.bilateral_features(grey16)
    assert f.shape == (1, 40, 30) and f.min() == 0 and f.max() == pytest.approx(255)
    assert np.array_equal(crf.bilateral_features(np.full((4, 4, 3), 200, np.uint8)), np.full((3, 4, 4), 200.0))
    many = np.random.default_rng(0).integers(0, 255, (20, 20, 6)).astype(np.uint8)
    assert crf.bilateral_features(many).shape == (3, 20, 20)


@pytest.mark.parametrize(
    ("probs", "message"),
    [(np.full((2, 4, 5), 0.5), "do not fit the 4x4 image"), (np.full((1, 300, 4, 4), 1 / 300), "at most 255 classes"),
     (np.full((2, 4, 4), 3.0), "logits"), (np.full((2, 4, 4), np.nan), "NaN"), (np.zeros(4), "expected (K, 4, 4)"),
     (np.full((4, 5, 2), 0.5), "or (4, 4, K)")],
)
def test_bad_probabilities_say_what_is_wrong(probs, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        crf.refine(np.zeros((4, 4), np.uint8), probs)


def test_probabilities_in_the_layouts_other_tools_save_give_the_same_refinement():
    """(K,H,W) as PyTorch, (H,W,K) as Keras and scikit-image, with a batch of one, or one sigmoid map."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    fg = rng.random((6, 8)).astype(np.float32)
    khw = np.stack([1 - fg, fg])
    expected = crf.refine(image, khw)[0]
    for layout in (khw.transpose(1, 2, 0), khw[None], khw.transpose(1, 2, 0)[None], fg, fg[None], fg[..., None]):
        np.testing.assert_allclose(crf.refine(image, layout)[0], expected, atol=1e-6)
    square = np.stack([np.full((2, 2), 0.2), np.full((2, 2), 0.8)]).astype(np.float32)  # (2,2,2): sums decide
    assert crf.classes_first(square.transpose(1, 2, 0), (2, 2)).tolist() == square.tolist()
    assert crf.classes_first(square, (2, 2)).tolist() == square.tolist()


def test_bad_parameters_are_config_errors():
    with pytest.raises(ConfigError, match="iterations"):
        crf.CRFParams(iterations=0)
    with pytest.raises(ConfigError, match="bilateral_srgb"):
        crf.CRFParams(bilateral_srgb=-1)
    params = crf.CRFParams(bilateral_compat=4)
    assert crf.CRFParams.from_dict({**params.to_dict(), "future_option": 1}) == params


def test_missing_pydensecrf_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pydensecrf", None)
    monkeypatch.setitem(sys.modules, "pydensecrf.densecrf", None)
    assert crf.is_available() is False
    probs = np.full((2, 4, 4), 0.5, np.float32)
    with pytest.raises(CRFUnavailableError, match="pip install pydensecrf2"):
        crf.refine(np.zeros((4, 4), np.uint8), probs)
    # everything else still works
    assert crf.probabilities_from_labels(np.zeros((4, 4), np.uint8), 2).shape == (2, 4, 4)
    io.write_image(tmp_path / "im.png", np.zeros((4, 4), np.uint8))
    crf_inputs.write_probabilities(tmp_path / "p.npy", probs)
    code = cli_main(["crf", "-i", str(tmp_path / "im.png"), "-p", str(tmp_path / "p.npy"), "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install pydensecrf2" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


def test_import_without_pydensecrf_in_a_fresh_interpreter():
    code = ("import sys; sys.modules['pydensecrf'] = None; import segcore.crf, segcore.compare, segcore.evaluation;"
            "assert not segcore.crf.is_available(); assert 'torch' not in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_probability_files_round_trip(tmp_path):
    from segcore.data.classes import ClassSpec

    probs = np.random.default_rng(0).dirichlet(np.ones(3), size=(5, 6)).transpose(2, 0, 1).astype(np.float32)
    spec = ClassSpec(["background", "a", "b"], [0, 1, 2])
    crf_inputs.write_probabilities(tmp_path / "p.npz", probs, spec)
    back, back_spec = crf_inputs.read_probabilities(tmp_path / "p.npz")
    np.testing.assert_array_equal(back, probs)
    assert back_spec == spec
    crf_inputs.write_probabilities(tmp_path / "p.npy", probs)
    assert crf_inputs.read_probabilities(tmp_path / "p.npy")[1] is None
    np.save(tmp_path / "fg.npy", np.full((5, 6), 0.8, np.float64))
    binary, _ = crf_inputs.read_probabilities(tmp_path / "fg.npy")
    assert binary.shape == (2, 5, 6) and binary[1, 0, 0] == pytest.approx(0.8)
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match="bad.npy"):
        crf_inputs.read_probabilities(tmp_path / "bad.npy")
    with pytest.raises(DataError, match="not found"):
        crf_inputs.read_probabilities(tmp_path / "missing.npy")


def test_label_mask_values_and_unlabelled(tmp_path):
    values = np.array([[0, 3, 3], [7, 0, 3]], np.uint8)
    io.write_image(tmp_path / "l.png", values)
    labels, spec = crf_inputs.read_label_mask(tmp_path / "l.png")
    assert spec.values == [3, 7]
    np.testing.assert_array_equal(labels, [[IGNORE_INDEX, 0, 0], [1, IGNORE_INDEX, 0]])
    io.write_image(tmp_path / "one.png", np.array([[0, 3]], np.uint8))
    with pytest.raises(DataError, match="at least two"):
        crf_inputs.read_label_mask(tmp_path / "one.png")
