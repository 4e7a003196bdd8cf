"""Tiny synthetic sketch/photo pairs on disk (a yellow rectangle on dark blue and its black outline
on white), shared by the pix2pix and sketch data tests (their fixtures: conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SIZE = (40, 48)
BACKGROUND, OBJECT = (40, 60, 120), (230, 200, 60)


def square_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(sketch, photo): a yellow rectangle on dark blue (plus noise) and its black outline on white."""
    h, w = SIZE
    top, left = int(rng.integers(2, h // 2)), int(rng.integers(2, w // 2))
    bottom, right = top + int(rng.integers(8, h // 2)), left + int(rng.integers(8, w // 2))
    photo = np.empty((h, w, 3), np.float64)
    photo[:] = BACKGROUND
    photo[top:bottom, left:right] = OBJECT
    photo = np.clip(photo + rng.normal(0, 4, photo.shape), 0, 255).astype(np.uint8)
    sketch = np.full((h, w), 255, np.uint8)
    sketch[top:bottom, left:right] = 0
    sketch[top + 1 : bottom - 1, left + 1 : right - 1] = 255
    return sketch, photo


def write_pairs(root: Path, count: int, seed: int = 0) -> Path:
    """Format pairs: A/ sketches, B/ photos."""
    rng = np.random.default_rng(seed)
    for folder in ("A", "B"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sketch, photo = square_pair(rng)
        Image.fromarray(sketch).save(root / "A" / f"s{i:03d}.png")
        Image.fromarray(photo).save(root / "B" / f"s{i:03d}.png")
    return root
