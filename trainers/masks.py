"""Free-form training holes for inpainting, in the spirit of LaMa's "wide" masks: polylines drawn
with a thick random pen and rectangles of any aspect ratio.

LaMa (Suvorov et al., WACV 2022) found that training on large, wide holes is what lets a network
fill big regions; thin scribbles teach it little. Each mask here aims at a coverage drawn uniformly
from the configured band and adds shapes until it gets there without leaving the band (a shape
that would overshoot is redrawn smaller), so the coverage a model trains on is the one configured,
not an accident of the shape sizes. Shape sizes are fractions of the shorter side, so a mask looks
the same at every resolution. Masks for evaluation are not drawn here: the NVIDIA irregular masks
in ``../shared/datasets/masks`` are held out for ``python -m trainers.evaluate inpaint``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from trainers.loop import TrainingError

SHRINK = 0.8  # a shape that would push the coverage over the band is redrawn this much smaller


@dataclass(frozen=True)
class StrokeFamily:
    """Polylines of ``vertices`` points joined by segments of ``length``, drawn with a round pen of
    ``width``; lengths and widths are fractions of the mask's shorter side."""

    width: tuple[float, float]
    length: tuple[float, float]
    vertices: tuple[int, int]


STROKE_FAMILIES: dict[str, StrokeFamily] = {
    "medium": StrokeFamily(width=(0.03, 0.08), length=(0.05, 0.3), vertices=(2, 8)),
    "thick": StrokeFamily(width=(0.08, 0.2), length=(0.1, 0.4), vertices=(2, 6)),
}


@dataclass(frozen=True)
class MaskConfig:
    """How training holes are drawn. Each mask uses one stroke family (uniformly from ``families``);
    each of its shapes is a box with ``box_probability``, else a polyline; box sides are drawn from
    ``box_side`` (fractions of the shorter side) independently, so any aspect ratio occurs."""

    coverage: tuple[float, float] = (0.05, 0.6)
    families: tuple[str, ...] = ("medium", "thick")
    box_probability: float = 0.25
    box_side: tuple[float, float] = (0.1, 0.6)
    max_shapes: int = 100

    def __post_init__(self) -> None:
        low, high = self.coverage
        if not 0 < low < high <= 1:
            raise TrainingError(
                f"the hole coverage band must satisfy 0 < low < high <= 1, got {low:g}..{high:g}"
            )
        unknown = [name for name in self.families if name not in STROKE_FAMILIES]
        if not self.families or unknown:
            raise TrainingError(
                f"unknown mask families {unknown or '(none given)'}: use some of {', '.join(STROKE_FAMILIES)}"
            )
        if not 0 <= self.box_probability <= 1:
            raise TrainingError(f"the box probability must be in [0, 1], got {self.box_probability}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MaskConfig:
        return cls(
            coverage=tuple(data["coverage"]),
            families=tuple(data["families"]),
            box_probability=data["box_probability"],
            box_side=tuple(data["box_side"]),
            max_shapes=data["max_shapes"],
        )


def _draw_stroke(
    canvas: np.ndarray, family: StrokeFamily, side: int, scale: float, rng: np.random.Generator
) -> None:
    h, w = canvas.shape
    width = max(1, round(rng.uniform(*family.width) * side * scale))
    point = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    for _ in range(int(rng.integers(family.vertices[0], family.vertices[1] + 1)) - 1):
        angle = rng.uniform(0, 2 * math.pi)
        length = rng.uniform(*family.length) * side * scale
        end = np.clip(point + length * np.array([math.cos(angle), math.sin(angle)]), 0, [w - 1, h - 1])
        start_xy, end_xy = tuple(int(v) for v in point.round()), tuple(int(v) for v in end.round())
        cv2.line(canvas, start_xy, end_xy, 1, thickness=width)
        cv2.circle(canvas, end_xy, width // 2, 1, thickness=-1)  # round joints
        point = end


def _draw_box(
    canvas: np.ndarray, box_side: tuple[float, float], side: int, scale: float, rng: np.random.Generator
) -> None:
    h, w = canvas.shape
    box_h = min(h, max(1, round(rng.uniform(*box_side) * side * scale)))
    box_w = min(w, max(1, round(rng.uniform(*box_side) * side * scale)))
    top, left = int(rng.integers(0, h - box_h + 1)), int(rng.integers(0, w - box_w + 1))
    canvas[top : top + box_h, left : left + box_w] = 1


def random_mask(size: tuple[int, int], config: MaskConfig, rng: np.random.Generator) -> np.ndarray:
    """A bool (H, W) hole whose share of the pixels lies in ``config.coverage``; a function of ``rng``."""
    h, w = size
    side = min(h, w)
    low, high = config.coverage
    target = rng.uniform(low, high)
    family = STROKE_FAMILIES[config.families[int(rng.integers(len(config.families)))]]
    mask = np.zeros(size, np.uint8)
    holes, scale = 0, 1.0
    for _ in range(config.max_shapes):
        candidate = mask.copy()
        if rng.random() < config.box_probability:
            _draw_box(candidate, config.box_side, side, scale, rng)
        else:
            _draw_stroke(candidate, family, side, scale, rng)
        count = int(np.count_nonzero(candidate))
        if count > high * h * w:
            scale *= SHRINK
            continue
        mask, holes = candidate, count
        if holes >= target * h * w:
            break
    # rarely needed (narrow bands, tiny masks): grow the hole by one-pixel rings up to the band
    if holes == 0:
        mask[int(rng.integers(h)), int(rng.integers(w))] = 1
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    while np.count_nonzero(mask) < low * h * w:
        mask = cv2.dilate(mask, cross)
    return mask.astype(bool)
