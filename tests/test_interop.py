"""Annotations to and from other tools (issue 16): round trips on the shared real data, checked with each
format's own library, and bad files of each format."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from segcore.data.classes import ClassSpec
from segcore.data.io import read_image, read_mask_raw
from segcore.errors import DataError

shapely = pytest.importorskip("shapely", reason="shapely not installed (pip install 'segstudio[interop]')")
roifile = pytest.importorskip("roifile", reason="roifile not installed (pip install 'segstudio[interop]')")

from segcore.interop import cellpose, convert, geojson, imagej, ome_tiff  # noqa: E402
from segcore.interop.annotation import Annotation  # noqa: E402

ADS_CLASSES = ClassSpec(["background", "myelin", "axon"], [0, 1, 2])


def _zarr():
    pytest.importorskip("zarr", reason="zarr not installed (pip install 'segstudio[interop]', Python 3.11+)")
    pytest.importorskip("ome_zarr", reason="ome-zarr not installed (pip install 'segstudio[interop]')")
    from segcore.interop import ome_zarr

    return ome_zarr


@pytest.fixture(params=["isbi", "bbbc039", "axondeepseg"])
def real_mask(request, shared_data) -> tuple[Annotation, Path]:
    """(annotation, image) of one real mask: ISBI membranes (0/255), BBBC039 nuclei (16-bit instance ids),
    AxonDeepSeg (classes 0/1/2; its smallest image)."""
    if request.param == "isbi":
        folder = shared_data("isbi2012_em")
        mask, spec = folder / "masks" / "0.png", ClassSpec.infer({0, 255})
    elif request.param == "bbbc039":
        folder = shared_data("bbbc039")
        mask, spec = sorted((folder / "instances").iterdir())[0], ClassSpec.for_instances()
    else:
        folder = shared_data("axondeepseg_sem")
        mask = min((folder / "masks").iterdir(), key=lambda p: p.stat().st_size)
        spec = ADS_CLASSES
    return Annotation.from_values(read_mask_raw(mask), spec), folder / "images" / mask.name


def _same_objects(a: np.ndarray, b: np.ndarray) -> bool:
    """Two id images hold the same objects (ids may be renumbered): a one-to-one map between ids."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


@pytest.mark.parametrize("fmt", ["geojson", "roi", "tiff", "cellpose", "png"])
def test_every_format_round_trips_real_masks_exactly(real_mask, fmt, tmp_path):
    original, image = real_mask
    target = tmp_path / convert.output_name(image.stem, fmt, original)
    written = convert.write_annotation(target, original, fmt)
    back = convert.read_annotation(written.path, original.spec, like=image)
    assert written.regions == original.region_count() > 10
    assert back.region_count() == original.region_count()
    if fmt == "cellpose" and original.ids is None:  # Cellpose has no classes: each region is one cell
        assert back.spec.instances and np.array_equal(back.classes, (original.classes > 0).astype(np.uint8))
        return
    assert np.array_equal(back.classes, original.classes)  # pixel agreement 100 %
    if original.ids is not None:
        assert _same_objects(back.ids, original.ids)


def test_ome_zarr_label_group_round_trips_real_masks(real_mask, tmp_path):
    ome_zarr = _zarr()
    original, image = real_mask
    store = tmp_path / "image.zarr"
    ome_zarr.write_zarr_labels(store, original, image=read_image(image))
    back = ome_zarr.read_zarr_labels(store)
    assert np.array_equal(back.classes, original.classes)
    assert back.spec.instances == original.spec.instances and back.region_count() == original.region_count()
    if not original.spec.instances:
        assert back.spec.names == original.spec.names  # classes named in the label properties


def test_geojson_written_here_is_valid_shapely_with_class_names(shared_data, tmp_path):
    folder = shared_data("axondeepseg_sem")
    mask = min((folder / "masks").iterdir(), key=lambda p: p.stat().st_size)
    annotation = Annotation.from_values(read_mask_raw(mask), ADS_CLASSES)
    geojson.write_geojson(tmp_path / "a.geojson", annotation)
    data = json.loads((tmp_path / "a.geojson").read_text())
    assert data["type"] == "FeatureCollection" and len(data["features"]) == annotation.region_count()
    geometries = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
    assert all(g.is_valid and g.area >= 1 for g in geometries)
    assert any(len(g.interiors) for g in geometries if g.geom_type == "Polygon")  # myelin rings keep their holes
    names = {f["properties"]["classification"]["name"] for f in data["features"]}
    assert names == {"myelin", "axon"}
    assert {f["properties"]["objectType"] for f in data["features"]} == {"annotation"}
    # the area per class is the pixel count per class: nothing simplified away
    for index, name in ((1, "myelin"), (2, "axon")):
        area = sum(g.area for g, f in zip(geometries, data["features"], strict=True)
                   if f["properties"]["classification"]["name"] == name)
        assert area == (annotation.classes == index).sum()


