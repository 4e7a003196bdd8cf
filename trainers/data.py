"""Paired datasets (photo + label map + optional instance map) in the on-disk layouts users have.

Layouts (``--format``):

* ``folder``      ``images/``, ``labels/`` and optionally ``instances/`` with matching file stems
                  (sub-folders allowed); the label set is given by the user.
* ``facades``     CMP facades as pix2pix splits them: ``{split}/img``, ``{split}/label`` (ids 1-12);
                  also the CMP base layout ``img/``, ``label/``.
* ``ade20k``      ADEChallengeData2016: ``images/{training,validation}``,
                  ``annotations/{training,validation}`` (0 = other); also ``img/``, ``label/``.
* ``coco``        COCO-Stuff in SPADE's layout: ``{split}_img``, ``{split}_label``, ``{split}_inst``
                  (255 = unlabeled).
* ``cityscapes``  ``leftImg8bit/{split}/<city>/*_leftImg8bit.png`` with
                  ``gtFine/{split}/<city>/*_gtFine_labelIds.png`` and ``*_gtFine_instanceIds.png``;
                  also pix2pixHD's ``{split}_img``, ``{split}_label``, ``{split}_inst``.

Label maps are read as ids and turned into the network's channel indices here
(``LabelSet.to_channels``), exactly as the engine does at inference. A bad file (unreadable, a
label id out of range, sizes that disagree) is reported and another sample is used instead, so one
file never stops a long run; pairs with a missing partner are reported when the folder is scanned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from engine.errors import InputImageError, SynthpaintError
from engine.labels import (
    IMAGE_SUFFIXES,
    LabelSet,
    get_label_set,
    read_instance_image,
    read_label_image,
    read_rgb_image,
)
from engine.session import image_to_tensor
from trainers.augment import Augmentation, Crop

MAX_REPLACEMENTS = 16  # consecutive bad samples tolerated before the data is declared unusable


class DatasetError(InputImageError):
    """A dataset folder is missing, empty, in another layout, or too damaged to train on."""


@dataclass(frozen=True)
class SampleFiles:
    image: Path
    label: Path
    instance: Path | None = None


@dataclass
class DatasetIndex:
    """What a folder scan found: usable samples, and one message per file that has no partner."""

    samples: list[SampleFiles]
    problems: list[str] = field(default_factory=list)
    layout: str = ""


@dataclass(frozen=True)
class DataFormat:
    name: str
    label_set: str | None  # built-in label set of the format; None: the user names one
    find: Callable[[Path, str], DatasetIndex]
    description: str


def _files(folder: Path, suffix: str = "") -> dict[str, Path]:
    """Image files under ``folder`` (recursively) keyed by relative path without extension and ``suffix``."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        key = path.relative_to(folder).with_suffix("").as_posix()
        if suffix:
            if not key.endswith(suffix):
                continue
            key = key[: -len(suffix)]
        found.setdefault(key, path)
    return found


def pair_folders(
    images: Path,
    labels: Path,
    instances: Path | None = None,
    suffixes: tuple[str, str, str] = ("", "", ""),
    layout: str = "",
) -> DatasetIndex:
    """Match photos, label maps (and instance maps, when that folder exists) by relative stem."""
    for folder in (images, labels):
        if not folder.is_dir():
            raise DatasetError(f"the dataset folder {folder} does not exist")
    image_files = _files(images, suffixes[0])
    label_files = _files(labels, suffixes[1])
    inst_files = _files(instances, suffixes[2]) if instances is not None and instances.is_dir() else None
    problems = [
        f"the photo {image_files[k]} has no label map in {labels}"
        for k in image_files
        if k not in label_files
    ]
    problems += [
        f"the label map {label_files[k]} has no photo in {images}"
        for k in label_files
        if k not in image_files
    ]
    samples = []
    for key in sorted(image_files.keys() & label_files.keys()):
        inst = None
        if inst_files is not None:
            inst = inst_files.get(key)
            if inst is None:
                problems.append(f"the photo {image_files[key]} has no instance map in {instances}")
                continue
        samples.append(SampleFiles(image_files[key], label_files[key], inst))
    return DatasetIndex(samples, problems, layout)


