"""Colorize mode: give a grey photo its colours from a few colour hints (Zhang et al., SIGGRAPH'17).

A hint is a point of the photo with a colour and a patch size. Every hint edit is one undo step and
asks for a new colorization of snapshots of the photo and hints. The model also suggests colours for
the selected hint (its colour-class head); they are computed in the same engine job as the picture,
so the interface never waits for the network.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QPointF, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QImage, QPainter, QPen, QPixmap, QUndoCommand, QWheelEvent
from PySide6.QtWidgets import (
    QColorDialog,
    QFileDialog,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStyleOptionGraphicsItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.modes.base import EXAMPLES, PhotoWorkspace
from app.project import MAX_CANVAS
from app.worker import JobFunction
from app.zoom_view import ZoomPanView
from engine.colorization import Hint, global_hint_from_image
from engine.errors import InputImageError
from engine.lab import lab_to_uint8, rgb2lightness
from engine.labels import color_hex, parse_color, read_rgb_image

RGB = tuple[int, int, int]

MIN_PATCH, MAX_PATCH = 1, 9  # hint patch sides, in pixels of the network's working grid
DEFAULT_PATCH = 3
SUGGESTION_COUNT = 8
RECENT_COUNT = 10
MAX_PHOTO_PIXELS = 24_000_000  # the Lab conversion at full resolution needs ~40 bytes a pixel
REFERENCE_THUMB_SIDE = 96
PHOTO_LAYER = "colorize_photo"
REFERENCE_LAYER = "colorize_reference"
RECENT_SETTING = "colorize/recent_colors"


def grey_of(photo: np.ndarray) -> np.ndarray:
    """(H, W) uint8 grey of a grey or RGB photo: its lightness, as a neutral grey (what the model sees)."""
    if photo.ndim == 2:
        return photo
    lightness = rgb2lightness(photo)
    lab = np.stack([lightness, np.zeros_like(lightness), np.zeros_like(lightness)], axis=-1)
    return lab_to_uint8(lab)[..., 0]


def _as_photo(rgb: np.ndarray) -> np.ndarray:
    """A read-only photo as the mode keeps it: (H, W) when every pixel is grey, else (H, W, 3).

    Read-only, because jobs on the engine thread hold it: nothing may change it in place.
    """
    rgb = np.asarray(rgb, np.uint8)
    if rgb.ndim == 3 and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        rgb = rgb[..., 0]
    photo = np.ascontiguousarray(rgb).copy()
    photo.setflags(write=False)
    return photo


def _qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of a uint8 grey or RGB array."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    if image.ndim == 2:
        return QImage(image.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def swatch_icon(rgb: RGB, size: int = 20) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*rgb))
    painter = QPainter(pixmap)
    painter.setPen(QColor(0, 0, 0))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)


# ----- hints and their undo steps ------------------------------------------------------------------------


class HintList(QObject):
    """The hints of the photo and which one is selected; every change goes through ``put``.

    ``changed`` fires when a hint is added, removed or altered, ``selectionChanged`` when another
    hint (or none) becomes the selected one.
    """

    changed = Signal()
    selectionChanged = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.hints: list[Hint] = []
        self.selected: int | None = None

    def put(self, index: int, old: Hint | None, new: Hint | None) -> None:
        """Replace ``old`` at ``index`` with ``new`` (None: insert / remove); the result is selected."""
        if old is None and new is not None:
            self.hints.insert(index, new)
        elif new is None:
            del self.hints[index]
        elif self.hints[index] != new:
            self.hints[index] = new
        else:
            self.select(index)
            return
        other_hint = old is None or new is None or index != self.selected
        self.selected = None if new is None else index
        self.changed.emit()
        if other_hint:
            self.selectionChanged.emit()

    def reset(self, hints: list[Hint]) -> None:
        self.hints = list(hints)
        self.selected = None
        self.changed.emit()
        self.selectionChanged.emit()

    def select(self, index: int | None) -> None:
        if index != self.selected:
            self.selected = index
            self.selectionChanged.emit()

    def selected_hint(self) -> Hint | None:
        return None if self.selected is None else self.hints[self.selected]


class HintEdit(QUndoCommand):
    """One hint edit: the hint at ``index`` before and after (None: absent). Undo steps stay a few bytes."""

    RESIZE_ID = 1  # consecutive resizes of one hint (a wheel spin) merge into one step

    def __init__(self, hints: HintList, index: int, before: Hint | None, after: Hint | None, text: str):
        super().__init__(text)
        self.hints = hints
        self.index = index
        self.before = before
        self.after = after

    def redo(self) -> None:
        self.hints.put(self.index, self.before, self.after)

    def undo(self) -> None:
        self.hints.put(self.index, self.after, self.before)

    def id(self) -> int:  # noqa: A003 (Qt API)
        is_resize = self.before is not None and self.after is not None and self.before.size != self.after.size
        return self.RESIZE_ID if is_resize else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, HintEdit) or other.index != self.index or other.before != self.after:
            return False
        self.after = other.after
        self.setObsolete(self.after == self.before)
        return True


# ----- the canvas ----------------------------------------------------------------------------------------


def marker_side(size: int) -> int:
    """On-screen side of a hint's square in device pixels: bigger patches draw bigger squares."""
    return 6 + 2 * int(size)


