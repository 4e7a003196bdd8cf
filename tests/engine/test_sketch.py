"""The pix2pix runtime: official import end to end, inference modes, any-size input, clear errors."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.checkpoints import read_card, read_weights, save_model
from engine.device import pick_device
from engine.errors import CheckpointError, InferenceError, InputImageError
from engine.models.pix2pix import Pix2PixConfig, UnetGenerator
from engine.session import tensor_to_uint8
from engine.sketch import OFFICIAL_LICENSE, SketchModel, import_official_pix2pix
from tests.conftest import load_fixture
from tests.factories_pix2pix import make_tiny_pix2pix

CPU = pick_device("cpu")


def load(folder: Path, dtype: torch.dtype = torch.float32) -> SketchModel:
    return SketchModel.from_folder(folder, read_card(folder), CPU, dtype)


def assert_same_uint8(got: np.ndarray, expected: torch.Tensor) -> None:
    """Equal to the official float output converted to uint8, up to a level where the ~1e-7
    difference crosses an integer (truncation)."""
    reference = tensor_to_uint8(expected)
    difference = np.abs(got.astype(int) - reference.astype(int))
    assert difference.max() <= 1
    assert (difference == 0).mean() > 0.999


def sketch(size: tuple[int, int] = (50, 70), seed: int = 0) -> np.ndarray:
    """Black strokes on white, grey uint8."""
    rng = np.random.default_rng(seed)
    image = np.full(size, 255, np.uint8)
    for _ in range(8):
        y, x = rng.integers(0, size[0]), rng.integers(0, size[1])
        image[y : y + 2, max(0, x - 15) : x + 15] = 0
    return image


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Path, dict]:
    """The official small fixture written as a 2018-style release file, then imported."""
    io, weights, _ = load_fixture("pix2pix_small")
    root = tmp_path_factory.mktemp("release")
    checkpoint = root / "facades_label2photo_pretrained" / "latest_net_G.pth"
    checkpoint.parent.mkdir()
    torch.save({k: v for k, v in weights["G"].items() if not k.endswith("num_batches_tracked")}, checkpoint)
    return import_official_pix2pix(checkpoint, root / "model"), io


def test_import_writes_a_card_describing_the_release(imported):
    folder, _ = imported
    card = read_card(folder)
    assert card.kind == SketchModel.kind == "pix2pix"
    assert card.name == "pix2pix-facades_label2photo-official"
    assert card.label_set is None
    assert card.native_size == (256, 256)
    assert card.trained_on == "CMP Facades"
    assert "facade label" in card.description
    assert card.license == OFFICIAL_LICENSE
    assert Pix2PixConfig.from_dict(card.architecture) == Pix2PixConfig(ngf=4, num_downs=8)


def test_imported_model_reproduces_the_official_outputs(imported):
    folder, io = imported
    model = load(folder)
    assert model.default_mode == "official"
    image = io["input_u8"].numpy()
    assert_same_uint8(model.translate(image, mode="deterministic"), io["out_eval"])
    assert_same_uint8(model.translate(image, mode="official", seed=1234), io["out_train_dropout_seed1234"])
    assert_same_uint8(model.translate(image, seed=1234), io["out_train_dropout_seed1234"])  # card default


def test_import_names_the_release_from_the_note_and_name_arguments(tmp_path):
    generator = UnetGenerator(Pix2PixConfig(ngf=1, num_downs=5))
    torch.save(generator.state_dict(), tmp_path / "latest_net_G.pth")
    folder = import_official_pix2pix(
        tmp_path / "latest_net_G.pth", tmp_path / "m", name="mine", direction_note="input: edges"
    )
    card = read_card(folder)
    assert (card.name, card.trained_on, card.native_size) == ("mine", "", (32, 32))
    assert "input: edges" in card.description


def test_import_refuses_files_that_are_not_unet_generators(tmp_path):
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "spade.pth")
    with pytest.raises(CheckpointError, match="spade.pth is not a pix2pix U-Net generator"):
        import_official_pix2pix(tmp_path / "spade.pth", tmp_path / "out")
    state = UnetGenerator(Pix2PixConfig(ngf=1, num_downs=6)).state_dict()
    state["model.model.1.model.2.weight"] = torch.zeros(5)
    torch.save(state, tmp_path / "damaged.pth")
    with pytest.raises(CheckpointError, match=r"'model\.model\.1\.model\.2\.weight' has shape \(5,\)"):
        import_official_pix2pix(tmp_path / "damaged.pth", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_any_size_grey_or_rgb_comes_back_at_its_size(tmp_path):
    model = load(make_tiny_pix2pix(tmp_path / "m", num_downs=6))
    grey = sketch((50, 70))
    out = model.translate(grey, mode="deterministic")
    assert out.shape == (50, 70, 3) and out.dtype == np.uint8
    rgb = np.repeat(grey[..., None], 3, axis=2)
    assert np.array_equal(model.translate(rgb, mode="deterministic"), out)
    assert model.translate(np.zeros((37, 41, 3), np.uint8), mode="deterministic").shape == (37, 41, 3)
    assert out.std() > 0  # not a constant image


def test_input_is_resized_bicubically_to_the_native_size(tmp_path):
    model = load(make_tiny_pix2pix(tmp_path / "m", num_downs=5, native_size=(32, 64)))
    grey = sketch((96, 160))
    small = np.asarray(Image.fromarray(grey).resize((64, 32), Image.BICUBIC))
    expected = np.asarray(
        Image.fromarray(model.translate(small, mode="deterministic")).resize((160, 96), Image.BICUBIC)
    )
    assert np.array_equal(model.translate(grey, mode="deterministic"), expected)


def test_a_traced_photo_is_drawn_as_the_models_training_sketches_at_its_scale(tmp_path):
    from engine.edges import SketchStyle

    sketches = {"format": "edges", "edges": "canny", "edge_width": 2, "min_line": 8}
    model = load(make_tiny_pix2pix(tmp_path / "m", num_downs=6, training={"sketches": sketches}))
    assert model.trace_style == SketchStyle("canny", 2, 8)
    photo = np.zeros((120, 180, 3), np.uint8)
    photo[30:90, 45:135] = (200, 180, 40)  # a bright box on black: four straight edges
    lines = model.trace(photo)
    assert lines.shape == (43, 64) and set(np.unique(lines)) <= {0, 255}  # long side at native 64
    small = np.asarray(Image.fromarray(photo).resize((64, 43), Image.LANCZOS))
    assert np.array_equal(lines, SketchStyle("canny", 2, 8)(small))
    assert (lines[10:12, 20:44] == 0).all(axis=1).any()  # the box's top edge, 2 px wide
    assert (lines[20, 20:44] == 255).all() and (lines[2] == 255).all()  # inside and outside: paper
    plain = load(make_tiny_pix2pix(tmp_path / "official", num_downs=6))  # no record: thin Canny lines
    assert plain.trace_style == SketchStyle("canny", 1, 16)


def test_grey_models_take_the_luma_of_rgb_and_grey_outputs_become_rgb(tmp_path):
    model = load(make_tiny_pix2pix(tmp_path / "m", input_nc=1, output_nc=1))
    rgb = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    luma = np.asarray(Image.fromarray(rgb).convert("L"))
    out = model.translate(rgb, mode="deterministic")
    assert np.array_equal(out, model.translate(luma, mode="deterministic"))
    assert np.array_equal(out[..., 0], out[..., 2]) and out.std() > 0


def test_modes_seeds_and_running_stats(tmp_path):
    model = load(make_tiny_pix2pix(tmp_path / "m", num_downs=6))  # one dropout level
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    image = sketch((64, 64))
    deterministic = model.translate(image, mode="deterministic")
    assert np.array_equal(model.translate(image, mode="deterministic", seed=5), deterministic)
    official = model.translate(image, mode="official", seed=5)
    assert np.array_equal(model.translate(image, mode="official", seed=5), official)
    assert not np.array_equal(model.translate(image, mode="official", seed=6), official)
    assert not np.array_equal(
        model.translate(image, mode="official"), model.translate(image, mode="official")
    )
    assert not np.array_equal(official, deterministic)
    model.warm_up()
    after = model.generator.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())  # batch statistics stay functional


def test_the_card_chooses_the_default_mode(tmp_path):
    model = load(make_tiny_pix2pix(tmp_path / "m", default_mode="deterministic"))
    image = sketch((32, 32))
    assert model.default_mode == "deterministic"
    assert np.array_equal(model.translate(image), model.translate(image, mode="deterministic"))
    assert not np.array_equal(model.translate(image), model.translate(image, mode="official", seed=0))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((32, 32), np.float32), "must be uint8, got float32"),
        (np.zeros((32, 32, 4), np.uint8), r"got shape \(32, 32, 4\)"),
        (np.zeros((0, 0), np.uint8), r"non-empty .* got shape \(0, 0\)"),
        (np.zeros(32, np.uint8), r"got shape \(32,\)"),
    ],
)
def test_bad_images_are_refused_in_one_sentence(tmp_path, image, message):
    model = load(make_tiny_pix2pix(tmp_path / "m"))
    with pytest.raises(InputImageError, match=message):
        model.translate(image)


def test_unknown_mode_is_refused(tmp_path):
    model = load(make_tiny_pix2pix(tmp_path / "m"))
    with pytest.raises(InferenceError, match="unknown pix2pix mode 'eval'"):
        model.translate(sketch((32, 32)), mode="eval")


def test_folders_that_do_not_fit_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="native size 32x40, .* multiples of 32"):
        load(make_tiny_pix2pix(tmp_path / "odd", native_size=(40, 32)))
    folder = make_tiny_pix2pix(tmp_path / "m")
    card = read_card(folder)
    card.architecture = {"label_nc": 12}
    save_model(tmp_path / "spade", card, {"G": {}})
    with pytest.raises(CheckpointError, match="is not a pix2pix config"):
        load(tmp_path / "spade")
    wider = replace(card, architecture=Pix2PixConfig(ngf=3, num_downs=5).to_dict())
    save_model(tmp_path / "wider", wider, read_weights(folder))
    with pytest.raises(CheckpointError, match="wider/G does not fit this network"):
        load(tmp_path / "wider")


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="bf16 on the CPU needs oneDNN")
def test_bf16_stays_close_to_fp32(tmp_path):
    folder = make_tiny_pix2pix(tmp_path / "m", num_downs=6)
    image = sketch((64, 64))
    for mode in ("deterministic", "official"):
        reference = load(folder).translate(image, mode=mode, seed=3).astype(float)
        low = load(folder, torch.bfloat16).translate(image, mode=mode, seed=3).astype(float)
        assert np.abs(low - reference).mean() < 3
