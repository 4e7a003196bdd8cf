"""Dataset layouts, decoding, augmentation and bad-file handling."""

import numpy as np
import pytest
import torch
from PIL import Image

from engine.errors import InputImageError, LabelRangeError
from engine.labels import get_label_set
from tests.conftest import DATASETS, require_shared
from tests.trainers.synthetic import folder_dataset, write_pairs
from trainers.augment import Augmentation
from trainers.data import DatasetError, PairedDataset, collate, dataset_label_set, find_samples, read_example
from trainers.sampling import ResumableSampler


def check_item(item: dict, size: tuple[int, int], num_channels: int) -> None:
    assert item["image"].shape == (3, *size) and item["image"].dtype == torch.float32
    assert item["image"].min() >= -1 and item["image"].max() <= 1
    assert item["image"].std() > 0.05  # a photo, not a constant
    assert item["labels"].shape == size and item["labels"].dtype == torch.int64
    assert item["labels"].min() >= 0 and item["labels"].max() < num_channels
    assert item["instances"].shape == size


# --- real-world layouts, built small ------------------------------------------------------------------


def test_folder_layout_pairs_by_stem_and_reports_files_without_partner(tmp_path):
    root = folder_dataset(tmp_path / "d", 3)
    Image.new("RGB", (8, 8)).save(root / "images" / "lonely.png")
    Image.new("L", (8, 8)).save(root / "labels" / "orphan.png")
    index = find_samples(root, "folder")
    assert [s.image.stem for s in index.samples] == ["s000", "s001", "s002"]
    assert all(s.instance is None for s in index.samples)
    assert len(index.problems) == 2
    assert any("lonely.png has no label map" in p for p in index.problems)
    assert any("orphan.png has no photo" in p for p in index.problems)


def test_ade20k_challenge_layout(tmp_path):
    root = tmp_path / "ADEChallengeData2016"
    write_pairs(
        root / "images" / "training",
        root / "annotations" / "training",
        2,
        label_set="ade20k",
        image_ext=".jpg",
    )
    write_pairs(root / "images" / "validation", root / "annotations" / "validation", 1, label_set="ade20k")
    assert len(find_samples(root, "ade20k", "train").samples) == 2
    assert len(find_samples(root, "ade20k", "val").samples) == 1


def test_coco_spade_layout_with_instances(tmp_path):
    root = tmp_path / "coco"
    write_pairs(root / "train_img", root / "train_label", 3, label_set="coco", instances=root / "train_inst")
    (root / "train_inst" / "s001.png").unlink()
    index = find_samples(root, "coco")
    assert [s.image.stem for s in index.samples] == ["s000", "s002"]
    assert all(s.instance is not None and s.instance.stem == s.image.stem for s in index.samples)
    assert index.problems == [
        f"the photo {root / 'train_img' / 's001.png'} has no instance map in {root / 'train_inst'}"
    ]


def test_cityscapes_layout_matches_suffixes_in_city_folders(tmp_path):
    root = tmp_path / "cityscapes"
    suffixes = ("_leftImg8bit", "_gtFine_labelIds", "_gtFine_instanceIds")
    for city in ("aachen", "bochum"):
        write_pairs(
            root / "leftImg8bit" / "train" / city,
            root / "gtFine" / "train" / city,
            2,
            label_set="cityscapes",
            instances=root / "gtFine" / "train" / city,
            suffixes=suffixes,
        )
        Image.new("RGB", (48, 40)).save(root / "gtFine" / "train" / city / "s000_gtFine_color.png")
    index = find_samples(root, "cityscapes")
    assert len(index.samples) == 4 and not index.problems
    first = index.samples[0]
    assert first.image.name == "s000_leftImg8bit.png"
    assert first.label.name == "s000_gtFine_labelIds.png"
    assert first.instance.name == "s000_gtFine_instanceIds.png"
    assert first.image.parent.name == first.label.parent.name == "aachen"


def test_facades_cmp_base_layout_and_unknown_layout(tmp_path):
    write_pairs(tmp_path / "base" / "img", tmp_path / "base" / "label", 2)
    assert len(find_samples(tmp_path / "base", "facades").samples) == 2
    with pytest.raises(DatasetError, match="not in a layout"):
        find_samples(tmp_path / "base", "cityscapes")
    with pytest.raises(DatasetError, match="does not exist"):
        find_samples(tmp_path / "nowhere", "facades")
    with pytest.raises(DatasetError, match="needs --labelset"):
        dataset_label_set("folder", None)


def test_a_folder_without_pairs_is_an_error_naming_it(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    with pytest.raises(DatasetError, match=f"no complete photo/label pairs in {tmp_path}"):
        find_samples(tmp_path, "folder")


# --- the shared samples of real datasets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "fmt", "count", "instances"),
    [
        ("facades", "facades", 400, False),
        ("coco_stuff", "coco", 13, True),
        ("ade20k_taming", "ade20k", 30, False),
        ("cityscapes", "cityscapes", 8, True),
    ],
)
def test_shared_dataset_samples_give_shaped_in_range_tensors(folder, fmt, count, instances):
    root = require_shared(DATASETS / folder)
    index = find_samples(root, fmt)
    assert len(index.samples) == count and not index.problems
    assert all((s.instance is not None) == instances for s in index.samples)
    label_set = dataset_label_set(fmt, None)
    size = (64, 128) if fmt == "cityscapes" else (64, 64)
    dataset = PairedDataset(index.samples[:3], label_set, Augmentation(size))
    for i in range(3):
        item = dataset[(i, 0)]
        assert item["problems"] == []
        check_item(item, size, label_set.num_channels)
    if instances:  # real instance maps: more boundaries than the classes alone have
        assert not torch.equal(
            item["instances"], torch.from_numpy(label_set.from_channels(item["labels"].numpy())).long()
        )


