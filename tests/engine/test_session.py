import json

import numpy as np
import pytest
import torch

from engine import load_model
from engine.checkpoints import ModelCard, save_model
from engine.errors import CheckpointError, InferenceError, LabelRangeError
from engine.labels import get_label_set
from engine.models.semantics import SemanticMap
from engine.models.spade import SPADEConfig, SPADEGenerator
from engine.session import tensor_to_uint8
from engine.style_transfer import lab_statistics
from tests.factories import make_tiny_spade


@pytest.fixture(scope="module")
def facades_model(tmp_path_factory):
    return load_model(make_tiny_spade(tmp_path_factory.mktemp("m"), "facades", instances=True), device="cpu")


@pytest.fixture(scope="module")
def vae_model(tmp_path_factory):
    return load_model(make_tiny_spade(tmp_path_factory.mktemp("v"), "facades", use_vae=True), device="cpu")


def facade_map(h: int, w: int) -> np.ndarray:
    labels = np.full((h, w), 2, np.int32)
    labels[: h // 4] = 1
    labels[h // 2 : h // 2 + h // 8, w // 4 : w // 2] = 3
    return labels


@pytest.mark.parametrize("size", [(64, 64), (37, 101), (200, 90), (1, 1)])
def test_output_has_the_painted_size(facades_model, size):
    photo = facades_model.synthesize(facade_map(*size))
    assert photo.shape == (*size, 3) and photo.dtype == np.uint8


def test_output_depends_on_the_labels_and_is_deterministic(facades_model):
    a = facade_map(64, 64)
    b = a.copy()
    b[40:60, 40:60] = 12
    out_a = facades_model.synthesize(a)
    out_b = facades_model.synthesize(b)
    assert np.array_equal(out_a, facades_model.synthesize(a))
    changed = np.abs(out_a.astype(int) - out_b.astype(int)).sum(axis=2) > 0
    assert changed[40:60, 40:60].mean() > 0.9
    assert changed[:20, :20].mean() < 0.5


def test_instance_boundaries_reach_the_model_and_default_to_class_boundaries(facades_model):
    labels = facade_map(64, 64)
    default = facades_model.synthesize(labels)
    assert np.array_equal(default, facades_model.synthesize(labels, instances=labels * 1000 + 7))
    split = labels * 1000
    split[:, 32:] += 1  # the same classes, but every region cut into two instances
    assert not np.array_equal(default, facades_model.synthesize(labels, instances=split))


def test_label_outside_the_set_is_a_clear_error(facades_model):
    labels = facade_map(32, 32)
    labels[5, 7] = 99
    with pytest.raises(LabelRangeError, match=r"99 at pixel \(x=7, y=5\)"):
        facades_model.synthesize(labels)


def test_style_image_without_encoder_moves_colours_towards_the_style(facades_model):
    labels = facade_map(64, 64)
    plain = facades_model.synthesize(labels)
    style = np.zeros((50, 50, 3), np.uint8)
    style[..., 0] = 220
    style[..., 2] = 30
    styled = facades_model.synthesize(labels, style=style)
    assert facades_model.style_fallback and "Lab" in facades_model.style_fallback
    target = lab_statistics(style)[0]
    assert np.abs(lab_statistics(styled)[0] - target).sum() < np.abs(lab_statistics(plain)[0] - target).sum()
    code = facades_model.encode_style(style)
    assert code.shape == (6,) and facades_model.style_size == 6
    assert np.array_equal(facades_model.synthesize(labels, style=code), styled)
    blue = np.zeros_like(style)
    blue[..., 2] = 200
    halfway = facades_model.synthesize(labels, style=(code + facades_model.encode_style(blue)) / 2)
    assert not np.array_equal(halfway, styled)
    with pytest.raises(InferenceError, match="6 values"):
        facades_model.synthesize(labels, style=np.zeros(256, np.float32))


def test_vae_styles_seeds_and_vectors(vae_model):
    labels = facade_map(96, 128)
    assert vae_model.has_style_encoder and vae_model.style_fallback is None
    a, a2, b = (vae_model.synthesize(labels, seed=s) for s in (1, 1, 2))
    assert a.shape == (96, 128, 3)
    assert np.array_equal(a, a2) and not np.array_equal(a, b)
    rng = np.random.default_rng(0)
    style = rng.integers(0, 255, (80, 60, 3), dtype=np.uint8)
    z = vae_model.encode_style(style)
    assert z.shape == (256,)
    assert np.array_equal(vae_model.synthesize(labels, style=style), vae_model.synthesize(labels, style=z))
    with pytest.raises(InferenceError, match="256 values"):
        vae_model.synthesize(labels, style=np.zeros(3, np.float32))


def test_huge_canvas_at_full_resolution_is_refused_with_a_message(facades_model):
    facades_model.resolution = 5000
    try:
        with pytest.raises(InferenceError, match="lower the output resolution"):
            facades_model.synthesize(np.ones((5000, 6000), np.int32))
    finally:
        facades_model.resolution = min(facades_model.native_size)


def make_noise_spade(folder, norm: str, noise_nc: int = 8):
    """A tiny facades model with OASIS 3D noise, random weights and batch-norm statistics."""
    torch.manual_seed(0)
    labels = get_label_set("facades")
    config = SPADEConfig(
        label_nc=labels.label_nc, ngf=4, crop_size=64, norm=norm, norm_hidden=8, noise_nc=noise_nc
    )
    generator = SPADEGenerator(config)
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    card = ModelCard(
        name="noise",
        kind="spade",
        architecture=config.to_dict(),
        label_set=labels.to_dict(),
        native_size=config.native_size,
        description="random weights, for tests",
    )
    return save_model(folder, card, {"G": generator})


@pytest.mark.parametrize("norm", ["spade", "clade"])
def test_noise_model_draws_a_spatially_constant_z_from_the_seed(tmp_path, norm, facades_model, vae_model):
    model = load_model(make_noise_spade(tmp_path, norm), device="cpu")
    labels = facade_map(64, 64)
    one, one_again, two = (model.synthesize(labels, seed=s) for s in (1, 1, 2))
    assert np.array_equal(one, one_again)
    assert np.abs(one.astype(int) - two.astype(int)).mean() > 1
    assert np.array_equal(model.synthesize(labels), model.synthesize(labels, seed=0))  # None = seed 0
    assert not np.array_equal(model.synthesize(labels), one)
    z = model.random_style(1)
    assert z.shape == (8,) and np.array_equal(z, model.random_style(1))
    assert not np.array_equal(z, model.random_style(2))
    # the documented contract: seed 1 is the generator run on random_style(1) replicated over the map
    channels = torch.from_numpy(model.label_set.to_channels(labels))[None]
    semantics = SemanticMap(channels, model.config.num_classes, noise=torch.from_numpy(z)[None])
    with torch.inference_mode():
        assert np.array_equal(tensor_to_uint8(model.generator(semantics)), one)
    assert model.has_random_styles and vae_model.has_random_styles and not facades_model.has_random_styles
    assert model.synthesize(facade_map(37, 101), seed=3).shape == (37, 101, 3)


def test_cards_without_noise_load_as_noise_free_and_a_negative_noise_count_is_refused(tmp_path):
    folder = make_tiny_spade(tmp_path / "old")
    card = json.loads((folder / "model.json").read_text())
    del card["architecture"]["noise_nc"]  # a card written before 3D noise existed
    (folder / "model.json").write_text(json.dumps(card))
    model = load_model(folder, device="cpu")
    assert model.config.noise_nc == 0 and not model.has_random_styles
    assert np.array_equal(model.synthesize(facade_map(64, 64), seed=1), model.synthesize(facade_map(64, 64)))
    card["architecture"]["noise_nc"] = -1
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="not a SPADE config.*noise_nc must be 0"):
        load_model(folder, device="cpu")
