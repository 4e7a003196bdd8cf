"""SPADE against the official code's outputs (shared/reference/fixtures) and release manifests."""

import pytest
import torch

from engine.checkpoints import load_checked
from engine.models.blocks import ClassAdaptiveNorm, LabelConv3x3, SpatiallyAdaptiveNorm, fold_spectral_norm
from engine.models.semantics import SemanticMap, instance_edges
from engine.models.spade import SPADEConfig, SPADEGenerator, StyleEncoder
from tests.conftest import load_fixture, load_manifest
from tests.reference_recipe import recipe_state_dict

ATOL = 1e-4  # fixtures README: outputs in [-1, 1], fp32 CPU, spectral norm folded at load


def fixture_semantics(io: dict, config: SPADEConfig) -> SemanticMap:
    edges = instance_edges(io["instance_i32"].long()[:, 0]) if config.use_instance_edges else None
    return SemanticMap(io["label_u8"].long()[:, 0], config.num_classes, edges)


@pytest.mark.parametrize("name", ["spade_small", "spade_small_city", "spade_small_vae"])
def test_generator_matches_official_output(name):
    io, weights, info = load_fixture(name)
    config = SPADEConfig.from_official_options(info["options"])
    generator = SPADEGenerator(config).eval()
    load_checked(generator, fold_spectral_norm(weights["G"]), name)
    semantics = fixture_semantics(io, config)
    assert torch.equal(semantics.one_hot(), io["input_semantics_u8"].float())
    with torch.inference_mode():
        out = generator(semantics, io.get("z"))
    expected = io["G_out_z"] if config.use_vae else io["G_out"]
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)


def test_style_encoder_matches_official_mu_and_logvar():
    io, weights, info = load_fixture("spade_small_encoder")
    encoder = StyleEncoder(SPADEConfig.from_official_options(info["options"])).eval()
    load_checked(encoder, fold_spectral_norm(weights["E"]), "E")
    for image, mu, logvar in [
        ("style_u8", "E_mu", "E_logvar"),
        ("style2_u8", "E_mu_style2", "E_logvar_style2"),
    ]:
        x = (io[image].float() / 255 - 0.5) / 0.5
        with torch.inference_mode():
            got_mu, got_logvar = encoder(x.permute(2, 0, 1)[None])
        torch.testing.assert_close(got_mu, io[mu], atol=ATOL, rtol=0)
        torch.testing.assert_close(got_logvar, io[logvar], atol=ATOL, rtol=0)


def test_full_size_coco_generator_matches_official_output():
    manifest = load_manifest("spade_coco")
    io, _, info = load_fixture("spade_coco_full_recipe")
    entries = manifest["networks"]["G"]["state_dict"]
    state = recipe_state_dict(entries, info["G_recipe_seed"])
    for key, first in info["G_first_values"].items():
        assert state[key].flatten()[:3].tolist() == pytest.approx(first, abs=1e-7)
    config = SPADEConfig.from_official_options(manifest["options"])
    generator = SPADEGenerator(config).eval()
    load_checked(generator, fold_spectral_norm(state), "recipe")
    labels = io["label_raw_u8"].long()
    labels[labels == 255] = config.label_nc
    semantics = SemanticMap(labels[None], config.num_classes, instance_edges(io["instance_i32"].long()[:, 0]))
    with torch.inference_mode():
        out = generator(semantics)
    torch.testing.assert_close(out, io["G_out"], atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "name",
    [
        "spade_coco",
        "spade_ade20k",
        "spade_cityscapes",
        "spade_coco_vae",
        "spade_ade20k_vae",
        "spade_cityscapes_vae",
    ],
)
def test_release_manifest_keys_and_shapes_load(name):
    manifest = load_manifest(name)
    config = SPADEConfig.from_official_options(manifest["options"])
    assert list(config.native_size) == manifest["derived"]["output_size_hw"]
    for part, cls in [("G", SPADEGenerator), ("E", StyleEncoder)]:
        if part not in manifest["networks"]:
            continue
        state = {e["key"]: torch.zeros(e["shape"]) for e in manifest["networks"][part]["state_dict"]}
        for key in state:
            if key.endswith("weight_u") or key.endswith("weight_v"):
                state[key] = torch.ones(state[key].shape)
            if key.endswith("weight_orig"):
                state[key] = torch.ones(state[key].shape)
        load_checked(cls(config), fold_spectral_norm(state), name)


