"""Which folder a dropped path opens, following the folder layouts of segcore.data.layout (masks: segcore.annotate.saving)."""

from __future__ import annotations

from pathlib import Path

from segcore.data import io

LAYOUT_DIRS = ("images", "data", "val")  # an image inside one of these belongs to the folder above


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
