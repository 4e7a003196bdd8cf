"""Simulated users for interactive colorization (Zhang et al., SIGGRAPH 2017): sparse colour hints
taken from the real photo, the way a person clicks colours onto a grey photo in the app.

A hint is a square patch of the network's input grid that carries the patch's mean ab (Lab
colour without lightness) and has the mask set to 1; everywhere else hint ab and mask are 0.
Training draws them at random per sample; evaluation draws a fixed number of them, seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from trainers.loop import TrainingError

LOCATIONS = ("uniform", "gaussian")


@dataclass(frozen=True)
class HintSampling:
    """How many hints, how large and where; the defaults are the paper's.

    The number of hints is geometric with success probability ``p``, counted from 0 (mean
    (1 - p) / p = 7 for p = 1/8), so photos without any hint, the automatic case, are frequent.
    Patch sides are uniform in ``min_size..max_size``; locations are uniform over the image, or
    ``gaussian`` around its centre with a standard deviation of a quarter of each side.
    """

    p: float = 0.125
    min_size: int = 1
    max_size: int = 9
    location: Literal["uniform", "gaussian"] = "uniform"

    def __post_init__(self) -> None:
        if not 0 < self.p <= 1:
            raise TrainingError(f"the hint count probability must be in (0, 1], got {self.p}")
        if not 1 <= self.min_size <= self.max_size:
            raise TrainingError(
                f"hint patch sizes must satisfy 1 <= min <= max, got {self.min_size}..{self.max_size}"
            )
        if self.location not in LOCATIONS:
            raise TrainingError(f"unknown hint location '{self.location}' (use {' or '.join(LOCATIONS)})")

    @property
    def mean_count(self) -> float:
        return (1 - self.p) / self.p


@dataclass(frozen=True)
class HintPatch:
    """A square hint of side ``size`` whose top-left pixel is (``top``, ``left``)."""

    top: int
    left: int
    size: int

    @property
    def region(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.size), slice(self.left, self.left + self.size)


def sample_count(rng: np.random.Generator, sampling: HintSampling) -> int:
    """A geometric number of hints: 0 with probability p, 1 with p (1 - p), ..."""
    return int(rng.geometric(sampling.p)) - 1


def sample_patches(
    rng: np.random.Generator, shape: tuple[int, int], sampling: HintSampling, count: int | None = None
) -> list[HintPatch]:
    """``count`` hint patches (default: a ``sample_count``) inside an image of ``shape`` (H, W).

    Patches larger than the image are cut to its shorter side; Gaussian centres are moved inward
    as far as needed for the patch to fit.
    """
    h, w = shape
    count = sample_count(rng, sampling) if count is None else count
    sizes = np.minimum(rng.integers(sampling.min_size, sampling.max_size + 1, count), min(h, w))
    if sampling.location == "uniform":
        tops = rng.integers(0, h - sizes + 1)
        lefts = rng.integers(0, w - sizes + 1)
    else:
        centers = rng.normal((h / 2, w / 2), (h / 4, w / 4), (count, 2))
        tops = np.clip(np.rint(centers[:, 0] - sizes / 2), 0, h - sizes)
        lefts = np.clip(np.rint(centers[:, 1] - sizes / 2), 0, w - sizes)
    return [HintPatch(int(t), int(x), int(s)) for t, x, s in zip(tops, lefts, sizes, strict=True)]


def hint_maps(ab: np.ndarray, patches: list[HintPatch]) -> tuple[np.ndarray, np.ndarray]:
    """The network's hint inputs for ``patches`` on a photo's ``ab`` (2, H, W): hint ab (2, H, W)
    float32 with each patch's mean ab, and the mask (1, H, W) float32. Where patches overlap the
    later one wins, as when a person clicks over an earlier hint."""
    hint_ab = np.zeros(ab.shape, np.float32)
    mask = np.zeros((1, *ab.shape[1:]), np.float32)
    for patch in patches:
        rows, cols = patch.region
        hint_ab[:, rows, cols] = ab[:, rows, cols].mean(axis=(1, 2))[:, None, None]
        mask[:, rows, cols] = 1
    return hint_ab, mask


def simulate_hints(
    ab: np.ndarray, rng: np.random.Generator, sampling: HintSampling
) -> tuple[np.ndarray, np.ndarray]:
    """Random hints for a photo's ``ab`` (2, H, W): (hint ab, mask) as ``hint_maps`` gives them."""
    return hint_maps(ab, sample_patches(rng, ab.shape[1:], sampling))