class HintMarker(QGraphicsItem):
    """A hint drawn as a square of its colour with an outline, the same size at every zoom."""

    def __init__(self, hint: Hint, selected: bool):
        super().__init__()
        self.hint = hint
        self.selected = selected
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setPos(hint.x + 0.5, hint.y + 0.5)
        self.setZValue(5)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        half = marker_side(self.hint.size) / 2 + 3
        return QRectF(-half, -half, 2 * half, 2 * half)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        half = marker_side(self.hint.size) / 2
        square = QRectF(-half, -half, 2 * half, 2 * half)
        painter.fillRect(square, QColor(*self.hint.rgb))
        painter.setPen(QPen(QColor(0, 0, 0), 1))
        painter.drawRect(square)
        outer = QPen(QColor(255, 210, 0), 2) if self.selected else QPen(QColor(255, 255, 255), 1)
        painter.setPen(outer)
        painter.drawRect(square.adjusted(-1.5, -1.5, 1.5, 1.5))


class HintCanvas(ZoomPanView):
    """The photo in grey with its hints. Click empty space to add a hint at the pixel under the cursor,
    drag a hint to move it, right-click or Delete removes it, the wheel over a hint resizes it.

    Edits are asked of the workspace through signals; only a drag moves a hint live (the workspace
    records the whole drag as one step when it ends).
    """

    addRequested = Signal(int, int)  # pixel x, y
    moveFinished = Signal(int, object)  # index, the hint as it was when the drag began
    removeRequested = Signal(int)
    resizeRequested = Signal(int, int)  # index, size change

    def __init__(self, hints: HintList, parent: QWidget | None = None):
        super().__init__(parent)
        self.hints = hints
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.scene().addItem(self.image_item)
        self.markers: list[HintMarker] = []
        self.photo_size = (0, 0)  # (H, W)
        self._drag: tuple[int, Hint] | None = None  # index, hint before the drag
        hints.changed.connect(self.rebuild_markers)
        hints.selectionChanged.connect(self.rebuild_markers)

    def set_photo(self, grey: np.ndarray) -> None:
        self.photo_size = grey.shape[:2]
        self.image_item.setPixmap(QPixmap.fromImage(_qimage(grey)))
        self.refit_scene()

    def content_rect(self) -> QRectF:
        return QRectF(0, 0, self.photo_size[1], self.photo_size[0])

    def pixel(self, pos: QPointF) -> tuple[int, int] | None:
        """The image pixel (x, y) under scene position ``pos``, or None outside the photo."""
        x, y = math.floor(pos.x()), math.floor(pos.y())
        h, w = self.photo_size
        return (x, y) if 0 <= x < w and 0 <= y < h else None

    def hint_at(self, pos: QPointF) -> int | None:
        """Index of the topmost hint whose square (as drawn on screen) contains scene position ``pos``."""
        at = self.mapFromScene(pos)
        for index in range(len(self.hints.hints) - 1, -1, -1):
            hint = self.hints.hints[index]
            centre = self.mapFromScene(QPointF(hint.x + 0.5, hint.y + 0.5))
            half = marker_side(hint.size) / 2 + 1
            if abs(at.x() - centre.x()) <= half and abs(at.y() - centre.y()) <= half:
                return index
        return None

    def rebuild_markers(self) -> None:
        for marker in self.markers:
            self.scene().removeItem(marker)
        self.markers = [
            HintMarker(hint, index == self.hints.selected) for index, hint in enumerate(self.hints.hints)
        ]
        for marker in self.markers:
            self.scene().addItem(marker)

    # ----- mouse and keys -----
    def press(self, pos: QPointF) -> None:
        index = self.hint_at(pos)
        if index is None:
            pixel = self.pixel(pos)
            if pixel is None:
                self.hints.select(None)
                return
            count = len(self.hints.hints)
            self.addRequested.emit(*pixel)
            if len(self.hints.hints) == count:
                return
            index = self.hints.selected
        self.hints.select(index)
        self._drag = (index, self.hints.hints[index])

    def drag(self, pos: QPointF) -> None:
        if self._drag is None:
            return
        index = self._drag[0]
        h, w = self.photo_size
        x = min(max(math.floor(pos.x()), 0), w - 1)
        y = min(max(math.floor(pos.y()), 0), h - 1)
        current = self.hints.hints[index]
        self.hints.put(index, current, dataclasses.replace(current, x=float(x), y=float(y)))

    def release(self, pos: QPointF) -> None:
        drag, self._drag = self._drag, None
        if drag is not None and self.hints.hints[drag[0]] != drag[1]:
            self.moveFinished.emit(*drag)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.RightButton:
            index = self.hint_at(self.mapToScene(event.position().toPoint()))
            if index is not None:
                self.removeRequested.emit(index)
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.hints.selected is not None:
            self.removeRequested.emit(self.hints.selected)
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        steps = event.angleDelta().y()
        index = self.hint_at(self.mapToScene(event.position().toPoint()))
        if index is not None and steps:
            self.resizeRequested.emit(index, 1 if steps > 0 else -1)
            return
        super().wheelEvent(event)


