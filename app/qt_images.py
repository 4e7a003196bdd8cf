"""uint8 RGB arrays to and from QImage, for the clipboard and thumbnails (copies: Qt keeps no
pointer into numpy memory that could be freed under it), and the file-dialog filter for images."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from engine.labels import IMAGE_SUFFIXES

IMAGE_FILTER = f"Images ({' '.join('*' + suffix for suffix in IMAGE_SUFFIXES)});;All files (*)"


def qimage_of(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of a uint8 (H, W, 3) array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def rgb_of(image: QImage) -> np.ndarray:
    """A uint8 (H, W, 3) array of any QImage (transparency is dropped, as over black)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = image.height(), image.width()
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return rows.reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()
