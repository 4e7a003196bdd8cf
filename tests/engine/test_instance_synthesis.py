"""The pix2pixHD runtime: canvas handling, feature codes and bank, encoder, safe import of official files."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.checkpoints import read_card, read_weights
from engine.errors import CheckpointError, InferenceError, InputImageError, LabelRangeError
from engine.instance_synthesis import (
    InstanceSynthesisModel,
    import_official_pix2pixhd,
    instance_class,
    read_official_features,
)
from engine.labels import LabelClass, LabelSet
from engine.session import tensor_to_uint8
from tests.conftest import load_fixture
from tests.factories_pix2pixhd import TINY_NATIVE_SIZE, make_tiny_pix2pixhd, tiny_bank

ROAD, BUILDING, SKY, PERSON, CAR = 7, 11, 23, 24, 26


def load(folder: Path) -> InstanceSynthesisModel:
    return InstanceSynthesisModel.from_folder(folder, read_card(folder), torch.device("cpu"), torch.float32)


@pytest.fixture(scope="module")
def feat_model(tmp_path_factory):
    return load(make_tiny_pix2pixhd(tmp_path_factory.mktemp("feat")))


@pytest.fixture(scope="module")
def plain_model(tmp_path_factory):
    return load(make_tiny_pix2pixhd(tmp_path_factory.mktemp("plain"), local=False, feat_num=0))


def street(h: int = 32, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Sky over buildings over road, two cars and a person; instance ids by the official convention."""
    labels = np.full((h, w), BUILDING, np.int32)
    labels[: h // 4] = SKY
    labels[h // 2 :] = ROAD
    instances = labels.astype(np.int64)
    for k, (x0, x1) in enumerate([(4, 20), (30, 46)]):
        labels[h // 2 : 3 * h // 4, x0:x1] = CAR
        instances[h // 2 : 3 * h // 4, x0:x1] = CAR * 1000 + k
    labels[h // 4 : 3 * h // 4, 52:58] = PERSON
    instances[h // 4 : 3 * h // 4, 52:58] = PERSON * 1000
    return labels, instances


@pytest.mark.parametrize("size", [TINY_NATIVE_SIZE, (37, 101), (90, 40), (1, 1)])
def test_output_has_the_painted_size(feat_model, plain_model, size):
    labels = np.full(size, ROAD, np.int32)
    for model in (feat_model, plain_model):
        photo = model.synthesize(labels)
        assert photo.shape == (*size, 3) and photo.dtype == np.uint8


def test_official_instance_ids_give_their_class():
    assert [instance_class(i) for i in (0, 23, 999, 1000, 26001, 33999)] == [0, 23, 999, 1, 26, 33]


def test_bank_picks_depend_only_on_seed_and_instance(feat_model):
    labels, instances = street()
    ids = np.unique(instances).tolist()
    picks = {seed: feat_model.instance_features(ids, seed=seed) for seed in range(6)}
    for seed, codes in picks.items():
        alone = feat_model.instance_features([CAR * 1000 + 1], seed=seed)[CAR * 1000 + 1]
        assert np.array_equal(alone, codes[CAR * 1000 + 1])
        assert any(np.array_equal(codes[PERSON * 1000], row) for row in feat_model.feature_choices(PERSON))
        assert np.array_equal(codes[ROAD], feat_model.feature_choices(ROAD)[0])
        assert not codes[BUILDING].any() and not codes[SKY].any()  # no bank entries: zeros
    assert len({picks[s][PERSON * 1000].tobytes() for s in picks}) > 1  # the seed does choose
    no_seed = feat_model.instance_features(ids)  # seed None is seed 0: repeated calls agree
    assert all(np.array_equal(no_seed[i], picks[0][i]) for i in ids)


def test_seed_and_chosen_codes_change_the_photo_deterministically(feat_model):
    labels, instances = street()
    default = feat_model.synthesize(labels, instances)
    assert np.array_equal(default, feat_model.synthesize(labels, instances, seed=0))
    seeds = [
        s
        for s in range(1, 20)
        if not np.array_equal(
            feat_model.instance_features([PERSON * 1000], seed=s)[PERSON * 1000],
            feat_model.instance_features([PERSON * 1000], seed=0)[PERSON * 1000],
        )
    ]
    assert not np.array_equal(default, feat_model.synthesize(labels, instances, seed=seeds[0]))
    assert np.array_equal(
        feat_model.synthesize(labels, instances, seed=seeds[0]),
        feat_model.synthesize(labels, instances, seed=seeds[0]),
    )
    # explicit zero codes for bank-less classes are what they get anyway
    zeros = np.zeros(3, np.float32)
    assert np.array_equal(
        default, feat_model.synthesize(labels, instances, features={BUILDING: zeros, SKY: zeros})
    )
    chosen = feat_model.synthesize(labels, instances, features={CAR * 1000: np.array([1.0, -1.0, 1.0])})
    change = np.abs(chosen.astype(int) - default.astype(int)).sum(axis=2)
    car = instances == CAR * 1000
    assert change[car].mean() > 1.5 * change[~car].mean() > 0  # strongest where the code is painted


def test_without_instances_each_class_region_is_one_instance(feat_model):
    labels, _ = street()
    assert np.array_equal(
        feat_model.synthesize(labels), feat_model.synthesize(labels, labels.astype(np.int64))
    )


def test_bad_inputs_are_reported(feat_model, plain_model):
    labels, instances = street()
    with pytest.raises(InputImageError, match="instance map"):
        feat_model.synthesize(labels, instances[:, :-1])
    with pytest.raises(InputImageError, match="non-negative"):
        feat_model.synthesize(labels, -instances)
    with pytest.raises(LabelRangeError):
        feat_model.synthesize(np.full((8, 8), 99, np.int32))
    with pytest.raises(InferenceError, match="instance 26000 must be 3 finite numbers"):
        feat_model.synthesize(labels, instances, features={CAR * 1000: np.zeros(4)})
    with pytest.raises(InferenceError, match="takes no instance feature codes"):
        plain_model.synthesize(labels, instances, features={CAR * 1000: np.zeros(3)})
    with pytest.raises(InferenceError, match="no feature encoder"):
        plain_model.encode_features(np.zeros((*labels.shape, 3), np.uint8), instances)


def test_encoded_features_are_the_instance_means_of_the_encoder_output(feat_model):
    labels, instances = street()
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (*labels.shape, 3), dtype=np.uint8)
    codes = feat_model.encode_features(photo, instances)
    assert sorted(codes) == np.unique(instances).tolist()
    image = (torch.from_numpy(photo).float() / 255 - 0.5) / 0.5
    with torch.inference_mode():
        pooled = feat_model.encoder(image.permute(2, 0, 1)[None], torch.from_numpy(instances)[None])[0]
    for instance_id, code in codes.items():
        row, col = np.argwhere(instances == instance_id)[0]
        np.testing.assert_allclose(code, pooled[:, row, col].numpy(), atol=1e-6)
    photo_a = feat_model.synthesize(labels, instances, features=codes)
    assert photo_a.shape == photo.shape and not np.array_equal(
        photo_a, feat_model.synthesize(labels, instances)
    )
    # another canvas size: the photo is resized to the working resolution, the codes keep their ids
    big = np.kron(instances, np.ones((3, 3), np.int64))
    assert sorted(feat_model.encode_features(np.kron(photo, np.ones((3, 3, 1), np.uint8)), big)) == sorted(
        codes
    )


def test_feature_bank_round_trips_through_the_model_folder(tmp_path):
    bank = tiny_bank(seed=5)
    model = load(make_tiny_pix2pixhd(tmp_path, bank=bank))
    assert read_weights(tmp_path)["bank"].keys() == {str(c) for c in bank}
    assert model.feature_bank.keys() == bank.keys()
    for class_id, codes in bank.items():
        assert np.array_equal(model.feature_choices(class_id), codes)
    assert model.feature_choices(BUILDING).shape == (0, 3)


def test_warm_up_runs_for_every_variant(feat_model, plain_model):
    for model in (feat_model, plain_model):
        model.warm_up()
        assert model.resolution == min(TINY_NATIVE_SIZE)


# --- the official feature file ----------------------------------------------------------------------------


def write_npy(path: Path, obj: object, protocol: int) -> Path:
    """An .npy holding a pickled object, as np.save writes a dict (Python 2 wrote protocol 2)."""
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "|O", "fortran_order": False, "shape": ()})
        holder = np.empty((), dtype=object)
        holder[()] = obj
        pickle.dump(holder, handle, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_official_feature_file_loads_without_running_code(tmp_path, protocol):
    centres = {7: np.arange(6, dtype=np.float32).reshape(2, 3), 26: np.ones((1, 3)), 33: np.zeros((0, 3))}
    bank = read_official_features(write_npy(tmp_path / "f.npy", centres, protocol))
    assert bank.keys() == {7, 26}  # a class with no clusters has no entry
    assert np.array_equal(bank[7], centres[7]) and bank[26].dtype == np.float32
    np.save(tmp_path / "saved.npy", np.array(centres, dtype=object), allow_pickle=True)
    assert read_official_features(tmp_path / "saved.npy").keys() == {7, 26}


class Payload:
    """Unpickling this would create a folder: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.mkdir, (str(self.marker),)


def test_official_feature_file_with_code_or_wrong_content_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = write_npy(tmp_path / "evil.npy", {7: Payload(marker)}, 4)
    with pytest.raises(CheckpointError, match="refused to load evil.npy: .*mkdir"):
        read_official_features(evil)
    assert not marker.exists()
    np.save(tmp_path / "plain.npy", np.zeros((3, 3)))
    with pytest.raises(CheckpointError, match="plain float64 array"):
        read_official_features(tmp_path / "plain.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(CheckpointError, match="junk.npy is not a .npy file"):
        read_official_features(tmp_path / "junk.npy")
    with pytest.raises(CheckpointError, match="not a class id"):
        read_official_features(write_npy(tmp_path / "keys.npy", {"car": np.ones((1, 3))}, 4))


# --- import of official checkpoints (fixture weights) ------------------------------------------------------


def six_classes() -> LabelSet:
    """The fixtures' labels: ids 0..5, no don't-care."""
    classes = [LabelClass(i, f"class {i}", (40 * i, 255 - 40 * i, 7 * i), "all") for i in range(6)]
    return LabelSet("six", "Six classes", tuple(classes), None, 0, ("all",))


def import_fixture(name: str, tmp_path: Path, features: bool = False) -> tuple[Path, dict]:
    io, weights, _ = load_fixture(name)
    torch.save(weights["G"], tmp_path / "latest_net_G.pth")
    encoder = npy = None
    if features:
        torch.save(weights["E"], encoder := tmp_path / "latest_net_E.pth")
        given = dict(
            zip(io["given_class_ids"].tolist(), io["given_class_features"].numpy()[:, None], strict=True)
        )
        npy = write_npy(tmp_path / "features_clustered_010.npy", given, 2)
    folder = import_official_pix2pixhd(
        tmp_path / "latest_net_G.pth", tmp_path / "model", encoder, npy, label_set=six_classes()
    )
    return folder, io


def assert_same_photo(photo: np.ndarray, expected: torch.Tensor) -> None:
    """Within 1e-4 of the official [-1, 1] output; truncation to uint8 may then differ by one level."""
    diff = np.abs(photo.astype(int) - tensor_to_uint8(expected).astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99


@pytest.mark.parametrize("name", ["pix2pixhd_small_global", "pix2pixhd_small_local"])
def test_imported_official_generator_reproduces_the_official_output(tmp_path, name):
    folder, io = import_fixture(name, tmp_path)
    card = read_card(folder)
    assert card.kind == InstanceSynthesisModel.kind == "pix2pixhd"
    assert card.label_set["name"] == "six" and "BSD" in card.license
    model = load(folder)
    model.resolution = 64  # the fixture's size: no resizing
    labels, instances = io["label_u8"][0, 0].numpy().astype(np.int32), io["instance_i32"][0, 0].numpy()
    assert_same_photo(model.synthesize(labels, instances.astype(np.int64)), io["G_out"])


def test_imported_feature_model_reproduces_official_bank_and_encoder_outputs(tmp_path):
    folder, io = import_fixture("pix2pixhd_small_local_feat", tmp_path, features=True)
    model = load(folder)
    model.resolution = 64
    assert model.has_feature_encoder and model.feat_num == 3
    for class_id, code in zip(io["given_class_ids"].tolist(), io["given_class_features"], strict=True):
        assert np.array_equal(model.feature_choices(class_id), code.numpy()[None])
    labels = io["label_u8"][0, 0].numpy().astype(np.int32)
    instances = io["instance_i32"][0, 0].numpy().astype(np.int64)
    assert_same_photo(model.synthesize(labels, instances, seed=123), io["G_out_given"])
    codes = model.encode_features(io["real_u8"].numpy(), instances)
    for instance_id, code in codes.items():
        y, x = np.argwhere(instances == instance_id)[0]
        np.testing.assert_allclose(code, io["E_feat"][0, :, y, x].numpy(), atol=1e-4)
    assert_same_photo(model.synthesize(labels, instances, features=codes), io["G_out_encoded"])


def test_import_names_what_does_not_fit(tmp_path):
    _, weights, _ = load_fixture("pix2pixhd_small_local_feat")
    torch.save(weights["G"], tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match="pass its feature encoder or its features_clustered_010.npy"):
        import_official_pix2pixhd(tmp_path / "g.pth", tmp_path / "m", label_set=six_classes())
    with pytest.raises(CheckpointError, match="g.pth takes 10 input channels, which is not 35 labels"):
        import_official_pix2pixhd(
            tmp_path / "g.pth",
            tmp_path / "m",
            features_npy=write_npy(tmp_path / "f.npy", {26: np.ones((2, 3))}, 4),
        )
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "spade.pth")
    with pytest.raises(CheckpointError, match="spade.pth is not a pix2pixHD generator"):
        import_official_pix2pixhd(tmp_path / "spade.pth", tmp_path / "m")
    with pytest.raises(CheckpointError, match="class 26, which is not in the 'six' label set"):
        import_official_pix2pixhd(
            tmp_path / "g.pth", tmp_path / "m", features_npy=tmp_path / "f.npy", label_set=six_classes()
        )
    assert not (tmp_path / "m").exists()
