import dataclasses
import io
import json
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from app import project as project_module
from app.project import (
    FORMAT_VERSION,
    Project,
    ProjectError,
    discard_recovery,
    list_recoveries,
    load_project,
    recovery_dir,
    recovery_path,
    save_project,
    write_recovery,
)
from engine.labels import LabelClass, LabelSet, get_label_set


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No test may touch the real user data folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("SYNTHPAINT_HOME", str(home))
    return home


def random_labels(label_set: LabelSet, shape=(37, 53), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(label_set.ids, size=shape).astype(np.int32)


def make_project(name="facades", **kwargs) -> Project:
    label_set = get_label_set(name)
    return Project(label_set=label_set, labels=random_labels(label_set), **kwargs)


def rewrite_zip(path, replace: dict[str, bytes | None]) -> None:
    """Rebuild a saved project with some members replaced (bytes) or removed (None)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for name, data in replace.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def edit_json(path, **changes) -> None:
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("project.json"))
    meta.update(changes)
    rewrite_zip(path, {"project.json": json.dumps(meta).encode()})


# --- round trip ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["facades", "coco"])
def test_round_trip_is_exact(tmp_path, name):
    label_set = get_label_set(name)
    labels = random_labels(label_set, seed=1)
    if name == "coco":
        labels[0, 0] = 255  # the don't-care id must survive the 16-bit PNG
    rng = np.random.default_rng(2)
    instances = rng.integers(0, 5_000_000, size=labels.shape, dtype=np.int64)
    instances[0, :3] = [65535, 65536, project_module.MAX_INSTANCE_ID]
    original = Project(
        label_set=label_set,
        labels=labels,
        instances=instances,
        model="spade_coco",
        style="/photos/beach.jpg",
        seed=1234,
        extras={"future_key": {"nested": [1, 2, 3]}, "note": "kept"},
    )
    path = tmp_path / f"painting{project_module.PROJECT_SUFFIX}"
    save_project(path, original)
    loaded = load_project(path)

    assert loaded.labels.dtype == np.int32
    np.testing.assert_array_equal(loaded.labels, labels)
    assert loaded.instances is not None
    np.testing.assert_array_equal(loaded.instances, instances)
    assert (loaded.model, loaded.style, loaded.seed) == ("spade_coco", "/photos/beach.jpg", 1234)
    assert loaded.extras == {"future_key": {"nested": [1, 2, 3]}, "note": "kept"}
    assert loaded.label_set.to_dict() == label_set.to_dict()
    assert loaded.label_set.ids.tolist() == label_set.ids.tolist()
    assert [c.color for c in loaded.label_set.classes] == [c.color for c in label_set.classes]


def test_mode_layers_and_states_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(3)
    sketch = rng.integers(0, 256, (40, 30), dtype=np.uint8)
    photo = rng.integers(0, 256, (21, 55, 3), dtype=np.uint8)
    hints = {"hints": [{"x": 3.5, "y": 9, "color": "#aa3300", "size": 5}]}
    project = dataclasses.replace(
        make_project(), layers={"sketch": sketch, "colorize_photo": photo}, modes={"colorize": hints}
    )
    path = tmp_path / "modes.synthpaint"
    save_project(path, project)
    loaded = load_project(path)
    assert set(loaded.layers) == {"sketch", "colorize_photo"}
    np.testing.assert_array_equal(loaded.layers["sketch"], sketch)
    np.testing.assert_array_equal(loaded.layers["colorize_photo"], photo)
    assert loaded.modes == {"colorize": hints}
    with pytest.raises(ValueError, match="layer names"):
        save_project(path, dataclasses.replace(project, layers={"../evil": sketch}))


def test_saved_zip_has_the_documented_members(tmp_path):
    project = make_project(instances=np.zeros((37, 53), dtype=np.int32))
    path = tmp_path / "a.synthpaint"
    save_project(path, project)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "instances.png",
            "labels.png",
            "labels_color.png",
            "project.json",
        ]
        meta = json.loads(archive.read("project.json"))
        labels_png = Image.open(io.BytesIO(archive.read("labels.png")))
        color_png = Image.open(io.BytesIO(archive.read("labels_color.png")))
        color = np.asarray(color_png.convert("RGB"))
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["canvas_size"] == [37, 53]
    assert meta["label_set"]["name"] == "facades"
    assert labels_png.mode.startswith("I;16")
    np.testing.assert_array_equal(color, project.label_set.to_colors(project.labels))


def test_optional_fields_round_trip_as_none(tmp_path):
    path = tmp_path / "a.synthpaint"
    save_project(path, make_project())
    loaded = load_project(path)
    assert loaded.instances is None
    assert (loaded.model, loaded.style, loaded.seed, loaded.extras) == (None, None, None, {})
    with zipfile.ZipFile(path) as archive:
        assert "instances.png" not in archive.namelist()


def test_custom_label_set_travels_with_the_project(tmp_path):
    custom = LabelSet(
        name="mine",
        title="Mine",
        classes=(
            LabelClass(0, "ground", (10, 20, 30), "stuff"),
            LabelClass(40000, "tower", (200, 100, 0), "things", has_instances=True),
        ),
        dontcare_id=None,
        background_id=0,
        groups=("stuff", "things"),
    )
    labels = np.array([[0, 40000], [40000, 0]], dtype=np.int32)
    path = tmp_path / "custom.synthpaint"
    save_project(path, Project(label_set=custom, labels=labels))
    loaded = load_project(path)
    assert loaded.label_set == custom
    np.testing.assert_array_equal(loaded.labels, labels)


def test_saving_refuses_ids_outside_the_label_set(tmp_path):
    project = make_project()
    project.labels[3, 4] = 99
    path = tmp_path / "bad.synthpaint"
    with pytest.raises(ProjectError, match="label id 99 at pixel \\(x=4, y=3\\)"):
        save_project(path, project)
    assert not path.exists()


def test_saving_refuses_instance_ids_that_do_not_fit(tmp_path):
    project = make_project(instances=np.full((37, 53), 1 << 24, dtype=np.int64))
    with pytest.raises(ProjectError, match="instance ids must lie in"):
        save_project(tmp_path / "a.synthpaint", project)


def test_extras_may_not_shadow_reserved_keys(tmp_path):
    with pytest.raises(ValueError, match="seed"):
        save_project(tmp_path / "a.synthpaint", make_project(extras={"seed": 5}))


# --- atomic save -----------------------------------------------------------------------------------------


def test_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "projects" / "a.synthpaint"
    path.parent.mkdir()
    old = make_project(seed=1)
    save_project(path, old)
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    # fsync runs after the payload is written to the temporary file and before it replaces the project
    monkeypatch.setattr(os, "fsync", disk_full)
    new = make_project(seed=2)
    new.labels[:] = new.label_set.background_id
    with pytest.raises(ProjectError, match="a.synthpaint"):
        save_project(path, new)
    monkeypatch.undo()

    assert path.read_bytes() == before
    loaded = load_project(path)
    assert loaded.seed == 1
    np.testing.assert_array_equal(loaded.labels, old.labels)
    assert os.listdir(path.parent) == ["a.synthpaint"]  # the temporary file was removed


# --- damaged files ---------------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "work.synthpaint"
    save_project(path, make_project(instances=np.arange(37 * 53).reshape(37, 53)))
    return path


def test_random_bytes_are_not_a_project(tmp_path):
    path = tmp_path / "noise.synthpaint"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ProjectError, match="noise.synthpaint.*not a synthpaint project"):
        load_project(path)


def test_truncated_zip(saved):
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(ProjectError, match="work.synthpaint"):
        load_project(saved)


def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="nothing.synthpaint does not exist"):
        load_project(tmp_path / "nothing.synthpaint")


@pytest.mark.parametrize("member", ["project.json", "labels.png"])
def test_missing_member(saved, member):
    rewrite_zip(saved, {member: None})
    with pytest.raises(ProjectError, match=f"work.synthpaint has no {member}"):
        load_project(saved)


def test_bad_json(saved):
    rewrite_zip(saved, {"project.json": b"{not json"})
    with pytest.raises(
        ProjectError, match="project.json in the project file .*work.synthpaint is not valid JSON"
    ):
        load_project(saved)


def test_newer_format_version(saved):
    edit_json(saved, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ProjectError, match="work.synthpaint was saved by a newer synthpaint"):
        load_project(saved)


def test_canvas_size_mismatch(saved):
    edit_json(saved, canvas_size=[40, 53])
    with pytest.raises(ProjectError, match="labels.png in the project file .*work.synthpaint is 53x37"):
        load_project(saved)


def test_instance_map_size_mismatch(saved):
    small = io.BytesIO()
    Image.new("RGB", (10, 10)).save(small, format="PNG")
    rewrite_zip(saved, {"instances.png": small.getvalue()})
    with pytest.raises(ProjectError, match="instances.png in the project file .*work.synthpaint is 10x10"):
        load_project(saved)


def test_ids_outside_the_label_set(saved):
    labels = np.ones((37, 53), dtype=np.uint16)
    labels[5, 7] = 200
    png = io.BytesIO()
    Image.fromarray(labels).save(png, format="PNG")
    rewrite_zip(saved, {"labels.png": png.getvalue()})
    with pytest.raises(ProjectError, match="label id 200 at pixel \\(x=7, y=5\\) of .*work.synthpaint"):
        load_project(saved)


def test_unreadable_png(saved):
    rewrite_zip(saved, {"labels.png": b"\x89PNG\r\n\x1a\n garbage"})
    with pytest.raises(ProjectError, match="labels.png in the project file .*work.synthpaint"):
        load_project(saved)


def test_oversized_canvas_is_refused_before_decoding(saved):
    edit_json(saved, canvas_size=[20000, 53])
    with pytest.raises(ProjectError, match="work.synthpaint has a 53x20000 canvas"):
        load_project(saved)


def test_member_that_would_unpack_to_gigabytes_is_refused(saved, monkeypatch):
    monkeypatch.setattr(project_module, "MAX_MEMBER_BYTES", 100)
    with pytest.raises(ProjectError, match="project.json in the project file .*work.synthpaint would unpack"):
        load_project(saved)


# --- crash recovery --------------------------------------------------------------------------------------


def test_recovery_round_trip(tmp_path, isolated_home):
    project = make_project(seed=7, extras={"note": "x"})
    original = tmp_path / "work.synthpaint"
    assert list_recoveries() == []

    path = write_recovery(project, original, "s1")
    assert path.parent == recovery_dir() == isolated_home / "recovery"
    assert [p for p, _ in list_recoveries()] == [path]

    restored = load_project(path)
    np.testing.assert_array_equal(restored.labels, project.labels)
    assert restored.seed == 7
    assert restored.extras == {"note": "x", "recovered_from": str(original.resolve())}
    assert project.extras == {"note": "x"}  # the caller's project is not changed

    discard_recovery(path)
    assert list_recoveries() == []
    discard_recovery(path)  # a second discard is harmless


def test_untitled_recovery_records_no_origin():
    path = write_recovery(make_project(), None, "abc123")
    assert path.name == "untitled-abc123.synthpaint"
    assert load_project(path).extras == {"recovered_from": None}


def test_recovery_names_are_stable_per_project(tmp_path):
    a, b = tmp_path / "one" / "work.synthpaint", tmp_path / "two" / "work.synthpaint"
    assert recovery_path(a, "s1") == recovery_path(a, "s2")
    assert recovery_path(a, "s1") != recovery_path(b, "s1")
    assert recovery_path(a, "s1").name.startswith("work-")
    assert recovery_path(None, "s1") != recovery_path(None, "s2")


def test_unsafe_session_id_is_refused():
    with pytest.raises(ValueError, match="session id"):
        recovery_path(None, "../escape")


def test_recoveries_are_listed_newest_first(tmp_path):
    older = write_recovery(make_project(), tmp_path / "old.synthpaint", "s")
    newer = write_recovery(make_project(), tmp_path / "new.synthpaint", "s")
    os.utime(older, (1_000_000, 1_000_000))
    os.utime(newer, (2_000_000, 2_000_000))
    assert list_recoveries() == [(newer, 2_000_000.0), (older, 1_000_000.0)]
