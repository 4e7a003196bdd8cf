"""Label sets: built-in tables, exact conversions, label/instance/photo files and their user-facing errors."""

from __future__ import annotations

import csv
import filecmp
import io
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import InputImageError, LabelRangeError, LabelSetError, SynthpaintError, UnknownColorError
from engine.labels import (
    BUILTIN_NAMES,
    LABELSETS_DIR,
    LabelClass,
    LabelSet,
    builtin_label_sets,
    get_label_set,
    load_label_set,
    read_instance_image,
    read_label_image,
    read_rgb_image,
    save_label_set,
    write_label_image,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
LABELSET_CSVS = SHARED / "reference" / "labelsets"
DATASETS = SHARED / "datasets"


def shared(path: Path) -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not available (../shared must sit beside the repository)")
    return path


def every_id_map(label_set: LabelSet, seed: int = 0) -> np.ndarray:
    """A 2-D map holding every id of the set (several times, shuffled), so conversions see them all."""
    ids = np.repeat(label_set.ids, 4)
    np.random.default_rng(seed).shuffle(ids)
    return ids.reshape(4, -1)


def csv_rows(name: str) -> list[dict[str, str]]:
    with shared(LABELSET_CSVS / name).open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(params=BUILTIN_NAMES)
def label_set(request: pytest.FixtureRequest) -> LabelSet:
    return get_label_set(request.param)


# --- built-in tables --------------------------------------------------------------------------------------


def test_builtin_sets_have_the_expected_sizes_and_special_ids():
    sets = builtin_label_sets()
    assert list(sets) == ["coco", "ade20k", "cityscapes", "facades"]
    expected = {  # classes, label_nc, dontcare, background, first id, last id
        "coco": (183, 182, 255, 255, 0, 255),
        "ade20k": (151, 150, 0, 0, 0, 150),
        "cityscapes": (35, 35, None, 0, 0, 34),
        "facades": (12, 12, None, 1, 1, 12),
    }
    for name, (size, label_nc, dontcare, background, first, last) in expected.items():
        s = sets[name]
        assert (len(s), s.label_nc, s.dontcare_id, s.background_id) == (size, label_nc, dontcare, background)
        assert (int(s.ids[0]), int(s.ids[-1])) == (first, last)
    assert sets["coco"].ids[:182].tolist() == list(range(182))


def test_builtin_label_sets_returns_a_copy():
    builtin_label_sets().clear()
    assert len(builtin_label_sets()) == 4


def test_ids_names_and_colours_are_unique(label_set: LabelSet):
    ids = label_set.ids.tolist()
    assert ids == sorted(set(ids))
    assert len({c.name for c in label_set.classes}) == len(label_set)
    assert len({c.color for c in label_set.classes}) == len(label_set)
    assert all(c.group in label_set.groups for c in label_set.classes)


def test_coco_matches_the_reference_table():
    coco = get_label_set("coco")
    assert coco.by_id(0) == LabelClass(0, "person", (0x00, 0xAC, 0x0D), "more", has_instances=True)
    for row in csv_rows("coco_stuff_182.csv"):
        c = coco.by_id(int(row["id"]))
        assert (c.name, "#{:02X}{:02X}{:02X}".format(*c.color)) == (row["name"], row["color"])
    unlabeled = coco.by_id(255)
    assert unlabeled.name == "unlabeled"
    assert unlabeled.color not in {c.color for c in coco.classes if c.id != 255}


def test_coco_groups_follow_the_gaugan_demo():
    coco = get_label_set("coco")
    assert coco.groups == ("landscape", "ground", "plant", "building", "more")
    assert [coco.by_name(n).group for n in ("sky", "road", "tree", "wall-brick", "person")] == [
        "landscape",
        "ground",
        "plant",
        "building",
        "more",
    ]
    assert sum(c.group != "more" for c in coco.classes) == 32
    assert coco.by_id(90).has_instances and not coco.by_id(91).has_instances


def test_cityscapes_matches_the_reference_table_with_unique_colours():
    city = get_label_set("cityscapes")
    assert city.by_id(26) == LabelClass(26, "car", (0x00, 0x00, 0x8E), "vehicle", has_instances=True)
    assert city.by_id(34).name == "license plate"
    assert city.groups == ("void", "flat", "construction", "object", "nature", "sky", "human", "vehicle")
    assert city.by_id(0).color == (0, 0, 0) and city.by_id(17).color == (0x99, 0x99, 0x99)
    rows = {34 if int(r["id"]) == -1 else int(r["id"]): r for r in csv_rows("cityscapes_35.csv")}
    stored = {c["id"]: c for c in json.loads((LABELSETS_DIR / "cityscapes.json").read_text())["classes"]}
    for label_id, row in rows.items():
        c = city.by_id(label_id)
        assert (c.name, c.group, c.has_instances) == (
            row["name"],
            row["category"],
            row["hasInstances"] == "True",
        )
        # repeated official colours were moved, and the official one is recorded next to the class
        official = stored[label_id].get("official_color", stored[label_id]["color"])
        assert official == row["color"]
    assert {i for i, c in stored.items() if "official_color" in c} == {1, 2, 3, 4, 18, 34}


def test_ade20k_and_facades_match_their_sources():
    ade = get_label_set("ade20k")
    for row in csv_rows("ade20k_150.csv"):
        assert ade.by_id(int(row["id"])).name == row["name"]
    facades = get_label_set("facades")
    names = [
        line.split()[1] for line in shared(DATASETS / "facades" / "label_names.txt").read_text().splitlines()
    ]
    assert [c.name for c in facades.classes] == names
    with Image.open(next((DATASETS / "facades" / "train" / "label").glob("*.png"))) as image:
        palette = image.getpalette()
    assert [c.color for c in facades.classes] == [tuple(palette[3 * i : 3 * i + 3]) for i in range(1, 13)]
    assert facades.by_name("window").has_instances and not facades.by_name("cornice").has_instances


def test_builder_regenerates_the_committed_files(tmp_path: Path):
    shared(LABELSET_CSVS)
    script = LABELSETS_DIR / "build.py"
    done = subprocess.run(
        [sys.executable, str(script), "--shared", str(SHARED), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    for name in BUILTIN_NAMES:
        assert filecmp.cmp(tmp_path / f"{name}.json", LABELSETS_DIR / f"{name}.json", shallow=False), name


def test_lookups():
    ade = get_label_set("ade20k")
    assert ade.by_name("person").id == 13  # first synonym of "person, individual, someone, ..."
    assert ade.by_name("Sky") is ade.by_id(3)
    assert 150 in ade and np.int64(7) in ade and 151 not in ade and "sky" not in ade
    with pytest.raises(KeyError, match="151"):
        ade.by_id(151)
    with pytest.raises(KeyError, match="unicorn"):
        ade.by_name("unicorn")


# --- conversions -----------------------------------------------------------------------------------------


def test_colors_round_trip_exactly(label_set: LabelSet):
    label_map = every_id_map(label_set)
    colors = label_set.to_colors(label_map)
    assert colors.dtype == np.uint8 and colors.shape == (*label_map.shape, 3)
    assert colors[0, 0].tolist() == list(label_set.by_id(label_map[0, 0]).color)
    back = label_set.from_colors(colors)
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, label_map)


def test_channels_round_trip(label_set: LabelSet):
    label_map = every_id_map(label_set)
    channels = label_set.to_channels(label_map)
    assert channels.dtype == np.int64
    assert sorted(np.unique(channels).tolist()) == list(range(len(label_set)))
    np.testing.assert_array_equal(label_set.from_channels(channels), label_map)


@pytest.mark.parametrize(
    ("name", "label_id", "channel"),
    [
        ("coco", 0, 0),
        ("coco", 181, 181),
        ("coco", 255, 182),
        ("ade20k", 0, 150),
        ("ade20k", 1, 0),
        ("ade20k", 150, 149),
        ("cityscapes", 0, 0),
        ("cityscapes", 34, 34),
        ("facades", 1, 0),
        ("facades", 12, 11),
    ],
)
def test_channel_indices(name: str, label_id: int, channel: int):
    s = get_label_set(name)
    assert s.to_channels(np.array([[label_id]], dtype=np.uint8))[0, 0] == channel
    assert s.channel_lut[label_id] == channel
    assert s.from_channels(np.array([[channel]]))[0, 0] == label_id


def test_channel_lut_marks_foreign_ids_and_from_channels_checks_range():
    coco = get_label_set("coco")
    assert coco.channel_lut.shape == (256,) and coco.channel_lut[200] == -1
    with pytest.raises(ValueError, match="0..182"):
        coco.from_channels(np.array([[183]]))


def test_big_maps_convert_exactly():
    coco = get_label_set("coco")
    label_map = np.random.default_rng(1).choice(coco.ids, size=(1024, 1024)).astype(np.uint8)
    np.testing.assert_array_equal(coco.from_colors(coco.to_colors(label_map)), label_map)
    np.testing.assert_array_equal(coco.from_channels(coco.to_channels(label_map)), label_map)


def test_unknown_colour_names_the_colour_and_position():
    facades = get_label_set("facades")
    rgb = facades.to_colors(np.full((5, 6), 2, dtype=np.int32))
    rgb[1, 3] = (1, 2, 3)
    rgb[4, 0] = (9, 9, 9)
    with pytest.raises(UnknownColorError) as info:
        facades.from_colors(rgb)
    assert info.value.color == (1, 2, 3) and info.value.position == (3, 1)
    assert "#010203" in str(info.value) and "x=3, y=1" in str(info.value) and "facades" in str(info.value)


@pytest.mark.parametrize("value", [0, 13, -1, 300])
def test_out_of_range_id_names_the_id_and_position(value: int):
    facades = get_label_set("facades")
    label_map = np.full((5, 6), 2, dtype=np.int32)
    label_map[4, 2] = value
    label_map[4, 5] = 99
    with pytest.raises(LabelRangeError) as info:
        facades.validate(label_map)
    assert (info.value.label_id, info.value.position) == (value, (2, 4))
    assert (
        f"label id {value} " in str(info.value)
        and "x=2, y=4" in str(info.value)
        and "1-12" in str(info.value)
    )
    for convert in (facades.to_colors, facades.to_channels, facades.to_palette_image):
        with pytest.raises(LabelRangeError):
            convert(label_map)


def test_validate_accepts_any_integer_dtype_and_rejects_floats():
    coco = get_label_set("coco")
    for dtype in (np.uint8, np.uint16, np.int32, np.int64, np.uint64):
        coco.validate(np.array([[0, 255], [181, 3]], dtype=dtype))
    with pytest.raises(LabelRangeError, match="0-181, 255"):
        coco.validate(np.array([[182]], dtype=np.uint16))
    with pytest.raises(TypeError):
        coco.validate(np.zeros((2, 2), dtype=np.float32))


def test_errors_survive_pickling():
    for err in (
        UnknownColorError((1, 2, 3), (4, 5), "coco", "a.png"),
        LabelRangeError(7, (1, 2), "x", "0-3"),
    ):
        clone = pickle.loads(pickle.dumps(err))
        assert type(clone) is type(err) and str(clone) == str(err) and clone.position == err.position


# --- label files ------------------------------------------------------------------------------------------


def test_palette_png_round_trip(label_set: LabelSet, tmp_path: Path):
    label_map = every_id_map(label_set)
    path = tmp_path / "label.png"
    write_label_image(path, label_map, label_set, mode="indexed")
    with Image.open(path) as image:
        assert image.mode == "P"
        np.testing.assert_array_equal(np.asarray(image), label_map)  # values are the ids themselves
        palette = image.getpalette()
    first = int(label_set.ids[-1])
    assert tuple(palette[3 * first : 3 * first + 3]) == label_set.by_id(first).color
    np.testing.assert_array_equal(read_label_image(path, label_set), label_map)


def test_colour_png_round_trip(label_set: LabelSet, tmp_path: Path):
    label_map = every_id_map(label_set)
    path = tmp_path / "label.png"
    write_label_image(path, label_map, label_set, mode="color")
    with Image.open(path) as image:
        assert image.mode == "RGB"
    np.testing.assert_array_equal(read_label_image(path, label_set), label_map)


def test_write_label_image_rejects_unknown_modes(tmp_path: Path):
    with pytest.raises(ValueError, match="indexed"):
        write_label_image(
            tmp_path / "x.png", np.ones((2, 2), np.int32), get_label_set("facades"), mode="jpeg"
        )


def test_single_channel_label_images_hold_ids(tmp_path: Path):
    city = get_label_set("cityscapes")
    label_map = every_id_map(city)
    Image.fromarray(label_map.astype(np.uint8)).save(tmp_path / "l.png")
    Image.fromarray(label_map.astype(np.uint16)).save(tmp_path / "i16.png")
    for name in ("l.png", "i16.png"):
        np.testing.assert_array_equal(read_label_image(tmp_path / name, city), label_map)


def test_palette_images_that_are_colour_coded_are_decoded_by_colour(tmp_path: Path):
    city = get_label_set("cityscapes")
    label_map = np.array([[7, 26], [23, 0]])
    # an editor's palette: arbitrary index order, entries are class colours
    index = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    image = Image.fromarray(index)
    image.putpalette([v for i in (7, 26, 23, 0) for v in city.by_id(i).color])
    image.save(tmp_path / "coded.png")
    np.testing.assert_array_equal(read_label_image(tmp_path / "coded.png", city), label_map)


def test_palette_images_with_a_foreign_palette_hold_ids(tmp_path: Path):
    coco = get_label_set("coco")
    image = Image.fromarray(np.array([[0, 5], [181, 255]], dtype=np.uint8))
    image.putpalette([v for i in range(256) for v in (i, i, i)])  # a grey ramp is no colour coding
    image.save(tmp_path / "grey.png")
    np.testing.assert_array_equal(read_label_image(tmp_path / "grey.png", coco), [[0, 5], [181, 255]])


def test_colour_coded_rgba_ignores_alpha(tmp_path: Path):
    facades = get_label_set("facades")
    rgba = np.dstack(
        [facades.to_colors(np.array([[1, 3], [12, 2]])), np.array([[0, 255], [128, 7]], np.uint8)]
    )
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_label_image(tmp_path / "rgba.png", facades), [[1, 3], [12, 2]])


def test_label_file_errors_name_the_file(tmp_path: Path):
    facades = get_label_set("facades")
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not a PNG" * 20)
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        buffer, "PNG"
    )
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(buffer.getvalue()[:400])
    for path in (garbage, truncated, tmp_path / "missing.png", tmp_path):
        with pytest.raises(InputImageError, match=path.name):
            read_label_image(path, facades)

    rgb = facades.to_colors(np.full((4, 4), 2))
    rgb[2, 1] = (0x12, 0x34, 0x56)
    Image.fromarray(rgb).save(tmp_path / "painted.png")
    with pytest.raises(UnknownColorError, match=r"#123456 at pixel \(x=1, y=2\) of .*painted\.png"):
        read_label_image(tmp_path / "painted.png", facades)

    Image.fromarray(np.full((3, 3), 13, np.uint8)).save(tmp_path / "ids.png")
    with pytest.raises(LabelRangeError, match=r"label id 13 at pixel \(x=0, y=0\) of .*ids\.png"):
        read_label_image(tmp_path / "ids.png", facades)


