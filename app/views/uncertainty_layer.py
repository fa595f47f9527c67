"""The uncertainty map drawn over the image: the colour map of :mod:`segcore.colormap`, transparent where the
model is sure, so the image shows through everywhere except where it hesitates."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from segcore.colormap import LUT

# Opacity per table index: 0 (certain) is clear, it rises to ALPHA_MAX by the middle of the range and stays.
ALPHA_MAX = 230
_ALPHA = np.minimum(np.arange(256) * 2, ALPHA_MAX).astype(np.uint8)
_RGBA = np.concatenate([LUT, _ALPHA[:, None]], axis=1)


def rgba(indices: np.ndarray) -> np.ndarray:
    """``uint8 (H, W)`` colour-table indices (``segcore.colormap.to_index``) -> ``uint8 (H, W, 4)``."""
    return _RGBA[indices]


class UncertaintyLayer(QGraphicsPixmapItem):
    """``set_map(indices)`` shows a map (None clears); the canvas owns the item, a controller feeds it."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(3)  # over the annotation (1) and the prediction outlines (2)
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
