"""Inpaint by erasing (LaMa): paint over what should go, and the fill appears while you erase.

The photo sits on a zoomable canvas with the hole drawn as a translucent red overlay; after every
stroke segment the model fills the hole (requests are coalesced by the engine thread) and the
output pane shows the result. "Accept fill" makes the result the new photo, so objects can be
removed one after another, each step undoable.

The hole is a coverage mask (0..255). LaMa's input is binary (``cat(image * (1 - mask), mask)``), so
the model regenerates every pixel with any coverage, and the result is the photo blended with the
fill by coverage: the brush's hardness (below 100 %) gives a soft rim where the fill fades into the
photo, and every pixel outside the hole is returned exactly as it was.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QPointF, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QKeyEvent,
    QKeySequence,
    QPainterPath,
    QPen,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QLabel,
    QSlider,
    QToolButton,
    QWidget,
)

from app import raster
from app.array_item import ArrayImageItem
from app.document import RegionEdit
from app.modes.base import EXAMPLES, PhotoWorkspace
from app.project import MAX_CANVAS
from app.regions import Region, bounding_box, changed_region, union
from app.worker import JobFunction
from app.zoom_view import ZoomPanView
from engine.registry import guided_inpainters

LAYERS = ("photo", "mask", "guide")  # the document's planes; project layers are "inpaint_" + name
HOLE_RGBA = (230, 40, 40, 120)
GUIDE_RGBA = (40, 220, 255, 255)  # guide lines inside the hole: they steer the fill
IDLE_GUIDE_RGBA = (40, 220, 255, 80)  # guide lines outside it: kept, but the model ignores them
GUIDE_WIDTH = 2  # px: thin like the edge maps guided models learn from, still visible zoomed out


class EraseTool(Enum):
    ERASE = "Erase"
    RECTANGLE = "Rectangle"
    LASSO = "Lasso"
    RESTORE = "Un-erase"
    GUIDE = "Guide"


TOOL_KEYS = {
    EraseTool.ERASE: "E",
    EraseTool.RECTANGLE: "R",
    EraseTool.LASSO: "A",
    EraseTool.RESTORE: "U",
    EraseTool.GUIDE: "G",
}
TOOL_TIPS = {
    EraseTool.ERASE: "Erase: paint the region to fill",
    EraseTool.RECTANGLE: "Rectangle eraser: drag a box to fill",
    EraseTool.LASSO: "Lasso eraser: draw around the region to fill",
    EraseTool.RESTORE: "Un-erase: paint back the original photo",
    EraseTool.GUIDE: "Guide pen: draw edge lines inside the hole to steer the fill",
}
BRUSHES = (EraseTool.ERASE, EraseTool.RESTORE, EraseTool.GUIDE)


def _frozen(photo: np.ndarray) -> np.ndarray:
    photo.flags.writeable = False
    return photo


class InpaintDocument(QObject):
    """The photo, the hole's coverage (0..255) and the guide sketch (0/255); every change goes through here.

    The photo is never written in place: a change makes a new read-only array, so jobs can hold it
    as their snapshot without copying a large photo at every stroke (it changes only when a photo
    is opened or a fill is accepted). ``changed`` carries the changed region; ``photoChanged`` says
    the photo array was replaced; ``replaced`` says everything was (possibly at another size).
    """

    changed = Signal(object)
    photoChanged = Signal()
    replaced = Signal()

    def __init__(self, undo_stack: QUndoStack, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = undo_stack
        self.photo = _frozen(np.zeros((0, 0, 3), np.uint8))
        self.mask = np.zeros((0, 0), np.uint8)
        self.guide = np.zeros((0, 0), np.uint8)
        self.revision = 0

    @property
    def has_photo(self) -> bool:
        return self.photo.size > 0

    def layer(self, name: str) -> np.ndarray:
        if name not in LAYERS:
            raise KeyError(name)
        return getattr(self, name)

    def replace(
        self, photo: np.ndarray, mask: np.ndarray | None = None, guide: np.ndarray | None = None
    ) -> None:
        """Start over on a new photo (with a saved mask and guide); clears the history."""
        h, w = photo.shape[:2]
        self.photo = _frozen(np.array(photo, np.uint8))
        self.mask = np.zeros((h, w), np.uint8) if mask is None else np.array(mask, np.uint8)
        self.guide = (
            np.zeros((h, w), np.uint8) if guide is None else np.where(guide > 0, 255, 0).astype(np.uint8)
        )
        self.undo_stack.clear()
        self.revision += 1
        self.replaced.emit()

    def write_region(self, region: Region, values: dict[str, np.ndarray]) -> None:
        """Put ``values`` (layer name -> pixels of ``region``) in place: how undo and redo edit."""
        y0, x0, y1, x1 = region
        for name, pixels in values.items():
            if name == "photo":
                photo = self.photo.copy()
                photo[y0:y1, x0:x1] = pixels
                self.photo = _frozen(photo)
            else:
                self.layer(name)[y0:y1, x0:x1] = pixels
        self.revision += 1
        if "photo" in values:
            self.photoChanged.emit()
        self.changed.emit(region)

    def paint(self, name: str, shape: np.ndarray, value: int, origin: tuple[int, int]) -> Region | None:
        """Raise layer ``name`` to 255 (``value`` 255) or lower it to 0 (``value`` 0) by ``shape``
        placed at ``origin`` = (y, x): a bool mask (all the way) or a uint8 coverage, which a pixel
        never goes past (so the dabs of one soft stroke do not pile up); returns the region that
        changed (None: nothing did)."""
        plane = self.layer(name)
        coverage = shape.astype(np.uint8) * 255 if shape.dtype == bool else shape
        clipped = raster.clip_to_canvas(coverage, origin, plane.shape)
        if clipped is None:
            return None
        (y0, x0, y1, x1), covered = clipped
        target = plane[y0:y1, x0:x1]
        new = np.maximum(target, covered) if value else np.minimum(target, 255 - covered)
        if np.array_equal(new, target):
            return None
        target[...] = new
        self.revision += 1
        self.changed.emit((y0, x0, y1, x1))
        return y0, x0, y1, x1


class PlaneStroke:
    """Collects what one stroke does to the mask or the guide; ``commit`` pushes a single undo step."""

    def __init__(self, document: InpaintDocument, layer: str):
        self.document = document
        self.layer = layer
        self.before = document.layer(layer).copy()
        self.touched: Region | None = None

    def paint(self, shape: np.ndarray, value: int, origin: tuple[int, int]) -> None:
        region = self.document.paint(self.layer, shape, value, origin)
        if region is not None:
            self.touched = union(self.touched, region)

    def commit(self, text: str) -> bool:
        """Push the stroke as one undo step of its tight changed box; False when nothing changed."""
        if self.touched is None:
            return False
        plane = self.document.layer(self.layer)
        box = changed_region(self.touched, (self.before, plane))
        if box is None:
            return False
        ty0, tx0, ty1, tx1 = box
        before = {self.layer: self.before[ty0:ty1, tx0:tx1].copy()}
        after = {self.layer: plane[ty0:ty1, tx0:tx1].copy()}
        self.document.undo_stack.push(RegionEdit(self.document, box, before, after, text))
        return True


def overlay_colors(mask: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """RGBA of the overlay: the hole in translucent red, guide lines in cyan (faint outside the hole)."""
    hole, lines = mask > 0, guide > 0
    out = np.zeros((*mask.shape, 4), np.uint8)
    out[hole] = HOLE_RGBA
    out[hole, 3] = (mask[hole].astype(np.uint16) * HOLE_RGBA[3] // 255).astype(np.uint8)
    out[lines & ~hole] = IDLE_GUIDE_RGBA
    out[lines & hole] = GUIDE_RGBA
    return out


class InpaintCanvas(ZoomPanView):
    """The photo with the hole and guide overlay; the erase tools (zoom and pan from ``ZoomPanView``)."""

    def __init__(self, document: InpaintDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.tool = EraseTool.ERASE
        self.brush_hardness = 1.0
        self._stroke: PlaneStroke | None = None
        self._start: QPointF | None = None
        self._last: QPointF | None = None
        self._lasso: list[tuple[float, float]] = []
        self._preview: QGraphicsItem | None = None
        self.photo_item = ArrayImageItem()
        self.overlay_item = ArrayImageItem()
        self.overlay_item.setZValue(1)
        self.scene().addItem(self.photo_item)
        self.scene().addItem(self.overlay_item)
        self.overlay = np.zeros((0, 0, 4), np.uint8)
        document.replaced.connect(self._on_replaced)
        document.photoChanged.connect(lambda: self.photo_item.set_pixels(self.document.photo))
        document.changed.connect(self._refresh_overlay)

    def content_rect(self) -> QRectF:
        return self.photo_item.boundingRect()

    def shows_brush_outline(self) -> bool:
        return self.tool in (EraseTool.ERASE, EraseTool.RESTORE)

    def set_tool(self, tool: EraseTool) -> None:
        self.tool = tool
        self.update_outline(None)

    def _on_replaced(self) -> None:
        self.photo_item.set_pixels(self.document.photo)
        self.overlay = overlay_colors(self.document.mask, self.document.guide)
        self.overlay_item.set_pixels(self.overlay)
        self.refit_scene()

    def _refresh_overlay(self, region: Region) -> None:
        y0, x0, y1, x1 = region
        self.overlay[y0:y1, x0:x1] = overlay_colors(
            self.document.mask[y0:y1, x0:x1], self.document.guide[y0:y1, x0:x1]
        )
        self.overlay_item.refresh(region)

    # ----- tools -----
    def press(self, pos: QPointF) -> None:
        """Start the current tool at scene position ``pos`` (also called by tests)."""
        if not self.document.has_photo:
            return
        self._stroke = PlaneStroke(self.document, "guide" if self.tool == EraseTool.GUIDE else "mask")
        self._start = self._last = pos
        if self.tool in BRUSHES:
            self._dab(pos, pos)
        elif self.tool == EraseTool.LASSO:
            self._lasso = [(pos.x(), pos.y())]
        self._update_preview(pos)

    def drag(self, pos: QPointF) -> None:
        if self._stroke is None:
            return
        if self.tool in BRUSHES:
            self._dab(self._last, pos)
        elif self.tool == EraseTool.LASSO:
            self._lasso.append((pos.x(), pos.y()))
        self._last = pos
        self._update_preview(pos)

    def release(self, pos: QPointF) -> None:
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        shape = None
        if self.tool == EraseTool.RECTANGLE:
            shape, origin = raster.rect_mask((self._start.x(), self._start.y()), (pos.x(), pos.y()))
        elif self.tool == EraseTool.LASSO and len(self._lasso) >= 3:
            shape, origin = raster.polygon_mask(self._lasso)
        if shape is not None:
            stroke.paint(shape, 255, origin)
        stroke.commit(self.tool.value)
        self._clear_preview()

    def set_brush_hardness(self, hardness: float) -> None:
        """Of the erase and un-erase brushes: 1 = a hard edge, less = a soft rim (0 = all rim)."""
        self.brush_hardness = min(max(float(hardness), 0.0), 1.0)

    def _dab(self, a: QPointF, b: QPointF) -> None:
        if self.tool == EraseTool.GUIDE:
            shape, origin = raster.stroke_mask((a.x(), a.y()), (b.x(), b.y()), GUIDE_WIDTH)
        else:
            shape, origin = raster.soft_stroke(
                (a.x(), a.y()), (b.x(), b.y()), self.brush_size, self.brush_hardness
            )
        self._stroke.paint(shape, 0 if self.tool == EraseTool.RESTORE else 255, origin)

    def _clear_preview(self) -> None:
        if self._preview is not None:
            self.scene().removeItem(self._preview)
            self._preview = None
        self._lasso = []

    def _update_preview(self, pos: QPointF) -> None:
        if self.tool not in (EraseTool.RECTANGLE, EraseTool.LASSO):
            return
        if self._preview is not None:
            self.scene().removeItem(self._preview)
        if self.tool == EraseTool.RECTANGLE:
            item = QGraphicsRectItem(QRectF(self._start, pos).normalized())
        else:
            path = QPainterPath(QPointF(*self._lasso[0]))
            for x, y in self._lasso[1:]:
                path.lineTo(x, y)
            item = QGraphicsPathItem(path)
        item.setPen(QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine))
        item.setZValue(9)
        self.scene().addItem(item)
        self._preview = item


def inpaint_job(photo: np.ndarray, mask: np.ndarray, guide: np.ndarray | None = None) -> JobFunction:
    """``model -> filled photo`` on snapshots (a read-only photo, a coverage mask and guide nobody else
    writes): the model fills every covered pixel, and the fill is blended in by coverage.

    An empty mask gives the photo back unchanged instead of the engine's "the mask is empty" error,
    so a fresh photo or a fully un-erased one shows as it is.
    """

    def run(model: Any) -> np.ndarray:
        if not mask.any():
            return photo.copy()
        # a writable copy, made here in the worker: torch warns when handed a read-only array
        filled = model.inpaint(np.array(photo), mask > 0, guide)
        return blend_by_coverage(photo, filled, mask)

    return run


def blend_by_coverage(photo: np.ndarray, filled: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """``filled`` where coverage is 255, ``photo`` where it is 0, mixed in between (in ``filled``)."""
    rim = (coverage > 0) & (coverage < 255)
    box = bounding_box(rim)
    if box is None:
        return filled
    window = np.s_[box[0] : box[2], box[1] : box[3]]
    alpha = coverage[window][..., None].astype(np.float32) / 255
    base = photo[window].astype(np.float32)
    filled[window] = np.rint(base + (filled[window] - base) * alpha).astype(np.uint8)
    return filled


class InpaintWorkspace(PhotoWorkspace):
    """The Inpaint tab: open a photo, erase, watch the fill, accept it, export the result."""

    title = "Inpaint"
    kinds = ("lama",)
    example = EXAMPLES / "inpaint_photo_picosdeeuropa.jpg"  # a mountain path with rocks to erase
    gestures = (("Hold \\", "show the original photo (as Compare does)"),)

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(settings, parent)
        self.document = InpaintDocument(self.undo_stack, self)
        self.canvas = InpaintCanvas(self.document)
        self.body.addWidget(self.canvas)
        self.body.addWidget(self.output)
        # half each (the splitter scales these to its width); by size hints the canvas of an
        # empty scene would get a sliver
        self.body.setSizes([10_000, 10_000])
        self.result: np.ndarray | None = None
        self.comparing = False
        self._result_revision = -1
        self._job_revisions: dict[int, int] = {}  # stamp -> document revision it was computed for
        self._build_tools()
        self.document.changed.connect(self._on_edited)
        self.document.replaced.connect(self._on_edited)
        self.output.set_message("Open a photo, then paint over what should disappear.")

    def _build_tools(self) -> None:
        bar = self.toolbar
        bar.addAction("Open Photo…", self.open_photo_dialog)
        bar.addAction("Export…", self.export_result_dialog)
        bar.addSeparator()
        self.tool_actions = self.add_tool_actions(TOOL_KEYS, TOOL_TIPS, self.set_tool)
        self._set_guide_support(None)
        bar = self.options_bar
        bar.addWidget(QLabel(" Size "))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, 512)
        self.size_slider.setValue(self.canvas.brush_size)
        self.size_slider.setFixedWidth(120)
        self.size_slider.setToolTip("Brush size ([ and ])")
        self.size_slider.valueChanged.connect(self.canvas.set_brush_size)
        self.canvas.brushSizeChanged.connect(self.size_slider.setValue)
        bar.addWidget(self.size_slider)
        bar.addWidget(QLabel(" Hardness "))
        self.hardness_slider = QSlider(Qt.Orientation.Horizontal)
        self.hardness_slider.setRange(0, 100)
        self.hardness_slider.setValue(100)
        self.hardness_slider.setFixedWidth(80)
        self.hardness_slider.setToolTip(
            "Brush hardness: below 100 % the fill fades into the photo at the rim"
        )
        self.hardness_slider.valueChanged.connect(lambda v: self.canvas.set_brush_hardness(v / 100))
        bar.addWidget(self.hardness_slider)
        bar.addSeparator()
        self.accept_action = QAction("Accept Fill", self)
        self.accept_action.setShortcut(QKeySequence("Ctrl+Return"))
        self.accept_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.accept_action.setToolTip("Make the filled result the photo and clear the hole (Ctrl+Return)")
        self.accept_action.triggered.connect(lambda _=False: self.accept_fill())
        self.accept_action.setEnabled(False)
        bar.addAction(self.accept_action)
        self.addAction(self.accept_action)
        self.compare_button = QToolButton()
        self.compare_button.setText("Compare")
        self.compare_button.setToolTip("Hold to see the photo without the fill (or hold \\)")
        self.compare_button.pressed.connect(lambda: self.set_comparing(True))
        self.compare_button.released.connect(lambda: self.set_comparing(False))
        bar.addWidget(self.compare_button)

    # ----- tools -----
    def set_tool(self, tool: EraseTool) -> None:
        if tool == EraseTool.GUIDE and not (self.model is not None and self.model.supports_guide):
            guided = self.guided_model()
            if guided is None:
                return
            self.load_model(str(guided[0]))
            self.message.emit(f"The guide pen switched to '{guided[1]}', a model that follows guide lines")
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)

    def guided_model(self) -> tuple[Path, str] | None:
        """(folder, name) of the first installed inpainting model that takes guide sketches."""
        return next(((folder, card.name) for folder, card in guided_inpainters()), None)

    def _set_guide_support(self, model: Any) -> None:
        """The guide pen is on for models that take a sketch, and for others when an installed model
        does (picking the pen switches to it); its tooltip says which, or why it is off."""
        action = self.tool_actions[EraseTool.GUIDE]
        guided = model is not None and model.supports_guide
        fallback = None if guided else self.guided_model()
        action.setEnabled(guided or (model is not None and fallback is not None))
        key = TOOL_KEYS[EraseTool.GUIDE]
        if guided:
            action.setToolTip(f"{TOOL_TIPS[EraseTool.GUIDE]} ({key})")
        elif model is None:
            action.setToolTip("Guide pen: needs a loaded model trained with guide sketches")
        elif fallback is not None:
            action.setToolTip(
                f"{TOOL_TIPS[EraseTool.GUIDE]}: switches from '{model.card.name}' to '{fallback[1]}', "
                f"which follows guide lines ({key})"
            )
        else:
            action.setToolTip(
                f"Guide pen: unavailable, the model '{model.card.name}' was not trained with guide "
                "sketches (train one with guide channels to steer fills)"
            )
        if not guided and self.canvas.tool == EraseTool.GUIDE:
            self.set_tool(EraseTool.ERASE)

    # ----- files -----
    def _fits(self, photo: np.ndarray, name: str) -> bool:
        h, w = photo.shape[:2]
        if max(h, w) > MAX_CANVAS:
            self.show_error(
                "This photo is too large",
                f"{name} is {w}x{h} pixels; this mode edits photos up to {MAX_CANVAS} pixels "
                "per side (scale it down first)",
            )
            return False
        return True

    def _start_on(self, photo: np.ndarray, name: str) -> bool:
        self.document.replace(photo)
        self.message.emit(f"Opened {name} ({photo.shape[1]}x{photo.shape[0]})")
        return True

    def start_from_example(self, image: np.ndarray) -> None:
        self.document.replace(image)

    def result_photo(self) -> np.ndarray | None:
        """What the output pane shows for the current state (None: no photo, or the fill is not ready)."""
        if not self.document.has_photo:
            return None
        if not self.document.mask.any():
            return self.document.photo
        return self.result if self.fill_is_current() else None

    def export_result_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export result", "inpainted.png", "Images (*.png *.jpg *.jpeg)"
        )
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> bool:
        """Write the result (PNG, or JPEG by the file's suffix)."""
        image = self.result_photo()
        if image is None:
            reason = (
                "Open a photo first." if not self.document.has_photo else "The fill is still being computed."
            )
            self.show_error("Nothing to export yet", reason)
            return False
        try:
            Image.fromarray(np.asarray(image)).save(path, quality=95)
        except (OSError, ValueError, KeyError) as exc:
            self.show_error("The result could not be exported", f"could not write {path} ({exc})")
            return False
        self.message.emit(f"Exported {Path(path).name}")
        return True

    # ----- fill -----
    def fill_is_current(self) -> bool:
        """Whether the result on screen was computed from the document as it is now."""
        return self.result is not None and self._result_revision == self.document.revision

    def accept_fill(self) -> bool:
        """Make the current result the photo and clear the hole and guide: ONE undo step, which
        stores only the box around the hole and the guide lines."""
        document = self.document
        if not document.mask.any():
            self.message.emit("Nothing to accept: erase a region first.")
            return False
        if not self.fill_is_current():
            self.message.emit("The fill is still being computed; accept it when it appears.")
            return False
        region = bounding_box((document.mask > 0) | (document.guide > 0))
        y0, x0, y1, x1 = region
        box = np.s_[y0:y1, x0:x1]
        hole = document.mask[box] > 0
        before = {name: document.layer(name)[box].copy() for name in LAYERS}
        after = {
            "photo": np.where(hole[..., None], self.result[box], document.photo[box]),
            "mask": np.zeros_like(hole, np.uint8),
            "guide": np.zeros_like(hole, np.uint8),
        }
        document.write_region(region, after)
        self.undo_stack.push(RegionEdit(document, region, before, after, "Accept fill"))
        self.message.emit("Fill accepted: it is part of the photo now.")
        return True

    def set_comparing(self, held: bool) -> None:
        """While held, the output pane shows the photo without the fill."""
        self.comparing = held
        if held and self.document.has_photo:
            self.output.set_photo(self.document.photo)
        elif not held and self.result is not None:
            self.output.set_photo(self.result)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Backslash:
            if not event.isAutoRepeat():
                self.set_comparing(True)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Backslash:
            if not event.isAutoRepeat():
                self.set_comparing(False)
        else:
            super().keyReleaseEvent(event)

    def _on_edited(self, _region: Region | None = None) -> None:
        self.accept_action.setEnabled(False)
        self.request()

    # ----- ModeWorkspace hooks -----
    def request(self) -> int | None:
        stamp = super().request()
        if stamp is not None:
            self._job_revisions[stamp] = self.document.revision
        return stamp

    def make_job(self) -> JobFunction | None:
        document = self.document
        if not document.has_photo:
            return None
        guided = self.model.supports_guide and document.guide.any()
        return inpaint_job(document.photo, document.mask.copy(), document.guide.copy() if guided else None)

    def on_model_loaded(self, model: Any) -> None:
        self.result = None
        self._set_guide_support(model)
        if not self.document.has_photo:
            self.output.set_message("Open a photo, then paint over what should disappear.")

    def on_result(self, image: np.ndarray) -> None:
        stamp = self.last_stamp_shown
        self._result_revision = self._job_revisions.get(stamp, -1)
        self._job_revisions = {s: r for s, r in self._job_revisions.items() if s > stamp}
        self.result = image
        if not self.document.mask.any():
            self.timing.clear()  # nothing was filled: the photo came back without running the model
        if self.comparing:
            self.output.set_photo(self.document.photo)
        self.accept_action.setEnabled(self.fill_is_current() and bool(self.document.mask.any()))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        settings = {"brush": self.canvas.brush_size, "hardness": self.hardness_slider.value()}
        if not self.document.has_photo:
            return settings, {}
        return settings, {f"inpaint_{name}": np.array(self.document.layer(name)) for name in LAYERS}

    def restore(self, state: dict[str, Any], layers: dict[str, np.ndarray]) -> None:
        brush = state.get("brush")
        if isinstance(brush, int) and not isinstance(brush, bool):
            self.canvas.set_brush_size(brush)
        hardness = state.get("hardness")
        if isinstance(hardness, int) and not isinstance(hardness, bool):
            self.hardness_slider.setValue(hardness)
        photo = layers.get("inpaint_photo")
        if photo is None:
            return
        if photo.ndim == 2:
            photo = np.repeat(photo[..., None], 3, axis=2)
        planes = {}
        for name in ("mask", "guide"):
            plane = layers.get(f"inpaint_{name}")
            if plane is not None and plane.shape != photo.shape[:2]:
                self.message.emit(f"The saved inpaint {name} does not fit the photo's size; it was left out.")
                plane = None
            planes[name] = plane
        self.document.replace(photo[..., :3], planes["mask"], planes["guide"])