# ----- the workspace -------------------------------------------------------------------------------------


class SuggestionRelay(QObject):
    """Carries colour suggestions from the engine thread to the interface (a queued signal)."""

    ready = Signal(object, object)  # the request's key, [((r, g, b), probability), ...]


class ColorizeWorkspace(PhotoWorkspace):
    """The colorize tab: the grey photo with hints, a hint colour panel, and the colorized output."""

    title = "Colorize"
    kinds = ("colorization",)
    open_title = "Open photo to colorize"
    example = EXAMPLES / "colorize_grey_aitzgorri.jpg"  # a grey landscape: sky, meadow, autumn trees
    gestures = (
        ("Click", "add a hint there, or select the hint under the cursor"),
        ("Drag a hint", "move it"),
        ("Right-click a hint, or Delete", "remove it (Delete: the selected one)"),
        ("Wheel over a hint", "grow or shrink its patch"),
    )

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(settings, parent)
        self.photo: np.ndarray | None = None  # as opened, read-only: grey (H, W) or RGB (H, W, 3)
        self.grey: np.ndarray | None = None  # (H, W) what the canvas shows
        self.result: np.ndarray | None = None  # the newest colorization shown
        self.global_hint: np.ndarray | None = None  # the vector of the reference image
        self.reference_thumb: np.ndarray | None = None
        self.suggestions: list[tuple[RGB, float]] = []
        self.recent_colors: list[RGB] = self._read_recent_colors()
        self.show_grey = False
        self.hints = HintList(self)
        self._photo_revision = 0
        self._reference_revision = 0
        self._made_key: tuple | None = None
        self._job_keys: dict[int, tuple] = {}  # stamp -> what the job colorizes
        self._shown_key: tuple | None = None
        self._suggested_key: tuple | None = None
        self._awaiting_color: HintEdit | None = None  # a new hint that takes the top suggestion
        self._relay = SuggestionRelay(self)
        self._relay.ready.connect(self._on_suggestions)

        self.canvas = HintCanvas(self.hints)
        self.canvas.addRequested.connect(lambda x, y: self.add_hint(x, y))
        self.canvas.moveFinished.connect(self._on_move_finished)
        self.canvas.removeRequested.connect(self.remove_hint)
        self.canvas.resizeRequested.connect(
            lambda index, step: self.resize_hint(index, self.hints.hints[index].size + step)
        )
        self.hints.changed.connect(self._on_hints_changed)
        self.hints.selectionChanged.connect(self._on_selection_changed)
        self.undo_stack.indexChanged.connect(self._forget_awaiting)

        self.panel = self._build_panel()
        self._build_toolbar()
        self.body.addWidget(self.panel)
        self.body.addWidget(self.canvas)
        self.body.addWidget(self.output)
        self.body.setStretchFactor(1, 1)
        self.body.setStretchFactor(2, 1)
        self.body.setSizes([240, 600, 600])
        self.output.set_message("Open a photo to colorize it.")
        self._refresh_panel()
        self._refresh_recent()
        self._refresh_reference()

    # ----- building -----
    def _build_toolbar(self) -> None:
        self.toolbar.addAction("Open photo…", self.open_photo_dialog)
        self.toolbar.addAction("Export result…", self.export_result_dialog)
        self.toolbar.addSeparator()
        self.grey_action = QAction("Show input (grey)", self)
        self.grey_action.setCheckable(True)
        self.grey_action.setToolTip("Show the grey input instead of the colorized result")
        self.grey_action.toggled.connect(self.set_show_grey)
        self.toolbar.addAction(self.grey_action)
        self.toolbar.addAction("Fit", self.canvas.fit_to_window)

    def _build_panel(self) -> QWidget:
        panel = QWidget()
        panel.setMaximumWidth(260)
        layout = QVBoxLayout(panel)

        hint_box = QGroupBox("Selected hint")
        hint_layout = QVBoxLayout(hint_box)
        row = QHBoxLayout()
        self.swatch = QLabel()
        self.swatch.setFixedSize(48, 24)
        self.color_label = QLabel()
        self.color_label.setWordWrap(True)  # the panel is narrow; the hint text must not be cut
        row.addWidget(self.swatch)
        row.addWidget(self.color_label, 1)
        hint_layout.addLayout(row)
        self.choose_button = QPushButton("Choose colour…")
        self.choose_button.clicked.connect(self.choose_color_dialog)
        hint_layout.addWidget(self.choose_button)
        row = QHBoxLayout()
        row.addWidget(QLabel("Patch size"))
        self.size_spin = QSpinBox()
        self.size_spin.setRange(MIN_PATCH, MAX_PATCH)
        self.size_spin.setValue(DEFAULT_PATCH)
        self.size_spin.setToolTip(
            "Side of the hint's square on the network's grid (the wheel over a hint too)"
        )
        self.size_spin.valueChanged.connect(self._on_size_spin)
        row.addWidget(self.size_spin)
        hint_layout.addLayout(row)
        self.remove_button = QPushButton("Remove hint")
        self.remove_button.clicked.connect(lambda: self.remove_hint(self.hints.selected))
        hint_layout.addWidget(self.remove_button)
        layout.addWidget(hint_box)

        suggestion_box = QGroupBox("Suggested colours")
        self.suggestion_grid = QGridLayout(suggestion_box)
        self.suggestion_buttons: list[QToolButton] = []
        layout.addWidget(suggestion_box)

        recent_box = QGroupBox("Recent colours")
        self.recent_grid = QGridLayout(recent_box)
        self.recent_buttons: list[QToolButton] = []
        layout.addWidget(recent_box)

        reference_box = QGroupBox("Reference image (global hint)")
        reference_layout = QVBoxLayout(reference_box)
        self.reference_label = QLabel("none")
        self.reference_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        reference_layout.addWidget(self.reference_label)
        self.reference_button = QPushButton("Reference image…")
        self.reference_button.clicked.connect(self.reference_image_dialog)
        self.clear_reference_button = QPushButton("Clear reference")
        self.clear_reference_button.clicked.connect(self.clear_reference)
        reference_layout.addWidget(self.reference_button)
        reference_layout.addWidget(self.clear_reference_button)
        layout.addWidget(reference_box)
        layout.addStretch(1)
        return panel

    def _swatch_button(self, rgb: RGB, tooltip: str) -> QToolButton:
        button = QToolButton()
        button.setIcon(swatch_icon(rgb))
        button.setToolTip(tooltip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda: self.set_selected_color(rgb))
        return button

    @staticmethod
    def _fill_grid(grid: QGridLayout, old: list[QToolButton], new: list[QToolButton]) -> None:
        for button in old:
            grid.removeWidget(button)
            button.deleteLater()
        for i, button in enumerate(new):
            grid.addWidget(button, i // 5, i % 5)

    # ----- photo -----
    def _fits(self, rgb: np.ndarray, name: str) -> bool:
        h, w = rgb.shape[:2]
        if h * w > MAX_PHOTO_PIXELS or max(h, w) > MAX_CANVAS:
            self.show_error(
                "This photo is too large",
                f"{name} is {w}x{h} pixels; the colorize mode opens photos of up to "
                f"{MAX_PHOTO_PIXELS // 1_000_000} megapixels and {MAX_CANVAS} pixels a side: scale it down",
            )
            return False
        return True

    def _start_on(self, rgb: np.ndarray, name: str) -> bool:
        self.set_photo(rgb)
        kind = "grey" if self.photo.ndim == 2 else "colour"
        h, w = rgb.shape[:2]
        self.message.emit(f"Opened {name} ({w}x{h}, {kind}): click the photo to add colour hints")
        return True

    def start_from_example(self, image: np.ndarray) -> None:
        self.set_photo(image)

    def set_photo(self, image: np.ndarray, hints: list[Hint] | None = None) -> None:
        """Start over on ``image`` (uint8 grey or RGB) with ``hints``; clears the history."""
        self.photo = _as_photo(image)
        self.grey = grey_of(self.photo)
        self.result = None
        self._photo_revision += 1
        self._awaiting_color = None
        self.undo_stack.clear()
        self.canvas.set_photo(self.grey)
        self.output.set_photo(np.repeat(self.grey[..., None], 3, axis=2))
        if self.model is None:
            self.output.set_message("The photo is colorized once a colorization model is loaded.")
        self.hints.reset(hints or [])

    # ----- hint edits (each one undo step) -----
    def add_hint(self, x: int, y: int, rgb: RGB | None = None, size: int | None = None) -> int | None:
        """Add a hint at pixel (x, y) and select it; returns its index (None: no photo or outside it).

        Without ``rgb`` it takes the photo's colour there (colour photos) or, for grey ones, the
        current output's colour until the model's top suggestion for the point arrives.
        """
        if self.photo is None or not (0 <= x < self.photo.shape[1] and 0 <= y < self.photo.shape[0]):
            return None
        awaiting = rgb is None and self.photo.ndim == 2
        if rgb is None:
            rgb = self._color_at(x, y)
        size = self.size_spin.value() if size is None else int(size)
        hint = Hint(float(x), float(y), tuple(int(c) for c in rgb), min(max(size, MIN_PATCH), MAX_PATCH))
        command = HintEdit(self.hints, len(self.hints.hints), None, hint, "Add hint")
        self.undo_stack.push(command)
        if awaiting:
            self._awaiting_color = command
        return command.index

    def set_selected_color(self, rgb: RGB) -> None:
        """Recolour the selected hint (the colour dialog, suggestions and recent colours end here)."""
        rgb = tuple(int(c) for c in rgb)
        self._remember_color(rgb)
        index = self.hints.selected
        if index is not None:
            old = self.hints.hints[index]
            self._push(index, old, dataclasses.replace(old, rgb=rgb), "Recolour hint")

    def resize_hint(self, index: int | None, size: int) -> None:
        if index is None:
            return
        old = self.hints.hints[index]
        size = min(max(int(size), MIN_PATCH), MAX_PATCH)
        self._push(index, old, dataclasses.replace(old, size=size), "Resize hint")

    def remove_hint(self, index: int | None) -> None:
        if index is not None:
            self._push(index, self.hints.hints[index], None, "Remove hint")

    def _push(self, index: int, old: Hint, new: Hint | None, text: str) -> None:
        if new != old:
            self.undo_stack.push(HintEdit(self.hints, index, old, new, text))

    def _on_move_finished(self, index: int, start: Hint) -> None:
        """A drag moved the hint live; record the whole drag as one step (pushing re-applies its end)."""
        self._push(index, start, self.hints.hints[index], "Move hint")

    def _forget_awaiting(self) -> None:
        self._awaiting_color = None

    def _color_at(self, x: int, y: int) -> RGB:
        if self.photo.ndim == 3:
            return tuple(int(c) for c in self.photo[y, x])
        if self.result is not None and self.result.shape[:2] == self.photo.shape[:2]:
            return tuple(int(c) for c in self.result[y, x])
        return (int(self.grey[y, x]),) * 3

    def _on_size_spin(self, size: int) -> None:
        hint = self.hints.selected_hint()
        if hint is not None and hint.size != size:
            self.resize_hint(self.hints.selected, size)

    # ----- colours -----
    def choose_color_dialog(self) -> None:
        hint = self.hints.selected_hint()
        start = QColor(*hint.rgb) if hint is not None else QColor(128, 128, 128)
        color = QColorDialog.getColor(start, self, "Hint colour")
        if color.isValid():
            self.set_selected_color((color.red(), color.green(), color.blue()))

    def _remember_color(self, rgb: RGB) -> None:
        self.recent_colors = [rgb, *(c for c in self.recent_colors if c != rgb)][:RECENT_COUNT]
        self.settings.setValue(RECENT_SETTING, [color_hex(c) for c in self.recent_colors])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        buttons = [self._swatch_button(c, color_hex(c)) for c in self.recent_colors]
        self._fill_grid(self.recent_grid, self.recent_buttons, buttons)
        self.recent_buttons = buttons

    def _read_recent_colors(self) -> list[RGB]:
        stored = self.settings.value(RECENT_SETTING, [])
        colors = []
        for text in [stored] if isinstance(stored, str) else stored or []:
            try:
                colors.append(parse_color(str(text)))
            except ValueError:
                continue
        return colors[:RECENT_COUNT]

    # ----- reference image -----
    def reference_image_dialog(self) -> None:
        if path := self.ask_image("Reference image for the colours"):
            self.set_reference_image(path)

    def set_reference_image(self, path: str | Path) -> bool:
        """Use the colour distribution and saturation of the image at ``path`` as the global hint."""
        if self.model is not None and not self.model.has_global_hints:
            self.show_error("No reference images with this model", self.reference_button.toolTip())
            return False
        try:
            rgb = read_rgb_image(path)
            vector = global_hint_from_image(rgb)
        except InputImageError as exc:
            self.show_error("This reference image cannot be used", str(exc))
            return False
        self.global_hint = vector
        thumb = Image.fromarray(rgb)
        thumb.thumbnail((REFERENCE_THUMB_SIDE, REFERENCE_THUMB_SIDE))
        self.reference_thumb = np.asarray(thumb.convert("RGB")).copy()
        self._reference_revision += 1
        self._refresh_reference()
        self.request()
        return True

    def clear_reference(self) -> None:
        if self.global_hint is None:
            return
        self.global_hint = None
        self.reference_thumb = None
        self._reference_revision += 1
        self._refresh_reference()
        self.request()

    def _refresh_reference(self) -> None:
        if self.model is None:
            enabled, why = False, "Load a colorization model first"
        elif not self.model.has_global_hints:
            enabled = False
            why = (
                f"The model '{self.model.card.name}' has no global hints branch, so it cannot use a reference"
            )
        else:
            enabled, why = True, "Colour the photo like a reference image (its colour spread and saturation)"
        self.reference_button.setEnabled(enabled)
        self.reference_button.setToolTip(why)
        self.clear_reference_button.setEnabled(self.global_hint is not None)
        if self.reference_thumb is None:
            self.reference_label.setPixmap(QPixmap())
            self.reference_label.setText("none")
        else:
            self.reference_label.setPixmap(QPixmap.fromImage(_qimage(self.reference_thumb)))

    # ----- output -----
    def set_show_grey(self, grey: bool) -> None:
        """Show the grey input (True) or the colorized result in the output pane."""
        self.show_grey = bool(grey)
        if self.grey_action.isChecked() != self.show_grey:
            self.grey_action.setChecked(self.show_grey)
        if self.show_grey and self.grey is not None:
            self.output.set_photo(np.repeat(self.grey[..., None], 3, axis=2))
        elif self.result is not None:
            self.output.set_photo(self.result)

    def result_photo(self) -> np.ndarray | None:
        return self.result

    def export_result_dialog(self) -> None:
        if self.result is None:
            self.show_error("Nothing to export", "There is no colorized photo yet.")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export colorized photo", "colorized.png", "Images (*.png *.jpg *.jpeg)"
        )
        if path:
            self.export_result(Path(path))

    def export_result(self, path: str | Path) -> bool:
        if self.result is None:
            self.show_error("Nothing to export", "There is no colorized photo yet.")
            return False
        try:
            Image.fromarray(self.result).save(path, quality=95)
        except (OSError, ValueError) as exc:
            self.show_error("The colorized photo could not be exported", str(exc))
            return False
        return True

    # ----- jobs -----
    def make_job(self) -> JobFunction | None:
        """Colorize if the output is not of the current hints, and suggest colours if the selected
        hint's are stale; both on snapshots (the photo is read-only, hints frozen, the vector copied)."""
        if self.photo is None or self.model is None:
            return None
        photo, hints = self.photo, tuple(self.hints.hints)
        use_reference = self.global_hint is not None and self.model.has_global_hints
        global_hint = self.global_hint.copy() if use_reference else None
        output_key = (self._photo_revision, hints, self._reference_revision)
        suggest = self._suggestion_request()
        # a new hint waiting for its first colour is recoloured (and colorized) when it arrives
        colorize = output_key != self._shown_key and (suggest is None or self._awaiting_color is None)
        if not colorize and suggest is None:
            return None
        relay = self._relay
        self._made_key = output_key if colorize else None

        def job(model: Any):
            if suggest is not None:
                key, point, others = suggest
                relay.ready.emit(
                    key, model.suggest_colors(photo, point, SUGGESTION_COUNT, others, global_hint)
                )
            if colorize:
                yield model.colorize(photo, hints, global_hint)

        return job

    def request(self) -> int | None:
        self._made_key = None
        stamp = super().request()
        if stamp is not None and self._made_key is not None:
            self._job_keys[stamp] = self._made_key
        return stamp

    def _suggestion_key(self) -> tuple | None:
        """What the selected hint's suggestions depend on: the photo, its point, the other hints."""
        index = self.hints.selected
        if index is None or self.photo is None:
            return None
        hint = self.hints.hints[index]
        others = tuple(h for i, h in enumerate(self.hints.hints) if i != index)
        return self._photo_revision, (hint.x, hint.y), others, self._reference_revision

    def _suggestion_request(self) -> tuple | None:
        key = self._suggestion_key()
        if key is None or key == self._suggested_key:
            return None
        return key, key[1], key[2]

    def _on_suggestions(self, key: tuple, suggestions: list[tuple[RGB, float]]) -> None:
        if key != self._suggestion_key():
            return  # the selection or the hints changed meanwhile; a newer job asks again
        self._suggested_key = key
        self.suggestions = suggestions
        buttons = [self._swatch_button(rgb, f"{color_hex(rgb)}  ({p:.0%})") for rgb, p in suggestions]
        self._fill_grid(self.suggestion_grid, self.suggestion_buttons, buttons)
        self.suggestion_buttons = buttons
        command, self._awaiting_color = self._awaiting_color, None
        untouched = command is not None and self.hints.selected == command.index
        if untouched and self.hints.hints[command.index] == command.after:
            # the new hint's first colour, not an edit of its own: its add step adds it in this colour
            command.after = dataclasses.replace(command.after, rgb=suggestions[0][0])
            self.hints.put(command.index, command.after, command.after)
        self.request()  # the output skipped while the colour was awaited

    def on_model_loaded(self, model: Any) -> None:
        self._shown_key = self._suggested_key = None
        self._job_keys.clear()
        self._refresh_reference()
        if self.photo is None:
            self.output.set_message("Open a photo to colorize it.")

    def on_result(self, image: np.ndarray) -> None:
        stamp = self.last_stamp_shown
        self._shown_key = self._job_keys.get(stamp, self._shown_key)
        self._job_keys = {s: k for s, k in self._job_keys.items() if s > stamp}
        self.result = image
        if self.show_grey and self.grey is not None:
            self.output.set_photo(np.repeat(self.grey[..., None], 3, axis=2))

    def _on_hints_changed(self) -> None:
        self._refresh_panel()
        self.request()

    def _on_selection_changed(self) -> None:
        self._refresh_panel()
        if self._suggestion_key() != self._suggested_key:
            self._fill_grid(self.suggestion_grid, self.suggestion_buttons, [])
            self.suggestion_buttons = []
            self.suggestions = []
        self.request()

    def _refresh_panel(self) -> None:
        hint = self.hints.selected_hint()
        for widget in (self.choose_button, self.size_spin, self.remove_button):
            widget.setEnabled(hint is not None)
        if hint is None:
            self.swatch.setStyleSheet("background: transparent; border: 1px dashed gray;")
            self.color_label.setText("click the photo to add a hint")
            return
        self.swatch.setStyleSheet(f"background: {color_hex(hint.rgb)}; border: 1px solid black;")
        self.color_label.setText(f"{color_hex(hint.rgb)} at ({int(hint.x)}, {int(hint.y)})")
        self.size_spin.blockSignals(True)
        self.size_spin.setValue(hint.size)
        self.size_spin.blockSignals(False)

    # ----- project files -----
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self.photo is None:
            return {}, {}
        state: dict[str, Any] = {
            "hints": [
                {"x": int(h.x), "y": int(h.y), "color": color_hex(h.rgb).lower(), "size": int(h.size)}
                for h in self.hints.hints
            ],
            "global_hint": None if self.global_hint is None else [float(v) for v in self.global_hint],
            "show_grey": self.show_grey,
        }
        layers = {PHOTO_LAYER: np.asarray(self.photo)}
        if self.reference_thumb is not None:
            layers[REFERENCE_LAYER] = self.reference_thumb
        return state, layers

    def restore(self, state: dict[str, Any], layers: dict[str, np.ndarray]) -> None:
        photo = layers.get(PHOTO_LAYER)
        if photo is None:
            return
        hints, problem = [], None
        h, w = photo.shape[:2]
        try:
            for entry in state.get("hints", []):
                hint = Hint(
                    float(entry["x"]), float(entry["y"]), parse_color(entry["color"]), int(entry["size"])
                )
                if 0 <= hint.x < w and 0 <= hint.y < h and MIN_PATCH <= hint.size <= MAX_PATCH:
                    hints.append(hint)
                else:
                    problem = f"a hint outside the {w}x{h} photo or with a patch size out of 1..9 ({entry})"
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problem = f"the colour hints are damaged ({exc!r})"
        vector = state.get("global_hint")
        self.global_hint = self.reference_thumb = None
        if vector is not None:
            self.global_hint = np.asarray(vector, np.float32)
            self.reference_thumb = layers.get(REFERENCE_LAYER)
        self._reference_revision += 1
        self._refresh_reference()
        self.set_photo(photo, hints)
        self.set_show_grey(bool(state.get("show_grey", False)))
        if problem is not None:
            self.show_error("Some colour hints could not be restored", f"The project has {problem}.")