def test_label_conv_equals_a_plain_conv_over_the_one_hot_map():
    torch.manual_seed(1)
    layer = LabelConv3x3(num_classes=7, has_edges=True, out_channels=5)
    semantics = SemanticMap(
        torch.randint(0, 7, (2, 9, 11)), 7, instance_edges(torch.randint(0, 2, (2, 9, 11)))
    )
    expected = torch.nn.functional.conv2d(semantics.one_hot(), layer.weight, layer.bias, padding=1)
    torch.testing.assert_close(layer(semantics), expected, atol=1e-5, rtol=0)


def test_label_conv_gradients_match_the_plain_conv():
    torch.manual_seed(2)
    layer = LabelConv3x3(num_classes=4, has_edges=False, out_channels=3)
    semantics = SemanticMap(torch.randint(0, 4, (1, 6, 6)), 4)
    layer(semantics).square().sum().backward()
    weight = layer.weight.detach().clone().requires_grad_()
    torch.nn.functional.conv2d(
        semantics.one_hot(), weight, layer.bias.detach(), padding=1
    ).square().sum().backward()
    torch.testing.assert_close(layer.weight.grad, weight.grad, atol=1e-5, rtol=0)


def test_clade_generator_runs_at_any_multiple_of_32_and_trains():
    config = SPADEConfig(label_nc=12, use_instance_edges=True, ngf=8, norm="clade")
    generator = SPADEGenerator(config)
    labels = torch.randint(0, 12, (2, 64, 96))
    semantics = SemanticMap(labels, config.num_classes, instance_edges(labels))
    out = generator(semantics)
    assert out.shape == (2, 3, 64, 96)
    assert out.abs().max() <= 1
    out.mean().backward()
    assert generator.head_0.norm_0.gamma.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="multiples of 32"):
        generator(
            SemanticMap(
                torch.zeros(1, 40, 64, dtype=torch.long), config.num_classes, torch.zeros(1, 1, 40, 64)
            )
        )


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="bf16 on the CPU needs oneDNN")
def test_bf16_stays_close_to_fp32_on_the_official_fixture():
    io, weights, info = load_fixture("spade_small")
    config = SPADEConfig.from_official_options(info["options"])
    generator = SPADEGenerator(config).eval()
    load_checked(generator, fold_spectral_norm(weights["G"]), "spade_small")
    semantics = fixture_semantics(io, config)
    with torch.inference_mode():
        reference = generator(semantics)
        low = generator.to(torch.bfloat16)(semantics.to("cpu", torch.bfloat16)).float()
    # bf16 keeps 8 bits of mantissa: about 2 levels of a uint8 image on average
    assert (low - reference).abs().mean() < 0.02
    assert (low - reference).abs().max() < 0.15


def test_sparse_boundary_modulation_equals_the_dense_convs():
    """Inside regions SPADE's scale/shift come from a per-class table; the output must not change."""
    torch.manual_seed(3)
    config = SPADEConfig(label_nc=6, contain_dontcare=True, use_instance_edges=True, ngf=2, norm_hidden=16)
    generator = SPADEGenerator(config).eval()
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 1.5)
    coarse = torch.randint(0, 7, (1, 1, 3, 4)).float()
    labels = torch.nn.functional.interpolate(coarse, size=(96, 128), mode="nearest")[:, 0].long()
    semantics = SemanticMap(labels, config.num_classes, instance_edges(labels))
    assert semantics.boundary_mask().float().mean() < 0.5  # the sparse path really runs at 96x128
    dense = generator(semantics).detach()  # grad mode on -> dense convs everywhere
    with torch.inference_mode():
        sparse = generator(SemanticMap(labels, config.num_classes, instance_edges(labels)))
    torch.testing.assert_close(sparse, dense, atol=1e-5, rtol=0)