def test_errors_are_synthpaint_errors():
    assert issubclass(UnknownColorError, InputImageError)
    for cls in (InputImageError, LabelRangeError, LabelSetError):
        assert issubclass(cls, SynthpaintError)


# --- real dataset files -----------------------------------------------------------------------------------


def test_reads_facades_dataset_labels():
    facades = get_label_set("facades")
    paths = sorted(shared(DATASETS / "facades" / "train" / "label").glob("*.png"))[:20]
    assert paths
    for path in paths:
        label_map = read_label_image(path, facades)
        assert label_map.shape == (256, 256)
        assert label_map.min() >= 1 and label_map.max() <= 12
        with Image.open(path) as image:
            np.testing.assert_array_equal(label_map, np.asarray(image))


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("coco", "coco_stuff/train_label"),
        ("cityscapes", "cityscapes/train_label"),
        ("ade20k", "ade20k_taming/label"),
    ],
)
def test_reads_single_channel_dataset_labels(name: str, folder: str):
    label_set = get_label_set(name)
    paths = sorted(shared(DATASETS / folder).glob("*.png"))[:5]
    assert paths
    for path in paths:
        label_map = read_label_image(path, label_set)
        label_set.validate(label_map)
        with Image.open(path) as image:
            np.testing.assert_array_equal(label_map, np.asarray(image))
        if name == "coco":
            assert set(np.unique(label_map).tolist()) <= set(range(182)) | {255}


