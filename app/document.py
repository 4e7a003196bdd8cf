"""The painted document: a label-id map (plus instance ids) with undoable, region-bounded edits."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.labels import LabelSet

Region = tuple[int, int, int, int]  # y0, x0, y1, x1 (end exclusive)


class RegionEdit(QUndoCommand):
    """One stroke or fill: the before/after pixels of its bounding box only, so memory stays bounded."""

    def __init__(self, document: Document, region: Region, before: np.ndarray, after: np.ndarray, text: str):
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
        self.document.write_region(self.region, self.after)

    def undo(self) -> None:
        self.document.write_region(self.region, self.before)


class Document(QObject):
    """Owns the label map; every change goes through it so views, undo and the engine stay in sync.

    ``changed`` carries the changed region (y0, x0, y1, x1); ``replaced`` fires when the whole map,
    its size or its label set changes.
    """

    changed = Signal(object)
    replaced = Signal()

    def __init__(self, label_set: LabelSet, labels: np.ndarray, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.label_set = label_set
        self.labels = np.ascontiguousarray(labels, dtype=np.int32)
        self.revision = 0

    @classmethod
    def blank(cls, label_set: LabelSet, height: int, width: int, fill: int | None = None) -> Document:
        value = label_set.background_id if fill is None else fill
        return cls(label_set, np.full((height, width), value, dtype=np.int32))

    @property
    def size(self) -> tuple[int, int]:
        return self.labels.shape[0], self.labels.shape[1]

    def replace(self, label_set: LabelSet, labels: np.ndarray) -> None:
        """Swap in a new map (new canvas, opened file); clears the history."""
        label_set.validate(labels)
        self.label_set = label_set
        self.labels = np.ascontiguousarray(labels, dtype=np.int32)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.revision += 1
        self.replaced.emit()

    def write_region(self, region: Region, values: np.ndarray) -> None:
        y0, x0, y1, x1 = region
        self.labels[y0:y1, x0:x1] = values
        self.revision += 1
        self.changed.emit(region)

    def begin_edit(self) -> EditSession:
        return EditSession(self)


class EditSession:
    """Collects the pixels one stroke touches; ``commit`` pushes a single undo step for all of it."""

    def __init__(self, document: Document):
        self.document = document
        self.before = document.labels.copy()
        self.touched: Region | None = None

    def paint(self, mask: np.ndarray, label_id: int, origin: tuple[int, int] = (0, 0)) -> None:
        """Set the pixels where ``mask`` is true (mask placed at ``origin`` = (y, x)) to ``label_id``."""
        h, w = self.document.size
        oy, ox = origin
        y0, x0 = max(oy, 0), max(ox, 0)
        y1, x1 = min(oy + mask.shape[0], h), min(ox + mask.shape[1], w)
        if y0 >= y1 or x0 >= x1:
            return
        sub = mask[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        if not sub.any():
            return
        self.document.labels[y0:y1, x0:x1][sub] = label_id
        self.document.revision += 1
        region = (y0, x0, y1, x1)
        self.touched = region if self.touched is None else _union(self.touched, region)
        self.document.changed.emit(region)

    def commit(self, text: str) -> bool:
        """Push the edit as one undo step; False when nothing changed."""
        if self.touched is None:
            return False
        y0, x0, y1, x1 = self.touched
        before = self.before[y0:y1, x0:x1].copy()
        after = self.document.labels[y0:y1, x0:x1].copy()
        if np.array_equal(before, after):
            return False
        rows, cols = (
            np.nonzero(np.any(before != after, axis=1))[0],
            np.nonzero(np.any(before != after, axis=0))[0],
        )
        tight = (y0 + rows[0], x0 + cols[0], y0 + rows[-1] + 1, x0 + cols[-1] + 1)
        ty0, tx0, ty1, tx1 = tight
        self.document.undo_stack.push(
            RegionEdit(
                self.document,
                tight,
                self.before[ty0:ty1, tx0:tx1].copy(),
                self.document.labels[ty0:ty1, tx0:tx1].copy(),
                text,
            )
        )
        self.before = None
        return True


def _union(a: Region, b: Region) -> Region:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
