"""A graphics item that draws a uint8 RGB/RGBA array in place: the image layer of every canvas."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.regions import Region


class ArrayImageItem(QGraphicsItem):
    """Draws an RGB or RGBA uint8 array without copying it; ``refresh`` repaints one region."""

    def __init__(self) -> None:
        super().__init__()
        self.pixels = np.zeros((0, 0, 3), np.uint8)
        self.image = QImage()

    def set_pixels(self, pixels: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.pixels = np.ascontiguousarray(pixels)
        h, w, channels = self.pixels.shape
        form = QImage.Format.Format_RGB888 if channels == 3 else QImage.Format.Format_RGBA8888
        self.image = QImage(self.pixels.data, w, h, channels * w, form) if h and w else QImage()
        self.update()

    def refresh(self, region: Region) -> None:
        y0, x0, y1, x1 = region
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(0, 0, self.pixels.shape[1], self.pixels.shape[0])

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.image.isNull():
            return
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        painter.drawImage(exposed, self.image, exposed)
