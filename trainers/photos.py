"""Photo folders for self-supervised trainers (inpainting, colorization): any tree of photos, no labels.

``PhotoSource`` plugs into ``trainers.launch.start_run``; ``PhotoDataset`` gives random crops
addressed by ``(index, epoch)`` like ``PairedDataset``, so runs resume exactly and a bad file is
reported and replaced by the next one instead of stopping a long run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from engine.labels import IMAGE_SUFFIXES, read_rgb_image
from engine.session import image_to_tensor
from trainers.augment import Augmentation
from trainers.data import DatasetError, item_or_replacement
from trainers.launch import DataSource
from trainers.recipe import Recipe


@dataclass
class PhotoIndex:
    samples: list[Path]
    problems: list[str] = field(default_factory=list)


def find_photos(roots: Sequence[str | Path], exclude: Sequence[str | Path] = ()) -> PhotoIndex:
    """Every photo under ``roots`` (recursively, sorted), minus those named in ``exclude`` files.

    An exclude file lists one file name or stem (without folder) per line, e.g. the
    grayscale photos of a set, which a colorization model must not learn from.
    """
    excluded: set[str] = set()
    problems = []
    for listing in exclude:
        listing = Path(listing)
        try:
            names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise DatasetError(f"cannot read the exclude list {listing} ({exc})") from None
        excluded |= {Path(name).name for name in names}
    samples = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise DatasetError(f"the photo folder {root} does not exist")
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if path.name in excluded or path.stem in excluded:
                problems.append(f"{path} is on an exclude list")
                continue
            samples.append(path)
    if not samples:
        raise DatasetError(f"no photos ({', '.join(IMAGE_SUFFIXES)}) found in {', '.join(map(str, roots))}")
    return PhotoIndex(samples, problems)


class PhotoDataset(Dataset):
    """Random crops of ``augmentation.size`` in [-1, 1] (3, H, W) as ``image``, plus ``index``.

    ``augment=False`` gives centre crops (the fixed preview batch).
    """

    def __init__(
        self, photos: Sequence[Path], augmentation: Augmentation, *, seed: int = 0, augment: bool = True
    ):
        self.photos = list(photos)
        self.augmentation = augmentation
        self.seed = seed
        self.augment = augment

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        return item_or_replacement(self, key)

    def rng(self, index: int, epoch: int) -> np.random.Generator:
        """The generator of everything random about sample ``index`` in ``epoch`` (crops, masks, hints)."""
        return np.random.default_rng([self.seed, epoch, index])

    def item(self, index: int, epoch: int = 0) -> dict[str, Any]:
        photo = read_rgb_image(self.photos[index])
        shape = photo.shape[:2]
        rng = self.rng(index, epoch)
        crop = self.augmentation.random(shape, rng) if self.augment else self.augmentation.center(shape)
        return {"image": image_to_tensor(crop.photo(photo))[0], "index": index}


def add_photo_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--data",
        type=Path,
        action="append",
        help="photo folder (searched recursively) or file; repeat for several (required unless --resume)",
    )
    group.add_argument(
        "--exclude",
        type=Path,
        action="append",
        default=[],
        help="text file listing photo file names to leave out, one per line (repeatable)",
    )
    group.add_argument(
        "--zoom",
        type=float,
        default=1.5,
        help="random zoom of up to this factor before the crop (default: 1.5)",
    )
    group.add_argument("--no-flip", action="store_true", help="no random horizontal flips")


class PhotoSource(DataSource):
    """Photo folders (``--data`` repeated, ``--exclude`` lists). ``make_recipe(args)`` builds the recipe,
    which must have ``image_size``; ``dataset_class`` may be a PhotoDataset subclass that adds, say,
    masks or hints drawn from ``rng(index, epoch)``."""

    def __init__(self, dataset_class: Callable[..., PhotoDataset] = PhotoDataset):
        self.dataset_class = dataset_class

    def describe(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "roots": [str(Path(p).resolve()) for p in args.data],
            "exclude": [str(Path(p).resolve()) for p in args.exclude],
            "zoom": args.zoom,
            "flip": not args.no_flip,
        }

    def scan(self, data: Mapping[str, Any]) -> PhotoIndex:
        return find_photos(data["roots"], data["exclude"])

    def new_recipe(self, args: argparse.Namespace, index: Any, make_recipe: Callable[..., Recipe]) -> Recipe:
        return make_recipe(args)

    def datasets(
        self, index: Any, recipe: Recipe, data: Mapping[str, Any], seed: int
    ) -> tuple[Dataset, Dataset]:
        augmentation = Augmentation(recipe.image_size, zoom=(1.0, max(1.0, data["zoom"])), flip=data["flip"])
        dataset = self.dataset_class(index.samples, augmentation, seed=seed)
        preview = self.dataset_class(index.samples, augmentation, seed=seed, augment=False)
        return dataset, preview
