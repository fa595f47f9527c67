"""``segcore create-txt``: write the file lists of the data/ + val/ folder layout."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "create-txt", help="write data/data.txt and val/val.txt listing the images of each split",
        description="For a FOLDER with data/ and val/ subfolders (images with masks in masks/ or named "
                    "STEM_mask.EXT), write data/data.txt and val/val.txt with one image file name per line. "
                    "Edit a list to leave images out of training or validation.",
    )
    p.add_argument("folder", help="folder holding data/ and/or val/")
    p.set_defaults(func=run)


def run(args) -> int:
    from segcore.data.layout import create_txt, find_samples

    for path in create_txt(args.folder):
        count = len(path.read_text(encoding="utf-8").splitlines())
        print(f"{path}: {count} images")
    warnings: list[str] = []
    samples = find_samples(args.folder, warnings)
    for message in warnings:
        print(f"warning: {message}")
    unlabelled = sum(s.mask is None for s in samples)
    if unlabelled:
        print(f"note: {unlabelled} of {len(samples)} images have no mask yet")
    return 0
