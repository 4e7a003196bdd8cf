"""The Sketch tab: draw black lines on white and a pix2pix model turns them into a photo as you draw.

The sketch is a grey uint8 layer (0 = ink, 255 = paper). Pen and eraser strokes are aliased masks
from ``app.raster`` and each stroke is one undo step holding only the pixels it changed. An optional
reference picture (the label mode's colour map) can be shown translucently under the strokes to trace
over; only the sketch goes to the model.
"""

from __future__ import annotations

import random
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QPointF, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QPen,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGraphicsLineItem,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from app import raster
from app.array_item import ArrayImageItem
from app.document import RegionEdit
from app.modes.base import EXAMPLES, ModeWorkspace
from app.regions import Region, changed_region, union
from app.worker import JobFunction
from app.zoom_view import ZoomPanView
from engine.errors import SynthpaintError
from engine.labels import read_rgb_image
from engine.sketch import SketchModel

INK = 0
PAPER = 255
SKETCH_SIZES = (256, 512, 1024)
MAX_SKETCH_SIDE = 1024  # opened images are scaled down to this long side: the model sees 256 px anyway
MAX_LINE_WIDTH = 128
DEFAULT_LINE_WIDTH = 3
SEED_MAX = 2**31 - 1
MODE_TITLES = {"deterministic": "deterministic", "official": "official (stochastic)"}
LINES_LAYER = "sketch_lines"
TRACED_PHOTO_LAYER = "sketch_traced_photo"


class SketchTool(Enum):
    PEN = "Pen"
    ERASER = "Eraser"
    LINE = "Line"


TOOL_KEYS = {SketchTool.PEN: "P", SketchTool.ERASER: "E", SketchTool.LINE: "L"}


PHOTO_LIKE = 0.35  # share of mid-tone pixels above which an opened image is taken for a photo


def looks_like_photo(grey: np.ndarray) -> bool:
    """Drawings are paper and ink, photos mostly mid-tones: of the pixels within 40-215, the example
    sketch has none, facade photos about 0.7, BSDS500 photos 0.6-0.9."""
    return float(((grey > 40) & (grey < 215)).mean()) > PHOTO_LIKE


def sketch_from_image(image: np.ndarray) -> np.ndarray:
    """Any uint8 RGB or grey picture -> a grey sketch layer, long side at most ``MAX_SKETCH_SIDE``.

    Grey is PIL's ITU-R 601 luma, the conversion the model's own input pipeline uses.
    """
    picture = Image.fromarray(np.ascontiguousarray(image)).convert("L")
    scale = MAX_SKETCH_SIDE / max(picture.size)
    if scale < 1:
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.LANCZOS)
    return np.array(picture)


class SketchLayer(QObject):
    """Owns the sketch pixels; every change goes through it so the view, undo and the model agree.

    ``changed`` carries the changed region (y0, x0, y1, x1); ``replaced`` fires when the whole layer
    (and maybe its size) changes. A sketch traced from a photo keeps the photo, to show under its
    lines while they are mended; it comes and goes with the sketch through undo.
    """

    changed = Signal(object)
    replaced = Signal()

    def __init__(self, lines: np.ndarray, parent: QObject | None = None):
        super().__init__(parent)
        self.lines = np.ascontiguousarray(lines, dtype=np.uint8)
        self.traced_photo: np.ndarray | None = None

    @classmethod
    def blank(cls, height: int, width: int) -> SketchLayer:
        return cls(np.full((height, width), PAPER, np.uint8))

    @property
    def size(self) -> tuple[int, int]:
        return self.lines.shape[0], self.lines.shape[1]

    def replace(self, lines: np.ndarray, traced_photo: np.ndarray | None = None) -> None:
        self.lines = np.ascontiguousarray(lines, dtype=np.uint8).copy()
        self.traced_photo = traced_photo
        self.replaced.emit()

    def write_region(self, region: Region, values: np.ndarray) -> None:
        y0, x0, y1, x1 = region
        self.lines[y0:y1, x0:x1] = values
        self.changed.emit(region)


