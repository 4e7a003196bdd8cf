"""Errors the app and the CLI show to users as they are: one sentence naming the file, value or position."""

from __future__ import annotations

import os


class SynthpaintError(Exception):
    """Base class: catching it separates user-facing problems from programming errors."""


class InputImageError(SynthpaintError):
    """An input image is missing, unreadable, corrupt or in a form that cannot be used."""


class UnknownColorError(InputImageError):
    """A colour-coded label image holds a colour that is no class colour of the label set."""

    def __init__(
        self,
        color: tuple[int, int, int],
        position: tuple[int, int],
        label_set: str,
        source: str | os.PathLike[str] | None = None,
    ):
        self.color = tuple(int(c) for c in color)
        self.position = (int(position[0]), int(position[1]))
        self.label_set = label_set
        self.source = source
        (r, g, b), (x, y) = self.color, self.position
        super().__init__(
            f"colour #{r:02x}{g:02x}{b:02x} at pixel (x={x}, y={y}) of {source or 'the label image'} "
            f"is not a class colour of the '{label_set}' label set"
        )

    def __reduce__(self):
        return type(self), (self.color, self.position, self.label_set, self.source)


class LabelRangeError(SynthpaintError):
    """A label map holds an id that is not in the label set."""

    def __init__(
        self,
        label_id: int,
        position: tuple[int, int],
        label_set: str,
        valid_ids: str = "",
        source: str | os.PathLike[str] | None = None,
    ):
        self.label_id = int(label_id)
        self.position = (int(position[0]), int(position[1]))
        self.label_set = label_set
        self.valid_ids = valid_ids
        self.source = source
        x, y = self.position
        valid = f" (valid ids: {valid_ids})" if valid_ids else ""
        super().__init__(
            f"label id {self.label_id} at pixel (x={x}, y={y}) of {source or 'the label map'} "
            f"is not in the '{label_set}' label set{valid}"
        )

    def __reduce__(self):
        return type(self), (self.label_id, self.position, self.label_set, self.valid_ids, self.source)


class LabelSetError(SynthpaintError):
    """A label set name is unknown, or a label-set JSON file is missing or invalid."""


class CheckpointError(SynthpaintError):
    """A checkpoint is unreadable, does not match the model, or is unsafe to load."""


class ModelNotFoundError(SynthpaintError):
    """No installed model matches the requested name."""


class InferenceError(SynthpaintError):
    """A model could not run on the given input (out of memory, a canvas too large, a bad style)."""
