"""A prediction drawn over the image and its annotation: bright outlines by default, or filled but translucent, so
the tissue under it stays visible (issue #19: a filled prediction was almost opaque over the nuclei)."""

from __future__ import annotations

import numpy as np

from app.views.mask_layer import MaskLayer

# Outlines of a prediction in colours that stand out against the filled annotation beneath.
OUTLINE_CANDIDATES = [(255, 230, 0), (0, 220, 255), (255, 60, 200), (120, 255, 80), (255, 140, 0), (255, 255, 255)]
OUTLINE_OPACITY = 0.9  # thin lines: strong colour hides little
FILLED_OPACITY = 0.45  # filled: the image must show through


def outline_colors(class_colors: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """For each class the bright outline colour farthest from its fill colour (yellow on blue, cyan on yellow)."""
    def distance(a, b) -> int:
        return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))

    return [tuple(max(OUTLINE_CANDIDATES, key=lambda c, fill=fill: distance(c, fill))) for fill in class_colors]


class PredictionLayer(MaskLayer):
    """Above the annotation (z 2), hidden until a prediction is shown."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(2)
        self.setVisible(False)

    def show_prediction(self, mask: np.ndarray | None, colors: list[tuple[int, int, int]], outline: bool) -> None:
        """Draw ``mask`` with the class ``colors`` as outlines or translucent fills; None hides the layer."""
        if mask is not None:
            self.set_mask(None)  # style first, on an empty layer, so the mask is drawn once
            self.set_outline(outline)
            self.set_colors(outline_colors(colors) if outline else colors, show_background=False)
            self.setOpacity(OUTLINE_OPACITY if outline else FILLED_OPACITY)
            self.set_mask(mask)
        self.setVisible(mask is not None)
