"""The uncertainty map drawn over the image: the colour map of :mod:`segcore.colormap`, transparent where the
model is sure, so the image shows through everywhere except where it hesitates."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from segcore.colormap import LUT

# Opacity per table index: 0 (certain) is clear, rising linearly to ALPHA_MAX at 1, so even a model unsure
# everywhere leaves the image readable underneath.
ALPHA_MAX = 180
_ALPHA = np.round(np.arange(256) * ALPHA_MAX / 255).astype(np.uint8)
_RGBA = np.concatenate([LUT, _ALPHA[:, None]], axis=1)


def rgba(indices: np.ndarray) -> np.ndarray:
    """``uint8 (H, W)`` colour-table indices (``segcore.colormap.to_index``) -> ``uint8 (H, W, 4)``."""
    return _RGBA[indices]


class UncertaintyLayer(QGraphicsPixmapItem):
    """``set_map(indices)`` shows a map (None clears); the canvas owns the item, a controller feeds it."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(1.5)  # over the annotation (1), under the prediction's outlines (2), which stay readable
        self.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.shown_map: np.ndarray | None = None

    def set_map(self, indices: np.ndarray | None) -> None:
        self.shown_map = indices
        if indices is None:
            self.setPixmap(QPixmap())
            return
        pixels = np.ascontiguousarray(rgba(indices))
        h, w = indices.shape
        image = QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        self.setPixmap(QPixmap.fromImage(image))  # copies the pixels