# --- instance maps and photos -----------------------------------------------------------------------------


def test_read_instance_image_formats(tmp_path: Path):
    ids = np.array([[0, 1], [26001, 70000]], dtype=np.int64)
    Image.fromarray(ids[:1].astype(np.uint8)).save(tmp_path / "l.png")
    Image.fromarray(ids[:, :1].astype(np.uint16)).save(tmp_path / "i16.png")
    Image.fromarray(ids.astype(np.int32)).save(tmp_path / "i32.tif")  # PNG has no 32-bit grey
    rgb = np.stack([ids >> 16, (ids >> 8) & 255, ids & 255], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_instance_image(tmp_path / "l.png"), ids[:1])
    np.testing.assert_array_equal(read_instance_image(tmp_path / "i16.png"), ids[:, :1])
    for name in ("i32.tif", "rgb.png"):
        result = read_instance_image(tmp_path / name)
        assert result.dtype == np.int64
        np.testing.assert_array_equal(result, ids)
    with pytest.raises(InputImageError, match="nothing.png"):
        read_instance_image(tmp_path / "nothing.png")


def test_reads_cityscapes_16_bit_instance_maps():
    path = sorted(shared(DATASETS / "cityscapes" / "train_inst").glob("*.png"))[0]
    instances = read_instance_image(path)
    assert instances.dtype == np.int64 and instances.max() > 255  # car instances are 26000 + n


