"""``trainers.sketch_data`` on tiny synthetic pairs (and the shared BSDS500 sample): the four data
formats, crops and sketches drawn on the fly, and the folders and files that cannot be used."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.edges import SketchStyle
from tests.conftest import DATASETS, require_shared
from tests.trainers.sketch_pairs import SIZE, square_pair, write_pairs
from trainers.augment import Augmentation
from trainers.data import DatasetError
from trainers.sketch_data import (
    PairFiles,
    SketchData,
    SketchDataset,
    find_pairs,
    find_photos_to_draw,
    sketch_tensor,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def write_aligned(folder: Path, count: int) -> Path:
    """Format aligned: sketch (as RGB) | photo side by side."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sketch, photo = square_pair(rng)
        Image.fromarray(np.concatenate([np.repeat(sketch[..., None], 3, 2), photo], 1)).save(
            folder / f"{i}.png"
        )
    return folder


def full_view(data: SketchData, files: list[PairFiles], channels: int = 1) -> SketchDataset:
    """Items at the files' own size: no zoom, crop or flip."""
    return SketchDataset(
        files, Augmentation(SIZE, zoom=(1.0, 1.0), flip=False), data, channels, augment=False
    )


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    return np.rint((tensor.permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)


def test_pairs_match_stems_in_either_direction_and_report_loners(pairs, tmp_path):
    index = find_pairs(pairs, "pairs")
    assert [(p.sketch.parent.name, p.photo.parent.name) for p in index.samples] == [("A", "B")] * 6
    assert index.problems == []
    item = full_view(SketchData("pairs"), index.samples)[0]
    assert item["sketch"].shape == (1, *SIZE) and item["image"].shape == (3, *SIZE)
    np.testing.assert_array_equal(
        to_uint8(item["sketch"])[..., 0], np.array(Image.open(pairs / "A" / "s000.png"))
    )
    np.testing.assert_array_equal(to_uint8(item["image"]), np.array(Image.open(pairs / "B" / "s000.png")))

    reverse = find_pairs(pairs, "pairs", direction="BtoA")
    assert reverse.samples[0] == PairFiles(pairs / "A" / "s000.png", pairs / "B" / "s000.png")

    split = write_pairs(tmp_path / "split" / "train", 2)  # {split}/A, {split}/B
    Image.new("RGB", SIZE[::-1]).save(split / "B" / "lonely.png")
    index = find_pairs(tmp_path / "split", "pairs", "train")
    assert len(index.samples) == 2 and index.problems == [
        f"the photo {split / 'B' / 'lonely.png'} has no sketch in {split / 'A'}"
    ]


def test_aligned_images_are_split_in_halves_by_direction(tmp_path):
    folder = write_aligned(tmp_path / "aligned" / "train", 3)
    index = find_pairs(tmp_path / "aligned", "aligned", "train")
    assert len(index.samples) == 3 and index.samples[0] == PairFiles(folder / "0.png", folder / "0.png")
    both = np.array(Image.open(folder / "0.png"))
    for direction, (sketch_half, photo_half) in {"AtoB": (0, 1), "BtoA": (1, 0)}.items():
        sketch, photo = SketchData("aligned", direction).read(index.samples[0])
        np.testing.assert_array_equal(sketch, both[:, sketch_half * 48 : (sketch_half + 1) * 48])
        np.testing.assert_array_equal(photo, both[:, photo_half * 48 : (photo_half + 1) * 48])
    rgb = full_view(SketchData("aligned"), index.samples, channels=3)[0]["sketch"]
    assert rgb.shape == (3, *SIZE)
    torch.testing.assert_close(rgb, sketch_tensor(both[:, :48], 3))


def test_edges_format_draws_the_sketch_of_each_random_crop(pairs):
    index = find_pairs(pairs / "B", "edges")  # any photo folder
    assert len(index.samples) == 6 and all(p.sketch is None for p in index.samples)
    data = SketchData("edges", edges="canny", min_line=4)
    dataset = SketchDataset(index.samples, Augmentation((32, 32), zoom=(1.0, 1.5)), data, 1, seed=3)
    for key in [(0, 0), (0, 1), (4, 2)]:
        item = dataset[key]
        photo = to_uint8(item["image"])
        sketch = to_uint8(item["sketch"])[..., 0]
        np.testing.assert_array_equal(sketch, SketchStyle("canny", 1, 4)(photo))
        assert (sketch == 0).sum() > 20 and set(np.unique(sketch)) == {0, 255}  # the outline, black on white


def test_photos_to_draw_come_from_each_folders_split_minus_the_exclude_lists(pairs, tmp_path):
    (tmp_path / "flat" / "x").mkdir(parents=True)
    (tmp_path / "flat" / "x" / "one.png").write_bytes((pairs / "B" / "s000.png").read_bytes())
    skip = tmp_path / "skip.txt"
    skip.write_text("s002\n")
    index = find_photos_to_draw([pairs, tmp_path / "flat"], "B", [skip])  # pairs/B is the split folder
    names = [p.photo.name for p in index.samples]
    assert names == ["s000.png", "s001.png", "s003.png", "s004.png", "s005.png", "one.png"]
    assert all(p.sketch is None for p in index.samples)
    assert index.problems == [f"{pairs / 'B' / 's002.png'} is on an exclude list"]


def test_bsds_maps_become_black_on_white_sketches():
    root = require_shared(DATASETS / "edges" / "bsds500").parents[1]
    assert [len(find_pairs(root, "bsds", s).samples) for s in ("train", "val", "test")] == [200, 100, 200]
    files = find_pairs(root, "bsds", "test").samples[0]
    assert files.sketch.name == files.photo.with_suffix(".png").name
    boundaries = np.array(Image.open(files.sketch))
    sketch, photo = SketchData("bsds").read(files)
    assert sketch.dtype == np.uint8 and sketch.shape == photo.shape[:2] == boundaries.shape
    np.testing.assert_array_equal(sketch, 255 - boundaries)  # the annotators' mean, inverted
    majority, _ = SketchData("bsds", bsds_agreement=0.5).read(files)
    np.testing.assert_array_equal(majority == 0, boundaries >= 127.5)
    assert set(np.unique(majority)) == {0, 255} and (majority == 0).sum() < (sketch < 255).sum()
    wide, _ = SketchData("bsds", bsds_agreement=0.5, edge_width=3).read(files)
    assert (wide == 0).sum() > 2 * (majority == 0).sum()
    item = SketchDataset([files], Augmentation((64, 64)), SketchData("bsds"), 1)[0]
    assert item["sketch"].shape == (1, 64, 64) and item["sketch"].min() < 0.5 < item["sketch"].max() == 1


@pytest.mark.parametrize(
    ("fmt", "layout", "message"),
    [
        ("pairs", [], "has no A/ folder (format pairs: A/ and B/)"),
        ("bsds", ["edges/bsds500/train"], "is not a BSDS500 layout: it has no photos/bsds500/train/"),
        ("edges", ["empty"], "no photos"),
        ("aligned", [], "no photos"),
    ],
)
def test_unusable_folders_are_named(tmp_path, fmt, layout, message):
    for folder in layout:
        (tmp_path / folder).mkdir(parents=True)
    with pytest.raises(DatasetError, match=re.escape(message)):
        find_pairs(tmp_path, fmt)
    with pytest.raises(DatasetError, match="does not exist"):
        find_pairs(tmp_path / "missing", fmt)


def test_a_pair_of_different_sizes_is_reported_and_replaced(tmp_path):
    root = write_pairs(tmp_path, 2)
    Image.new("L", (20, 20)).save(root / "A" / "s000.png")
    item = full_view(SketchData("pairs"), find_pairs(root, "pairs").samples)[0]
    assert item["index"] == 1
    assert item["problems"] == [
        f"the sketch {root / 'A' / 's000.png'} is 20x20 but its photo {root / 'B' / 's000.png'} is 48x40"
    ]