def test_coco_unlabeled_and_ade_other_go_to_the_dontcare_channel():
    coco = get_label_set("coco")
    example = read_example(find_samples(require_shared(DATASETS / "coco_stuff"), "coco").samples[0], coco)
    assert (example.ids == 255).any()
    assert coco.to_channels(np.array([[255]]))[0, 0] == coco.label_nc == 182
    ade = get_label_set("ade20k")
    assert ade.to_channels(np.array([[0, 1]])).tolist() == [[150, 0]]


# --- augmentation ------------------------------------------------------------------------------------------


def test_augmentation_moves_photo_and_labels_together_and_keeps_ids():
    rng = np.random.default_rng(0)
    ids = np.zeros((60, 80), np.int32)
    ids[:, 40:] = 3  # right half class 3
    ids[10:20, 5:15] = 7
    photo = np.zeros((60, 80, 3), np.uint8)
    photo[ids == 3] = 200
    photo[ids == 7] = 90
    aug = Augmentation((32, 32), zoom=(1.0, 1.5))
    flips = set()
    for _ in range(20):
        crop = aug.random(ids.shape, rng)
        out_ids, out_photo = crop.ids(ids), crop.photo(photo)
        assert out_ids.shape == (32, 32) and out_photo.shape == (32, 32, 3)
        assert set(np.unique(out_ids)) <= {0, 3, 7}
        padded = np.pad(out_ids, 3, mode="edge")  # away from class boundaries, where bicubic mixes
        windows = np.lib.stride_tricks.sliding_window_view(padded, (7, 7))
        interior = (windows == out_ids[..., None, None]).all(axis=(2, 3))
        expected = np.select([out_ids == 3, out_ids == 7], [200, 90], 0)
        assert (
            np.abs(out_photo[..., 0].astype(int) - expected)[interior].max() <= 10
        )  # a misplaced crop would be off by 90+
        flips.add(crop.flip)
    assert flips == {True, False}


def test_center_view_covers_and_centres():
    crop = Augmentation((32, 64)).center((100, 100))
    assert crop.resized == (64, 64) and crop.top == 16 and crop.left == 0 and not crop.flip


def test_items_are_a_function_of_seed_epoch_and_index(tmp_path):
    index = find_samples(folder_dataset(tmp_path, 3), "folder")
    facades = get_label_set("facades")
    a = PairedDataset(index.samples, facades, Augmentation((32, 32)), seed=1)
    b = PairedDataset(index.samples, facades, Augmentation((32, 32)), seed=1)
    assert torch.equal(a[(2, 5)]["image"], b[(2, 5)]["image"])
    assert not torch.equal(a[(2, 5)]["image"], a[(2, 6)]["image"])


# --- bad files -------------------------------------------------------------------------------------


def test_bad_files_raise_errors_naming_them(tmp_path):
    root = folder_dataset(tmp_path, 3)
    facades = get_label_set("facades")
    samples = find_samples(root, "folder").samples
    (root / "images" / "s000.png").write_bytes(b"not a png")
    Image.fromarray(np.full((40, 48), 99, np.uint8)).save(root / "labels" / "s001.png")
    Image.fromarray(np.full((10, 10), 2, np.uint8)).save(root / "labels" / "s002.png")
    with pytest.raises(InputImageError, match="s000.png"):
        read_example(samples[0], facades)
    with pytest.raises(LabelRangeError, match="label id 99 .* of .*s001.png"):
        read_example(samples[1], facades)
    with pytest.raises(InputImageError, match="s002.png is 10x10 but its photo .*s002.png is 48x40"):
        read_example(samples[2], facades)


def test_a_bad_sample_is_reported_and_replaced_by_the_next(tmp_path):
    root = folder_dataset(tmp_path, 3)
    (root / "images" / "s001.png").write_bytes(b"broken")
    dataset = PairedDataset(
        find_samples(root, "folder").samples, get_label_set("facades"), Augmentation((32, 32))
    )
    batch = collate([dataset[(i, 0)] for i in range(3)])
    assert batch["index"].tolist() == [0, 2, 2]
    assert len(batch["problems"]) == 1 and "s001.png" in batch["problems"][0]


def test_a_dataset_of_only_bad_files_stops_with_an_error(tmp_path):
    root = folder_dataset(tmp_path, 2)
    for path in (root / "images").iterdir():
        path.write_bytes(b"broken")
    dataset = PairedDataset(
        find_samples(root, "folder").samples, get_label_set("facades"), Augmentation((32, 32))
    )
    with pytest.raises(DatasetError, match="in a row could not be used"):
        dataset[(0, 0)]


# --- data order ------------------------------------------------------------------------------------


def test_sampler_shards_cover_the_single_process_order_and_resume_mid_epoch(tmp_path):
    dataset = list(range(10))
    single = list(ResumableSampler(dataset, 2, seed=3))
    assert len(single) == 10 and sorted(i for i, _ in single) == list(range(10))
    shards = [list(ResumableSampler(dataset, 1, num_replicas=2, rank=r, seed=3)) for r in range(2)]
    assert [x for pair in zip(*shards, strict=True) for x in pair] == single
    resumed = ResumableSampler(dataset, 2, seed=3)
    resumed.set_position(0, 3)
    assert list(resumed) == single[6:]
    resumed.set_position(1, 0)
    assert [e for _, e in resumed] == [1] * 10 and list(resumed) != single