def test_roiset_written_here_reads_back_with_roifile(shared_data, tmp_path):
    folder = shared_data("bbbc039")
    mask = sorted((folder / "instances").iterdir())[0]
    annotation = Annotation.from_values(read_mask_raw(mask), ClassSpec.for_instances())
    count = imagej.write_roiset(tmp_path / "RoiSet.zip", annotation)
    rois = roifile.roiread(tmp_path / "RoiSet.zip")
    assert len(rois) == count == annotation.region_count()
    ids = sorted(int(r.name.split("-")[1]) for r in rois)
    assert ids == sorted(np.unique(annotation.ids[annotation.ids > 0]).tolist())  # named by class and object id
    first = rois[0]
    assert first.roitype == roifile.ROI_TYPE.POLYGON and first.name.startswith("object-")


def test_imagej_shapes_other_than_polygons_fill_where_imagej_draws_them(tmp_path):
    rect = roifile.ImagejRoi()
    rect.roitype, rect.name = roifile.ROI_TYPE.RECT, "tissue-1"
    rect.left, rect.top, rect.right, rect.bottom = 10, 20, 30, 25
    oval = roifile.ImagejRoi()
    oval.roitype, oval.name = roifile.ROI_TYPE.OVAL, "nucleus-2"
    oval.left, oval.top, oval.right, oval.bottom = 40, 40, 60, 50
    line = roifile.ImagejRoi.frompoints([[0, 0], [5, 5]], name="a line")
    line.roitype = roifile.ROI_TYPE.LINE
    freehand = roifile.ImagejRoi.frompoints([[70, 70], [90, 70], [90, 90], [70, 90]], name="0001-0070-0070")
    roifile.roiwrite(tmp_path / "set.zip", [rect, oval, line, freehand], mode="w")
    annotation = imagej.read_rois(tmp_path / "set.zip", (100, 100))
    assert annotation.spec.names == ["background", "tissue", "nucleus", "unclassified"]
    assert (annotation.classes == 1).sum() == 20 * 5  # rectangle: exactly its pixels
    yy, xx = np.mgrid[:100, :100]
    ellipse = ((xx + 0.5 - 50) / 10) ** 2 + ((yy + 0.5 - 45) / 5) ** 2 < 1
    assert abs(int((annotation.classes == 2).sum()) - int(ellipse.sum())) <= 4
    assert (annotation.classes == 3).sum() == 400
    assert any("1 of 4 ROIs have no area" in w for w in annotation.warnings)


def test_geojson_from_qupath_with_classes_holes_and_points(tmp_path):
    features = [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
            [[0, 0], [50, 0], [50, 50], [0, 50], [0, 0]], [[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]]]},
         "properties": {"objectType": "annotation", "classification": {"name": "Tumor", "colorRGB": -3670016}}},
        {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [
            [[[60, 60], [70, 60], [70, 70], [60, 70], [60, 60]]], [[[80, 80], [90, 80], [90, 90], [80, 90], [80, 80]]]]},
         "properties": {"objectType": "annotation", "classification": {"name": "Stroma", "color": [0, 200, 0]}}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [5, 5]}, "properties": {}},
    ]
    (tmp_path / "a.geojson").write_text(json.dumps(features))  # QuPath's other form: a plain list of Features
    annotation = geojson.read_geojson(tmp_path / "a.geojson", (100, 100))
    assert annotation.spec.names == ["background", "Tumor", "Stroma"]
    assert annotation.spec.colors[1] == (200, 0, 0) and annotation.spec.colors[2] == (0, 200, 0)
    assert (annotation.classes == 1).sum() == 2500 - 100 and annotation.classes[15, 15] == 0
    assert (annotation.classes == 2).sum() == 200
    # matched to a given list by name, case and spacing aside
    spec = ClassSpec(["background", "stroma", "tumor"], [0, 1, 2])
    assert geojson.read_geojson(tmp_path / "a.geojson", (100, 100), spec).classes[5, 5] == 2
    with pytest.raises(DataError, match="class 'Stroma' is not in the class list"):
        geojson.read_geojson(tmp_path / "a.geojson", (100, 100), ClassSpec(["background", "Tumor"], [0, 1]))


