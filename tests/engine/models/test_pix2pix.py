"""pix2pix U-Net against the official code's outputs (shared/reference/fixtures) and release manifests."""

import hashlib

import pytest
import torch

from engine.checkpoints import load_checked
from engine.models.pix2pix import Pix2PixConfig, UnetGenerator
from tests.conftest import load_fixture, load_manifest
from tests.reference_recipe import recipe_state_dict

ATOL = 1e-4  # fixtures README: outputs in [-1, 1], fp32 CPU


def fixture_input(io: dict) -> torch.Tensor:
    return ((io["input_u8"].float() / 255 - 0.5) / 0.5).permute(2, 0, 1)[None]


def small_fixture_generator() -> tuple[UnetGenerator, dict]:
    io, weights, info = load_fixture("pix2pix_small")
    generator = UnetGenerator(Pix2PixConfig.from_official_options(info["options"]))
    load_checked(generator, weights["G"], "pix2pix_small")
    return generator, io


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """The fixtures' ``sd_digest``: sha256 over key bytes + raw tensor bytes, in order."""
    digest = hashlib.sha256()
    for key, value in state.items():
        digest.update(key.encode())
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()


def test_eval_output_matches_official_and_keeps_running_stats():
    generator, io = small_fixture_generator()
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    x = fixture_input(io)
    with torch.inference_mode():
        named = generator.run(x, "deterministic")
        module_eval = generator.eval()(x)
        forced = generator.train()(x, batch_stats=False, dropout=False)  # flags override train()
    for out in (named, module_eval, forced):
        torch.testing.assert_close(out, io["out_eval"], atol=ATOL, rtol=0)
    assert all(torch.equal(v, generator.state_dict()[k]) for k, v in before.items())


def test_batch_statistics_output_matches_official_without_touching_running_stats():
    generator, io = small_fixture_generator()
    generator.eval()
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    with torch.inference_mode():
        out = generator(fixture_input(io), batch_stats=True, dropout=False)
    torch.testing.assert_close(out, io["out_train_bn_no_dropout"], atol=ATOL, rtol=0)
    assert not torch.allclose(out, io["out_eval"], atol=0.01)
    assert all(torch.equal(v, generator.state_dict()[k]) for k, v in before.items())


def test_official_mode_with_seed_1234_reproduces_the_official_dropout_output():
    generator, io = small_fixture_generator()
    x = fixture_input(io)
    with torch.inference_mode():
        seeded = generator.run(x, "official", torch.Generator().manual_seed(1234))
        torch.manual_seed(1234)  # what the fixture did before the official forward
        global_rng = generator.run(x, "official")
        other_seed = generator.run(x, "official", torch.Generator().manual_seed(1235))
    expected = io["out_train_dropout_seed1234"]
    torch.testing.assert_close(seeded, expected, atol=ATOL, rtol=0)
    torch.testing.assert_close(global_rng, expected, atol=ATOL, rtol=0)
    assert (other_seed - expected).abs().max() > 0.01


def test_the_stored_dropout_masks_are_the_ones_a_seeded_generator_draws():
    """Dropout draws bernoulli(0.5) keep masks in call order, innermost first, scaled by 2."""
    _, io = small_fixture_generator()
    rng = torch.Generator().manual_seed(1234)
    for k, shape in enumerate([(1, 32, 4, 4), (1, 32, 8, 8), (1, 32, 16, 16)]):
        keep = torch.empty(shape).bernoulli_(0.5, generator=rng)
        assert torch.equal(keep.to(torch.uint8), io[f"dropout_keep_mask_{k}"])


def test_train_mode_trains_like_the_official_module():
    """Trainers call the module plainly: batch statistics, running stats updated, dropout active."""
    generator, io = small_fixture_generator()
    generator.train()
    mean = generator.model.model[1].model[2].running_mean.clone()
    torch.manual_seed(1234)
    out = generator(fixture_input(io))
    torch.testing.assert_close(out.detach(), io["out_train_dropout_seed1234"], atol=ATOL, rtol=0)
    assert not torch.equal(generator.model.model[1].model[2].running_mean, mean)
    out.mean().backward()
    assert generator.model.model[0].weight.grad.abs().sum() > 0


def test_full_size_unet256_matches_official_output():
    manifest = load_manifest("pix2pix_edges2shoes")
    io, _, info = load_fixture("pix2pix_unet256_full_recipe")
    state = recipe_state_dict(manifest["networks"]["G"]["state_dict"], info["G_recipe_seed"])
    assert state_digest(state) == info["G_sha256_of_recipe_weights"]
    for key, first in info["G_first_values"].items():
        assert state[key].flatten()[:3].tolist() == pytest.approx(first, abs=1e-7)
    config = Pix2PixConfig.from_official_options(manifest["options"])
    assert Pix2PixConfig.from_state_dict(state) == config
    generator = UnetGenerator(config)
    load_checked(generator, state, "recipe")
    x = fixture_input(io)
    with torch.inference_mode():
        torch.testing.assert_close(generator.run(x, "deterministic"), io["out_eval"], atol=ATOL, rtol=0)
        batch_stats = generator(x, batch_stats=True, dropout=False)
    torch.testing.assert_close(batch_stats, io["out_train_bn_no_dropout"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ["pix2pix_facades_label2photo", "pix2pix_edges2shoes"])
def test_release_manifest_keys_and_shapes_load(name):
    manifest = load_manifest(name)
    network = manifest["networks"]["G"]
    state = {e["key"]: torch.zeros(e["shape"]) for e in network["state_dict"]}
    config = Pix2PixConfig.from_official_options(manifest["options"])
    assert Pix2PixConfig.from_state_dict(state) == config
    assert config.native_size == (manifest["options"]["crop_size"],) * 2
    generator = UnetGenerator(config)
    assert list(generator.state_dict()) == list(state)  # same keys, same order
    assert sum(p.numel() for p in generator.parameters()) == network["counts"]["parameters"]
    # 2018-era files have no num_batches_tracked
    load_checked(generator, {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}, name)


def test_configurable_channels_and_depth():
    config = Pix2PixConfig(input_nc=1, output_nc=3, ngf=3, num_downs=6, use_dropout=True)
    assert Pix2PixConfig.from_dict(config.to_dict()) == config
    generator = UnetGenerator(config)
    dropouts = [m for m in generator.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 1  # num_downs - 5 levels of width 8 * ngf outside the innermost
    state = generator.state_dict()
    assert Pix2PixConfig.from_state_dict(state, use_dropout=True) == config
    x = torch.rand(2, 1, 64, 128) * 2 - 1
    with torch.inference_mode():
        out = generator.run(x, "official")
    assert out.shape == (2, 3, 64, 128)
    assert out.abs().max() <= 1
    with pytest.raises(ValueError, match="multiples of 64"):
        generator(torch.zeros(1, 1, 64, 96))


def test_invalid_configs_are_refused():
    with pytest.raises(ValueError, match="num_downs >= 5"):
        Pix2PixConfig(num_downs=4)
    with pytest.raises(ValueError, match="norm='batch'"):
        Pix2PixConfig(norm="instance")
    with pytest.raises(ValueError, match="default_mode"):
        Pix2PixConfig(default_mode="stochastic")
    with pytest.raises(ValueError, match="not a U-Net"):
        Pix2PixConfig.from_official_options({"netG": "resnet_9blocks", "input_nc": 3})
    with pytest.raises(ValueError, match="mode must be one of"):
        UnetGenerator(Pix2PixConfig(ngf=1, num_downs=5)).run(torch.zeros(1, 3, 32, 32), "eval")
