"""The object-style panel: the look of one painted object, from a pix2pixHD model's feature bank.

pix2pixHD paints every object (instance) with a short feature code; its bank holds a few codes per
class (k-means centres of real objects' codes). The panel shows the selected object's codes as
swatches, each with a preview (the painting rendered with that code for the object, in the
engine's thread, cropped to the object's box), a re-roll and "automatic" (no code: the engine's
seeded pick). Choices are undoable edits of the painting and travel with the project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap, QUndoCommand
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.project import ProjectError
from app.regions import bounding_box
from app.style_picker import THUMB, thumbnail
from app.worker import JobFunction
from engine import SynthpaintError
from engine.labels import LabelClass

PREVIEW_RESOLUTION = 256  # short side the swatch previews render at (at most the output's)
Features = dict[int, np.ndarray]  # instance id -> feature code (feat_num float32)


def render_previews(
    model: Any,
    labels: np.ndarray,
    instances: np.ndarray,
    features: Mapping[int, np.ndarray],
    seed: int | None,
    instance_id: int,
    codes: list[np.ndarray | None],
) -> list[np.ndarray]:
    """The object's bounding box in the painting rendered with each code for it (None: automatic),
    every other object keeping its own; [] when no pixel holds the object."""
    region = bounding_box(instances == instance_id)
    if region is None:
        return []
    box = (slice(region[0], region[2]), slice(region[1], region[3]))
    others = {i: c for i, c in features.items() if i != instance_id}
    full = model.resolution
    model.resolution = min(full, PREVIEW_RESOLUTION)
    try:
        crops = []
        for code in codes:
            chosen = others if code is None else {**others, instance_id: code}
            photo = model.synthesize(labels, instances, features=chosen, seed=seed)
            crops.append(np.ascontiguousarray(photo[box]))
    finally:
        model.resolution = full
    return crops


def features_to_json(features: Mapping[int, np.ndarray]) -> dict[str, list[float]]:
    """{"<instance id>": [floats]} for project.json (float32 -> double -> float32 is exact)."""
    return {str(int(i)): [float(v) for v in code] for i, code in sorted(features.items())}


def features_from_json(data: object, source: str) -> Features:
    """The inverse of ``features_to_json``; a damaged entry is a ProjectError naming ``source``."""
    if not isinstance(data, dict):
        raise ProjectError(f"the object styles in {source} are not a JSON object")
    features: Features = {}
    for key, values in data.items():
        if not str(key).isdigit():
            raise ProjectError(f"the object styles in {source} name the instance {key!r}, which is not an id")
        numbers = isinstance(values, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        )
        with np.errstate(over="ignore"):
            code = np.asarray(values if numbers else [], dtype=np.float32)
        if not code.size or not np.isfinite(code).all():
            raise ProjectError(
                f"the object style of instance {key} in {source} is not a list of finite numbers"
            )
        features[int(key)] = code
    return features


class ObjectStyleEdit(QUndoCommand):
    """Choosing an object's look: undoable, and it marks the painting as changed."""

    def __init__(
        self,
        features: Features,
        instance_id: int,
        code: np.ndarray | None,
        changed: Callable[[], None],
    ):
        super().__init__(f"Look of object {instance_id}")
        self.features = features
        self.instance_id = instance_id
        self.before = features.get(instance_id)
        self.after = code
        self.changed = changed

    def redo(self) -> None:
        self._set(self.after)

    def undo(self) -> None:
        self._set(self.before)

    def _set(self, code: np.ndarray | None) -> None:
        if code is None:
            self.features.pop(self.instance_id, None)
        else:
            self.features[self.instance_id] = code
        self.changed()


def _blank_icon() -> QIcon:
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor(90, 90, 90))
    return QIcon(pixmap)


