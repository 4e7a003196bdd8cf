"""LaMa's FFC-ResNet generator against the official code's outputs and the big-lama release manifest."""

import hashlib

import pytest
import torch

from engine.checkpoints import load_checked
from engine.models.lama import (
    FFC,
    FIRST_CONV_KEY,
    FFCResNetGenerator,
    LaMaConfig,
    generator_input,
    with_guide_input,
)
from tests.conftest import load_fixture, load_manifest
from tests.reference_recipe import recipe_state_dict

ATOL = 1e-4  # fixtures README: outputs in [0, 1], fp32 CPU
PREFIX = "generator."  # big-lama's Lightning checkpoint (and the manifest) key prefix


def official_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.cat([image * (1 - mask), mask], dim=1)


def small_fixture_generator() -> tuple[FFCResNetGenerator, dict]:
    io, weights, info = load_fixture("lama_small")
    generator = FFCResNetGenerator(LaMaConfig.from_official_options(info["generator_kwargs"])).eval()
    load_checked(generator, weights["G"], "lama_small")
    return generator, io


def test_small_generator_matches_official_prediction_and_blend():
    generator, io = small_fixture_generator()
    assert torch.equal(io["mask"], (io["mask_u8"] > 0).float()[None, None])
    assert torch.equal(io["image"], io["image_u8"].permute(2, 0, 1)[None].float() / 255)
    with torch.inference_mode():
        predicted = generator(official_input(io["image"], io["mask"]))
    torch.testing.assert_close(predicted, io["predicted_image"], atol=ATOL, rtol=0)
    inpainted = io["mask"] * predicted + (1 - io["mask"]) * io["image"]
    torch.testing.assert_close(inpainted, io["inpainted"], atol=ATOL, rtol=0)


def test_full_size_big_lama_matches_official_output():
    manifest = load_manifest("lama_big-lama")
    io, _, info = load_fixture("lama_big_full_recipe")
    entries = manifest["networks"]["G"]["state_dict"]
    recipe = recipe_state_dict(entries, info["G_recipe_seed"], info["G_recipe_gain"])
    state = {key.removeprefix(PREFIX): value for key, value in recipe.items()}
    digest = hashlib.sha256()
    for key, value in state.items():
        digest.update(key.encode())
        digest.update(value.numpy().tobytes())
    assert digest.hexdigest() == info["G_sha256_of_recipe_weights"]
    for key, first in info["G_first_values"].items():
        assert state[key].flatten()[:3].tolist() == pytest.approx(first, abs=1e-7)
    generator = FFCResNetGenerator(LaMaConfig.from_official_options(manifest["options"])).eval()
    load_checked(generator, state, "recipe")
    image = io["image_u8"].permute(2, 0, 1)[None].float() / 255
    mask = (io["mask_u8"] > 0).float()[None, None]
    with torch.inference_mode():
        predicted = generator(official_input(image, mask))
    torch.testing.assert_close(predicted, io["predicted_image"], atol=ATOL, rtol=0)


def test_release_manifest_keys_shapes_and_layers():
    manifest = load_manifest("lama_big-lama")
    config = LaMaConfig.from_official_options(manifest["options"])
    assert config.size_multiple == manifest["derived"]["size_multiple"]
    generator = FFCResNetGenerator(config)
    entries = manifest["networks"]["G"]["state_dict"]
    assert all(e["key"].startswith(PREFIX) for e in entries)
    state = {e["key"].removeprefix(PREFIX): torch.zeros(e["shape"]) for e in entries}
    assert list(state) == list(generator.state_dict())  # same keys in the same order
    load_checked(generator, state, "big-lama")
    assert sum(p.numel() for p in generator.parameters()) == manifest["networks"]["G"]["counts"]["parameters"]
    modules = dict(generator.named_modules())
    for layer in manifest["derived"]["ffc_layers"]:
        ffc = modules[layer["module"]]
        assert isinstance(ffc, FFC)
        for path in ("convl2l", "convl2g", "convg2l", "convg2g"):
            present = getattr(ffc, path) is not None
            assert present == (layer[path] != "Identity"), f"{layer['module']}.{path}"
    bottleneck = modules[f"model.{2 + config.n_downsampling}.conv1.ffc"]
    local = bottleneck.convl2l.out_channels
    assert [local, bottleneck.convl2g.out_channels] == manifest["derived"]["bottleneck_local_global"]


