"""resources/: found through one module from a checkout and from an installed wheel; the desktop entry installs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import resources

REPO = Path(__file__).resolve().parents[1]


def test_every_icon_is_a_currentcolor_svg_and_licensed():
    names = resources.icon_names()
    assert {"brush", "eraser", "fill", "polygon", "unlabelled", "save", "open-folder", "train"} <= set(names)
    for name in names:
        svg = resources.icon_svg(name)
        assert svg.lstrip().startswith("<svg") and "currentColor" in svg, name
    assert "MIT License" in resources.path("icons/LICENSE-tabler-icons.txt").read_text()


def test_app_icon_in_every_size_and_platform_format():
    from io import BytesIO

    from PIL import Image

    for size in resources.APP_ICON_SIZES:
        with Image.open(BytesIO(resources.app_icon_png(size))) as image:
            assert image.size == (size, size) and image.mode == "RGBA"
    with Image.open(BytesIO(resources.path("app/segstudio.ico").read_bytes())) as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    assert resources.path("app/segstudio.icns").read_bytes()[:4] == b"icns"


def test_a_missing_resource_is_named():
    with pytest.raises(FileNotFoundError, match="icons/nothing.svg"):
        resources.path("icons/nothing.svg")


def test_the_desktop_entry_installs_into_the_xdg_folders(tmp_path):
    from app.desktop_entry import install

    written = install(tmp_path, command="/opt/seg/bin/segstudio")
    entry = (tmp_path / "applications" / "segstudio.desktop").read_text()
    assert "Exec=/opt/seg/bin/segstudio %f" in entry and "Icon=segstudio" in entry and "Type=Application" in entry
    for size in resources.APP_ICON_SIZES:
        assert (tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "segstudio.png").is_file()
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "segstudio.svg").is_file()
    assert len(written) == len(resources.APP_ICON_SIZES) + 2
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(written[0])], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_installing_where_a_file_is_in_the_way_is_one_line(tmp_path):
    from app.desktop_entry import install
    from segcore.errors import OutputError

    (tmp_path / "applications").write_text("not a folder")
    with pytest.raises(OutputError, match="applications"):
        install(tmp_path, command="segstudio")


def test_resources_ship_in_the_wheel_and_load_from_it(tmp_path):
    """Build the wheel from a copy of the sources, install it into a folder, read the resources from there."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("segcore", "app", "resources"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", ".",
                            "-w", str(tmp_path / "dist")], cwd=source, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("segstudio-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"resources/icons/brush.svg", "resources/app/segstudio.ico", "resources/app/segstudio.icns",
            "resources/app/segstudio-512.png", "resources/segstudio.desktop"} <= names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)  # what pip puts in site-packages, without touching this venv
    code = ("import resources, sys; print(resources.__file__); "
            "print(len(resources.icon_names()), len(resources.app_icon_png(32)))")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target)},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    where, counts = run.stdout.splitlines()
    assert where.startswith(str(target))
    assert int(counts.split()[0]) == len(resources.icon_names()) and int(counts.split()[1]) > 100
