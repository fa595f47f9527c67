"""Reading and writing images and masks.

Images come back as ``(H, W, C)`` arrays in their stored dtype (float64/float16 become float32); masks as
``(H, W)`` integer arrays of file values (``read_mask_raw``) or ``uint8`` class indices (``read_mask``).
PNG/JPEG/BMP go through Pillow, TIFF through tifffile. Every failure is a :class:`DataError` naming the file.

Orientation: a JPEG (or PNG) with an EXIF Orientation tag, and a TIFF with an Orientation tag, are returned as
every viewer shows them (a phone photo stored 96x64 with Orientation=6 reads as 64 wide and 96 high), images and
masks alike, so masks drawn on the displayed photo line up and predicted masks are written in that geometry.

Memory: a file whose decoded pixels would not fit in the memory that is free (a 30000x30000 slide, a
decompression bomb) is refused from its header, before decoding, with a :class:`DataError` saying so.

Colour-coded RGB masks: when the :class:`ClassSpec` passed to ``read_mask_raw``/``read_mask`` has the colours of
the file, each colour maps to its class value (black maps to ``spec.unlabelled`` when black is no class colour);
without a matching spec such a mask is refused with a message saying how to fix it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, ImageOps, UnidentifiedImageError

from segcore.atomic import atomic_path
from segcore.data.classes import ClassSpec
from segcore.data.lossy import is_lossy_file, snap
from segcore.errors import DataError

# Pillow refuses images above this many pixels (decompression-bomb guard); microscopy slides are big, so allow
# about 1.5 gigapixels (~39k x 39k) instead of Pillow's default 89 megapixels.
MAX_IMAGE_PIXELS = 1_500_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

PIL_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")  # read and written
READ_ONLY_SUFFIXES = (".gif", ".ppm", ".pgm", ".pnm")  # read only: retinal sets ship GIF masks (DRIVE), PPM (STARE)
TIFF_SUFFIXES = (".tif", ".tiff")
IMAGE_SUFFIXES = PIL_SUFFIXES + READ_ONLY_SUFFIXES + TIFF_SUFFIXES


def is_image_file(path: str | os.PathLike) -> bool:
    """True for a visible file with a supported image suffix."""
    path = Path(path)
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()


# -- low-level decoding -----------------------------------------------------------------------------------------
def _check_readable(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not an image file")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: unsupported file type '{path.suffix}' (supported: {', '.join(IMAGE_SUFFIXES)})")


def size_text(shape: tuple[int, ...]) -> str:
    """``(H, W, ...)`` as the one way messages give sizes: ``WIDTHxHEIGHT``."""
    return f"{shape[1]}x{shape[0]}"


def size_mismatch(mask: os.PathLike, mask_shape: tuple, image: os.PathLike, image_shape: tuple) -> DataError:
    """The error for a mask whose size is not its image's, sizes as width x height, naming a quarter turn."""
    turned = tuple(mask_shape[:2]) == tuple(image_shape[1::-1])
    hint = ("; the same size turned by 90 degrees: was one of them rotated, or drawn on a photo shown without its "
            "EXIF orientation?" if turned else "")
    return DataError(f"{mask}: mask is {size_text(mask_shape)} but image {image} is {size_text(image_shape)} "
                     f"(width x height){hint}")


# Decoding holds the file's pixels about twice (the decoder's buffer and the numpy array) before one is freed.
DECODE_COPIES = 2


