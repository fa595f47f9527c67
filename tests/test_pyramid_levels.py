"""Pyramid levels in the annotation store (no Qt): a pyramidal OME-TIFF shown at a coarser level, its mask edited
there and saved at full resolution, keeping the full-resolution detail nobody touched."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile

from segcore.annotate import AnnotationStore, ImageState, StoreCallbacks, levels
from segcore.annotate.levels import LevelView, default_level
from segcore.data import io
from segcore.data.classes import ClassSpec

SPEC = ClassSpec(["background", "cell"], [0, 255])
SIZE = 256


def _slide(folder, name="slide", um=0.5, count=3):
    """images/NAME.ome.tif with ``count`` levels (256, 128, 64 px) at ``um`` µm/pixel, and a full-resolution mask
    with detail no coarser level can hold: a 1-pixel line and a 3 x 3 square."""
    image = np.zeros((SIZE, SIZE), np.uint8)
    image[64:192, 64:192] = 200
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with tifffile.TiffWriter(folder / "images" / f"{name}.ome.tif") as tif:
        tif.write(image, subifds=count - 1, metadata={"axes": "YX", "PhysicalSizeX": um, "PhysicalSizeY": um})
        for level in range(1, count):
            tif.write(image[::2**level, ::2**level], subfiletype=1)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[10, 20:200] = 1
    mask[101:104, 31:34] = 1
    io.write_mask(folder / "masks" / f"{name}.png", mask, SPEC)
    SPEC.save(folder)
    return mask


@pytest.fixture
def small_screen(monkeypatch):
    """Levels of more than 128 x 128 pixels count as too large to show by default."""
    monkeypatch.setattr(levels, "MAX_SHOWN_PIXELS", 128 * 128)


@pytest.fixture
def errors():
    return []


@pytest.fixture
def slide(tmp_path, small_screen, errors):
    fine = _slide(tmp_path / "data")
    store = AnnotationStore(StoreCallbacks(error=errors.append))
    store.open_folder(tmp_path / "data")
    return store, fine, tmp_path / "data" / "masks" / "slide.png"


def _paint(store, x, y, size=8.0, value=1):
    store.begin_edit()
    store.stroke((x, y), (x, y), size, value)
    store.end_edit()


def test_the_default_level_is_the_finest_that_fits():
    sizes = [(32000, 24000), (8000, 6000), (2000, 1500)]
    assert default_level(sizes, 8192**2) == 1
    assert default_level(sizes, 10**12) == 0
    assert default_level(sizes, 10) == 2  # none fits: the coarsest


def test_a_mask_read_down_and_saved_back_unchanged_is_the_file_itself():
    rng = np.random.default_rng(0)
    base = (rng.random((100, 120)) < 0.3).astype(np.uint8)
    view = LevelView(2, (100, 120), (25, 30))
    view.set_base(base)
    shown = view.shown(base)
    assert shown.shape == (25, 30) and view.full(shown) is base  # nothing painted: the file as it was
    painted = shown.copy()
    painted[5:9, 10:20] = 7
    full = view.full(painted)
    assert np.array_equal(view.shown(full), painted)  # what is saved reads back as what was shown
    changed = full != base
    assert changed.any() and np.all(full[changed] == 7)
    assert np.array_equal(full[:20], base[:20])  # rows the edit did not reach: every pixel kept


def test_a_pyramid_opens_at_a_level_that_fits_with_its_pixel_size(slide):
    store, fine, _ = slide
    assert store.image.shape == (128, 128, 1) and store.mask.shape == (128, 128)
    assert store.view.level == 1 and store.view.describe() == "level 1 (1/2 of 256x256)"
    assert str(store.pixel_size) == "1 µm/pixel"  # 0.5 µm at full resolution, twice that at level 1
    assert [tuple(s) for s in store.pyramid.levels] == [(256, 256), (128, 128), (64, 64)]
    assert np.array_equal(store.mask, fine[1::2, 1::2])  # pixel centres of the full-resolution mask


def test_painting_at_a_coarse_level_saves_at_full_resolution_and_keeps_fine_detail(slide):
    store, fine, path = slide
    _paint(store, 100.0, 100.0)  # a disc at level 1 around (200, 200) at full resolution
    assert store.save()
    saved = io.read_mask(path, SPEC)
    assert saved.shape == (SIZE, SIZE)
    assert saved[10, 20:200].all() and saved[101:104, 31:34].all()  # the 1-pixel line and the 3x3 square
    changed = saved != fine
    ys, xs = np.nonzero(changed)
    assert 190 <= ys.min() and ys.max() <= 210 and 190 <= xs.min() and xs.max() <= 210
    assert np.all(saved[changed] == 1)
    assert np.array_equal(saved[1::2, 1::2], store.mask)  # read down again, it is what was painted
    _paint(store, 100.0, 100.0, value=0)  # erased again at that level
    store.save()
    assert np.array_equal(io.read_mask(path, SPEC), fine)  # back to the file, detail and all


def test_choosing_another_level_saves_first_and_reads_the_mask_at_that_level(slide):
    store, fine, path = slide
    _paint(store, 100.0, 100.0)
    assert store.set_level(0)
    assert store.image.shape == (256, 256, 1) and store.view.level == 0 and not store.view.active
    on_disk = io.read_mask(path, SPEC)
    assert np.array_equal(store.mask, on_disk) and on_disk[200, 200] == 1  # saved before switching
    assert str(store.pixel_size) == "0.5 µm/pixel" and not store.dirty
    assert store.set_level(2) and store.mask.shape == (64, 64)
    assert not store.set_level(2) and not store.set_level(7)  # the same level, or none such: nothing changes
    store.select(0)
    assert store.view.level == 2  # the image keeps the level chosen for it while the folder is open


def test_a_level_that_cannot_be_shown_is_refused_and_the_view_stays(slide, errors, monkeypatch):
    store, _, _ = slide
    monkeypatch.setattr(io, "free_memory", lambda: 10**6)  # level 0 would need 1 MB to show
    assert not store.set_level(0)
    assert store.view.level == 1 and store.image.shape == (128, 128, 1)
    assert "needs" in errors[-1] and "free" in errors[-1]


def test_a_mask_that_cannot_be_saved_is_kept_at_full_resolution(slide, monkeypatch):
    store, fine, path = slide
    _paint(store, 100.0, 100.0)
    real_write = io.write_mask
    monkeypatch.setattr(io, "write_mask", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left")))
    assert not store.set_level(2) or store.dirty  # the save failed: the edit is kept in memory
    assert store.mask[50, 50] == 1  # shown at level 2 (64 x 64) with the edit
    monkeypatch.setattr(io, "write_mask", real_write)
    assert store.save_all()
    saved = io.read_mask(path, SPEC)
    assert saved[200, 200] == 1 and saved[10, 20:200].all()  # the edit at full resolution, the line kept


def test_a_full_resolution_mask_accepted_at_a_coarse_level_is_saved_whole_and_undone_whole(slide):
    store, fine, path = slide
    prediction = np.zeros((SIZE, SIZE), np.uint8)
    prediction[:, :128] = 1
    prediction[100, 130:140] = 1  # detail the shown level cannot hold
    store.accept_mask(prediction)  # e.g. an import in full-resolution pixels
    assert store.mask.shape == (128, 128) and store.mask[:, :64].all() and not store.mask[:, 64:].any()
    full, ids = store.full_resolution()
    assert np.array_equal(full, prediction) and ids is None
    store.save()
    assert np.array_equal(io.read_mask(path, SPEC), prediction)  # every pixel, not blocks of the shown level
    store.undo()
    store.save()
    assert np.array_equal(io.read_mask(path, SPEC), fine)  # the file's own detail back
    store.redo()
    _paint(store, 100.0, 100.0)  # painted over the accepted mask: its detail elsewhere stays
    store.save()
    saved = io.read_mask(path, SPEC)
    assert saved[100, 130:140].all() and saved[200, 200] == 1 and not saved[10, 130:200].any()


def test_instance_masks_are_edited_at_full_resolution_only(tmp_path, small_screen):
    folder = tmp_path / "data"
    _slide(folder)
    ids = np.zeros((SIZE, SIZE), np.uint16)
    ids[20:40, 20:40], ids[20:40, 40:60] = 1, 2
    os.remove(folder / "masks" / "slide.png")
    tifffile.imwrite(folder / "masks" / "slide.tif", ids)
    ClassSpec.for_instances().save(folder)
    errors = []
    store = AnnotationStore(StoreCallbacks(error=errors.append))
    store.open_folder(folder)
    assert store.view.level == 1 and "choose level 0" in store.locked_reason
    assert not store.can_edit() and "instance masks are edited at full resolution" in errors[-1]
    store.set_level(0)
    assert store.locked_reason is None and store.can_edit()


def test_plain_images_are_shown_whole_with_the_pixel_size_they_state(tmp_path):
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    tifffile.imwrite(folder / "images" / "a.tif", np.zeros((30, 40), np.uint8), imagej=True,
                     resolution=(1 / 0.2, 1 / 0.2), metadata={"unit": "um"})
    io.write_image(folder / "images" / "b.png", np.zeros((30, 40), np.uint8))
    store = AnnotationStore()
    store.open_folder(folder)
    assert store.pyramid is None and not store.view.active and str(store.pixel_size) == "0.2 µm/pixel"
    assert not store.set_level(1)
    store.select(1)
    assert store.pixel_size is None and store.image.shape == (30, 40, 1)


def test_real_classes_at_a_coarse_level_keep_every_pixel_and_region(shared_data, tmp_path, small_screen):
    """AxonDeepSeg (myelin rings around axons, 3 classes) as a pyramidal OME-TIFF without a mask, opened at level 1:
    a QuPath GeoJSON of its mask imported there is saved at full resolution pixel for pixel."""
    pytest.importorskip("shapely", reason="shapely not installed (pip install 'segstudio[interop]')")
    from segcore.interop.annotation import Annotation
    from segcore.interop.convert import read_annotation, write_annotation

    source = shared_data("axondeepseg_sem")
    mask_file = min((source / "masks").iterdir(), key=lambda p: p.stat().st_size)
    spec = ClassSpec(["background", "myelin", "axon"], [0, 1, 2])
    original = Annotation.from_values(io.read_mask_raw(mask_file), spec)
    image = io.read_image(source / "images" / mask_file.name)[..., 0]
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    slide = folder / "images" / f"{mask_file.stem}.ome.tif"
    with tifffile.TiffWriter(slide) as tif:
        tif.write(image, subifds=1, metadata={"axes": "YX", "PhysicalSizeX": 0.13, "PhysicalSizeY": 0.13})
        tif.write(image[::2, ::2], subfiletype=1)
    spec.save(folder)
    store = AnnotationStore()
    store.open_folder(folder)
    assert store.view.level == 1 and store.mask.shape == ((image.shape[0] + 1) // 2, (image.shape[1] + 1) // 2)
    write_annotation(tmp_path / "qupath.geojson", original, "geojson")  # full-resolution pixels, as QuPath's
    imported = read_annotation(tmp_path / "qupath.geojson", spec, like=slide)
    store.accept_mask(imported.classes, ImageState.MODIFIED)
    assert store.save()
    back = Annotation.from_values(io.read_mask_raw(store.samples[0].mask), spec)
    assert np.array_equal(back.classes, original.classes)  # pixel agreement 100 %, not blocks of level 1
    assert back.region_count() == original.region_count() > 10
    shown = store.mask.copy()
    store.undo()  # the import taken back whole: nothing of it left at full resolution
    assert store.save() and not io.read_mask(store.samples[0].mask, spec).any()
    store.redo()
    assert np.array_equal(store.mask, shown)