def test_cellpose_folder_opens_as_instance_masks_without_renaming(shared_data, tmp_path):
    import shutil

    from segcore.data.layout import find_samples, load_class_spec, load_sample

    source = shared_data("bbbc039")
    images = sorted((source / "images").iterdir())[:3]
    for image in images:
        shutil.copy(image, tmp_path / image.name)
    ids = [read_mask_raw(source / "instances" / image.name) for image in images]
    # as Cellpose's GUI saves it: np.save of a dict
    np.save(tmp_path / f"{images[0].stem}_seg.npy", {"masks": ids[0], "outlines": ids[0] * 0, "ismanual":
            np.zeros(ids[0].max(), bool), "filename": str(images[0]), "chan_choose": [0, 0],
            "est_diam": np.float64(17.0)}, allow_pickle=True)
    shutil.copy(source / "instances" / images[0].name, tmp_path / f"{images[0].stem}_cp_masks.png")
    shutil.copy(source / "instances" / images[1].name, tmp_path / f"{images[1].stem}_cp_masks.png")
    warnings = []
    samples = find_samples(tmp_path, warnings)
    assert warnings == [] and [s.image.name for s in samples] == [p.name for p in images]
    assert [s.mask.name if s.mask else None for s in samples] == [
        f"{images[0].stem}_seg.npy", f"{images[1].stem}_cp_masks.png", None]
    spec = load_class_spec(tmp_path, samples)
    assert spec.instances
    for sample, expected in zip(samples[:2], ids, strict=False):
        _, mask = load_sample(sample, spec)
        assert np.array_equal(mask, (expected > 0).astype(np.uint8))
    assert np.array_equal(read_mask_raw(samples[0].mask), ids[0])  # ids kept


def test_cellpose_seg_npy_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "ran",))

    np.save(tmp_path / "a_seg.npy", {"masks": np.ones((4, 4), np.uint16), "x": Payload()}, allow_pickle=True)
    with pytest.raises(DataError, match="a_seg.npy: not a readable Cellpose _seg.npy.*never needs"):
        cellpose.read_seg(tmp_path / "a_seg.npy")
    assert not (tmp_path / "ran").exists()


def test_label_tiff_16_and_32_bit_in_and_out(tmp_path):
    ids = np.zeros((40, 50), np.uint32)
    ids[5:10, 5:10], ids[20:30, 20:40] = 7, 70_000  # an id above 65535: 32-bit, as QuPath writes big slides
    annotation = Annotation.from_values(ids, ClassSpec.for_instances())
    convert.write_annotation(tmp_path / "a.tif", annotation)
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        assert tif.pages[0].dtype == np.uint32
    assert np.array_equal(read_mask_raw(tmp_path / "a.tif"), ids)
    small = Annotation.from_values((ids > 0).astype(np.uint16) * 300, ClassSpec.for_instances())
    convert.write_annotation(tmp_path / "b.tif", small)
    assert tifffile.imread(tmp_path / "b.tif").dtype == np.uint16
    assert convert.read_annotation(tmp_path / "b.tif", ClassSpec.for_instances()).region_count() == 1


def _ome_tiff(path: Path, data: np.ndarray, axes: str, **metadata) -> Path:
    tifffile.imwrite(path, data, ome=True, metadata={"axes": axes, **metadata})
    return path


def test_ome_tiff_axes_channels_pixel_size_and_pyramid_levels(tmp_path):
    data = np.random.default_rng(0).integers(0, 4000, (2, 64, 80), dtype=np.uint16)
    path = _ome_tiff(tmp_path / "a.ome.tif", data, "CYX", PhysicalSizeX=325, PhysicalSizeY=325,
                     PhysicalSizeXUnit="nm", PhysicalSizeYUnit="nm", Channel={"Name": ["DAPI", "GFP"]})
    image, info = ome_tiff.read_ome_tiff(path)
    assert image.shape == (64, 80, 2) and np.array_equal(image[..., 1], data[1])
    assert info.channel_names == ["DAPI", "GFP"] and info.pixel_size.x == pytest.approx(0.325)
    assert "DAPI, GFP" in info.describe() and "0.325 µm/pixel" in info.describe()
    rgb = np.random.default_rng(1).integers(0, 255, (256, 192, 3), dtype=np.uint8)
    with tifffile.TiffWriter(tmp_path / "pyr.ome.tif") as tif:
        tif.write(rgb, subifds=2, photometric="rgb", metadata={"axes": "YXS", "PhysicalSizeX": 0.5,
                                                               "PhysicalSizeY": 0.5})
        tif.write(rgb[::2, ::2], subfiletype=1, photometric="rgb")
        tif.write(rgb[::4, ::4], subfiletype=1, photometric="rgb")
    image, info = ome_tiff.read_ome_tiff(tmp_path / "pyr.ome.tif", level=2)
    assert info.levels == [(256, 192), (128, 96), (64, 48)] and np.array_equal(image, rgb[::4, ::4])
    assert info.level_pixel_size(2).x == pytest.approx(2.0)
    with pytest.raises(DataError, match="no pyramid level 3; it has levels 0..2"):
        ome_tiff.read_ome_tiff(tmp_path / "pyr.ome.tif", level=3)


