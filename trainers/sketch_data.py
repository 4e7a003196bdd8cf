"""Sketch/photo pairs, read for pix2pix training (``python -m trainers.pix2pix``) and for
``python -m trainers.evaluate sketch``: the layouts pairs (A/, B/), aligned (side-by-side A|B), edges
(any photos, sketches drawn on the fly by Canny or XDoG) and bsds (BSDS500's boundary maps), the
dataset that crops them alike, the data source of the training loop and the command-line options."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from engine.edges import EDGE_DETECTORS, INK, PAPER, SketchStyle, thicken
from engine.errors import InputImageError
from engine.labels import IMAGE_SUFFIXES, read_rgb_image
from engine.session import image_to_tensor
from trainers.augment import Augmentation
from trainers.data import DatasetError, item_or_replacement
from trainers.launch import DataSource
from trainers.photos import find_photos
from trainers.recipe import Recipe

SKETCH_FORMATS = {
    "pairs": "A/ (sketches) and B/ (photos) with matching stems; also A/{split}, B/{split} or {split}/A, "
    "{split}/B",
    "aligned": "side-by-side images, A on the left and B on the right, in {split}/ (else the folder itself)",
    "edges": "any photos ({split}/ when there is one), searched recursively: sketches drawn by --edges",
    "bsds": "BSDS500: edges/bsds500/{split}/*.png boundary maps and photos/bsds500/{split}/*.jpg",
}
DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True)
class PairFiles:
    """Where one pair's images are. ``sketch`` None: drawn from the photo (format edges); for
    side-by-side images (format aligned) both name the same file."""

    photo: Path
    sketch: Path | None = None


@dataclass
class PairIndex:
    """What a folder scan found: usable pairs, and one message per file without a partner."""

    samples: list[PairFiles]
    problems: list[str] = field(default_factory=list)


def _images_by_stem(folder: Path) -> dict[str, Path]:
    """Image files under ``folder`` (recursively) keyed by their relative path without extension."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            found.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
    return found


def match_folders(sketches: Path, photos: Path) -> PairIndex:
    """Pairs of sketch and photo files with the same relative stem; unmatched files are problems."""
    sketch_files, photo_files = _images_by_stem(sketches), _images_by_stem(photos)
    problems = [
        f"the photo {photo_files[k]} has no sketch in {sketches}"
        for k in photo_files
        if k not in sketch_files
    ]
    problems += [
        f"the sketch {sketch_files[k]} has no photo in {photos}" for k in sketch_files if k not in photo_files
    ]
    keys = sorted(sketch_files.keys() & photo_files.keys())
    return PairIndex([PairFiles(photo_files[k], sketch_files[k]) for k in keys], problems)


def _split_folder(root: Path, split: str) -> Path:
    return root / split if (root / split).is_dir() else root


def find_pairs(root: str | Path, fmt: str, split: str = "train", direction: str = "AtoB") -> PairIndex:
    """Scan ``root`` in layout ``fmt`` (``SKETCH_FORMATS``); raises DatasetError when nothing usable
    is there. ``direction`` BtoA takes B/ as the sketches of format pairs."""
    root = Path(root)
    if fmt not in SKETCH_FORMATS:
        raise DatasetError(f"unknown sketch data format '{fmt}' (use one of {', '.join(SKETCH_FORMATS)})")
    if not root.is_dir():
        raise DatasetError(f"the dataset folder {root} does not exist")
    if fmt == "pairs":
        layouts = [(root / "A" / split, root / "B" / split), (root / split / "A", root / split / "B")]
        a, b = next(((a, b) for a, b in layouts if a.is_dir() and b.is_dir()), (root / "A", root / "B"))
        for folder in (a, b):
            if not folder.is_dir():
                raise DatasetError(
                    f"{root} has no {folder.relative_to(root)}/ folder (format pairs: A/ and B/)"
                )
        index = match_folders(a, b) if direction == "AtoB" else match_folders(b, a)
    elif fmt == "bsds":
        edges, photos = root / "edges" / "bsds500" / split, root / "photos" / "bsds500" / split
        for folder in (edges, photos):
            if not folder.is_dir():
                raise DatasetError(f"{root} is not a BSDS500 layout: it has no {folder.relative_to(root)}/")
        index = match_folders(edges, photos)
    elif fmt == "aligned":
        photos = find_photos([_split_folder(root, split)])
        index = PairIndex([PairFiles(p, p) for p in photos.samples], photos.problems)
    else:
        index = find_photos_to_draw([root], split)
    if not index.samples:
        first = f" ({index.problems[0]})" if index.problems else ""
        raise DatasetError(f"found no complete sketch/photo pairs in {root} as format '{fmt}'{first}")
    return index


