"""The label canvas: a zoomable view of the document in its label set's colours, and the paint tools."""

from __future__ import annotations

import math
from enum import Enum

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app import raster
from app.document import Document, EditSession


class Tool(Enum):
    BRUSH = "Brush"
    ERASER = "Eraser"
    FILL = "Fill"
    LINE = "Line"
    RECTANGLE = "Rectangle"
    ELLIPSE = "Ellipse"
    LASSO = "Lasso"
    EYEDROPPER = "Eyedropper"


class LabelImageItem(QGraphicsItem):
    """Draws the colour-coded label map; repaints only the regions that change."""

    def __init__(self, document: Document):
        super().__init__()
        self.document = document
        self.rgb = np.zeros((0, 0, 3), np.uint8)
        self.image = QImage()
        self.reload()

    def reload(self) -> None:
        self.prepareGeometryChange()
        self.rgb = np.ascontiguousarray(self.document.label_set.to_colors(self.document.labels))
        h, w = self.rgb.shape[:2]
        self.image = QImage(self.rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.update()

    def refresh(self, region: tuple[int, int, int, int]) -> None:
        y0, x0, y1, x1 = region
        self.rgb[y0:y1, x0:x1] = self.document.label_set.to_colors(self.document.labels[y0:y1, x0:x1])
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(0, 0, self.rgb.shape[1], self.rgb.shape[0])

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        painter.drawImage(exposed, self.image, exposed)


class CanvasView(QGraphicsView):
    """Paint label ids with the mouse. Wheel zooms, middle button or space+drag pans.

    Signals: ``hovered(id or None)`` under the cursor, ``picked(id)`` from the eyedropper,
    ``zoomChanged(factor)``.
    """

    hovered = Signal(object)
    picked = Signal(int)
    zoomChanged = Signal(float)

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.tool = Tool.BRUSH
        self.current_id = document.label_set.background_id
        self.eraser_id: int | None = None  # None: the label set's background class
        self.brush_size = 16
        self._session: EditSession | None = None
        self._last: QPointF | None = None
        self._start: QPointF | None = None
        self._lasso: list[tuple[float, float]] = []
        self._preview: QGraphicsItem | None = None
        self._pan_from: QPointF | None = None
        self._space_held = False

        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(60, 60, 60))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.image_item = LabelImageItem(document)
        self.scene().addItem(self.image_item)
        self.outline = QGraphicsEllipseItem()
        self.outline.setPen(QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine))
        self.outline.setZValue(10)
        self.outline.setVisible(False)
        self.scene().addItem(self.outline)
        self._fit_scene()
        document.changed.connect(self.image_item.refresh)
        document.replaced.connect(self._on_replaced)

    # ----- view -----
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(max(factor, 0.05), 64.0)
        self.resetTransform()
        self.scale(factor, factor)
        self.zoomChanged.emit(factor)

    def fit_to_window(self) -> None:
        self.fitInView(self.image_item.boundingRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoomChanged.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * 1.15**steps)

    def _fit_scene(self) -> None:
        rect = self.image_item.boundingRect()
        self.scene().setSceneRect(rect.adjusted(-rect.width(), -rect.height(), rect.width(), rect.height()))

    def _on_replaced(self) -> None:
        self.image_item.reload()
        self._fit_scene()
        self.fit_to_window()

    # ----- tools -----
    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self._update_outline(None)

    def set_brush_size(self, size: int) -> None:
        self.brush_size = max(1, min(int(size), 512))
        self._update_outline(None)

    def paint_id(self) -> int:
        if self.tool == Tool.ERASER:
            return self.document.label_set.background_id if self.eraser_id is None else self.eraser_id
        return self.current_id

    def _pixel(self, pos: QPointF) -> tuple[int, int] | None:
        x, y = math.floor(pos.x()), math.floor(pos.y())
        h, w = self.document.size
        return (x, y) if 0 <= x < w and 0 <= y < h else None

    def press(self, pos: QPointF) -> None:
        """Start the current tool at scene position ``pos`` (also called by tests)."""
        if self.tool == Tool.EYEDROPPER:
            pixel = self._pixel(pos)
            if pixel is not None:
                self.picked.emit(int(self.document.labels[pixel[1], pixel[0]]))
            return
        if self.tool == Tool.FILL:
            pixel = self._pixel(pos)
            if pixel is not None:
                session = self.document.begin_edit()
                mask, origin = raster.fill_mask(self.document.labels, *pixel)
                session.paint(mask, self.paint_id(), origin)
                session.commit("Fill")
            return
        self._session = self.document.begin_edit()
        self._start = self._last = pos
        if self.tool in (Tool.BRUSH, Tool.ERASER):
            self._dab(pos, pos)
        elif self.tool == Tool.LASSO:
            self._lasso = [(pos.x(), pos.y())]
        self._update_preview(pos)

    def drag(self, pos: QPointF) -> None:
        if self._session is None:
            return
        if self.tool in (Tool.BRUSH, Tool.ERASER):
            self._dab(self._last, pos)
        elif self.tool == Tool.LASSO:
            self._lasso.append((pos.x(), pos.y()))
        self._last = pos
        self._update_preview(pos)

    def release(self, pos: QPointF) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        start = (self._start.x(), self._start.y())
        end = (pos.x(), pos.y())
        if self.tool == Tool.LINE:
            mask, origin = raster.stroke_mask(start, end, self.brush_size)
        elif self.tool == Tool.RECTANGLE:
            mask, origin = raster.rect_mask(start, end)
        elif self.tool == Tool.ELLIPSE:
            mask, origin = raster.ellipse_mask(start, end)
        elif self.tool == Tool.LASSO and len(self._lasso) >= 3:
            mask, origin = raster.polygon_mask(self._lasso)
        else:
            mask = None
        if mask is not None:
            session.paint(mask, self.paint_id(), origin)
        session.commit(self.tool.value)
        self._clear_preview()

    def _dab(self, a: QPointF, b: QPointF) -> None:
        mask, origin = raster.stroke_mask((a.x(), a.y()), (b.x(), b.y()), self.brush_size)
        self._session.paint(mask, self.paint_id(), origin)

    def _remove_preview_item(self) -> None:
        if self._preview is not None:
            self.scene().removeItem(self._preview)
            self._preview = None

    def _clear_preview(self) -> None:
        self._remove_preview_item()
        self._lasso = []

    def _update_preview(self, pos: QPointF) -> None:
        if self.tool not in (Tool.LINE, Tool.RECTANGLE, Tool.ELLIPSE, Tool.LASSO) or self._start is None:
            return
        self._remove_preview_item()
        rect = QRectF(self._start, pos).normalized()
        pen = QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine)
        if self.tool == Tool.LINE:
            item = QGraphicsLineItem(self._start.x(), self._start.y(), pos.x(), pos.y())
        elif self.tool == Tool.RECTANGLE:
            item = QGraphicsRectItem(rect)
        elif self.tool == Tool.ELLIPSE:
            item = QGraphicsEllipseItem(rect)
        else:
            path = QPainterPath(QPointF(*self._lasso[0]))
            for x, y in self._lasso[1:]:
                path.lineTo(x, y)
            item = QGraphicsPathItem(path)
        item.setPen(pen)
        item.setZValue(9)
        self.scene().addItem(item)
        self._preview = item

    def _update_outline(self, pos: QPointF | None) -> None:
        show = self.tool in (Tool.BRUSH, Tool.ERASER, Tool.LINE)
        if pos is not None:
            r = self.brush_size / 2
            cx, cy = math.floor(pos.x()) + 0.5, math.floor(pos.y()) + 0.5
            self.outline.setRect(cx - r, cy - r, 2 * r, 2 * r)
        self.outline.setVisible(show and pos is not None)

    # ----- Qt events -----
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

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        pos = self.mapToScene(event.position().toPoint())
        pixel = self._pixel(pos)
        self.hovered.emit(None if pixel is None else int(self.document.labels[pixel[1], pixel[0]]))
        self._update_outline(pos)
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

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.outline.setVisible(False)
        self.hovered.emit(None)
        super().leaveEvent(event)