class ReplaceSketch(QUndoCommand):
    """New, open or clear: the whole layer before and after (they may differ in size)."""

    def __init__(self, layer: SketchLayer, after: np.ndarray, text: str, traced_photo: np.ndarray | None):
        super().__init__(text)
        self.layer = layer
        self.before = (layer.lines.copy(), layer.traced_photo)
        self.after = (after, traced_photo)

    def redo(self) -> None:
        self.layer.replace(*self.after)

    def undo(self) -> None:
        self.layer.replace(*self.before)


class StrokeSession:
    """Collects the pixels one stroke touches; ``commit`` pushes one undo step for the changed box only."""

    def __init__(self, layer: SketchLayer):
        self.layer = layer
        self.before = layer.lines.copy()
        self.touched: Region | None = None

    def paint(self, mask: np.ndarray, origin: tuple[int, int], value: int) -> None:
        """Set the pixels where ``mask`` (placed at ``origin`` = (y, x)) is true to ``value``."""
        clipped = raster.clip_to_canvas(mask, origin, self.layer.size)
        if clipped is None or not clipped[1].any():
            return
        (y0, x0, y1, x1), sub = clipped
        self.layer.lines[y0:y1, x0:x1][sub] = value
        region = (y0, x0, y1, x1)
        self.touched = union(self.touched, region)
        self.layer.changed.emit(region)

    def commit(self, stack: QUndoStack, text: str) -> bool:
        """Push the stroke onto ``stack`` as one step; False when no pixel changed."""
        if self.touched is None:
            return False
        box = changed_region(self.touched, (self.before, self.layer.lines))
        if box is None:
            return False
        ty0, tx0, ty1, tx1 = box
        before = self.before[ty0:ty1, tx0:tx1].copy()
        after = self.layer.lines[ty0:ty1, tx0:tx1].copy()
        # RegionEdit only needs ``write_region`` of the object it edits
        stack.push(RegionEdit(self.layer, box, before, after, text))
        return True


