"""Photo folders for the self-supervised trainers: scanning, exclusion, reproducible crops, bad files."""

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import DATASETS, require_shared
from trainers.augment import Augmentation
from trainers.data import DatasetError, collate
from trainers.photos import PhotoDataset, find_photos


def write_photos(folder, count, size=(40, 50)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return folder


def test_photos_are_found_recursively_and_exclude_lists_leave_some_out(tmp_path):
    write_photos(tmp_path / "a", 2)
    write_photos(tmp_path / "a" / "deeper", 2)
    Image.new("RGB", (30, 20), "teal").save(tmp_path / "a" / "scan.TIF")  # a camera or scanner TIFF
    (tmp_path / "a" / "notes.txt").write_text("not a photo")
    (tmp_path / "grey.txt").write_text("p1.png\n")
    index = find_photos([tmp_path / "a"], exclude=[tmp_path / "grey.txt"])
    assert sorted(p.name for p in index.samples) == ["p0.png", "p0.png", "scan.TIF"]
    assert len(index.problems) == 2 and "exclude list" in index.problems[0]
    (tmp_path / "all.txt").write_text("p0.png\np1.png\n")
    with pytest.raises(DatasetError, match="no photos"):
        find_photos([tmp_path / "a" / "deeper"], exclude=[tmp_path / "all.txt"])
    with pytest.raises(DatasetError, match="cannot read the exclude list"):
        find_photos([tmp_path / "a"], exclude=[tmp_path / "missing.txt"])


def test_crops_are_reproducible_per_epoch_and_bad_files_are_replaced(tmp_path):
    folder = write_photos(tmp_path / "photos", 3)
    (folder / "p1.png").write_bytes(b"broken")
    dataset = PhotoDataset(find_photos([folder]).samples, Augmentation((32, 32)), seed=3)
    a, b, c = dataset[(0, 0)], dataset[(0, 0)], dataset[(0, 1)]
    assert a["image"].shape == (3, 32, 32) and a["image"].min() >= -1 and a["image"].max() <= 1
    assert torch.equal(a["image"], b["image"]) and not torch.equal(a["image"], c["image"])
    batch = collate([dataset[(i, 0)] for i in range(3)])
    assert batch["image"].shape == (3, 3, 32, 32)
    assert batch["index"].tolist() == [0, 2, 2]  # the broken photo was replaced by the next one
    assert len(batch["problems"]) == 1 and "p1.png" in batch["problems"][0]


def test_the_shared_photo_sets_leave_out_the_listed_grayscale_photos():
    photos = require_shared(DATASETS / "photos")
    listing = photos / "imagenet_sample_grayscale.txt"
    index = find_photos([photos / "imagenet_sample"], exclude=[listing])
    assert len(index.samples) == 1000 - 23