def test_read_rgb_image_normalises_modes(tmp_path: Path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)  # opaque; everything else fully transparent
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    result = read_rgb_image(tmp_path / "rgba.png")
    assert result.shape == (2, 3, 3) and result.dtype == np.uint8
    assert result[0, 0].tolist() == [10, 20, 30] and result[1, 2].tolist() == [255, 255, 255]

    Image.fromarray(np.array([[0, 65535]], np.uint16)).save(tmp_path / "grey16.png")
    assert read_rgb_image(tmp_path / "grey16.png").tolist() == [[[0, 0, 0], [255, 255, 255]]]

    palette = Image.fromarray(np.array([[0, 1]], np.uint8))
    palette.putpalette([200, 0, 0, 0, 0, 200])
    palette.save(tmp_path / "p.png")
    assert read_rgb_image(tmp_path / "p.png").tolist() == [[[200, 0, 0], [0, 0, 200]]]


def test_read_rgb_image_applies_exif_orientation(tmp_path: Path):
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert read_rgb_image(tmp_path / "rotated.jpg").shape == (40, 20, 3)


def test_read_rgb_image_errors_name_the_file(tmp_path: Path):
    corrupt = tmp_path / "photo.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 broken")
    for path in (corrupt, tmp_path / "gone.png"):
        with pytest.raises(InputImageError, match=path.name):
            read_rgb_image(path)


