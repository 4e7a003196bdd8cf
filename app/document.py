"""The painted document: a label-id map and its instance-id map, with undoable, region-bounded edits.

Instance ids follow pix2pixHD's (Cityscapes') convention: a stuff pixel holds its class id, a
pixel of a thing (an object of a class with ``has_instances``) holds class_id * 1000 + k. Both
planes always change together, so one undo step restores both.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.raster import clip_to_canvas
from app.regions import Region, changed_region, union
from engine.instance_synthesis import THING_ID_BASE
from engine.labels import LabelSet


class RegionEdit(QUndoCommand):
    """One stroke or fill: the before/after pixels of its bounding box only, so memory stays bounded.

    Works on any object with ``write_region(region, values)``: the sketch layer and the inpainting
    document (whose values are a dict of planes) use it too.
    """

    def __init__(self, document, region: Region, before: np.ndarray, after: np.ndarray, text: str):
        super().__init__(text)
        self.document = document
        self.region = region
        self.before = before
        self.after = after
        self._applied = True  # the edit is on the canvas already when it is pushed

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self.write(after=True)

    def undo(self) -> None:
        self.write(after=False)

    def write(self, after: bool) -> None:
        self.document.write_region(self.region, self.after if after else self.before)


class LabelEdit(RegionEdit):
    """A ``RegionEdit`` of the document: ``before``/``after`` hold the labels of the box, and
    ``before_instances``/``after_instances`` its instance ids, so undo restores both planes."""

    def __init__(
        self,
        document: Document,
        region: Region,
        before: tuple[np.ndarray, np.ndarray],
        after: tuple[np.ndarray, np.ndarray],
        text: str,
    ):
        super().__init__(document, region, before[0], after[0], text)
        self.before_instances, self.after_instances = before[1], after[1]

    def write(self, after: bool) -> None:
        if after:
            self.document.write_region(self.region, self.after, self.after_instances)
        else:
            self.document.write_region(self.region, self.before, self.before_instances)


class Document(QObject):
    """Owns the label and instance maps; every change goes through it so views, undo and the engine
    stay in sync.

    ``changed`` carries the changed region (y0, x0, y1, x1); ``replaced`` fires when the whole map,
    its size or its label set changes.
    """

    changed = Signal(object)
    replaced = Signal()

    def __init__(
        self,
        label_set: LabelSet,
        labels: np.ndarray,
        instances: np.ndarray | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.label_set = label_set
        self.labels = np.ascontiguousarray(labels, dtype=np.int32)
        self.instances = _instance_plane(self.labels, instances)
        self.revision = 0

    @classmethod
    def blank(cls, label_set: LabelSet, height: int, width: int, fill: int | None = None) -> Document:
        value = label_set.background_id if fill is None else fill
        return cls(label_set, np.full((height, width), value, dtype=np.int32))

    @property
    def size(self) -> tuple[int, int]:
        return self.labels.shape[0], self.labels.shape[1]

    def replace(self, label_set: LabelSet, labels: np.ndarray, instances: np.ndarray | None = None) -> None:
        """Swap in a new map (new canvas, opened file); clears the history.

        ``instances`` None: every region is stuff (instance id = class id).
        """
        label_set.validate(labels)
        labels = np.ascontiguousarray(labels, dtype=np.int32)
        instances = _instance_plane(labels, instances)
        self.label_set = label_set
        self.labels = labels
        self.instances = instances
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.revision += 1
        self.replaced.emit()

    def write_region(self, region: Region, labels: np.ndarray, instances: np.ndarray) -> None:
        y0, x0, y1, x1 = region
        self.labels[y0:y1, x0:x1] = labels
        self.instances[y0:y1, x0:x1] = instances
        self.revision += 1
        self.changed.emit(region)

    def new_instance_id(self, class_id: int) -> int | None:
        """An id for a new object of ``class_id``: class_id * 1000 + the next k after the largest in
        use (the smallest free one once k reaches 999). Ids that are class ids of the label set (only
        possible for class 0) are skipped, so objects never merge with stuff. None when all are taken.
        """
        base = int(class_id) * THING_ID_BASE
        plane = self.instances
        used = np.unique(plane[(plane >= base) & (plane < base + THING_ID_BASE)])
        candidates = np.arange(base, base + THING_ID_BASE)
        free = candidates[~np.isin(candidates, used) & ~np.isin(candidates, self.label_set.ids)]
        later = free[free > used[-1]] if used.size else free
        pick = later if later.size else free
        return int(pick[0]) if pick.size else None

    def instance_class(self, instance_id: int) -> int | None:
        """The class painted under an instance (None when no pixel holds it)."""
        hits = self.labels[self.instances == instance_id]
        return int(hits[0]) if hits.size else None

    def begin_edit(self) -> EditSession:
        return EditSession(self)


class EditSession:
    """Collects the pixels one stroke touches; ``commit`` pushes a single undo step for all of it."""

    def __init__(self, document: Document):
        self.document = document
        self.before = document.labels.copy()
        self.before_instances = document.instances.copy()
        self.touched: Region | None = None

    def paint(
        self,
        mask: np.ndarray,
        label_id: int,
        origin: tuple[int, int] = (0, 0),
        instance_id: int | None = None,
    ) -> None:
        """Set the pixels where ``mask`` is true (mask placed at ``origin`` = (y, x)) to ``label_id``
        and their instance to ``instance_id`` (None: ``label_id``, i.e. stuff)."""
        clipped = clip_to_canvas(mask, origin, self.document.size)
        if clipped is None or not clipped[1].any():
            return
        (y0, x0, y1, x1), sub = clipped
        self.document.labels[y0:y1, x0:x1][sub] = label_id
        self.document.instances[y0:y1, x0:x1][sub] = label_id if instance_id is None else instance_id
        self.document.revision += 1
        region = (y0, x0, y1, x1)
        self.touched = union(self.touched, region)
        self.document.changed.emit(region)

    def commit(self, text: str) -> bool:
        """Push the edit as one undo step; False when nothing changed."""
        if self.touched is None:
            return False
        labels, instances = self.document.labels, self.document.instances
        region = changed_region(self.touched, (self.before, labels), (self.before_instances, instances))
        if region is None:
            return False
        ty0, tx0, ty1, tx1 = region
        window = (slice(ty0, ty1), slice(tx0, tx1))
        self.document.undo_stack.push(
            LabelEdit(
                self.document,
                region,
                (self.before[window].copy(), self.before_instances[window].copy()),
                (labels[window].copy(), instances[window].copy()),
                text,
            )
        )
        self.before = self.before_instances = None
        return True


def _instance_plane(labels: np.ndarray, instances: np.ndarray | None) -> np.ndarray:
    if instances is None:
        return labels.copy()
    instances = np.asarray(instances)
    if instances.shape != labels.shape:
        raise ValueError(f"the instance map is {instances.shape}, but the label map is {labels.shape}")
    return np.ascontiguousarray(instances, dtype=np.int32)
