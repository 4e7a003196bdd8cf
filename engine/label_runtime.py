"""What the label-map -> photo runtimes (SPADE, pix2pixHD) share: input checks and canvas sizes.

A painted canvas can have any size. The network runs at ``resolution`` (its short side; the
native training size by default): maps are nearest-resized to that scale, padded to the
network's multiple, and the photo is cropped and resized back, so the output matches the canvas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.checkpoints import ModelCard
from engine.errors import InferenceError, InputImageError
from engine.labels import LabelSet

MAX_WORKING_PIXELS = 16_000_000  # beyond this a single synthesis would not fit in memory on most machines


class LabelMapModel:
    """Base of the label-map runtimes; subclasses set ``native_size`` and implement ``synthesize``."""

    kind = ""
    folder: Path | None = None  # where it was loaded from (load_model sets it), to reload it

    def __init__(self, card: ModelCard, label_set: LabelSet, device: torch.device, dtype: torch.dtype):
        self.card = card
        self.label_set = label_set
        self.device = device
        self.dtype = dtype
        self.resolution = min(self.native_size)

    @property
    def native_size(self) -> tuple[int, int]:
        raise NotImplementedError

    def working_size(self, canvas: tuple[int, int]) -> tuple[int, int]:
        """(H, W) the network runs at for a canvas of that size, before padding."""
        scale = self.resolution / min(canvas)
        size = (max(1, round(canvas[0] * scale)), max(1, round(canvas[1] * scale)))
        if size[0] * size[1] > MAX_WORKING_PIXELS:
            raise InferenceError(
                f"a {canvas[1]}x{canvas[0]} canvas at resolution {self.resolution} would need "
                f"{size[1]}x{size[0]} pixels; lower the output resolution"
            )
        return size

    def checked_labels(self, labels: np.ndarray) -> np.ndarray:
        """The label map as an array, after checking its shape and that every id is in the label set."""
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.size == 0:
            raise InputImageError(
                f"a label map must be a non-empty 2-D array of ids, got shape {labels.shape}"
            )
        self.label_set.validate(labels)
        return labels

    @staticmethod
    def checked_instances(
        instances: np.ndarray | None, shape: tuple[int, ...], what: str = "label map"
    ) -> np.ndarray | None:
        """Instance ids as int64 (None stays None), after checking size and values."""
        if instances is None:
            return None
        instances = np.asarray(instances)
        if instances.shape != tuple(shape):
            raise InputImageError(
                f"the instance map is {instances.shape[::-1]} but the {what} is {tuple(shape)[::-1]} "
                "(width, height)"
            )
        if not np.issubdtype(instances.dtype, np.integer) or (instances.size and instances.min() < 0):
            raise InputImageError("an instance map must hold non-negative integer ids")
        return instances.astype(np.int64)

    @staticmethod
    def to_canvas(photo: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
        """The network's photo (already cropped to the working size) resized to the painted canvas."""
        if photo.shape[:2] == tuple(canvas):
            return photo
        return np.asarray(Image.fromarray(photo).resize((canvas[1], canvas[0]), Image.BICUBIC))