def _first_layout(
    root: Path, candidates: Sequence[tuple[str, Callable[[], DatasetIndex], Path]]
) -> DatasetIndex:
    """The first candidate layout whose marker folder exists under ``root``."""
    for _, find, marker in candidates:
        if marker.is_dir():
            return find()
    expected = "; ".join(f"{name} ({marker.relative_to(root)}/)" for name, _, marker in candidates)
    raise DatasetError(f"{root} is not in a layout this format knows: expected {expected}")


def find_folder(root: Path, split: str) -> DatasetIndex:
    return pair_folders(root / "images", root / "labels", root / "instances", layout="images/ labels/")


def find_facades(root: Path, split: str) -> DatasetIndex:
    return _first_layout(
        root,
        [
            (
                "pix2pix split",
                lambda: pair_folders(root / split / "img", root / split / "label"),
                root / split,
            ),
            ("CMP base", lambda: pair_folders(root / "img", root / "label"), root / "img"),
        ],
    )


def find_ade20k(root: Path, split: str) -> DatasetIndex:
    ade_split = {"train": "training", "val": "validation"}.get(split, split)
    return _first_layout(
        root,
        [
            (
                "ADEChallengeData2016",
                lambda: pair_folders(root / "images" / ade_split, root / "annotations" / ade_split),
                root / "images",
            ),
            ("img/ label/", lambda: pair_folders(root / "img", root / "label"), root / "img"),
        ],
    )


def find_coco(root: Path, split: str) -> DatasetIndex:
    return pair_folders(
        root / f"{split}_img", root / f"{split}_label", root / f"{split}_inst", layout="SPADE COCO-Stuff"
    )


def find_cityscapes(root: Path, split: str) -> DatasetIndex:
    suffixes = ("_leftImg8bit", "_gtFine_labelIds", "_gtFine_instanceIds")
    return _first_layout(
        root,
        [
            (
                "leftImg8bit + gtFine",
                lambda: pair_folders(
                    root / "leftImg8bit" / split, root / "gtFine" / split, root / "gtFine" / split, suffixes
                ),
                root / "leftImg8bit",
            ),
            (
                "pix2pixHD",
                lambda: pair_folders(
                    root / f"{split}_img", root / f"{split}_label", root / f"{split}_inst", suffixes
                ),
                root / f"{split}_img",
            ),
        ],
    )


FORMATS = {
    "folder": DataFormat("folder", None, find_folder, "images/, labels/ [instances/] with matching stems"),
    "facades": DataFormat("facades", "facades", find_facades, "CMP facades ({split}/img, {split}/label)"),
    "ade20k": DataFormat("ade20k", "ade20k", find_ade20k, "ADE20K ADEChallengeData2016"),
    "coco": DataFormat("coco", "coco", find_coco, "COCO-Stuff, SPADE layout ({split}_img/_label/_inst)"),
    "cityscapes": DataFormat("cityscapes", "cityscapes", find_cityscapes, "Cityscapes leftImg8bit + gtFine"),
}


def find_samples(root: str | Path, fmt: str, split: str = "train") -> DatasetIndex:
    """Scan ``root`` in layout ``fmt``; raises DatasetError when nothing usable is there."""
    root = Path(root)
    if fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format '{fmt}' (use one of {', '.join(FORMATS)})")
    if not root.is_dir():
        raise DatasetError(f"the dataset folder {root} does not exist")
    index = FORMATS[fmt].find(root, split)
    index.layout = index.layout or fmt
    if not index.samples:
        first = f" ({index.problems[0]})" if index.problems else ""
        raise DatasetError(f"found no complete photo/label pairs in {root} as format '{fmt}'{first}")
    return index


def dataset_label_set(fmt: str, label_set: str | None) -> LabelSet:
    """The user's label set, else the format's built-in one."""
    name = label_set or FORMATS[fmt].label_set
    if name is None:
        raise DatasetError(f"format '{fmt}' needs --labelset (a built-in name or a label set JSON file)")
    return get_label_set(name)


@dataclass
class Example:
    """One decoded sample before tensors: photo uint8 HxWx3, label ids, instance ids (or None)."""

    photo: np.ndarray
    ids: np.ndarray
    instances: np.ndarray | None


