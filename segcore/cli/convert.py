"""``segcore convert``: annotations between segcore and QuPath, Fiji, Cellpose, napari/OME-Zarr and label TIFF."""

from __future__ import annotations

import sys

from segcore.interop.convert import FORMATS


def register(sub) -> None:
    p = sub.add_parser(
        "convert", help="convert annotations: QuPath GeoJSON, ImageJ ROIs, Cellpose, OME-Zarr, label TIFF, PNG",
        description="Convert the annotation IN (a mask, GeoJSON, RoiSet.zip/.roi, Cellpose _seg.npy or _masks "
                    "image, OME-Zarr image with labels) to OUT. The format follows OUT's extension (.geojson, "
                    ".zip, .png, .tif, .zarr, NAME_masks.png) unless --to says. A folder IN converts every "
                    "annotation file in it, or the masks of its images, into the folder OUT (--to needed). "
                    "Nothing is lost on the way: regions are exact pixel outlines.")
    p.add_argument("input", metavar="IN", help="annotation file or folder")
    p.add_argument("output", metavar="OUT", help="file or folder to write")
    p.add_argument("--to", choices=FORMATS, help="output format (default: from OUT's extension)")
    p.add_argument("--classes", metavar="classes.json",
                   help="class list to match names to (default: OUT's data set's classes.json, then IN's, else "
                        "built from the file)")
    p.add_argument("--like", metavar="IMAGE",
                   help="the image (or folder of images) a GeoJSON/ROI file belongs to, for its size (default: "
                        "the image with IN's stem beside it); also the image of a new OME-Zarr store")
    p.add_argument("--label", metavar="NAME", help="OME-Zarr label image to read or write (default: the first / "
                                                   "'segmentation')")
    p.add_argument("--min-area", type=float, default=0, metavar="PIXELS",
                   help="GeoJSON/ROI output: leave out regions smaller than this (default 0: keep all)")
    p.add_argument("--object-type", choices=("annotation", "detection"),
                   help="GeoJSON output: QuPath object type (default: detection for instance masks, else "
                        "annotation)")
    p.set_defaults(func=run)


def run(args) -> int:
    from segcore.interop.annotation import load_classes_file
    from segcore.interop.convert import convert

    spec = load_classes_file(args.classes) if args.classes else None
    written = convert(args.input, args.output, args.to, spec, args.like, args.label, args.min_area,
                      args.object_type)
    for item in written:
        print(f"wrote {item}")
        for warning in item.warnings:
            print(f"segcore convert: note: {warning}", file=sys.stderr)
    return 0
