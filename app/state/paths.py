"""Where masks go and which folder an image belongs to, following the folder layouts of segcore.data.layout."""

from __future__ import annotations

from pathlib import Path

from segcore.data import io, layout

LAYOUT_DIRS = ("images", "data", "val")  # an image inside one of these belongs to the folder above


def new_mask_path(sample: layout.Sample, folder: Path) -> Path:
    """Where a mask for an image without one is written, following the folder's layout."""
    parent = sample.image.parent
    if parent.name == "images" and parent.parent == folder:
        return folder / "masks" / f"{sample.image.stem}.png"
    if (parent / "masks").is_dir():
        return parent / "masks" / f"{sample.image.stem}.png"
    return parent / f"{sample.image.stem}{layout.MASK_SUFFIX}.png"


def folder_to_open(path: Path) -> tuple[Path, Path | None] | None:
    """For a dropped folder or image file: the folder to open and the image to show (None: the first).

    None when the path is neither a folder nor a supported image.
    """
    path = Path(path)
    if path.is_dir():
        return path, None
    if not io.is_image_file(path):
        return None
    parent = path.parent
    return (parent.parent if parent.name in LAYOUT_DIRS else parent), path
