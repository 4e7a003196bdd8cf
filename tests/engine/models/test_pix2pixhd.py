"""pix2pixHD against the official code's outputs (shared/reference/fixtures) and release manifests."""

import hashlib
import json

import pytest
import torch

from engine.checkpoints import load_checked
from engine.instance_synthesis import config_from_state_dicts
from engine.models.pix2pixhd import (
    FeatureEncoder,
    GlobalGenerator,
    LocalEnhancer,
    Pix2PixHDConfig,
    build_generator,
    generator_input,
    instance_average_pool,
)
from engine.models.semantics import instance_edges
from tests.conftest import load_fixture, load_manifest
from tests.reference_recipe import recipe_state_dict

ATOL = 1e-4  # fixtures README: outputs in [-1, 1], fp32 CPU
MANIFESTS = ["1024p", "1024p_feat", "512p", "512p_feat"]


def fixture_networks(name: str) -> tuple[dict, dict, Pix2PixHDConfig, torch.nn.Module, FeatureEncoder | None]:
    io, weights, info = load_fixture(name)
    config = Pix2PixHDConfig.from_official_options(info["options"])
    generator = build_generator(config).eval()
    load_checked(generator, weights["G"], f"{name}/G")
    encoder = None
    if "E" in weights:
        encoder = FeatureEncoder(config).eval()
        load_checked(encoder, weights["E"], f"{name}/E")
    return io, info, config, generator, encoder


@pytest.mark.parametrize(
    ("name", "cls"), [("pix2pixhd_small_global", GlobalGenerator), ("pix2pixhd_small_local", LocalEnhancer)]
)
def test_generator_matches_official_output(name, cls):
    io, _, config, generator, _ = fixture_networks(name)
    assert isinstance(generator, cls)
    x = generator_input(config, io["label_u8"][:, 0], instance_edges(io["instance_i32"].long()[:, 0]))
    assert torch.equal(x, io["input_label_u8"].float())
    with torch.inference_mode():
        out = generator(x)
    torch.testing.assert_close(out, io["G_out"], atol=ATOL, rtol=0)


