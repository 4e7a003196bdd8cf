"""Random zoom, crop and flip applied identically to a photo and its label/instance maps.

Label and instance maps are only ever resized by nearest neighbour (the engine's ``resize_ids``),
so a map never holds an id that was not painted; photos are resized bicubically, as the official
data pipelines do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.session import resize_ids


@dataclass(frozen=True)
class Crop:
    """One geometric transform: resize the whole sample to ``resized``, cut ``size`` at (top, left), flip."""

    resized: tuple[int, int]
    top: int
    left: int
    size: tuple[int, int]
    flip: bool

    def photo(self, rgb: np.ndarray) -> np.ndarray:
        """Bicubic; only the cropped box of the source is resampled (same result, less work)."""
        src_h, src_w = rgb.shape[:2]
        (rh, rw), (h, w) = self.resized, self.size
        box = (
            self.left * src_w / rw,
            self.top * src_h / rh,
            (self.left + w) * src_w / rw,
            (self.top + h) * src_h / rh,
        )
        out = np.array(Image.fromarray(rgb).resize((w, h), Image.BICUBIC, box=box))
        return np.ascontiguousarray(out[:, ::-1]) if self.flip else out

    def ids(self, ids: np.ndarray) -> np.ndarray:
        """Nearest-neighbour resize (legacy floor rule, as at inference), crop and flip of an id map."""
        h, w = self.size
        out = resize_ids(ids, self.resized)[self.top : self.top + h, self.left : self.left + w]
        return np.ascontiguousarray(out[:, ::-1] if self.flip else out)


@dataclass(frozen=True)
class Augmentation:
    """Training crops of ``size`` (H, W): the sample is scaled to cover it, zoomed by a random factor
    in ``zoom``, cut at a random place and mirrored with probability 1/2 when ``flip``."""

    size: tuple[int, int]
    zoom: tuple[float, float] = (1.0, 1.25)
    flip: bool = True

    def _cover_scale(self, shape: tuple[int, int]) -> float:
        return max(self.size[0] / shape[0], self.size[1] / shape[1])

    def random(self, shape: tuple[int, int], rng: np.random.Generator) -> Crop:
        scale = self._cover_scale(shape) * rng.uniform(*self.zoom)
        resized = (max(self.size[0], round(shape[0] * scale)), max(self.size[1], round(shape[1] * scale)))
        top = int(rng.integers(0, resized[0] - self.size[0] + 1))
        left = int(rng.integers(0, resized[1] - self.size[1] + 1))
        return Crop(resized, top, left, self.size, self.flip and bool(rng.random() < 0.5))

    def center(self, shape: tuple[int, int]) -> Crop:
        """The deterministic view used for the fixed sample batch: scaled to cover, centred, unflipped."""
        scale = self._cover_scale(shape)
        resized = (max(self.size[0], round(shape[0] * scale)), max(self.size[1], round(shape[1] * scale)))
        top, left = (resized[0] - self.size[0]) // 2, (resized[1] - self.size[1]) // 2
        return Crop(resized, top, left, self.size, False)
