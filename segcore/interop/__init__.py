"""Annotations and images that move between segcore and other tools.

One module per format, each through the format's own well-kept library (no hand-written parsers):

- ``geojson``    QuPath GeoJSON: one Feature per region, ``classification`` {name, color}; shapely geometry.
- ``imagej``     ImageJ / Fiji ROI sets (``RoiSet.zip``, ``.roi``) through roifile.
- ``cellpose``   Cellpose ``IMG_seg.npy`` (read without running pickled code), ``IMG_cp_masks.png``, ``IMG_masks``.
- ``label_tiff`` 16/32-bit label TIFFs, as QuPath and Fiji write instance masks (tifffile).
- ``ome_tiff``   OME-TIFF images: axes, channel names, physical pixel size, pyramid levels (tifffile).
- ``ome_zarr``   OME-Zarr (NGFF 0.4/0.5) images and label groups, read and written (ome-zarr, zarr).

Every reader returns, and every writer takes, an :class:`~segcore.interop.annotation.Annotation`: class indices,
object ids and the class list of one image. ``convert`` moves an annotation from any of these to any other.
Optional libraries are imported only by the module that needs them; a missing one raises a one-line
:class:`~segcore.errors.DataError` that names the package to install (``pip install 'segstudio[interop]'``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from segcore.errors import DataError

INSTALL_HINT = "pip install 'segstudio[interop]'"


def require(module: str, package: str | None = None) -> ModuleType:
    """Import an optional library, or raise DataError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DataError(f"this needs the Python package '{package or module}', which is not installed "
                        f"({INSTALL_HINT})") from exc