def read_example(files: SampleFiles, label_set: LabelSet) -> Example:
    """Decode and check one sample; every problem raises a SynthpaintError naming the file."""
    photo = read_rgb_image(files.image)
    ids = read_label_image(files.label, label_set)
    if ids.shape != photo.shape[:2]:
        raise InputImageError(
            f"the label map {files.label} is {ids.shape[1]}x{ids.shape[0]} but its photo {files.image} is "
            f"{photo.shape[1]}x{photo.shape[0]}"
        )
    instances = None
    if files.instance is not None:
        instances = read_instance_image(files.instance)
        if instances.shape != ids.shape:
            raise InputImageError(
                f"the instance map {files.instance} is {instances.shape[1]}x{instances.shape[0]} but the "
                f"label map {files.label} is {ids.shape[1]}x{ids.shape[0]}"
            )
    return Example(photo, ids, instances)


def item_or_replacement(dataset: Any, key: int | tuple[int, int]) -> dict[str, Any]:
    """``dataset.item(index, epoch)``, or the next sample's if that one is unreadable, with the problems met.

    ``key`` is ``(index, epoch)`` (or an index, epoch 0). One bad file never stops a long run: it is
    reported in ``problems`` and replaced; only ``MAX_REPLACEMENTS`` bad ones in a row are fatal.
    """
    index, epoch = key if isinstance(key, tuple) else (key, 0)
    problems: list[str] = []
    for attempt in range(MAX_REPLACEMENTS):
        position = (index + attempt) % len(dataset)
        try:
            item = dataset.item(position, epoch)
        except SynthpaintError as exc:
            problems.append(str(exc))
            continue
        item["problems"] = problems
        return item
    raise DatasetError(
        f"{MAX_REPLACEMENTS} samples in a row could not be used, the last because {problems[-1]}"
    )


class PairedDataset(Dataset):
    """Photos in [-1, 1] (3, H, W), label channel indices (H, W) and instance ids (H, W).

    Items are addressed by ``(index, epoch)``: the augmentation of a sample is drawn from a
    generator seeded by (seed, epoch, index), so data are identical whatever the worker count,
    the process count or an interruption. ``instances`` are the instance map when the sample has
    one, else the label ids, whose boundaries the engine also uses when no instance map is given.
    """

    def __init__(
        self,
        samples: Sequence[SampleFiles],
        label_set: LabelSet,
        augmentation: Augmentation,
        *,
        seed: int = 0,
        augment: bool = True,
    ):
        self.samples = list(samples)
        self.label_set = label_set
        self.augmentation = augmentation
        self.seed = seed
        self.augment = augment

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        return item_or_replacement(self, key)

    def item(self, index: int, epoch: int = 0) -> dict[str, Any]:
        """Sample ``index`` as tensors; raises SynthpaintError for a bad file."""
        files = self.samples[index]
        example = read_example(files, self.label_set)
        shape = example.ids.shape
        if self.augment:
            crop: Crop = self.augmentation.random(shape, np.random.default_rng([self.seed, epoch, index]))
        else:
            crop = self.augmentation.center(shape)
        ids = crop.ids(example.ids)
        instances = crop.ids(example.instances) if example.instances is not None else ids
        return {
            "image": image_to_tensor(crop.photo(example.photo))[0],
            "labels": torch.from_numpy(self.label_set.to_channels(ids)),
            "instances": torch.from_numpy(instances.astype(np.int64)),
            "index": index,
        }


def collate(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack the tensors (and numbers) of a batch; gather the problems met while loading it.

    Works for every dataset of the trainers: items are dicts of same-shaped tensors plus
    ``index`` and ``problems``.
    """
    batch: dict[str, Any] = {}
    for key, value in items[0].items():
        values = [item[key] for item in items]
        if key == "problems":
            batch[key] = [problem for problems in values for problem in problems]
        elif isinstance(value, torch.Tensor):
            batch[key] = torch.stack(values)
        elif isinstance(value, int | float):
            batch[key] = torch.tensor(values)
        else:
            batch[key] = values
    return batch
