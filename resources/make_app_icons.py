"""Render the application icon (app/segstudio.svg) to the platform formats: PNGs per size, .ico and .icns.

Run after changing the SVG: ``QT_QPA_PLATFORM=offscreen python -m resources.make_app_icons``. Qt draws the SVG;
Pillow writes the Windows and macOS containers.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent / "app"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(size: int) -> Image.Image:  # noqa: F821 - Pillow imported in main
    from PIL import Image
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_RGBA8888)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(HERE / "segstudio.svg")).render(painter, QRectF(0, 0, size, size))
    painter.end()
    return Image.frombytes("RGBA", (size, size), bytes(image.constBits()))


def main() -> None:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - Qt needs one to render
    images = {size: render(size) for size in SIZES}
    for size, image in images.items():
        image.save(HERE / f"segstudio-{size}.png", optimize=True)
    largest = images[max(SIZES)]
    largest.save(HERE / "segstudio.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    largest.save(HERE / "segstudio.icns")


if __name__ == "__main__":
    main()