def test_feature_encoder_and_feature_inputs_match_official_outputs():
    io, _, config, generator, encoder = fixture_networks("pix2pixhd_small_local_feat")
    instances = io["instance_i32"].long()[:, 0]
    real = (io["real_u8"].float() / 255 - 0.5) / 0.5
    with torch.inference_mode():
        features = encoder(real.permute(2, 0, 1)[None], instances)
    torch.testing.assert_close(features, io["E_feat"], atol=ATOL, rtol=0)

    # the per-class vectors painted over every instance of the class (id < 1000: class = id)
    classes = torch.where(instances < 1000, instances, instances // 1000)
    table = torch.zeros(int(io["given_class_ids"].max()) + 1, config.feat_num)
    table[io["given_class_ids"].long()] = io["given_class_features"]
    painted = table[classes].permute(0, 3, 1, 2)
    assert torch.equal(painted, io["feat_map_given"])

    edges = instance_edges(instances)
    for feature_map, expected in [(features, "G_out_encoded"), (painted, "G_out_given")]:
        with torch.inference_mode():
            out = generator(generator_input(config, io["label_u8"][:, 0], edges, feature_map))
        torch.testing.assert_close(out, io[expected], atol=ATOL, rtol=0)


def test_full_size_1024p_generator_matches_official_output():
    manifest = load_manifest("pix2pixhd_label2city_1024p")
    io, _, info = load_fixture("pix2pixhd_1024p_full_recipe")
    entries = manifest["networks"]["G"]["state_dict"]
    state = recipe_state_dict(entries, info["G_recipe_seed"])
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(entry["key"].encode())
        digest.update(state[entry["key"]].numpy().tobytes())
    assert digest.hexdigest() == info["G_sha256_of_recipe_weights"]
    for key, first in info["G_first_values"].items():
        assert state[key].flatten()[:3].tolist() == pytest.approx(first, abs=1e-7)
    config = Pix2PixHDConfig.from_official_options(manifest["options"])
    with torch.device("meta"):
        generator = build_generator(config)
    generator = generator.to_empty(device="cpu").eval()
    load_checked(generator, state, "recipe")
    x = generator_input(config, io["label_u8"][:, 0], instance_edges(io["instance_i32"].long()[:, 0]))
    with torch.inference_mode():
        out = generator(x)
    torch.testing.assert_close(out, io["G_out"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("variant", MANIFESTS)
def test_release_manifest_keys_shapes_and_order_load(variant):
    manifest = load_manifest(f"pix2pixhd_label2city_{variant}")
    config = Pix2PixHDConfig.from_official_options(manifest["options"])
    assert config.input_nc == manifest["derived"]["G_input_nc"]
    assert config.size_multiple == manifest["derived"]["size_multiple"]
    assert config.global_ngf == manifest["derived"]["global_ngf"]
    states = {
        part: {e["key"]: torch.empty(e["shape"], device="meta") for e in network["state_dict"]}
        for part, network in manifest["networks"].items()
    }
    with torch.device("meta"):  # shapes only: no memory for 183 M parameters
        networks = {"G": build_generator(config)}
        if "E" in states:
            networks["E"] = FeatureEncoder(config)
    assert set(networks) == set(states)
    for part, net in networks.items():
        assert list(net.state_dict()) == list(states[part])  # official indices, official order
        load_checked(net, states[part], variant)
    # the import reads the same architecture off the keys and shapes alone
    assert config_from_state_dicts(states["G"], config.label_nc, states.get("E")) == config


def test_config_round_trips_through_json():
    config = Pix2PixHDConfig(label_nc=35, feat_num=3, ngf=32, n_local_enhancers=1, has_encoder=True)
    assert Pix2PixHDConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_boundary_map_of_a_hand_made_instance_map():
    instances = torch.tensor(
        [
            [7, 7, 7, 7, 7],
            [7, 26001, 26001, 7, 7],
            [7, 26001, 26001, 7, 7],
            [7, 7, 7, 7, 26002],
        ]
    )
    expected = torch.tensor(
        [
            [0, 1, 1, 0, 0],
            [1, 1, 1, 1, 0],
            [1, 1, 1, 1, 1],
            [0, 1, 1, 1, 1],
        ],
        dtype=torch.float32,
    )
    assert torch.equal(instance_edges(instances[None]), expected[None, None])


def test_instance_average_pool_gives_each_instance_its_mean_per_channel_and_image():
    features = torch.arange(2 * 2 * 2 * 3, dtype=torch.float32).reshape(2, 2, 2, 3)
    instances = torch.tensor([[[0, 0, 5], [5, 5, 9]], [[1, 1, 1], [1, 1, 1]]])
    pooled = instance_average_pool(features, instances[:, None])
    expected = torch.tensor(
        [
            [[[0.5, 0.5, 3], [3, 3, 5]], [[6.5, 6.5, 9], [9, 9, 11]]],
            [[[14.5] * 3] * 2, [[20.5] * 3] * 2],
        ]
    )
    assert torch.equal(pooled, expected)


def test_generator_input_and_sides_are_checked():
    config = Pix2PixHDConfig(label_nc=4, feat_num=2, ngf=2, n_downsample_global=2, n_blocks_global=1)
    generator = build_generator(config).eval()
    labels = torch.randint(0, 4, (1, 12, 16))
    with pytest.raises(ValueError, match="needs feature map"):
        generator_input(config, labels, instance_edges(labels))
    x = generator_input(config, labels, instance_edges(labels), torch.zeros(1, 2, 12, 16))
    with pytest.raises(ValueError, match="multiples of 4"):
        generator(x[..., :10, :])
    with torch.inference_mode():
        assert generator(x).shape == (1, 3, 12, 16)
