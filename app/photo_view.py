"""The output pane: the synthesized photo, scaled to fit, with a status line over it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class PhotoView(QWidget):
    """Shows the newest photo; ``message`` is drawn instead when there is none (e.g. no model)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.photo: np.ndarray | None = None
        self._image = QImage()
        self.message = ""
        self.busy = False
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_photo(self, photo: np.ndarray) -> None:
        self.photo = np.ascontiguousarray(photo)
        h, w = self.photo.shape[:2]
        self._image = QImage(self.photo.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.message = ""
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.update()

    def photo_rect(self) -> QRect:
        """Where the photo is drawn: as large as fits, aspect ratio kept, centred."""
        if self._image.isNull():
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRect(
            (self.width() - size.width()) // 2,
            (self.height() - size.height()) // 2,
            size.width(),
            size.height(),
        )

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(45, 45, 45))
        if not self._image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.photo_rect(), self._image)
        painter.setPen(QColor(230, 230, 230))
        if self.message:
            painter.drawText(
                self.rect().adjusted(20, 20, -20, -20),
                Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignCenter,
                self.message,
            )
        if self.busy:
            painter.drawText(
                self.rect().adjusted(8, 8, -8, -8),
                Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight,
                "rendering…",
            )
