"""The files the window loads from disk: toolbar and menu icons, the application icon, the Linux .desktop entry.

The one place they are found. They ship as package data and are read through :mod:`importlib.resources`, so the
same calls work from a source checkout and from an installed wheel. No Qt here: :mod:`app.views.icons` turns
the SVGs into palette-aware QIcons.

Icons (``icons/NAME.svg``) are Tabler Icons (MIT licence, ``icons/LICENSE-tabler-icons.txt``), outline style on a
24 x 24 grid, drawn with ``currentColor`` so the window can colour them for a light or dark palette. The
application icon (``app/``) is this project's own (MIT): the SVG and its renderings for each platform, made by
``python -m resources.make_app_icons``.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)  # the PNG renderings in app/
DESKTOP_ENTRY = "segstudio.desktop"


def path(name: str) -> Traversable:
    """The resource ``name`` (e.g. ``"icons/brush.svg"``); FileNotFoundError naming it when it is missing."""
    resource = files(__name__).joinpath(name)
    if not resource.is_file():
        raise FileNotFoundError(f"segstudio resource {name!r} is missing (a broken installation?)")
    return resource


def icon_svg(name: str) -> str:
    """The SVG text of icon ``name`` (``"brush"``, ``"save"``, ... : see :func:`icon_names`)."""
    return path(f"icons/{name}.svg").read_text(encoding="utf-8")


def icon_names() -> list[str]:
    """Every icon there is, sorted."""
    return sorted(p.name[:-4] for p in files(__name__).joinpath("icons").iterdir() if p.name.endswith(".svg"))


def app_icon_png(size: int) -> bytes:
    """The application icon rendered at ``size`` pixels (one of :data:`APP_ICON_SIZES`)."""
    return path(f"app/segstudio-{size}.png").read_bytes()


def app_icon_svg() -> bytes:
    return path("app/segstudio.svg").read_bytes()
