"""Aliased shape rasterisation for the label canvas: every mask is exact, so every pixel holds one id.

Each function returns ``(mask, origin)``: a bool mask of the shape's bounding box and the (y, x)
of its top-left pixel on the canvas. Coordinates are canvas pixels (x, y). ``soft_stroke`` is the
one exception: a coverage brush (uint8 0..255) for the inpaint hole, whose rim may blend.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Point = tuple[float, float]
Mask = tuple[np.ndarray, tuple[int, int]]


def _box(points: list[Point], margin: int) -> tuple[int, int, int, int]:
    xs = [math.floor(p[0]) for p in points]
    ys = [math.floor(p[1]) for p in points]
    return min(ys) - margin, min(xs) - margin, max(ys) + margin + 1, max(xs) + margin + 1


def stroke_mask(p0: Point, p1: Point, diameter: int) -> Mask:
    """A round brush dragged from p0 to p1 (a single dab when they are equal).

    A pixel is painted when its centre lies within diameter/2 of the segment between the centres
    of the pixels under p0 and p1: symmetric, and the same shape at any stroke direction.
    """
    radius = max(1, int(diameter)) / 2
    dist2, origin = _segment_distance2(p0, p1, radius)
    return dist2 <= radius * radius, origin


def soft_stroke(p0: Point, p1: Point, diameter: int, hardness: float) -> Mask:
    """``stroke_mask`` as coverage (uint8): 255 within ``hardness`` x the radius of the segment, then
    falling linearly to 0 at the radius. Hardness 1 is ``stroke_mask`` x 255 exactly."""
    radius = max(1, int(diameter)) / 2
    dist2, origin = _segment_distance2(p0, p1, radius)
    inner = radius * min(max(hardness, 0.0), 1.0)
    ramp = np.clip((radius - np.sqrt(dist2)) / max(radius - inner, 1e-6), 0, 1)
    coverage = np.where(dist2 <= radius * radius, np.rint(ramp * 255), 0).astype(np.uint8)
    return coverage, origin


def _segment_distance2(p0: Point, p1: Point, radius: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Squared distances of the pixel centres around the segment p0-p1 (between the centres of the
    pixels under them; ``radius`` of margin) to it, and the (y, x) of the box's top-left pixel."""
    y0, x0, y1, x1 = _box([p0, p1], math.ceil(radius))
    ax, ay = math.floor(p0[0]) + 0.5, math.floor(p0[1]) + 0.5
    bx, by = math.floor(p1[0]) + 0.5, math.floor(p1[1]) + 0.5
    yy, xx = np.mgrid[y0:y1, x0:x1] + 0.5
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = np.zeros_like(xx) if length2 == 0 else np.clip(((xx - ax) * dx + (yy - ay) * dy) / length2, 0, 1)
    return (xx - ax - t * dx) ** 2 + (yy - ay - t * dy) ** 2, (y0, x0)


def rect_mask(p0: Point, p1: Point) -> Mask:
    """Filled axis-aligned rectangle with corners p0 and p1 (inclusive)."""
    y0, x0, y1, x1 = _box([p0, p1], 0)
    return np.ones((y1 - y0, x1 - x0), bool), (y0, x0)


def ellipse_mask(p0: Point, p1: Point) -> Mask:
    """Filled ellipse inscribed in the rectangle p0-p1."""
    y0, x0, y1, x1 = _box([p0, p1], 0)
    h, w = y1 - y0, x1 - x0
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx, ry, rx = (h - 1) / 2, (w - 1) / 2, max(h / 2, 0.5), max(w / 2, 0.5)
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0, (y0, x0)


def polygon_mask(points: list[Point]) -> Mask:
    """Filled polygon (lasso) through the points."""
    y0, x0, y1, x1 = _box(points, 0)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    vertices = np.array([[math.floor(x) - x0, math.floor(y) - y0] for x, y in points], np.int32)
    cv2.fillPoly(mask, [vertices], 1, lineType=cv2.LINE_8)
    return mask.astype(bool), (y0, x0)


def fill_mask(labels: np.ndarray, x: int, y: int) -> Mask:
    """The 4-connected region of equal ids that contains (x, y): what a paint bucket fills."""
    same = (labels == labels[y, x]).astype(np.uint8)
    _, components = cv2.connectedComponents(same, connectivity=4)
    return components == components[y, x], (0, 0)


def clip_to_canvas(
    mask: np.ndarray, origin: tuple[int, int], size: tuple[int, int]
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The part of ``mask`` (placed at ``origin`` = (y, x)) that lies on a canvas of ``size`` (H, W):
    ``((y0, x0, y1, x1), sub_mask)``, or None when none of it does."""
    h, w = size
    oy, ox = origin
    y0, x0 = max(oy, 0), max(ox, 0)
    y1, x1 = min(oy + mask.shape[0], h), min(ox + mask.shape[1], w)
    if y0 >= y1 or x0 >= x1:
        return None
    return (y0, x0, y1, x1), mask[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