def test_input_size_and_channel_checks():
    generator = FFCResNetGenerator(LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1)).eval()
    with pytest.raises(ValueError, match="multiples of 4"):
        generator(torch.rand(1, 4, 16, 18))
    with pytest.raises(ValueError, match="at least 8"):
        generator(torch.rand(1, 4, 4, 16))
    with pytest.raises(ValueError, match="takes 4 channels"):
        generator(torch.rand(1, 5, 16, 16))


def test_guided_variant_takes_the_extra_channel_and_uses_it():
    torch.manual_seed(0)
    config = LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1, guide_channels=1)
    generator = FFCResNetGenerator(config).eval()
    assert generator.model[1].ffc.convl2l.in_channels == 5
    x = torch.rand(1, 5, 32, 24)
    with torch.inference_mode():
        with_guide = generator(x)
        without = generator(torch.cat([x[:, :4], torch.zeros_like(x[:, 4:])], dim=1))
    assert with_guide.shape == (1, 3, 32, 24)
    assert (with_guide - without).abs().max() > 1e-4


def test_global_branch_sees_the_whole_image_and_trains():
    """A change in one corner moves the output at the opposite corner after one block (via the FFT)."""
    torch.manual_seed(1)
    generator = FFCResNetGenerator(LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1))
    x = torch.rand(2, 4, 128, 128)
    out = generator(x)
    assert out.shape == (2, 3, 128, 128) and out.min() >= 0 and out.max() <= 1
    out.mean().backward()
    assert generator.model[4].conv1.ffc.convg2g.fu.conv_layer.weight.grad.abs().sum() > 0
    generator.eval()
    y = x.clone()
    y[:, :, :8, :8] = 0
    with torch.inference_mode():
        delta = (generator(x) - generator(y))[:, :, -8:, -8:]
    assert delta.abs().max() > 1e-6


def test_config_round_trips_and_rejects_unsupported_official_options():
    config = LaMaConfig(ngf=16, n_blocks=2, guide_channels=1)
    assert LaMaConfig.from_dict(config.to_dict()) == config
    options = load_manifest("lama_big-lama")["options"]
    with pytest.raises(ValueError, match="enable_lfu"):
        LaMaConfig.from_official_options(
            {**options, "resnet_conv_kwargs": {"ratio_gin": 0.75, "ratio_gout": 0.75, "enable_lfu": True}}
        )


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="bf16 on the CPU needs oneDNN")
def test_bf16_stays_close_to_fp32_on_the_official_fixture():
    generator, io = small_fixture_generator()
    x = official_input(io["image"], io["mask"])
    with torch.inference_mode():
        reference = generator(x)
        low = generator.to(torch.bfloat16)(x.to(torch.bfloat16)).float()
    assert (low - reference).abs().mean() < 0.01
    assert (low - reference).abs().max() < 0.1


def test_an_unguided_generator_becomes_a_guided_one_that_fills_the_same_until_trained():
    torch.manual_seed(0)
    plain = LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1)
    guided = LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1, guide_channels=1)
    unguided_net = FFCResNetGenerator(plain).eval()
    state = with_guide_input(unguided_net.state_dict(), guided)
    assert state[FIRST_CONV_KEY].shape[1] == guided.in_channels
    guided_net = FFCResNetGenerator(guided).eval()
    guided_net.load_state_dict(state)
    image, mask = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 4:28] = 1
    guide = (torch.rand(1, 1, 32, 32) > 0.5).float()
    with torch.no_grad():
        expected = unguided_net(generator_input(image, mask, None, plain))
        got = guided_net(generator_input(image, mask, guide, guided))
    torch.testing.assert_close(got, expected)
    assert with_guide_input(state, guided)[FIRST_CONV_KEY] is state[FIRST_CONV_KEY]  # already guided