# --- JSON ------------------------------------------------------------------------------------------------


def test_dict_and_file_round_trip(label_set: LabelSet, tmp_path: Path):
    assert LabelSet.from_dict(label_set.to_dict()) == label_set
    path = tmp_path / f"{label_set.name}.json"
    save_label_set(label_set, path)
    assert load_label_set(path) == label_set
    assert get_label_set(str(path)) == label_set
    json.loads(path.read_text())  # plain JSON


def test_get_label_set_errors(tmp_path: Path):
    with pytest.raises(LabelSetError) as info:
        get_label_set("mapillary")
    assert "mapillary" in str(info.value) and all(name in str(info.value) for name in BUILTIN_NAMES)
    with pytest.raises(LabelSetError, match="missing.json"):
        get_label_set(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(LabelSetError, match="broken.json"):
        load_label_set(broken)


def test_invalid_definitions_are_rejected():
    data = get_label_set("facades").to_dict()
    duplicate = json.loads(json.dumps(data))
    duplicate["classes"][1]["color"] = duplicate["classes"][0]["color"]
    with pytest.raises(LabelSetError, match="colour #0000AA"):
        LabelSet.from_dict(duplicate)
    missing = json.loads(json.dumps(data))
    del missing["background_id"]
    with pytest.raises(LabelSetError, match="background_id"):
        LabelSet.from_dict(missing)
    wrong_group = json.loads(json.dumps(data))
    wrong_group["classes"][0]["group"] = "sky"
    with pytest.raises(LabelSetError, match="sky"):
        LabelSet.from_dict(wrong_group)
    with pytest.raises(LabelSetError):
        save_label_set({**data, "dontcare_id": 99}, "never-written.json")
    assert not Path("never-written.json").exists()


def test_classes_are_sorted_by_id():
    classes = (LabelClass(2, "b", (0, 0, 1), "g"), LabelClass(1, "a", "#000002", "g"))
    s = LabelSet("x", "X", classes, dontcare_id=None, background_id=1, groups=("g",))
    assert [c.id for c in s.classes] == [1, 2] and s.classes[0].color == (0, 0, 2)
