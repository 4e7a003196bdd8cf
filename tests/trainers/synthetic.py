"""Tiny synthetic paired datasets on disk: label maps of random rectangles, photos that are a fixed
colour per class plus noise (so a generator can learn them in a few steps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from engine.labels import get_label_set


def label_map(rng: np.random.Generator, size: tuple[int, int], ids: np.ndarray) -> np.ndarray:
    h, w = size
    labels = np.full(size, ids[0], np.uint8)
    for _ in range(4):
        top, left = rng.integers(0, h - 4), rng.integers(0, w - 4)
        labels[top : top + rng.integers(4, h // 2 + 4), left : left + rng.integers(4, w // 2 + 4)] = (
            rng.choice(ids)
        )
    return labels


def class_photo(rng: np.random.Generator, labels: np.ndarray, max_id: int) -> np.ndarray:
    palette = np.random.default_rng(123).integers(0, 256, (max_id + 1, 3))
    noise = rng.normal(0, 6, (*labels.shape, 3))
    return np.clip(palette[labels] + noise, 0, 255).astype(np.uint8)


def write_pairs(
    images: Path,
    labels: Path,
    count: int,
    *,
    size: tuple[int, int] = (40, 48),
    label_set: str = "facades",
    instances: Path | None = None,
    suffixes: tuple[str, str, str] = ("", "", ""),
    image_ext: str = ".png",
    seed: int = 0,
) -> list[str]:
    """Write ``count`` photo/label(/instance) triples; returns their stems."""
    rng = np.random.default_rng(seed)
    ids = get_label_set(label_set).ids
    ids = ids[ids < 255]
    stems = []
    for folder in (images, labels, instances):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        stem = f"s{i:03d}"
        ids_map = label_map(rng, size, ids)
        Image.fromarray(class_photo(rng, ids_map, int(ids.max()))).save(
            images / f"{stem}{suffixes[0]}{image_ext}"
        )
        Image.fromarray(ids_map).save(labels / f"{stem}{suffixes[1]}.png")
        if instances is not None:
            inst = ids_map.astype(np.int32) * 100 + (np.arange(size[1]) >= size[1] // 2)
            Image.fromarray(inst.astype(np.uint16)).save(instances / f"{stem}{suffixes[2]}.png")
        stems.append(stem)
    return stems


def folder_dataset(root: Path, count: int = 4, **options) -> Path:
    """A ``--format folder`` dataset (images/, labels/) with facades ids."""
    write_pairs(root / "images", root / "labels", count, **options)
    return root