def test_ome_zarr_image_levels_and_a_04_store_stays_04(shared_data, tmp_path):
    ome_zarr = _zarr()
    import zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image

    from segcore.interop.physical import PixelSize

    folder = shared_data("isbi2012_em")
    image = read_image(folder / "images" / "3.png")
    annotation = convert.read_annotation(folder / "masks" / "3.png")
    ome_zarr.write_zarr_labels(tmp_path / "new.zarr", annotation, image=image, pixel_size=PixelSize(0.004, 0.004))
    plane, info = ome_zarr.read_zarr_image(tmp_path / "new.zarr", level=1)
    assert plane.shape == (256, 256, 1) and info.pixel_size.x == pytest.approx(0.004)
    assert info.level_pixel_size(1).x == pytest.approx(0.008)
    old = zarr.open_group(str(tmp_path / "old.zarr"), mode="w", zarr_format=2)
    write_image(image[..., 0], old, axes="yx", fmt=FormatV04())
    ome_zarr.write_zarr_labels(tmp_path / "old.zarr", annotation, name="membranes")
    ome_zarr.write_zarr_labels(tmp_path / "old.zarr", annotation, name="membranes")  # replaced, listed once
    assert (tmp_path / "old.zarr" / "labels" / ".zattrs").is_file()  # still Zarr v2 / NGFF 0.4
    assert ome_zarr.label_names(tmp_path / "old.zarr") == ["membranes"]
    assert np.array_equal(ome_zarr.read_zarr_labels(tmp_path / "old.zarr").classes, annotation.classes)
    hidden = sorted(p.name for p in (tmp_path / "old.zarr" / "labels").iterdir() if p.name.startswith("."))
    assert hidden == [".zattrs", ".zgroup"]  # no temporary left behind


# -- bad files: one line, nothing lost -----------------------------------------------------------------------
def test_truncated_roiset_zip_is_one_line_and_output_untouched(shared_data, tmp_path):
    folder = shared_data("bbbc039")
    mask = sorted((folder / "instances").iterdir())[0]
    imagej.write_roiset(tmp_path / "RoiSet.zip", Annotation.from_values(read_mask_raw(mask),
                                                                        ClassSpec.for_instances()))
    data = (tmp_path / "RoiSet.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    (tmp_path / "out.png").write_bytes(b"previous mask")
    with pytest.raises(DataError) as err:
        convert.convert(tmp_path / "cut.zip", tmp_path / "out.png", like=folder / "images" / mask.name)
    assert "cut.zip: damaged or truncated ImageJ ROI file" in str(err.value) and "\n" not in str(err.value)
    assert (tmp_path / "out.png").read_bytes() == b"previous mask"
    with zipfile.ZipFile(tmp_path / "junk.zip", "w") as zf:
        zf.writestr("a.roi", b"not a roi")
    with pytest.raises(DataError, match="junk.zip: damaged or truncated ImageJ ROI file"):
        imagej.read_rois(tmp_path / "junk.zip", (10, 10))


@pytest.mark.parametrize("content, message", [
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None, "properties": {}}]},
     "no polygon geometry in its 1 features"),
    ({"type": "FeatureCollection", "features": []}, "holds no features"),
    ({"hello": "world"}, "not GeoJSON features"),
    ("{broken", "not valid GeoJSON"),
])
def test_geojson_without_geometry_is_one_line(tmp_path, content, message):
    path = tmp_path / "a.geojson"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(DataError) as err:
        geojson.read_geojson(path, (10, 10))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_zarr_without_multiscales_is_one_line_and_untouched(tmp_path):
    ome_zarr = _zarr()
    import zarr

    zarr.open_group(str(tmp_path / "plain.zarr"), mode="w").attrs["note"] = "no OME metadata"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    annotation = Annotation.from_values(np.ones((4, 4), np.uint8), ClassSpec.infer({0, 1}))
    for action in (lambda: ome_zarr.read_zarr_image(tmp_path / "plain.zarr"),
                   lambda: ome_zarr.write_zarr_labels(tmp_path / "plain.zarr", annotation)):
        with pytest.raises(DataError, match="plain.zarr: Zarr store without OME-NGFF 'multiscales' metadata"):
            action()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_five_d_ome_tiff_is_one_line_and_a_chosen_plane_reads(tmp_path):
    data = np.arange(2 * 2 * 3 * 8 * 10, dtype=np.uint16).reshape(2, 2, 3, 8, 10)
    path = _ome_tiff(tmp_path / "a.ome.tif", data, "TCZYX")
    with pytest.raises(DataError) as err:
        ome_tiff.read_ome_tiff(path)
    assert "5-D image (axes TCZYX: T=2, C=2, Z=3, Y=8, X=10)" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match="z-stack"):
        read_image(path)  # the plain reader refuses it too
    image, _ = ome_tiff.read_ome_tiff(path, z=2, t=1)
    assert np.array_equal(image, np.moveaxis(data[1, :, 2], 0, -1))