def find_photos_to_draw(
    roots: Sequence[str | Path], split: str = "train", exclude: Sequence[str | Path] = ()
) -> PairIndex:
    """Format edges: the photos under each root's ``split`` folder (the root itself when it has
    none), minus those named in the ``exclude`` lists, as pairs whose sketch is drawn from the photo."""
    photos = find_photos([_split_folder(Path(root), split) for root in roots], exclude)
    return PairIndex([PairFiles(p) for p in photos.samples], photos.problems)


@dataclass(frozen=True)
class SketchData:
    """How pairs are read: the layout, which side is the sketch, how sketches are drawn from photos
    (format edges), the BSDS annotator agreement and the width of the lines.

    BSDS500 maps hold, per pixel, the fraction of the 4-9 annotators who drew a boundary there (x 255;
    only this mean is distributed here, not the single annotators' maps): ``bsds_agreement`` 0 keeps
    it as grey levels (darker where more annotators agree), a fraction in (0, 1] draws black lines
    where at least that fraction agrees (0.5: the majority).
    """

    format: str = "pairs"
    direction: str = "AtoB"
    edges: str = "xdog"
    edge_width: int = 1
    min_line: int = 16
    bsds_agreement: float = 0.0

    def __post_init__(self) -> None:
        if self.format not in SKETCH_FORMATS:
            raise DatasetError(
                f"unknown sketch data format '{self.format}' (use one of {', '.join(SKETCH_FORMATS)})"
            )
        if self.direction not in DIRECTIONS:
            raise DatasetError(f"--direction must be AtoB or BtoA, got '{self.direction}'")
        if self.edges not in EDGE_DETECTORS:
            raise DatasetError(
                f"unknown edge detector '{self.edges}' (use one of {', '.join(EDGE_DETECTORS)})"
            )
        if self.edge_width < 1:
            raise DatasetError(f"--edge-width must be at least 1 pixel, got {self.edge_width}")
        if not 0 <= self.bsds_agreement <= 1:
            raise DatasetError(f"--bsds-agreement must be a fraction in [0, 1], got {self.bsds_agreement}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SketchData:
        """From a dict that may hold other keys too (a run's data options)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    @classmethod
    def as_trained(cls, model: Any, format: str = "edges") -> SketchData:
        """Read (or, format edges, draw) sketches the way a ``SketchModel`` learned them (its card)."""
        return cls.from_dict({**model.trained_sketches, "format": format})

    @property
    def style(self) -> SketchStyle:
        return SketchStyle(self.edges, self.edge_width, self.min_line)

    def read(self, files: PairFiles) -> tuple[np.ndarray | None, np.ndarray]:
        """(sketch, photo) as uint8 arrays of the same size; the sketch is None when it is to be drawn
        from the (cropped) photo with ``draw``. Raises SynthpaintError naming a bad file."""
        photo = read_rgb_image(files.photo)
        if self.format == "edges":
            return None, photo
        if self.format == "aligned":
            half = photo.shape[1] // 2
            if half == 0:
                raise InputImageError(f"the side-by-side image {files.photo} is only 1 pixel wide")
            a, b = photo[:, :half], photo[:, half : 2 * half]
            return (a, b) if self.direction == "AtoB" else (b, a)
        sketch = read_rgb_image(files.sketch)
        if sketch.shape[:2] != photo.shape[:2]:
            raise InputImageError(
                f"the sketch {files.sketch} is {sketch.shape[1]}x{sketch.shape[0]} but its photo "
                f"{files.photo} is {photo.shape[1]}x{photo.shape[0]}"
            )
        if self.format == "bsds":
            sketch = self.bsds_sketch(sketch[..., 0])
        return sketch, photo

    def bsds_sketch(self, boundaries: np.ndarray) -> np.ndarray:
        """A BSDS mean boundary map (255 = every annotator) -> black-on-white grey sketch."""
        if self.bsds_agreement > 0:
            sketch = np.where(boundaries >= self.bsds_agreement * 255 - 0.5, INK, PAPER).astype(np.uint8)
        else:
            sketch = PAPER - boundaries
        return thicken(sketch, self.edge_width)

    def draw(self, photo: np.ndarray) -> np.ndarray:
        """The sketch of a photo (format edges): black lines on white, grey uint8."""
        return self.style(photo)


def sketch_tensor(sketch: np.ndarray, channels: int) -> Tensor:
    """uint8 sketch (H, W) or (H, W, 3) -> (channels, H, W) in [-1, 1], converted as the engine's
    ``SketchModel`` converts its input (PIL's grey for one channel)."""
    picture = Image.fromarray(sketch)
    if channels == 1:
        picture = picture.convert("L")
    return image_to_tensor(np.array(picture.convert("RGB")))[0, :channels]


class SketchDataset(Dataset):
    """Pairs as ``sketch`` (C, H, W) and ``image`` (3, H, W) in [-1, 1], cut by the same crop.

    Items are addressed by ``(index, epoch)`` with the crop drawn from (seed, epoch, index), like
    ``PairedDataset``, so runs resume exactly; a bad file is reported and replaced. Sketches drawn from
    photos are drawn after the crop, at the training resolution. ``augment=False`` gives centre
    crops (the fixed preview batch).
    """

    def __init__(
        self,
        pairs: Sequence[PairFiles],
        augmentation: Augmentation,
        data: SketchData,
        channels: int,
        *,
        seed: int = 0,
        augment: bool = True,
    ):
        self.pairs = list(pairs)
        self.augmentation = augmentation
        self.data = data
        self.channels = channels
        self.seed = seed
        self.augment = augment

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        return item_or_replacement(self, key)

    def item(self, index: int, epoch: int = 0) -> dict[str, Any]:
        sketch, photo = self.data.read(self.pairs[index])
        shape = photo.shape[:2]
        if self.augment:
            crop = self.augmentation.random(shape, np.random.default_rng([self.seed, epoch, index]))
        else:
            crop = self.augmentation.center(shape)
        photo = crop.photo(photo)
        sketch = self.data.draw(photo) if sketch is None else crop.photo(sketch)
        return {
            "sketch": sketch_tensor(sketch, self.channels),
            "image": image_to_tensor(photo)[0],
            "index": index,
        }


def sketch_data_from_args(args: argparse.Namespace) -> SketchData:
    return SketchData(
        format=args.format,
        direction=args.direction,
        edges=args.edges,
        edge_width=args.edge_width,
        min_line=args.min_line,
        bsds_agreement=args.bsds_agreement,
    )


class SketchSource(DataSource):
    """Sketch/photo pairs in one of ``SKETCH_FORMATS``; ``make_recipe(args)`` builds the recipe."""

    def describe(self, args: argparse.Namespace) -> dict[str, Any]:
        """Format edges reads any number of photo folders (``roots``, ``exclude`` lists); the paired
        formats one dataset folder (``root``)."""
        folders = [str(Path(p).resolve()) for p in args.data]
        if args.format == "edges":
            where = {"roots": folders, "exclude": [str(Path(p).resolve()) for p in args.exclude]}
        elif len(folders) > 1 or args.exclude:
            raise DatasetError(
                f"format {args.format} reads one dataset folder: several --data and --exclude are for "
                "format edges (photos)"
            )
        else:
            where = {"root": folders[0]}
        return {
            **where,
            "split": args.split,
            "zoom": args.zoom,
            "flip": not args.no_flip,
            **sketch_data_from_args(args).to_dict(),
        }

    def scan(self, data: Mapping[str, Any]) -> PairIndex:
        if "roots" in data:
            return find_photos_to_draw(data["roots"], data["split"], data["exclude"])
        return find_pairs(data["root"], data["format"], data["split"], data["direction"])

    def new_recipe(self, args: argparse.Namespace, index: Any, make_recipe: Callable[..., Recipe]) -> Recipe:
        return make_recipe(args)

    def datasets(
        self, index: Any, recipe: Recipe, data: Mapping[str, Any], seed: int
    ) -> tuple[Dataset, Dataset]:
        augmentation = Augmentation(recipe.image_size, zoom=(1.0, max(1.0, data["zoom"])), flip=data["flip"])
        sketches, channels = SketchData.from_dict(data), recipe.generator.input_nc
        return (
            SketchDataset(index.samples, augmentation, sketches, channels, seed=seed),
            SketchDataset(index.samples, augmentation, sketches, channels, seed=seed, augment=False),
        )


def add_sketch_data_arguments(parser: argparse.ArgumentParser, *, evaluation: bool = False) -> None:
    """The options that say how pairs are read (training, and ``trainers.evaluate sketch``, whose
    defaults are None: the values the model was trained with, from its card)."""
    group = parser.add_argument_group("data")
    if not evaluation:
        group.add_argument(
            "--data",
            type=Path,
            action="append",
            help="dataset folder; format edges: photo folder, repeat for several (required unless --resume)",
        )
        group.add_argument(
            "--exclude",
            type=Path,
            action="append",
            default=[],
            help="format edges: text file listing photo file names to leave out, one per line (repeatable)",
        )
    group.add_argument(
        "--format",
        choices=list(SKETCH_FORMATS),
        default="bsds" if evaluation else "pairs",
        help="; ".join(f"{k}: {v}" for k, v in SKETCH_FORMATS.items())
        + f" (default: {'bsds' if evaluation else 'pairs'})",
    )
    group.add_argument(
        "--split",
        default="test" if evaluation else "train",
        help="sub-folder of the layout to use (default: %(default)s)",
    )
    trained = " (default: as the model was trained)" if evaluation else ""
    group.add_argument(
        "--direction",
        choices=DIRECTIONS,
        default=None if evaluation else "AtoB",
        help="AtoB: A (left half, A/) is the sketch and B the photo; BtoA the reverse"
        + (trained or " (default: AtoB)"),
    )
    group.add_argument(
        "--edges",
        choices=list(EDGE_DETECTORS),
        default=None if evaluation else "xdog",
        help="how format edges draws sketches: xdog (difference of Gaussians, pen-like lines) or canny "
        "(thin lines)" + (trained or " (default: xdog)"),
    )
    group.add_argument(
        "--edge-width",
        type=int,
        default=None if evaluation else 1,
        help="grow the lines of drawn sketches (edges) and BSDS maps to this width in pixels"
        + (trained or " (default: 1)"),
    )
    group.add_argument(
        "--min-line",
        type=int,
        default=None if evaluation else 16,
        help="erase drawn lines of fewer pixels (specks of texture; format edges)"
        + (trained or " (default: 16)"),
    )
    group.add_argument(
        "--bsds-agreement",
        type=float,
        default=None if evaluation else 0.0,
        help="format bsds: 0 = the annotators' mean as grey lines (darker where more agree); a fraction F: "
        "black lines where at least F of the annotators drew a boundary (0.5: the majority)"
        + (trained or " (default: 0)"),
    )
