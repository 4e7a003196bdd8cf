"""The label-map -> photo job the worker runs: style choice, instance codes, and a quick preview.

On slow hardware (a full synthesis slower than ``PREVIEW_ABOVE_MS``) the job first renders at half
the resolution, so the picture follows the brush, then renders at full resolution.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.worker import JobFunction

PREVIEW_ABOVE_MS = 250.0
MIN_PREVIEW_RESOLUTION = 64


@dataclass(frozen=True)
class StyleChoice:
    """What the model should use: an image, optionally blended with a second one, or a seed."""

    image: np.ndarray | None = None
    blend_with: np.ndarray | None = None
    blend: float = 0.0
    seed: int | None = None


@dataclass
class SynthesisState:
    """What jobs remember between runs (touched by the worker thread only, one job at a time)."""

    full_ms: float = 0.0
    codes: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # id -> (image, code)

    def style_code(self, model: Any, image: np.ndarray) -> np.ndarray:
        cached = self.codes.get(id(image))
        if cached is None or cached[0] is not image:
            cached = (image, model.encode_style(image))
            self.codes[id(image)] = cached
        return cached[1]

    def resolve_style(self, model: Any, choice: StyleChoice | None) -> tuple[np.ndarray | None, int | None]:
        """Image or seed as they are; a blend of two images as the blend of their style codes."""
        if choice is None or choice.image is None:
            return None, None if choice is None else choice.seed
        if choice.blend_with is None or choice.blend == 0:
            return choice.image, None
        a, b = self.style_code(model, choice.image), self.style_code(model, choice.blend_with)
        return (1 - choice.blend) * a + choice.blend * b, None


def synthesis_job(
    state: SynthesisState,
    labels: np.ndarray,
    instances: np.ndarray | None = None,
    style: StyleChoice | None = None,
    features: dict[int, np.ndarray] | None = None,
    resolution: int | None = None,
) -> JobFunction:
    """A job rendering snapshots of ``labels``/``instances`` with a SPADE or pix2pixHD model.

    ``resolution``: the short side the network runs at (None: the model's native size).
    """
    labels = labels.copy()
    instances = None if instances is None else instances.copy()
    features = dict(features or {})

    def render(model: Any) -> np.ndarray:
        if model.kind == "pix2pixhd":
            return model.synthesize(labels, instances, features=features, seed=style.seed if style else None)
        image, seed = state.resolve_style(model, style)
        return model.synthesize(labels, instances, style=image, seed=seed)

    def run(model: Any) -> Iterator[np.ndarray]:
        model.resolution = resolution or min(model.native_size)
        full = model.resolution
        if state.full_ms > PREVIEW_ABOVE_MS and full // 2 >= MIN_PREVIEW_RESOLUTION:
            model.resolution = full // 2
            try:
                yield render(model)
            finally:
                model.resolution = full
        start = time.perf_counter()
        photo = render(model)
        state.full_ms = (time.perf_counter() - start) * 1000
        yield photo

    return run
