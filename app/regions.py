"""Rectangular regions of a canvas, ``(y0, x0, y1, x1)`` with exclusive ends: what an edit touched,
the tight box of what it changed, the box of a mask."""

from __future__ import annotations

import numpy as np

Region = tuple[int, int, int, int]  # y0, x0, y1, x1 (end exclusive)


def union(a: Region | None, b: Region) -> Region:
    """The smallest region holding both (``a`` None: just ``b``)."""
    if a is None:
        return b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def bounding_box(where: np.ndarray) -> Region | None:
    """The smallest region holding every true pixel (None: there is none)."""
    rows, cols = np.nonzero(where.any(axis=1))[0], np.nonzero(where.any(axis=0))[0]
    if not len(rows):
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def changed_region(touched: Region, *planes: tuple[np.ndarray, np.ndarray]) -> Region | None:
    """Within ``touched``, the tight region where any ``(before, after)`` pair of full-canvas planes
    differs, so an undo step stores only that (None: nothing changed)."""
    y0, x0, y1, x1 = touched
    differs = np.zeros((y1 - y0, x1 - x0), bool)
    for before, after in planes:
        differs |= before[y0:y1, x0:x1] != after[y0:y1, x0:x1]
    box = bounding_box(differs)
    return None if box is None else (box[0] + y0, box[1] + x0, box[2] + y0, box[3] + x0)