class InstancePanel(QWidget):
    """Swatches of the selected object's codes; emits ``featureChosen(instance id, code or None)``.

    The owner shows it the model (``set_model``) and the selection (``show_instance``), and wraps
    its synthesis jobs with ``with_previews`` while ``wants_previews()``.
    """

    featureChosen = Signal(int, object)
    _previewsRendered = Signal(int, object)  # generation, crops: emitted in the engine's thread

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model: Any = None
        self.instance_id: int | None = None
        self.label_class: LabelClass | None = None
        self.codes = np.zeros((0, 0), np.float32)
        self.current: np.ndarray | None = None
        self.previews: list[np.ndarray] = []
        self._generation = 0  # bumped when the model or the object changes: older previews are stale
        self._delivered = -1
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.swatches = QListWidget()
        self.swatches.setViewMode(QListWidget.ViewMode.IconMode)
        self.swatches.setIconSize(QSize(THUMB, THUMB))
        self.swatches.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.swatches.setMinimumHeight(2 * THUMB + 30)
        self.swatches.setToolTip("Click a look for the selected object (its preview renders this painting)")
        self.swatches.itemClicked.connect(lambda item: self.pick(self.swatches.row(item) - 1))
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Another look from the model's bank, for this object only")
        self.random_button.clicked.connect(self.reroll)
        self.auto_button = QPushButton("Automatic")
        self.auto_button.setToolTip("No chosen look: the engine picks one from the seed")
        self.auto_button.clicked.connect(lambda: self.pick(-1))
        buttons = QHBoxLayout()
        buttons.addWidget(self.random_button)
        buttons.addWidget(self.auto_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.swatches, 1)
        layout.addLayout(buttons)
        self._previewsRendered.connect(self._on_previews, Qt.ConnectionType.QueuedConnection)
        self._rebuild()

    # ----- what to show -----
    def set_model(self, model: Any) -> None:
        """The loaded model (its bank gives the swatches); one without feature codes disables the panel."""
        self.model = model if getattr(model, "feat_num", 0) else None
        self._rebuild()

    def show_instance(
        self, instance_id: int | None, label_class: LabelClass | None, current: np.ndarray | None
    ) -> None:
        """The selected object (None: nothing selected), its class and its chosen code (None: automatic)."""
        if (instance_id, label_class) != (self.instance_id, self.label_class):
            self.instance_id, self.label_class = instance_id, label_class
            self.current = current
            self._rebuild()
        else:
            self.current = current
            self._highlight()

    def current_index(self) -> int | None:
        """Bank row of the chosen code; -1 for automatic; None for a code not in the bank."""
        if self.current is None:
            return -1
        for row, code in enumerate(self.codes):
            if np.array_equal(code, self.current):
                return row
        return None

    # ----- choosing -----
    def pick(self, row: int) -> None:
        """Choose bank row ``row`` for the selected object (-1: automatic)."""
        if self.instance_id is None or row >= len(self.codes):
            return
        code = None if row < 0 else self.codes[row].copy()
        self.featureChosen.emit(self.instance_id, code)

    def reroll(self) -> None:
        """A random bank code other than the current one (when there is another)."""
        if not len(self.codes):
            return
        rows = [r for r in range(len(self.codes)) if r != self.current_index()] or [0]
        self.pick(int(np.random.default_rng().choice(rows)))

    # ----- previews -----
    def wants_previews(self) -> bool:
        return (
            self.model is not None
            and self.instance_id is not None
            and len(self.codes) > 0
            and self._delivered != self._generation
        )

    def with_previews(
        self,
        job: JobFunction,
        labels: np.ndarray,
        instances: np.ndarray,
        features: Mapping[int, np.ndarray],
        seed: int | None,
    ) -> JobFunction:
        """``job``, then (unless a newer job is waiting by then) the swatch previews of the selected
        object, rendered on snapshots of the painting and delivered back to the panel."""
        model, generation, instance_id = self.model, self._generation, self.instance_id
        codes: list[np.ndarray | None] = [None, *self.codes]
        labels, instances, features = labels.copy(), instances.copy(), dict(features)
        deliver = self._previewsRendered

        def run(engine_model: Any) -> Iterator[np.ndarray]:
            result = job(engine_model)
            yield from [result] if isinstance(result, np.ndarray) else result
            if engine_model is not model:
                return  # another model was loaded meanwhile: these codes are not its codes
            try:
                crops = render_previews(model, labels, instances, features, seed, instance_id, codes)
            except SynthpaintError:
                crops = []  # the swatches stay plain; the main picture already reports real problems
            deliver.emit(generation, crops)

        return run

    def _on_previews(self, generation: int, crops: list[np.ndarray]) -> None:
        if generation != self._generation:
            return
        self._delivered = generation
        self.previews = crops
        for row, crop in enumerate(crops[: self.swatches.count()]):
            self.swatches.item(row).setIcon(thumbnail(crop))

    # ----- widgets -----
    def _rebuild(self) -> None:
        self._generation += 1
        self.previews = []
        self.swatches.clear()
        if self.model is None:
            self.codes = np.zeros((0, 0), np.float32)
            self.heading.setText("This model takes no per-object looks.")
        elif self.instance_id is None or self.label_class is None:
            self.codes = np.zeros((0, self.model.feat_num), np.float32)
            self.heading.setText(
                "Select an object (S, then click it) to choose its look. Paint objects with the "
                "Instances tool (N) on."
            )
        else:
            self.codes = self.model.feature_choices(self.label_class.id)
            name = self.label_class.name
            self.heading.setText(
                f"{name} (object {self.instance_id}): {len(self.codes)} looks in the model's bank"
                if len(self.codes)
                else f"The model's bank has no looks for {name}; it is painted with the automatic code."
            )
            self.swatches.addItem(QListWidgetItem(_blank_icon(), "Automatic"))
            for row in range(len(self.codes)):
                self.swatches.addItem(QListWidgetItem(_blank_icon(), f"Look {row + 1}"))
        enabled = len(self.codes) > 0
        self.random_button.setEnabled(enabled)
        self.auto_button.setEnabled(self.instance_id is not None and self.model is not None)
        self._highlight()

    def _highlight(self) -> None:
        index = self.current_index()
        self.swatches.setCurrentRow(-1 if index is None or not self.swatches.count() else index + 1)