# --- OASIS 3D noise ---------------------------------------------------------------------------------


def randomized_generator(config: SPADEConfig) -> SPADEGenerator:
    """Random weights with non-trivial batch-norm statistics and CLADE tables (all start at identity)."""
    generator = SPADEGenerator(config).eval()
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
        if isinstance(module, ClassAdaptiveNorm):
            torch.nn.init.normal_(module.gamma.weight, 0, 0.5)
            torch.nn.init.normal_(module.beta.weight, 0, 0.5)
    return generator


def painted_labels(num_classes: int, size: tuple[int, int], batch: int = 1) -> torch.Tensor:
    """Large regions, as painted: most pixels are far from a class boundary."""
    coarse = torch.randint(0, num_classes, (batch, 1, 3, 4)).float()
    return torch.nn.functional.interpolate(coarse, size=size, mode="nearest")[:, 0].long()


def with_noise(labels: torch.Tensor, config: SPADEConfig, noise: torch.Tensor) -> SemanticMap:
    edges = instance_edges(labels) if config.use_instance_edges else None
    return SemanticMap(labels, config.num_classes, edges, noise)


def test_semantic_map_resizes_noise_like_the_labels_and_keeps_constant_noise_a_vector():
    torch.manual_seed(4)
    labels = torch.randint(0, 5, (2, 37, 53))
    noise = torch.randn(2, 3, 37, 53)
    small = SemanticMap(labels, 5, noise=noise).at((8, 12))
    expected = torch.nn.functional.interpolate(noise, size=(8, 12), mode="nearest")
    assert torch.equal(small.noise, expected) and small.uniform_noise() is None
    z = torch.randn(2, 3)
    constant = SemanticMap(labels, 5, noise=z)
    assert constant.noise.shape == (2, 3, 37, 53) and torch.equal(constant.noise[:, :, 20, 30], z)
    assert torch.equal(constant.at((8, 12)).uniform_noise(), z)
    replicated = z[:, :, None, None].repeat(1, 1, 37, 53)  # a map that happens to be constant
    assert torch.equal(SemanticMap(labels, 5, noise=replicated).uniform_noise(), z)
    moved = constant.to("cpu", torch.float64)
    assert moved.noise_nc == 3 and moved.uniform_noise().dtype == torch.float64
    with pytest.raises(ValueError, match=r"noise must be \(N, C\) or \(N, C, 37, 53\)"):
        SemanticMap(labels, 5, noise=torch.zeros(2, 3, 36, 53))


@pytest.mark.parametrize("uniform", [True, False])
def test_label_conv_with_noise_equals_a_plain_conv_over_labels_and_noise(uniform):
    torch.manual_seed(5)
    layer = LabelConv3x3(num_classes=7, has_edges=True, out_channels=5, noise_nc=3)
    labels = torch.randint(0, 7, (2, 9, 11))
    z = torch.randn(2, 3)
    noise = z if uniform else torch.randn(2, 3, 9, 11)
    semantics = SemanticMap(labels, 7, instance_edges(torch.randint(0, 2, (2, 9, 11))), noise)
    dense_input = torch.cat([semantics.one_hot(), semantics.noise], dim=1)
    weight = layer.weight.detach().clone().requires_grad_()
    expected = torch.nn.functional.conv2d(dense_input, weight, layer.bias.detach(), padding=1)
    got = layer(semantics)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    got.square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(layer.weight.grad, weight.grad, atol=1e-4, rtol=0)


