"""Side-by-side comparison of a raw and a CRF-refined mask, drawn with Pillow (no Qt).

``render_comparison`` returns one RGB image: image | raw overlay | CRF overlay | difference, titled, with a legend
(class colours, then the pixels the CRF added to the foreground, removed from it, or moved between two
foreground classes, with their counts). ``write_comparison`` saves it atomically; ``crf_mask_path`` and
``comparison_path`` give the file names written beside a prediction (``out.png`` -> ``out.crf.png``,
``out.compare.png``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from segcore.atomic import atomic_path
from segcore.data.classes import IGNORE_INDEX, ClassSpec
from segcore.errors import DataError

# Cyan / magenta / yellow stay distinct under the common colour-vision deficiencies.
ADDED_COLOR = (0, 190, 255)
REMOVED_COLOR = (255, 50, 160)
CHANGED_COLOR = (255, 230, 0)
BACKGROUND = (255, 255, 255)
TEXT_COLOR = (20, 20, 20)
GAP = 8


@dataclass(frozen=True)
class Difference:
    """Pixel counts of what the CRF changed; ``added``/``removed`` are relative to the foreground."""

    added: int
    removed: int
    changed: int
    total: int

    @property
    def changed_fraction(self) -> float:
        return (self.added + self.removed + self.changed) / self.total if self.total else 0.0


SIDECAR_TAGS = ("crf", "compare", "overlay", "probs")  # OUT.TAG.png (or .npy) written beside a predicted OUT.png


def is_sidecar(path: str | os.PathLike) -> bool:
    """True for a file ``segcore predict`` wrote beside a mask ``OUT.png`` (``OUT.crf.png``, ``OUT.compare.png``,
    ``OUT.overlay.png``) while ``OUT.png`` is still there: an output, not an image to segment or train on."""
    path = Path(path)
    stem, _, tag = path.stem.rpartition(".")
    return bool(stem) and tag in SIDECAR_TAGS and path.with_name(f"{stem}.png").is_file()


def crf_mask_path(out_path: str | os.PathLike) -> Path:
    """``out.png`` -> ``out.crf.png`` (the refined mask written beside the raw one)."""
    out_path = Path(out_path)
    return out_path.with_name(f"{out_path.stem}.crf{out_path.suffix}")


def comparison_path(out_path: str | os.PathLike) -> Path:
    """``out.png`` -> ``out.compare.png`` (the side-by-side figure)."""
    out_path = Path(out_path)
    return out_path.with_name(f"{out_path.stem}.compare.png")


def densest_window(changed: np.ndarray, side: int | None = None) -> tuple[int, int, int, int] | None:
    """The square window (x, y, width, height) holding the most changed pixels, to show first; None when nothing
    changed. ``changed``: (H, W), non-zero where the masks differ (e.g. :func:`difference_map`'s code).
    ``side`` defaults to a sixth of the shorter image side, at least 32 pixels (clipped to the image).

    Counted with a summed-area table, so any image size costs one pass.
    """
    from scipy.ndimage import uniform_filter

    hits = np.asarray(changed) != 0
    if not hits.any():
        return None
    h, w = hits.shape
    side = min(side or max(32, min(h, w) // 6), h, w)
    density = uniform_filter(hits.astype(np.float32), size=side, mode="constant")
    y, x = np.unravel_index(int(np.argmax(density)), density.shape)
    left, top = min(max(0, x - side // 2), w - side), min(max(0, y - side // 2), h - side)
    return int(left), int(top), int(side), int(side)


def difference_map(raw_mask: np.ndarray, crf_mask: np.ndarray) -> tuple[np.ndarray, Difference]:
    """Per-pixel code (0 same, 1 added, 2 removed, 3 changed class) and the counts. Class 0 is background."""
    raw, crf = np.asarray(raw_mask), np.asarray(crf_mask)
    if raw.shape != crf.shape or raw.ndim != 2:
        raise DataError(f"masks to compare must be 2-D and equal in shape, got {raw.shape} and {crf.shape}")
    raw_fg = (raw != 0) & (raw != IGNORE_INDEX)
    crf_fg = (crf != 0) & (crf != IGNORE_INDEX)
    code = np.zeros(raw.shape, dtype=np.uint8)
    code[~raw_fg & crf_fg] = 1
    code[raw_fg & ~crf_fg] = 2
    code[raw_fg & crf_fg & (raw != crf)] = 3
    counts = np.bincount(code.ravel(), minlength=4)
    return code, Difference(int(counts[1]), int(counts[2]), int(counts[3]), int(raw.size))


def display_rgb(image: np.ndarray) -> np.ndarray:
    """Any image -> uint8 RGB for display (percentile stretch for non-uint8; grey replicated; first 3 channels)."""
    from segcore.data.preprocess import to_unit

    unit = to_unit(np.asarray(image))
    if unit.shape[2] == 1:
        unit = np.repeat(unit, 3, axis=2)
    elif unit.shape[2] == 2:
        unit = np.concatenate([unit, np.zeros_like(unit[..., :1])], axis=2)
    return (unit[..., :3] * 255 + 0.5).astype(np.uint8)


def overlay(rgb: np.ndarray, mask: np.ndarray, colors: list[tuple[int, int, int]], alpha: float = 0.5) -> np.ndarray:
    """Blend class colours over ``rgb`` for every non-background, labelled pixel."""
    lut = np.zeros((256, 3), dtype=np.float32)
    lut[: len(colors)] = np.asarray(colors, dtype=np.float32)[:256]
    painted = (mask != 0) & (mask != IGNORE_INDEX)
    out = rgb.astype(np.float32)
    out[painted] = (1 - alpha) * out[painted] + alpha * lut[mask[painted]]
    return (out + 0.5).astype(np.uint8)


def difference_panel(rgb: np.ndarray, code: np.ndarray, kept_fg: np.ndarray) -> np.ndarray:
    """Dimmed grey image, kept foreground lightened, changed pixels in their difference colours."""
    grey = rgb.astype(np.float32).mean(axis=2, keepdims=True) * 0.55
    out = np.repeat(grey, 3, axis=2)
    out[kept_fg] = out[kept_fg] * 0.5 + 110
    for value, color in ((1, ADDED_COLOR), (2, REMOVED_COLOR), (3, CHANGED_COLOR)):
        out[code == value] = color
    return out.astype(np.uint8)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _fit(panel: np.ndarray, max_size: int | None, nearest: bool) -> Image.Image:
    im = Image.fromarray(panel)
    longest = max(im.size)
    if max_size and longest > max_size:
        ratio = max_size / longest
        size = (max(1, round(im.width * ratio)), max(1, round(im.height * ratio)))
        im = im.resize(size, Image.Resampling.NEAREST if nearest else Image.Resampling.BOX)
    return im


def _legend_items(spec: ClassSpec, diff: Difference) -> list[tuple[tuple[int, int, int], str]]:
    items = [(tuple(spec.colors[i]), spec.names[i]) for i in range(1, spec.num_classes)]
    pct = 100.0 / diff.total if diff.total else 0.0
    items.append((ADDED_COLOR, f"added by CRF: {diff.added:,} px ({diff.added * pct:.2f}%)"))
    items.append((REMOVED_COLOR, f"removed by CRF: {diff.removed:,} px ({diff.removed * pct:.2f}%)"))
    if diff.changed or spec.num_classes > 2:
        items.append((CHANGED_COLOR, f"class changed: {diff.changed:,} px ({diff.changed * pct:.2f}%)"))
    return items


def _layout_legend(draw, items, font, width: int, line: int) -> list[list[tuple[int, tuple, str]]]:
    """Greedy line wrapping of legend items; returns rows of (x, colour, text)."""
    rows: list[list[tuple[int, tuple, str]]] = [[]]
    x = GAP
    for color, text in items:
        item_w = line + 6 + int(draw.textlength(text, font=font)) + 3 * GAP
        if rows[-1] and x + item_w > width:
            rows.append([])
            x = GAP
        rows[-1].append((x, color, text))
        x += item_w
    return rows


def render_comparison(
    image: np.ndarray,
    raw_mask: np.ndarray,
    crf_mask: np.ndarray,
    spec: ClassSpec,
    *,
    alpha: float = 0.5,
    max_panel_size: int | None = 1024,
    titles: tuple[str, str, str, str] = ("image", "raw prediction", "CRF-refined", "difference (CRF vs raw)"),
) -> Image.Image:
    """Draw image | raw overlay | CRF overlay | difference with titles and a legend; returns an RGB PIL image.

    Panels larger than ``max_panel_size`` pixels on their long side are shrunk for display (counts in the legend
    are always computed at full resolution); ``None`` keeps full size.
    """
    raw, crf = np.asarray(raw_mask), np.asarray(crf_mask)
    rgb = display_rgb(image)
    if rgb.shape[:2] != raw.shape:
        raise DataError(f"image is {rgb.shape[1]}x{rgb.shape[0]} but the masks are {raw.shape[1]}x{raw.shape[0]} "
                        "(width x height)")
    code, diff = difference_map(raw, crf)
    kept_fg = (raw != 0) & (crf != 0) & (code == 0) & (raw != IGNORE_INDEX)
    panels = [
        _fit(rgb, max_panel_size, nearest=False),
        _fit(overlay(rgb, raw, spec.colors, alpha), max_panel_size, nearest=False),
        _fit(overlay(rgb, crf, spec.colors, alpha), max_panel_size, nearest=False),
        _fit(difference_panel(rgb, code, kept_fg), max_panel_size, nearest=True),
    ]
    pw, ph = panels[0].size
    font = _font(max(11, min(28, pw // 28)))
    line = int(font.size if hasattr(font, "size") else 11) + 4
    width = 4 * pw + 5 * GAP
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    rows = _layout_legend(probe, _legend_items(spec, diff), font, width, line)
    header = line + GAP
    height = header + ph + GAP + len(rows) * (line + GAP) + GAP
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for i, (panel, title) in enumerate(zip(panels, titles, strict=True)):
        x = GAP + i * (pw + GAP)
        canvas.paste(panel, (x, header))
        draw.text((x, GAP // 2), title, fill=TEXT_COLOR, font=font)
    y = header + ph + GAP
    for row in rows:
        for x, color, text in row:
            draw.rectangle([x, y, x + line - 1, y + line - 1], fill=color, outline=TEXT_COLOR)
            draw.text((x + line + 6, y), text, fill=TEXT_COLOR, font=font)
        y += line + GAP
    return canvas


def write_comparison(
    path: str | os.PathLike, image: np.ndarray, raw_mask: np.ndarray, crf_mask: np.ndarray, spec: ClassSpec,
    **kwargs,
) -> Path:
    """Render the comparison and save it as PNG atomically; returns the path. kwargs go to render_comparison."""
    path = Path(path)
    figure = render_comparison(image, raw_mask, crf_mask, spec, **kwargs)
    with atomic_path(path) as tmp:
        figure.save(tmp, format="PNG")
    return path


def write_crf_outputs(
    out_path: str | os.PathLike, image: np.ndarray, probabilities: np.ndarray, spec: ClassSpec,
    params=None, with_comparison: bool = False,
) -> dict[str, Path]:
    """Refine a prediction and write it beside the raw mask: ``out.crf.png`` (and ``out.compare.png``).

    For ``segcore predict --crf [--compare]`` and the GUI: ``out_path`` is the raw mask's path (which the caller
    writes); returns ``{"crf": path[, "compare": path]}``. Raises CRFUnavailableError without pydensecrf.
    """
    from segcore import crf
    from segcore.data.io import write_mask

    _, refined = crf.refine(image, probabilities, params)
    written = {"crf": crf_mask_path(out_path)}
    write_mask(written["crf"], refined, spec)
    if with_comparison:
        raw = np.asarray(probabilities).argmax(axis=0).astype(np.uint8)
        written["compare"] = write_comparison(comparison_path(out_path), image, raw, refined, spec)
    return written