class SketchImageItem(ArrayImageItem):
    """The sketch multiplied over the paper: white, or the reference blended into white.

    Multiplying keeps ink black and lets the reference show through the paper only, so both are
    visible; grey levels of an opened picture stay grey.
    """

    def __init__(self, layer: SketchLayer):
        super().__init__()
        self.layer = layer
        self.paper: np.ndarray | None = None  # H x W x 3 uint8, None: white
        self.reload()

    def set_paper(self, paper: np.ndarray | None) -> None:
        self.paper = paper
        self.reload()

    def reload(self) -> None:
        h, w = self.layer.size
        self.set_pixels(self._compose((0, 0, h, w)))

    def refresh(self, region: Region) -> None:
        y0, x0, y1, x1 = region
        self.pixels[y0:y1, x0:x1] = self._compose(region)
        super().refresh(region)

    def _compose(self, region: Region) -> np.ndarray:
        y0, x0, y1, x1 = region
        lines = self.layer.lines[y0:y1, x0:x1, None].astype(np.uint16)
        if self.paper is None:
            return np.repeat(lines, 3, axis=2).astype(np.uint8)
        return (self.paper[y0:y1, x0:x1].astype(np.uint16) * lines // PAPER).astype(np.uint8)


class SketchCanvas(ZoomPanView):
    """Draw on the sketch layer with the mouse: pen, eraser (paints paper) and straight lines."""

    def __init__(self, layer: SketchLayer, undo_stack: QUndoStack, parent: QWidget | None = None):
        super().__init__(parent)
        self.layer = layer
        self.undo_stack = undo_stack
        self.tool = SketchTool.PEN
        self.reference: np.ndarray | None = None
        self.reference_opacity = 0.25  # a faint guide: the strokes stay what the eye reads
        self._session: StrokeSession | None = None
        self._start: QPointF | None = None
        self._last: QPointF | None = None
        self._preview: QGraphicsLineItem | None = None
        self.image_item = SketchImageItem(layer)
        self.scene().addItem(self.image_item)
        self.set_brush_size(DEFAULT_LINE_WIDTH)
        self.refit_scene()
        layer.changed.connect(self.image_item.refresh)
        layer.replaced.connect(self._on_replaced)

    def content_rect(self) -> QRectF:
        return self.image_item.boundingRect()

    def shows_brush_outline(self) -> bool:
        return True

    def set_brush_size(self, size: int) -> None:
        super().set_brush_size(min(int(size), MAX_LINE_WIDTH))

    def set_tool(self, tool: SketchTool) -> None:
        self.tool = tool
        self.update_outline(None)

    # ----- reference -----
    def set_reference(self, rgb: np.ndarray | None, opacity: float | None = None) -> None:
        """Show ``rgb`` (any size, stretched to the sketch) under the strokes; None hides it."""
        self.reference = None if rgb is None else np.ascontiguousarray(rgb, dtype=np.uint8)
        if opacity is not None:
            self.reference_opacity = min(max(float(opacity), 0.0), 1.0)
        self.image_item.set_paper(self._paper())

    def _paper(self) -> np.ndarray | None:
        if self.reference is None:
            return None
        h, w = self.layer.size
        reference = self.reference
        if reference.ndim == 2:
            reference = np.repeat(reference[:, :, None], 3, axis=2)
        if reference.shape[:2] != (h, w):
            reference = np.asarray(Image.fromarray(reference).resize((w, h), Image.BILINEAR))
        blend = PAPER * (1 - self.reference_opacity) + reference.astype(np.float32) * self.reference_opacity
        return np.clip(np.rint(blend), 0, 255).astype(np.uint8)

    def _on_replaced(self) -> None:
        self.image_item.set_paper(self._paper())
        self.refit_scene()

    # ----- drawing -----
    def press(self, pos: QPointF) -> None:
        """Start the current tool at scene position ``pos`` (also called by tests)."""
        self._session = StrokeSession(self.layer)
        self._start = self._last = pos
        if self.tool != SketchTool.LINE:
            self._dab(pos, pos)
        self._update_preview(pos)

    def drag(self, pos: QPointF) -> None:
        if self._session is None:
            return
        if self.tool != SketchTool.LINE:
            self._dab(self._last, pos)
        self._last = pos
        self._update_preview(pos)

    def release(self, pos: QPointF) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        if self.tool == SketchTool.LINE:
            mask, origin = raster.stroke_mask(
                (self._start.x(), self._start.y()), (pos.x(), pos.y()), self.brush_size
            )
            session.paint(mask, origin, INK)
        session.commit(self.undo_stack, self.tool.value)
        self._remove_preview()

    def _dab(self, a: QPointF, b: QPointF) -> None:
        mask, origin = raster.stroke_mask((a.x(), a.y()), (b.x(), b.y()), self.brush_size)
        self._session.paint(mask, origin, PAPER if self.tool == SketchTool.ERASER else INK)

    def _remove_preview(self) -> None:
        if self._preview is not None:
            self.scene().removeItem(self._preview)
            self._preview = None

    def _update_preview(self, pos: QPointF) -> None:
        if self.tool != SketchTool.LINE or self._start is None:
            return
        self._remove_preview()
        self._preview = QGraphicsLineItem(self._start.x(), self._start.y(), pos.x(), pos.y())
        self._preview.setPen(QPen(QColor(255, 0, 0), 0, Qt.PenStyle.DashLine))
        self._preview.setZValue(9)
        self.scene().addItem(self._preview)


def _menu_button(text: str, menu: QMenu) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setMenu(menu)
    return button


class SketchWorkspace(ModeWorkspace):
    """The Sketch → photo tab (pix2pix): a sketch canvas on the left, the model's photo on the right."""

    title = "Sketch"
    kinds = ("pix2pix",)
    example = EXAMPLES / "facade_sketch_test_2.png"  # a Canny drawing of the first example label map's photo

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(settings, parent)
        self.layer = SketchLayer.blank(SKETCH_SIZES[0], SKETCH_SIZES[0])
        self.canvas = SketchCanvas(self.layer, self.undo_stack)
        self.body.addWidget(self.canvas)
        self.body.addWidget(self.output)
        self.layer.changed.connect(self._on_sketch_changed)
        self.layer.replaced.connect(self._on_sketch_changed)
        self.layer.replaced.connect(self._show_reference)
        self._mode_chosen = False  # a mode the user or a project picked wins over the model's default
        self._width_chosen = False  # likewise a line width over the width of the model's training lines
        self._setting_model_width = False
        self.label_reference: np.ndarray | None = None  # the label painting, the guide unless traced
        self._build_tools()

    # ----- construction -----
    def _build_tools(self) -> None:
        bar = self.toolbar
        new_menu = QMenu(self)
        for size in SKETCH_SIZES:
            new_menu.addAction(f"{size} × {size}", lambda s=size: self.new_sketch(s))
        new_menu.addSeparator()
        self.trace_action = new_menu.addAction("Trace a Photo…", self.trace_photo_dialog)
        self.trace_action.setToolTip("Draw a photo's lines the way the model learned sketches, to edit them")
        self.trace_action.setEnabled(False)  # the model's card says how to draw
        new_menu.setToolTipsVisible(True)
        bar.addWidget(_menu_button("New sketch", new_menu))
        bar.addAction("Open…", self.open_sketch_dialog).setToolTip("Open an image as the sketch")
        bar.addAction("Clear", self.clear_sketch)
        export_menu = QMenu(self)
        export_menu.addAction("Sketch (PNG)…", self.export_sketch_dialog)
        export_menu.addAction("Photo (PNG or JPEG)…", self.export_result_dialog)
        bar.addWidget(_menu_button("Export", export_menu))
        bar.addSeparator()

        self.tool_actions = self.add_tool_actions(
            TOOL_KEYS, {tool: tool.value for tool in TOOL_KEYS}, self.set_tool
        )
        bar = self.options_bar
        bar.addWidget(QLabel(" Width "))
        self.width_slider = QSlider(Qt.Orientation.Horizontal)
        self.width_slider.setRange(1, MAX_LINE_WIDTH)
        self.width_slider.setValue(self.canvas.brush_size)
        self.width_slider.setFixedWidth(90)
        self.width_slider.setToolTip("Line width in pixels ([ and ] on the canvas)")
        self.width_slider.valueChanged.connect(self.canvas.set_brush_size)
        self.canvas.brushSizeChanged.connect(self.width_slider.setValue)
        self.canvas.brushSizeChanged.connect(self._on_width_changed)
        bar.addWidget(self.width_slider)
        bar.addSeparator()

        bar.addWidget(QLabel(" Mode "))
        self.mode_combo = QComboBox()
        for mode in SketchModel.modes:
            self.mode_combo.addItem(MODE_TITLES.get(mode, mode), mode)
        self.mode_combo.setToolTip(
            "deterministic: the same sketch always gives the same photo; official (stochastic): "
            "as the authors' test script, with dropout noise chosen by the seed"
        )
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        self.mode_combo.activated.connect(self._on_mode_picked)
        bar.addWidget(self.mode_combo)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_MAX)
        self.seed_spin.setFixedWidth(105)
        self.seed_spin.setToolTip("Seed of the dropout noise (official mode): the same seed, the same photo")
        self.seed_spin.valueChanged.connect(lambda _value: self.request())
        bar.addWidget(self.seed_spin)
        self.new_seed_button = QPushButton("New seed")
        self.new_seed_button.clicked.connect(self.new_seed)
        bar.addWidget(self.new_seed_button)
        bar.addSeparator()

        bar.addWidget(QLabel(" Reference "))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(round(self.canvas.reference_opacity * 100))
        self.opacity_slider.setFixedWidth(70)
        self.opacity_slider.valueChanged.connect(self._on_opacity_changed)
        bar.addWidget(self.opacity_slider)
        self._show_reference()
        self._on_mode_changed()

    # ----- settings -----
    @property
    def mode(self) -> str:
        return str(self.mode_combo.currentData())

    @property
    def seed(self) -> int:
        return self.seed_spin.value()

    @property
    def line_width(self) -> int:
        return self.canvas.brush_size

    def set_mode(self, mode: str) -> None:
        """Choose the inference mode (one of ``SketchModel.modes``); it then survives model changes."""
        index = self.mode_combo.findData(mode)
        if index < 0:
            raise ValueError(
                f"unknown pix2pix mode {mode!r} (expected one of {', '.join(SketchModel.modes)})"
            )
        self._mode_chosen = True
        self.mode_combo.setCurrentIndex(index)

    def set_seed(self, seed: int) -> None:
        self.seed_spin.setValue(int(seed))

    def new_seed(self) -> None:
        self.set_seed(random.randint(0, SEED_MAX))

    def set_line_width(self, width: int) -> None:
        self.canvas.set_brush_size(width)

    def set_tool(self, tool: SketchTool) -> None:
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)

    def _on_mode_picked(self, _index: int) -> None:
        self._mode_chosen = True

    def _on_width_changed(self, _width: int) -> None:
        if not self._setting_model_width:
            self._width_chosen = True

    def _on_mode_changed(self, *_args) -> None:
        self._update_seed_controls()
        self.request()

    def _update_seed_controls(self) -> None:
        """The seed is offered where it changes the photo: the official mode of a model with dropout."""
        noisy = self.model is None or self.model.seed_matters
        usable = self.mode == "official" and noisy
        self.seed_spin.setEnabled(usable)
        self.new_seed_button.setEnabled(usable)
        why = "" if noisy else " (this model was trained without dropout: no seed changes its photos)"
        self.new_seed_button.setToolTip("Draw new dropout noise" + why)

    def on_model_loaded(self, model: Any) -> None:
        self.trace_action.setEnabled(True)
        if not self._mode_chosen:
            self.mode_combo.setCurrentIndex(self.mode_combo.findData(model.default_mode))
        self._update_seed_controls()
        # the pen draws lines as wide as those the model learned from (its card), until the user
        # picks a width: 3 px lines cost sketch-facades 0.3 dB against its 2 px training lines
        if model.trained_line_width is not None and not self._width_chosen:
            self._setting_model_width = True
            try:
                self.canvas.set_brush_size(model.trained_line_width)
            finally:
                self._setting_model_width = False

    # ----- reference -----
    def set_reference(self, rgb: np.ndarray | None) -> None:
        """Show ``rgb`` (the label mode's colour map) translucently under the sketch; None hides it.

        Only a guide to trace over: the model still gets the sketch alone. A traced photo takes its
        place until another sketch is started or opened, so its lines can be mended over the photo.
        """
        self.label_reference = rgb
        self._show_reference()

    def _show_reference(self) -> None:
        traced = self.layer.traced_photo is not None
        rgb = self.layer.traced_photo if traced else self.label_reference
        self.canvas.set_reference(rgb)
        self.opacity_slider.setEnabled(rgb is not None)
        self.opacity_slider.setToolTip(
            f"Opacity of the {'traced photo' if traced else 'label map'} shown under the sketch"
        )

    def _on_opacity_changed(self, value: int) -> None:
        self.canvas.set_reference(self.canvas.reference, value / 100)

    # ----- the sketch -----
    @property
    def sketch(self) -> np.ndarray:
        return self.layer.lines

    def _on_sketch_changed(self, *_args) -> None:
        self.request()

    def replace_sketch(self, lines: np.ndarray, text: str, traced_photo: np.ndarray | None = None) -> None:
        """Swap in a whole new sketch (and the photo it was traced from, if it was) as one undoable step."""
        lines = np.ascontiguousarray(lines, dtype=np.uint8)
        self.undo_stack.push(ReplaceSketch(self.layer, lines, text, traced_photo))

    def new_sketch(self, size: int) -> None:
        self.replace_sketch(np.full((size, size), PAPER, np.uint8), f"New {size} × {size} sketch")

    def clear_sketch(self) -> None:
        if (self.layer.lines != PAPER).any():
            # the traced photo stays: clearing is how one redraws a photo by hand
            self.replace_sketch(np.full(self.layer.size, PAPER, np.uint8), "Clear", self.layer.traced_photo)

    def open_sketch_dialog(self) -> None:
        if path := self.ask_image("Open image as sketch"):
            self.open_file(path)

    def open_image(self, image: np.ndarray, name: str) -> bool:
        """Use an image as the sketch, as the user asked; one that looks like a photo (a photo fed as
        a sketch gives mush) is offered to be traced instead. Undoable, so nothing else to ask."""
        if self.model is not None and looks_like_photo(sketch_from_image(image)):
            answer = QMessageBox.question(
                self,
                "This looks like a photo",
                f"{name} looks like a photo, not a drawing. Trace its lines, the way the model "
                "learned sketches, instead of using it as it is?",
                QMessageBox.StandardButton.Yes
                | QMessageBox.StandardButton.No
                | QMessageBox.StandardButton.Cancel,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                return False
            if answer == QMessageBox.StandardButton.Yes:
                return self._trace(image, name)
        return self._use_as_sketch(image, name)

    def trace_photo_dialog(self) -> None:
        if path := self.ask_image("Trace a photo"):
            self.trace_photo(path)

    def trace_photo(self, path: Path) -> bool:
        """A new sketch of the photo's lines, drawn as the model's training sketches were; undoable."""
        image = self._read(Path(path), "photo", "This photo cannot be traced")
        return image is not None and self._trace(image, Path(path).name)

    def open_sketch(self, path: Path) -> bool:
        """Open any picture as the sketch (grey, scaled down to ``MAX_SKETCH_SIDE``); undoable."""
        image = self._read(Path(path), "image", "This image cannot be opened as a sketch")
        return image is not None and self._use_as_sketch(image, Path(path).name)

    def _read(self, path: Path, what: str, failure: str) -> np.ndarray | None:
        try:
            return read_rgb_image(path, what)
        except SynthpaintError as exc:
            self.show_error(failure, str(exc))
            return None

    def _trace(self, image: np.ndarray, name: str) -> bool:
        try:
            lines = self.model.trace(image)
        except SynthpaintError as exc:
            self.show_error("This photo cannot be traced", str(exc))
            return False
        self.replace_sketch(lines, f"Trace {name}", image)
        self.message.emit(f"Traced {name} as a {lines.shape[1]}×{lines.shape[0]} sketch: edit its lines")
        return True

    def _use_as_sketch(self, image: np.ndarray, name: str) -> bool:
        lines = sketch_from_image(image)
        self.replace_sketch(lines, f"Open {name}")
        note = (
            "" if lines.shape == image.shape[:2] else f", scaled down from {image.shape[1]}×{image.shape[0]}"
        )
        self.message.emit(f"Opened {name} as a {lines.shape[1]}×{lines.shape[0]} sketch{note}")
        return True

    def start_from_example(self, image: np.ndarray) -> None:
        self.layer.replace(sketch_from_image(image))

    # ----- export -----
    def export_sketch_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export sketch", "sketch.png", "PNG (*.png)")
        if path:
            self.export_sketch(Path(path))

    def export_sketch(self, path: Path) -> bool:
        try:
            Image.fromarray(self.layer.lines).save(path, format="PNG")
        except (OSError, ValueError) as exc:
            self.show_error("The sketch could not be exported", str(exc))
            return False
        return True

    def export_result_dialog(self) -> None:
        if self.output.photo is None:
            self.show_error("Nothing to export", "There is no photo yet.")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export photo", "photo.png", "Images (*.png *.jpg *.jpeg)"
        )
        if path:
            self.export_output(Path(path))

    def export_output(self, path: Path) -> bool:
        """Save the photo; PNG or JPEG by the file's suffix."""
        if self.output.photo is None:
            self.show_error("Nothing to export", "There is no photo yet.")
            return False
        try:
            Image.fromarray(self.output.photo).save(path, quality=95)
        except (OSError, ValueError) as exc:
            self.show_error("The photo could not be exported", str(exc))
            return False
        return True

    # ----- engine -----
    def make_job(self) -> JobFunction:
        sketch = self.layer.lines.copy()
        mode = self.mode
        seed = self.seed if mode == "official" else None
        return lambda model: model.translate(sketch, mode=mode, seed=seed)

    # ----- projects -----
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        settings = {"mode": self.mode, "seed": self.seed, "line_width": self.line_width}
        layers = {LINES_LAYER: self.layer.lines.copy()}
        if self.layer.traced_photo is not None:
            layers[TRACED_PHOTO_LAYER] = self.layer.traced_photo.copy()
        return settings, layers

    def restore(self, state: dict[str, Any], layers: dict[str, np.ndarray]) -> None:
        if state.get("mode") in SketchModel.modes:
            self.set_mode(state["mode"])
        if isinstance(state.get("seed"), int):
            self.set_seed(state["seed"])
        if isinstance(state.get("line_width"), int):
            self.set_line_width(state["line_width"])
        if LINES_LAYER in layers:
            self.layer.replace(sketch_from_image(layers[LINES_LAYER]), layers.get(TRACED_PHOTO_LAYER))
            self.undo_stack.clear()
        self.request()