def free_memory() -> int:
    """Bytes of memory available to this process now (psutil; the smaller of the machine's and a cgroup limit)."""
    import psutil

    free = psutil.virtual_memory().available
    try:  # a container's limit (cgroup v2) is not in the machine's figures
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            free = min(free, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(0, free)


def check_fits_memory(path: Path, height: int, width: int, bytes_per_pixel: int) -> None:
    """Refuse (DataError) an image whose decoded pixels would not fit in free memory, from its header alone."""
    need = height * width * bytes_per_pixel * DECODE_COPIES
    free = free_memory()
    if need > free:
        raise DataError(f"{path}: {width}x{height} pixels need {need / 1e9:.1f} GB of memory to read, but "
                        f"{free / 1e9:.1f} GB is free; crop or tile the image into smaller files (e.g. 4096x4096) "
                        "first")


_BYTES_PER_BAND = {"1": 1, "L": 1, "P": 1, "I": 4, "F": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}


def _pil_bytes_per_pixel(im: Image.Image) -> int:
    bands = len(im.getbands())
    return max(bands, 3 if im.mode == "P" else 1) * _BYTES_PER_BAND.get(im.mode, 1)


def _decode_pil(path: Path, to_array) -> np.ndarray:
    """Open and fully decode with Pillow, turned as EXIF says, then ``to_array(image)``; Pillow's exceptions become
    DataError."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse at the limit itself.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                check_fits_memory(path, im.height, im.width, _pil_bytes_per_pixel(im))
                im.load()
                return to_array(_displayed(im))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(
            f"{path}: image too large ({exc}); above PIL.Image.MAX_IMAGE_PIXELS (set to {MAX_IMAGE_PIXELS:,} by "
            "segcore) it is treated as a decompression bomb: tile the image or raise that limit"
        ) from exc
    except UnidentifiedImageError as exc:
        raise DataError(f"{path}: not a readable image (corrupt or wrong extension)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: corrupt or truncated image ({exc})") from exc


def _displayed(im: Image.Image) -> Image.Image:
    """The image as viewers show it: the EXIF Orientation tag (phone photos) applied."""
    try:
        if im.getexif().get(ORIENTATION_TAG, 1) in (1, None):
            return im  # as stored (and keeping im.format, which a copy would lose)
        return ImageOps.exif_transpose(im) or im
    except (SyntaxError, ValueError, OSError, KeyError, TypeError):  # a damaged EXIF block: show as stored
        return im


ORIENTATION_TAG = 0x0112  # EXIF and TIFF tag 274
# TIFF/EXIF Orientation tag value -> numpy steps that turn the stored (H, W, ...) array into the displayed one.
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _read_tiff(path: Path) -> np.ndarray:
    """Decode a TIFF; RGB+alpha drops alpha, (C,H,W) is transposed to (H,W,C), the Orientation tag is applied."""
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            sizes = {ax: n for ax, n in zip(series.axes, series.shape, strict=True)}
            pixels = int(np.prod([n for ax, n in sizes.items() if ax in "YX"]))
            if pixels > (Image.MAX_IMAGE_PIXELS or pixels):
                raise DataError(f"{path}: image too large ({pixels:,} pixels, limit PIL.Image.MAX_IMAGE_PIXELS = "
                                f"{Image.MAX_IMAGE_PIXELS:,}); tile the image or raise that limit")
            check_fits_memory(path, sizes.get("Y", 1), sizes.get("X", 1),
                              int(np.prod(series.shape)) // max(pixels, 1) * series.dtype.itemsize)
            array = series.asarray()
            axes = series.axes
            page = tif.pages[0]
            rgb_alpha = page.photometric == tifffile.PHOTOMETRIC.RGB and bool(page.extrasamples)
            orientation = page.tags.get(ORIENTATION_TAG)
            orientation = int(orientation.value) if orientation is not None else 1
    except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError) as exc:
        raise DataError(f"{path}: corrupt or unreadable TIFF ({exc})") from exc
    array = _orient_tiff(array, axes, orientation)
    # Drop singleton axes (e.g. T=1, Z=1) but keep Y and X.
    keep = [i for i, (ax, n) in enumerate(zip(axes, array.shape, strict=True)) if n > 1 or ax in "YX"]
    if len(keep) < array.ndim:
        array = array.reshape([array.shape[i] for i in keep])
        axes = "".join(axes[i] for i in keep)
    # A z-stack or time series tagged as such (ImageJ, OME) is not a set of channels: refuse it, naming the axis.
    for axis, what in (("Z", "z-stack"), ("T", "time series")):
        if axis in axes:
            raise DataError(f"{path}: {what} of {array.shape[axes.index(axis)]} planes (axes {axes}); segcore "
                            "segments 2-D images: save one plane or a projection (e.g. Fiji's Z Project) instead")
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim != 3:
        raise DataError(f"{path}: {array.ndim}-D TIFF (axes {axes}, shape {array.shape}) is not a 2-D image")
    # Channels: samples (S) are already last; an explicit C axis or, for plain page stacks, the smallest
    # dimension in front means (C,H,W).
    if not axes.endswith("S") and (axes.startswith("C") or array.shape[0] <= array.shape[2]):
        array = np.moveaxis(array, 0, -1)
    if rgb_alpha and array.shape[-1] == 4:
        array = array[..., :3]
    return array


def _orient_tiff(array: np.ndarray, axes: str, orientation: int) -> np.ndarray:
    """Apply a TIFF Orientation tag to the Y and X axes of ``array``, wherever they are."""
    if orientation not in _ORIENT or "Y" not in axes or "X" not in axes:
        return array
    y, x = axes.index("Y"), axes.index("X")
    moved = np.moveaxis(array, (y, x), (0, 1))
    return np.moveaxis(np.ascontiguousarray(_ORIENT[orientation](moved)), (0, 1), (y, x))


def _normalise_dtype(array: np.ndarray) -> np.ndarray:
    if not array.dtype.isnative:  # big-endian TIFF/PNG data: torch and friends want native order
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype.kind == "f" and array.dtype != np.float32:
        return array.astype(np.float32)
    return array


# -- images -----------------------------------------------------------------------------------------------------
def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an ``(H, W, C)`` array in its stored dtype.

    Greyscale gives C=1; palette images become RGB; RGBA/LA drop alpha; TIFF (C,H,W) stacks are transposed.
    Raises DataError for missing, corrupt or unsupported files.
    """
    path = Path(path)
    _check_readable(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        array = _read_tiff(path)
    else:
        array = _decode_pil(path, _pil_to_image_array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise DataError(f"{path}: image is empty (shape {array.shape})")
    return np.ascontiguousarray(_normalise_dtype(array))


def displayed_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image file as :func:`read_image` would return it, from the header alone (no
    pixels decoded, so a 30000x30000 slide or a decompression bomb costs nothing). Raises DataError like
    :func:`read_image` for files it cannot read."""
    path = Path(path)
    _check_readable(path)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            with tifffile.TiffFile(path) as tif:
                sizes = dict(zip(tif.series[0].axes, tif.series[0].shape, strict=True))
                tag = tif.pages[0].tags.get(ORIENTATION_TAG)
                turned = tag is not None and int(tag.value) in (5, 6, 7, 8)
                height, width = sizes.get("Y", 1), sizes.get("X", 1)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as im:
                    height, width = im.height, im.width
                    exif = Image.Exif()  # from what the header held: im.getexif() would decode a PNG
                    if "exif" in im.info:
                        exif.load(im.info["exif"])
                    turned = exif.get(ORIENTATION_TAG, 1) in (5, 6, 7, 8)
    except Image.DecompressionBombError as exc:
        raise DataError(f"{path}: image too large ({exc})") from exc
    except (UnidentifiedImageError, tifffile.TiffFileError, OSError, SyntaxError, ValueError, IndexError,
            KeyError) as exc:
        raise DataError(f"{path}: not a readable image (corrupt or wrong extension)") from exc
    return (width, height) if turned else (height, width)


def _pil_to_image_array(im: Image.Image) -> np.ndarray:
    if im.mode == "P" or im.mode == "PA":
        im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
    if im.mode in ("RGBA", "RGBa", "RGBX"):
        return np.asarray(im)[..., :3]
    if im.mode in ("LA", "La"):
        return np.asarray(im)[..., :1]
    if im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    if im.mode == "1":
        im = im.convert("L")
    return np.asarray(im)


def write_image(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an image atomically: PNG/JPEG/BMP via Pillow (uint8, or uint16 greyscale PNG), TIFF any dtype."""
    path = Path(path)
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        if path.suffix.lower() not in TIFF_SUFFIXES:
            raise DataError(f"{path}: cannot store an image of shape {array.shape} in {path.suffix} (use .tif)")
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        with atomic_path(path) as tmp:
            if array.ndim == 3 and array.shape[2] == 3:
                tifffile.imwrite(tmp, array, photometric="rgb")
            elif array.ndim == 3:  # other channel counts as planes, tagged so readers know the axis
                tifffile.imwrite(tmp, np.moveaxis(array, -1, 0), photometric="minisblack", metadata={"axes": "CYX"})
            else:
                tifffile.imwrite(tmp, array, photometric="minisblack")
        return
    if suffix not in PIL_SUFFIXES:
        raise DataError(f"{path}: cannot write '{path.suffix}' files (use one of "
                        f"{', '.join(PIL_SUFFIXES + TIFF_SUFFIXES)})")
    ok = array.dtype == np.uint8 or (array.dtype == np.uint16 and array.ndim == 2 and suffix == ".png")
    if not ok:
        raise DataError(f"{path}: cannot store {array.dtype} data of shape {array.shape} in {suffix} (use .tif)")
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}[suffix]
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format=fmt)


# -- masks ------------------------------------------------------------------------------------------------------
def read_mask_raw(path: str | os.PathLike, spec: ClassSpec | None = None) -> np.ndarray:
    """Read a mask file as an ``(H, W)`` integer array of file values.

    Palette PNGs give their palette indices, greyscale-stored-as-RGB gives one channel. A colour-coded RGB mask
    is mapped through ``spec.colors`` when ``spec`` is given; otherwise it raises DataError.
    """
    path = Path(path)
    if path.name.lower().endswith("_seg.npy"):  # Cellpose's annotation file: object ids
        from segcore.interop.cellpose import read_seg

        return read_seg(path)
    _check_readable(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        array = _read_tiff(path)
    else:
        array = _decode_pil(path, _pil_to_mask_array)
    if array.ndim == 3:
        array = _mask_channels_to_values(path, array, spec)
    if array.dtype == bool or not array.dtype.isnative:
        array = array.astype(np.uint8 if array.dtype == bool else array.dtype.newbyteorder("="))
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.round(array)) or array.min() < 0:
            raise DataError(f"{path}: mask holds non-integer values; masks must store class values")
        array = array.astype(np.uint16 if array.max() < 65536 else np.int64)
    if array.dtype.kind == "i" and array.size and array.min() < 0:
        raise DataError(f"{path}: mask holds negative values")
    return np.ascontiguousarray(array)


def _pil_to_mask_array(im: Image.Image) -> np.ndarray:
    """Single-band modes as stored (palette images give their indices); others as an image array.

    GIF is the exception: it can only store a palette, so a GIF whose palette is all grey (DRIVE's vessel and
    field-of-view masks) gives the grey levels a viewer shows, not the encoder's arbitrary indices."""
    if im.format == "GIF" and im.mode == "P" and _grey_palette(im):
        return np.asarray(im.convert("L"))
    if im.mode in ("P", "L", "I;16", "I;16B", "I;16L", "I", "F", "1"):
        return np.asarray(im)
    return _pil_to_image_array(im)


def _grey_palette(im: Image.Image) -> bool:
    used = np.unique(np.asarray(im))
    palette = np.asarray(im.getpalette() or [], dtype=np.int32).reshape(-1, 3)
    if used.max(initial=0) >= len(palette):
        return False
    colours = palette[used]
    return bool((colours == colours[:, :1]).all())


def _mask_channels_to_values(path: Path, array: np.ndarray, spec: ClassSpec | None) -> np.ndarray:
    if array.shape[2] == 1 or all(np.array_equal(array[..., 0], array[..., c]) for c in range(1, array.shape[2])):
        return array[..., 0]
    if array.shape[2] == 3 and spec is not None:
        mapped = _colours_to_values(array, spec)
        if mapped is not None:
            return mapped
    colours = np.unique(array.reshape(-1, array.shape[2])[:: max(1, array.shape[0] * array.shape[1] // 100000)], axis=0)
    raise DataError(
        f"{path}: colour-coded mask ({len(colours)}+ colours, e.g. {[tuple(int(v) for v in c) for c in colours[:4]]}); "
        "save it as class indices (greyscale or palette PNG) or give a classes.json whose colours match"
    )


def _colours_to_values(rgb: np.ndarray, spec: ClassSpec) -> np.ndarray | None:
    """Map each pixel colour to the class value with that colour; None when a colour is not in the spec."""
    key = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    table = {(r << 16) | (g << 8) | b: v for (r, g, b), v in zip(spec.colors, spec.values, strict=False)}
    if spec.unlabelled is not None and 0 not in table:
        table[0] = spec.unlabelled  # black = unlabelled when no class is black (densecrf convention)
    found, inverse = np.unique(key, return_inverse=True)
    if not all(int(k) in table for k in found):
        return None
    lut = np.array([table[int(k)] for k in found], dtype=np.int64)
    out = lut[inverse.reshape(key.shape)]
    return out.astype(np.uint8 if out.max(initial=0) < 256 else np.uint16)


def read_mask(path: str | os.PathLike, spec: ClassSpec) -> np.ndarray:
    """Read a mask file as ``uint8`` class indices (IGNORE_INDEX for unlabelled) through ``spec.decode``.

    Values a lossy or resampled file produced near the class values are read as the nearest class value
    (:mod:`segcore.data.lossy`). Raises DataError for values that are no class, naming JPEG when it is one.
    """
    raw, _ = read_mask_snapped(path, spec)
    try:
        return spec.decode(raw, source=str(path))
    except DataError as exc:
        if is_lossy_file(path):
            raise DataError(f"{exc}; masks saved as JPEG (a lossy format) do not keep exact values: save them as "
                            "PNG") from exc
        raise


def read_mask_snapped(path: str | os.PathLike, spec: ClassSpec) -> tuple[np.ndarray, int]:
    """The file values of a mask with lossy or resampled values snapped to ``spec``'s; and how many pixels moved."""
    raw = read_mask_raw(path, spec)
    if spec.instances:
        return raw, 0
    return snap(raw, spec.file_values, is_lossy_file(path))


def write_mask(path: str | os.PathLike, mask: np.ndarray, spec: ClassSpec,
               ids_from: str | os.PathLike | np.ndarray | None = None) -> None:
    """Write class indices as an indexed PNG (pixel = file value, palette = class colours), atomically.

    Values above 255 cannot live in a palette PNG, so such specs are written as 16-bit greyscale PNG, and
    instance specs as greyscale ids: object pixels keep the id they have in ``ids_from`` (the mask file being
    edited, or its ids as an array), other objects get new ids (connected regions; all of them when ``ids_from``
    is None). ``read_mask(path, spec)`` gives back the identical array.
    """
    path = Path(path)
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise DataError(f"{path}: a mask must be 2-D, got shape {mask.shape}")
    if mask.dtype.kind not in "ui":
        raise DataError(f"{path}: a mask must hold integer class indices, got {mask.dtype}")
    bad = (mask >= spec.num_classes) & (mask != 255)
    if bad.any():
        raise DataError(f"{path}: mask holds class indices {sorted(np.unique(mask[bad]).tolist())[:10]} "
                        f"but the class list has {spec.num_classes} classes")
    if path.suffix.lower() != ".png":
        raise DataError(f"{path}: masks are written as PNG; use a .png file name")
    previous = None
    if spec.instances and ids_from is not None:
        previous = ids_from if isinstance(ids_from, np.ndarray) else read_ids(ids_from)
    values = spec.encode(mask.astype(np.uint8), previous)
    if values.dtype == np.uint16 or spec.instances:  # ids are plain numbers, as instance tools write them
        image = Image.fromarray(values)
    else:
        image = _as_palette(values, spec)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def read_ids(path: str | os.PathLike) -> np.ndarray | None:
    """The object ids an instance mask file holds now; None when there is no readable file to keep them from."""
    if not Path(path).exists():
        return None
    try:
        return read_mask_raw(path)
    except DataError:
        return None


def _as_palette(values: np.ndarray, spec: ClassSpec) -> Image.Image:
    palette = np.zeros((256, 3), dtype=np.uint8)
    for value, colour in zip(spec.values, spec.colors, strict=False):
        palette[value] = colour
    image = Image.frombytes("P", (values.shape[1], values.shape[0]), np.ascontiguousarray(values).tobytes())
    image.putpalette(palette.ravel().tolist())
    return image
