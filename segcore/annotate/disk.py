"""What the annotation store needs to know about files other programs may change while the window is open.

A mask file's *stamp* (modification time, size, inode) tells whether another program replaced it since it was
read; a folder that is no longer there (moved, renamed, a drive unplugged) must not be recreated by a save with
only masks in it; an image the window cannot show (a 30000 x 30000 slide) is refused from its header.
"""

from __future__ import annotations

import os
from pathlib import Path

from segcore.data import io
from segcore.errors import DataError

# The window shows an image as a 4-byte-per-pixel picture with a 4-byte overlay and a 1-byte mask beside the
# pixels themselves; Qt's images hold at most 2 GB (2**29 such pixels). Above this many pixels it refuses, and
# says to segment the image headless, where prediction is tiled.
MAX_SHOWN_PIXELS = 2**28  # 268 megapixels, e.g. 16384 x 16384
SHOWN_BYTES_PER_PIXEL = 16  # picture, overlay, mask, the image itself (up to 3 x 16-bit) and a spare copy


def file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """Modification time, size and inode of ``path``; None when it is not there."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def folder_gone(folder: Path) -> str:
    return (f"{folder}: the folder is gone (moved, renamed or unplugged?); your edits are kept in memory: save "
            "them elsewhere (File > Save Masks To...) or put the folder back")


def spec_home(folder: Path | None, mask: Path) -> Path:
    """Where the classes.json that explains ``mask`` belongs: the open folder, or the mask's own folder when the
    masks were saved elsewhere."""
    if folder is not None and mask.resolve().is_relative_to(folder):
        return folder
    return mask.parent


def showable(image: Path, size: tuple[int, int] | None = None) -> None:
    """Raise DataError (one line) when the window could not show ``image`` (or a pyramid level of it of ``size``,
    height and width): too many pixels for it, or for the memory that is free. Reads the header only."""
    height, width = size if size is not None else io.displayed_size(image)
    pixels = height * width
    if pixels > MAX_SHOWN_PIXELS:
        raise DataError(f"{image}: {width}x{height} ({pixels / 1e6:.0f} megapixels) is more than the window shows "
                        f"({MAX_SHOWN_PIXELS / 1e6:.0f} megapixels); segment it with `segcore predict -i` (tiled), "
                        "save it as a pyramidal OME-TIFF (the window shows a coarser level) or cut it into tiles")
    need, free = pixels * SHOWN_BYTES_PER_PIXEL, io.free_memory()
    if need > free:
        raise DataError(f"{image}: {width}x{height} needs {need / 1e9:.1f} GB of memory to show, but "
                        f"{free / 1e9:.1f} GB is free; close other programs, or cut it into tiles")