def test_clade_noise_path_is_a_1x1_conv_of_the_noise_added_to_scale_and_shift():
    torch.manual_seed(6)
    norm = ClassAdaptiveNorm(channels=4, num_classes=3, has_edges=False, noise_nc=2).eval()
    torch.nn.init.normal_(norm.gamma.weight)
    torch.nn.init.normal_(norm.beta.weight)
    x, labels = torch.randn(2, 4, 6, 7), torch.randint(0, 3, (2, 6, 7))
    for noise in (torch.randn(2, 2), torch.randn(2, 2, 6, 7)):
        semantics = SemanticMap(labels, 3, noise=noise)
        modulation = torch.nn.functional.conv2d(semantics.noise, norm.noise_modulation.weight)
        gamma = norm.gamma(labels).permute(0, 3, 1, 2) + modulation[:, :4]
        beta = norm.beta(labels).permute(0, 3, 1, 2) + modulation[:, 4:]
        expected = norm.param_free_norm(x) * (1 + gamma) + beta
        torch.testing.assert_close(norm(x, semantics), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("norm", ["spade", "clade"])
def test_noise_generator_output_is_a_function_of_labels_and_z(norm):
    """OASIS: different z, different photos of the same labels; the same z, the same photo."""
    torch.manual_seed(7)
    config = SPADEConfig(label_nc=5, use_instance_edges=True, ngf=2, norm=norm, norm_hidden=8, noise_nc=4)
    generator = randomized_generator(config)
    labels = painted_labels(5, (64, 96))
    z1, z2 = torch.randn(1, 4), torch.randn(1, 4)
    with torch.inference_mode():
        a = generator(with_noise(labels, config, z1))
        again = generator(with_noise(labels, config, z1))
        as_map = generator(with_noise(labels, config, z1[:, :, None, None].repeat(1, 1, 64, 96)))
        b = generator(with_noise(labels, config, z2))
    assert torch.equal(a, again)
    torch.testing.assert_close(as_map, a, atol=1e-5, rtol=0)  # replicated z = the vector's shortcut
    assert (a - b).abs().mean() > 1e-3
    with pytest.raises(ValueError, match="takes 4 noise channels, got 0"):
        generator(SemanticMap(labels, config.num_classes, instance_edges(labels)))
    plain = SPADEGenerator(SPADEConfig(label_nc=5, ngf=2, norm=norm, norm_hidden=8))
    with pytest.raises(ValueError, match="takes 0 noise channels, got 4"):
        plain(SemanticMap(labels, 5, noise=z1))


def test_sparse_boundary_modulation_with_noise_equals_the_dense_convs():
    """Constant noise per image keeps the per-(image, class) shortcut exact; varying noise goes dense."""
    torch.manual_seed(8)
    config = SPADEConfig(
        label_nc=6, contain_dontcare=True, use_instance_edges=True, ngf=2, norm_hidden=16, noise_nc=3
    )
    generator = randomized_generator(config)
    labels = painted_labels(7, (96, 128), batch=2)
    maps = {"constant": torch.randn(2, 3), "varying": torch.randn(2, 3, 96, 128)}
    sparse_calls = []
    original = SpatiallyAdaptiveNorm._sparse_modulation

    def counted(self, actv, semantics):
        sparse_calls.append(semantics.size)
        return original(self, actv, semantics)

    for kind, noise in maps.items():
        semantics = with_noise(labels, config, noise)
        assert semantics.boundary_mask().float().mean() < 0.5
        dense = generator(semantics).detach()  # grad mode on -> dense convs everywhere
        sparse_calls.clear()
        with torch.inference_mode(), pytest.MonkeyPatch.context() as patch:
            patch.setattr(SpatiallyAdaptiveNorm, "_sparse_modulation", counted)
            fast = generator(with_noise(labels, config, noise))
        assert bool(sparse_calls) == (kind == "constant"), kind
        torch.testing.assert_close(fast, dense, atol=1e-5, rtol=0, msg=kind)
