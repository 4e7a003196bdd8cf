"""The label canvas: a zoomable view of the document in its label set's colours, and the paint tools.

With the instance tool on, every stroke or shape of a thing class (``has_instances``) paints a new
object (its own instance id), or adds to the selected one while Shift is held; the select tool
picks the object under the cursor, which the canvas outlines.
"""

from __future__ import annotations

import math
from enum import Enum

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainterPath, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QWidget,
)

from app import raster
from app.array_item import ArrayImageItem
from app.document import Document, EditSession
from app.regions import bounding_box
from app.zoom_view import ZoomPanView
from engine.instance_synthesis import THING_ID_BASE


class Tool(Enum):
    BRUSH = "Brush"
    ERASER = "Eraser"
    FILL = "Fill"
    LINE = "Line"
    RECTANGLE = "Rectangle"
    ELLIPSE = "Ellipse"
    LASSO = "Lasso"
    EYEDROPPER = "Eyedropper"
    SELECT = "Select object"


class LabelImageItem(ArrayImageItem):
    """Draws the colour-coded label map; repaints only the regions that change.

    Pixels on the border between two objects of the same class are shaded, so touching objects
    (two windows side by side) stay visibly apart.
    """

    def __init__(self, document: Document):
        super().__init__()
        self.document = document
        self.reload()

    def reload(self) -> None:
        h, w = self.document.size
        self.set_pixels(self._colors((0, 0, h, w)))

    def refresh(self, region: tuple[int, int, int, int]) -> None:
        h, w = self.document.size
        # a change also moves the object borders of the pixels around it
        y0, x0, y1, x1 = (
            max(region[0] - 1, 0),
            max(region[1] - 1, 0),
            min(region[2] + 1, h),
            min(region[3] + 1, w),
        )
        self.pixels[y0:y1, x0:x1] = self._colors((y0, x0, y1, x1))
        super().refresh((y0, x0, y1, x1))

    def _colors(self, region: tuple[int, int, int, int]) -> np.ndarray:
        """Colours of a box of the map, object borders shaded (darker, or lighter on dark colours)."""
        y0, x0, y1, x1 = region
        h, w = self.document.size
        cy0, cx0, cy1, cx1 = max(y0 - 1, 0), max(x0 - 1, 0), min(y1 + 1, h), min(x1 + 1, w)
        labels = self.document.labels[cy0:cy1, cx0:cx1]
        instances = self.document.instances[cy0:cy1, cx0:cx1]
        border = np.zeros(labels.shape, bool)
        across = (labels[:, 1:] == labels[:, :-1]) & (instances[:, 1:] != instances[:, :-1])
        border[:, 1:] |= across
        border[:, :-1] |= across
        down = (labels[1:] == labels[:-1]) & (instances[1:] != instances[:-1])
        border[1:] |= down
        border[:-1] |= down
        window = (slice(y0 - cy0, y1 - cy0), slice(x0 - cx0, x1 - cx0))
        rgb = self.document.label_set.to_colors(labels[window])
        shade = rgb[border[window]]
        dark = shade.mean(axis=-1, keepdims=True) < 96
        rgb[border[window]] = np.where(dark, shade // 2 + 128, shade // 2)
        return rgb


class CanvasView(ZoomPanView):
    """Paint label ids with the mouse (zoom and pan from ``ZoomPanView``).

    Signals: ``hovered(id or None)`` under the cursor, ``picked(id)`` from the eyedropper,
    ``instanceSelected(instance id or None)`` when the selected object changes.
    """

    hovered = Signal(object)
    picked = Signal(int)
    instanceSelected = Signal(object)

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.tool = Tool.BRUSH
        self.current_id = document.label_set.background_id
        self.eraser_id: int | None = None  # None: the label set's background class
        self.instance_mode = False  # the instance tool: each thing stroke paints a new object
        self.continue_selected = False  # add the next stroke to the selected object (Shift held)
        self.selected_instance: int | None = None
        self._stroke_instance: int | None = None
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
        self.selection_tint = QGraphicsPixmapItem()  # the selected object's pixels, lightened
        self.selection_tint.setZValue(7)
        self.selection_outline = QGraphicsPathItem()
        self.selection_outline.setPen(QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine))
        self.selection_outline.setZValue(8)
        for item in (self.selection_tint, self.selection_outline):
            self.scene().addItem(item)
        self._outline_timer = QTimer(self)  # strokes change the object many times a second: coalesce
        self._outline_timer.setSingleShot(True)
        self._outline_timer.timeout.connect(self.update_selection_outline)
        self.refit_scene()
        document.changed.connect(self.image_item.refresh)
        document.changed.connect(self._on_changed)
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
        self.select_instance(None)

    def _on_changed(self, _region: tuple[int, int, int, int]) -> None:
        if self.selected_instance is not None:
            self._outline_timer.start(0)

    # ----- objects -----
    def select_instance(self, instance_id: int | None) -> None:
        """Select an object (None: nothing), outline it and tell ``instanceSelected``."""
        self.selected_instance = None if instance_id is None else int(instance_id)
        self.update_selection_outline()
        self.instanceSelected.emit(self.selected_instance)

    def update_selection_outline(self) -> None:
        """Trace the selected object's pixels: a dashed outline and a light tint over them."""
        self._outline_timer.stop()
        selected = self.selected_instance
        mask = None if selected is None else self.document.instances == selected
        if mask is None or not mask.any():
            self.selection_outline.setPath(QPainterPath())
            self.selection_tint.setVisible(False)
            return
        y0, x0, y1, x1 = bounding_box(mask)
        box = np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.uint8)
        contours, _ = cv2.findContours(box, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        path = QPainterPath()
        for contour in contours:
            points = contour[:, 0, :] + (x0 + 0.5, y0 + 0.5)  # through the border pixels' centres
            path.moveTo(*points[0])
            for x, y in points[1:]:
                path.lineTo(x, y)
            path.closeSubpath()
        self.selection_outline.setPath(path)
        rgba = np.zeros((*box.shape, 4), np.uint8)
        rgba[box.astype(bool)] = (255, 255, 255, 110)
        h, w = box.shape
        image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self.selection_tint.setPixmap(QPixmap.fromImage(image))
        self.selection_tint.setPos(float(x0), float(y0))
        self.selection_tint.setVisible(True)

    def stroke_instance(self, label_id: int) -> int | None:
        """The instance a stroke of ``label_id`` paints: None (stuff: the class id) unless the
        instance tool is on and the class has objects; then the selected object when continuing it
        (same class), else a new one."""
        if self.tool == Tool.ERASER or not self.instance_mode:
            return None
        if (
            label_id not in self.document.label_set
            or not self.document.label_set.by_id(label_id).has_instances
        ):
            return None
        selected = self.selected_instance
        if self.continue_selected and selected is not None:
            owner = self.document.instance_class(selected)
            if owner is None:  # all its pixels were painted over or undone: its id tells its class
                owner = selected // THING_ID_BASE
            if owner == label_id:
                return selected
        return self.document.new_instance_id(label_id)

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

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.continue_selected = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        super().mousePressEvent(event)

    def press(self, pos: QPointF) -> None:
        """Start the current tool at scene position ``pos`` (also called by tests)."""
        if self.tool == Tool.EYEDROPPER:
            pixel = self._pixel(pos)
            if pixel is not None:
                self.picked.emit(int(self.document.labels[pixel[1], pixel[0]]))
            return
        if self.tool == Tool.SELECT:
            pixel = self._pixel(pos)
            self.select_instance(None if pixel is None else int(self.document.instances[pixel[1], pixel[0]]))
            return
        if self.tool == Tool.FILL:
            pixel = self._pixel(pos)
            if pixel is not None:
                session = self.document.begin_edit()
                # the object (or stuff region) under the click, not every touching one of its class
                mask, origin = raster.fill_mask(self.document.instances, *pixel)
                label_id = self.paint_id()
                instance_id = self.stroke_instance(label_id)
                session.paint(mask, label_id, origin, instance_id)
                self._finish(session, "Fill", instance_id)
            return
        self._session = self.document.begin_edit()
        self._stroke_instance = self.stroke_instance(self.paint_id())
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
            session.paint(mask, self.paint_id(), origin, self._stroke_instance)
        self._finish(session, self.tool.value, self._stroke_instance)
        self._clear_preview()

    def _finish(self, session: EditSession, text: str, instance_id: int | None) -> None:
        """Commit the edit; an object it painted becomes the selected one (Shift adds to it)."""
        if session.commit(text) and instance_id is not None and instance_id != self.selected_instance:
            self.select_instance(instance_id)

    def _dab(self, a: QPointF, b: QPointF) -> None:
        mask, origin = raster.stroke_mask((a.x(), a.y()), (b.x(), b.y()), self.brush_size)
        self._session.paint(mask, self.paint_id(), origin, self._stroke_instance)

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
