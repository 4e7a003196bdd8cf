"""Colorization runtime: official import, hint placement, Lab pre/post, suggestions, global hints."""

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from engine.checkpoints import read_card
from engine.colorization import (
    GLOBAL_HINT_SIZE,
    ColorizationModel,
    Hint,
    global_hint_from_image,
    import_official_colorization,
)
from engine.errors import CheckpointError, InferenceError, InputImageError
from engine.lab import lab_to_uint8, rgb2lab, rgb2lightness
from engine.models.colorize import AB_BINS, AB_MAX, ab_bin_centers
from tests.conftest import load_fixture
from tests.factories_colorization import make_tiny_colorization

CPU = torch.device("cpu")


def load(folder, **kwargs) -> ColorizationModel:
    folder = make_tiny_colorization(folder, **kwargs)
    return ColorizationModel.from_folder(folder, read_card(folder), CPU, torch.float32)


def photo(h: int = 48, w: int = 72, seed: int = 0) -> np.ndarray:
    """A smooth RGB test photo (gradients plus noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx / w, yy / h, (xx + yy) / (h + w)], axis=2) * 200
    return np.clip(base + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def constant_ab_model(model: ColorizationModel, a: float, b: float) -> ColorizationModel:
    """Make the network predict the same ab everywhere (zero output conv, bias = atanh(ab / 110))."""
    head = model.generator.model_out[0]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.atanh(torch.tensor([a, b]) / AB_MAX))
    return model


def test_official_import_end_to_end_reproduces_the_fixture(tmp_path):
    io, weights, _ = load_fixture("colorization_small")
    checkpoint = tmp_path / "siggraph17-df00044c.pth"
    # release files predate num_batches_tracked: leave them out
    torch.save({k: v for k, v in weights["G"].items() if "num_batches_tracked" not in k}, checkpoint)
    folder = import_official_colorization(checkpoint, tmp_path / "model")
    card = read_card(folder)
    assert card.kind == ColorizationModel.kind == "colorization"
    assert card.license == "BSD-2-Clause" and card.label_set is None
    assert card.architecture["width"] == 8 and card.architecture["global_hint_channels"] == 0
    model = ColorizationModel.from_folder(folder, card, CPU, torch.float32)
    with torch.inference_mode():
        out = model.generator(io["L"], io["ab_hints"], io["mask"])
    torch.testing.assert_close(out, io["out_ab_hints"], atol=1e-2, rtol=0)  # see test_colorize.py
    # the whole runtime path without hints, at a working size equal to the photo's
    model.working_size = (64, 96)
    colorized = model.colorize(io["rgb_u8"].numpy())
    expected_lab = torch.cat([io["L"], io["out_ab_nohints"]], dim=1)[0].permute(1, 2, 0).double().numpy()
    difference = np.abs(colorized.astype(int) - lab_to_uint8(expected_lab).astype(int))
    assert difference.max() <= 1 and difference.mean() < 0.01


def test_import_names_the_problem_with_a_wrong_checkpoint(tmp_path):
    _, weights, _ = load_fixture("colorization_small")
    foreign = tmp_path / "latest_net_G.pth"
    torch.save({"fc.weight": torch.zeros(3, 3, 3, 3)}, foreign)
    with pytest.raises(CheckpointError, match="latest_net_G.pth is not a SIGGRAPH'17"):
        import_official_colorization(foreign, tmp_path / "out")
    partial = tmp_path / "partial.pth"
    torch.save({k: v for k, v in weights["G"].items() if not k.startswith("model_out")}, partial)
    with pytest.raises(CheckpointError, match="partial.pth.*model_out.0.weight"):
        import_official_colorization(partial, tmp_path / "out")


def test_from_folder_rejects_a_foreign_architecture(tmp_path):
    folder = make_tiny_colorization(tmp_path / "m")
    card = read_card(folder)
    card.architecture = {"label_nc": 3}
    with pytest.raises(CheckpointError, match="not a colorization config"):
        ColorizationModel.from_folder(folder, card, CPU, torch.float32)


def test_output_is_predicted_ab_upsampled_bilinearly_on_the_original_lightness(tmp_path):
    model = load(tmp_path / "m")
    image = photo(50, 70)
    out = model.colorize(image)
    assert out.shape == (50, 70, 3) and out.dtype == np.uint8
    small = np.asarray(Image.fromarray(image).resize((64, 64), Image.BICUBIC))  # demo's bicubic path
    with torch.inference_mode():
        ab = model.generator(torch.from_numpy(rgb2lightness(small).astype(np.float32))[None, None])
    ab = F.interpolate(ab, size=(50, 70), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
    expected = lab_to_uint8(np.concatenate([rgb2lightness(image)[..., None], ab], axis=2))
    np.testing.assert_array_equal(out, expected)


def test_a_constant_prediction_keeps_every_pixel_lightness(tmp_path):
    model = constant_ab_model(load(tmp_path / "m"), 20.0, -15.0)
    grey = photo(40, 56)[..., 1]
    out = model.colorize(grey)
    lightness = rgb2lightness(np.repeat(grey[..., None], 3, axis=2))
    lab = np.stack([lightness, np.full_like(lightness, 20.0), np.full_like(lightness, -15.0)], axis=2)
    assert np.abs(out.astype(int) - lab_to_uint8(lab).astype(int)).max() <= 1  # fp32 ab vs exact


def test_rgb_and_grey_photos_with_the_same_pixels_give_the_same_result(tmp_path):
    model = load(tmp_path / "m")
    grey = photo()[..., 0]
    np.testing.assert_array_equal(model.colorize(grey), model.colorize(np.repeat(grey[..., None], 3, axis=2)))


def test_hints_land_on_the_working_grid_with_their_colour_ab(tmp_path):
    model = load(tmp_path / "m")  # working size 64x64
    canvas = (480, 640)
    red, blue = (200, 30, 30), (20, 40, 220)
    ab, mask = model.hint_maps(
        [Hint(x=320, y=240, rgb=red, size=3), Hint(x=0, y=479, rgb=blue, size=4)], canvas
    )
    assert ab.shape == (1, 2, 64, 64) and mask.shape == (1, 1, 64, 64)
    expected_mask = np.zeros((64, 64))
    expected_mask[31:34, 31:34] = 1  # pixel (320, 240) -> grid (32, 32), 3x3 around it
    expected_mask[62:64, 0:3] = 1  # bottom-left corner, 4x4 clipped by the border
    np.testing.assert_array_equal(mask[0, 0].numpy(), expected_mask)
    np.testing.assert_allclose(ab[0, :, 32, 32].numpy(), rgb2lab(np.array(red, np.uint8))[1:], atol=1e-4)
    np.testing.assert_allclose(ab[0, :, 63, 0].numpy(), rgb2lab(np.array(blue, np.uint8))[1:], atol=1e-4)
    assert not ab[0, :, mask[0, 0] == 0].any()


def test_a_hint_changes_the_colours(tmp_path):
    model = load(tmp_path / "m")
    image = photo()
    plain = model.colorize(image)
    hinted = model.colorize(image, [Hint(x=36, y=24, rgb=(250, 40, 40), size=5)])
    assert np.abs(plain.astype(int) - hinted.astype(int)).max() > 10


def test_bad_inputs_are_named(tmp_path):
    model = load(tmp_path / "m")
    image = photo()
    with pytest.raises(InferenceError, match=r"\(x=72, y=3\) lies outside the 72x48 photo"):
        model.colorize(image, [Hint(x=72, y=3, rgb=(1, 2, 3))])
    with pytest.raises(InferenceError, match="patch size"):
        model.colorize(image, [Hint(x=1, y=1, rgb=(1, 2, 3), size=0)])
    with pytest.raises(InferenceError, match="0..255"):
        model.colorize(image, [Hint(x=1, y=1, rgb=(1, 2, 300))])
    with pytest.raises(InputImageError, match="float32"):
        model.colorize(image.astype(np.float32))
    with pytest.raises(InferenceError, match="multiples of 8"):
        model.working_size = (60, 64)
    with pytest.raises(InferenceError, match="takes no global hints"):
        model.colorize(image, global_hint=np.zeros(GLOBAL_HINT_SIZE, np.float32))


def test_suggestions_are_the_class_distribution_at_the_point(tmp_path):
    model = load(tmp_path / "m")
    image = photo()
    suggestions = model.suggest_colors(image, (10, 30), k=5)
    assert len(suggestions) == 5
    probabilities = [p for _, p in suggestions]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1
    # a head that is certain of one class: the top suggestion is that class's ab at the pixel's L
    head = model.generator.model_class[0]
    target = int(((ab_bin_centers() - torch.tensor([30.0, 40.0])).abs().sum(1) == 0).nonzero())
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[target] = 20.0
    (color, probability), *_ = model.suggest_colors(image, (10, 30), k=3)
    assert probability > 0.99
    expected = lab_to_uint8(np.array([rgb2lightness(image[30, 10]), 30.0, 40.0]))
    assert color == tuple(int(c) for c in expected)
    assert len(model.suggest_colors(image, (0, 0), k=10_000)) == AB_BINS
    with pytest.raises(InferenceError, match="outside"):
        model.suggest_colors(image, (-1, 0))


def test_global_hint_vector_of_reference_images():
    red = np.zeros((300, 400, 3), np.uint8)
    red[..., 0] = 255
    vector = global_hint_from_image(red)
    assert vector.shape == (GLOBAL_HINT_SIZE,) and vector.dtype == np.float32
    histogram = vector[:AB_BINS]
    assert histogram.sum() == pytest.approx(1.0)
    a, b = rgb2lab(np.array([255, 0, 0], np.uint8))[1:]
    assert ab_bin_centers()[histogram.argmax()].tolist() == [round(a, -1), round(b, -1)]
    assert vector[AB_BINS:].tolist() == [1.0, pytest.approx(1.0), 1.0]  # flag, saturation, flag
    grey = global_hint_from_image(np.full((8, 8, 3), 90, np.uint8), use_histogram=False)
    assert not grey[: AB_BINS + 1].any() and grey[AB_BINS + 1 :].tolist() == [0.0, 1.0]
    with pytest.raises(InputImageError, match="reference image"):
        global_hint_from_image(np.zeros((8, 8), np.uint8))


def test_global_hints_steer_a_model_that_has_them(tmp_path):
    model = load(tmp_path / "m", global_hint_channels=GLOBAL_HINT_SIZE)
    assert model.has_global_hints
    image = photo()
    warm = global_hint_from_image(np.full((16, 16, 3), (230, 120, 30), np.uint8))
    cold = global_hint_from_image(np.full((16, 16, 3), (30, 90, 230), np.uint8))
    out_warm = model.colorize(image, global_hint=warm)
    out_cold = model.colorize(image, global_hint=cold)
    assert (out_warm != out_cold).any(axis=2).mean() > 0.1  # measured 0.31 of the pixels
    with pytest.raises(InferenceError, match=f"must have {GLOBAL_HINT_SIZE} values"):
        model.colorize(image, global_hint=np.zeros(10))


def test_one_interaction_at_256_is_fast_on_a_cpu(tmp_path):
    model = load(tmp_path / "m", crop_size=256)
    model.warm_up()
    image = photo(480, 640)
    start = time.perf_counter()
    out = model.colorize(image, [Hint(x=100, y=100, rgb=(255, 0, 0))])
    assert out.shape == (480, 640, 3)
    assert time.perf_counter() - start < 1.0  # measured ~0.1 s on 2 shared cores
