"""A zoomable, pannable view of one image-sized scene: the base of every canvas in the app.

Wheel zooms, the middle button or space + drag pans, ``[`` ``]`` resize the brush. Subclasses get
left-button presses, drags and releases, and hover moves, in scene (= image pixel) coordinates.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen, QWheelEvent
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsScene, QGraphicsView, QWidget


class ZoomPanView(QGraphicsView):
    """Scene coordinates are image pixels: pixel (x, y) covers the square [x, x+1) x [y, y+1)."""

    zoomChanged = Signal(float)
    brushSizeChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.brush_size = 16
        self._pan_from: QPointF | None = None
        self._space_held = False
        self._fitted = True  # keep the image fitted to the view as it resizes, until the user zooms
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(60, 60, 60))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.outline = QGraphicsEllipseItem()
        self.outline.setPen(QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine))
        self.outline.setZValue(10)
        self.outline.setVisible(False)
        self.scene().addItem(self.outline)

    # ----- for subclasses -----
    def content_rect(self) -> QRectF:
        """The image's extent in scene coordinates."""
        return QRectF()

    def press(self, pos: QPointF) -> None:
        """Left button down at scene position ``pos`` (also called by tests)."""

    def drag(self, pos: QPointF) -> None:
        """Mouse moved with the left button down."""

    def release(self, pos: QPointF) -> None:
        """Left button up."""

    def hover(self, pos: QPointF | None) -> None:
        """Mouse moved (None: it left the view)."""

    def shows_brush_outline(self) -> bool:
        return False

    # ----- view -----
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        self._fitted = False
        self._show_scrollbars(True)
        factor = min(max(factor, 0.05), 64.0)
        self.resetTransform()
        self.scale(factor, factor)
        self.zoomChanged.emit(factor)

    def fit_to_window(self) -> None:
        self._fitted = True
        self._show_scrollbars(False)  # the whole image is in view; the pan margin needs no bars
        self.fitInView(self.content_rect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoomChanged.emit(self.zoom)

    def refit_scene(self) -> None:
        """Call after the image changed size: room to pan one image size beyond each edge, then fit."""
        rect = self.content_rect()
        self.scene().setSceneRect(rect.adjusted(-rect.width(), -rect.height(), rect.width(), rect.height()))
        self.fit_to_window()

    def _show_scrollbars(self, shown: bool) -> None:
        policy = Qt.ScrollBarPolicy.ScrollBarAsNeeded if shown else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        self.setHorizontalScrollBarPolicy(policy)
        self.setVerticalScrollBarPolicy(policy)

    def set_brush_size(self, size: int) -> None:
        self.brush_size = max(1, min(int(size), 512))
        self.update_outline(None)
        self.brushSizeChanged.emit(self.brush_size)

    def update_outline(self, pos: QPointF | None) -> None:
        """The brush outline follows the cursor, centred on the pixel under it."""
        if pos is not None:
            r = self.brush_size / 2
            cx, cy = math.floor(pos.x()) + 0.5, math.floor(pos.y()) + 0.5
            self.outline.setRect(cx - r, cy - r, 2 * r, 2 * r)
        self.outline.setVisible(self.shows_brush_outline() and pos is not None)

    # ----- Qt events -----
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fitted:  # the view gets its real size only when shown, and again on every resize
            self.fit_to_window()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * 1.15**steps)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif event.key() == Qt.Key.Key_BracketLeft:
            self.set_brush_size(self.brush_size - max(1, self.brush_size // 8))
        elif event.key() == Qt.Key.Key_BracketRight:
            self.set_brush_size(self.brush_size + max(1, self.brush_size // 8))
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.setCursor(Qt.CursorShape.CrossCursor)
        else:
            super().keyReleaseEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._pan_from = event.position()
        elif event.button() == Qt.MouseButton.LeftButton:
            self.press(self.mapToScene(event.position().toPoint()))
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        pos = self.mapToScene(event.position().toPoint())
        self.hover(pos)
        self.update_outline(pos)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.drag(pos)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
        elif event.button() == Qt.MouseButton.LeftButton:
            self.release(self.mapToScene(event.position().toPoint()))
        else:
            super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.outline.setVisible(False)
        self.hover(None)
        super().leaveEvent(event)
