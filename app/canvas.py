"""The label canvas: a zoomable view of the document in its label set's colours, and the paint tools."""

from __future__ import annotations

import math
from enum import Enum

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app import raster
from app.document import Document, EditSession
from app.zoom_view import ZoomPanView


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


class CanvasView(ZoomPanView):
    """Paint label ids with the mouse (zoom and pan from ``ZoomPanView``).

    Signals: ``hovered(id or None)`` under the cursor, ``picked(id)`` from the eyedropper.
    """

    hovered = Signal(object)
    picked = Signal(int)

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.tool = Tool.BRUSH
        self.current_id = document.label_set.background_id
        self.eraser_id: int | None = None  # None: the label set's background class
        self._session: EditSession | None = None
        self._last: QPointF | None = None
        self._start: QPointF | None = None
        self._lasso: list[tuple[float, float]] = []
        self._preview: QGraphicsItem | None = None
        self.image_item = LabelImageItem(document)
        self.scene().addItem(self.image_item)
        self.photo_item = QGraphicsPixmapItem()  # the output under the labels, in overlay layout
        self.photo_item.setZValue(-1)
        self.photo_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.photo_item.setVisible(False)
        self.scene().addItem(self.photo_item)
        self.refit_scene()
        document.changed.connect(self.image_item.refresh)
        document.replaced.connect(self._on_replaced)

    def content_rect(self) -> QRectF:
        return self.image_item.boundingRect()

    def set_overlay(self, photo: np.ndarray | None, label_opacity: float = 0.5) -> None:
        """Show ``photo`` under the label map, drawn at ``label_opacity`` (None: labels only, opaque)."""
        if photo is None:
            self.photo_item.setVisible(False)
            self.image_item.setOpacity(1.0)
            return
        photo = np.ascontiguousarray(photo)
        h, w = photo.shape[:2]
        pixmap = QPixmap.fromImage(QImage(photo.data, w, h, 3 * w, QImage.Format.Format_RGB888))
        self.photo_item.setPixmap(pixmap)
        rect = self.content_rect()
        self.photo_item.setTransform(QTransform.fromScale(rect.width() / w, rect.height() / h))
        self.photo_item.setVisible(True)
        self.image_item.setOpacity(label_opacity)

    def shows_brush_outline(self) -> bool:
        return self.tool in (Tool.BRUSH, Tool.ERASER, Tool.LINE)

    def _on_replaced(self) -> None:
        self.image_item.reload()
        self.refit_scene()

    # ----- tools -----
    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self.update_outline(None)

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

    def hover(self, pos: QPointF | None) -> None:
        pixel = None if pos is None else self._pixel(pos)
        self.hovered.emit(None if pixel is None else int(self.document.labels[pixel[1], pixel[0]]))
