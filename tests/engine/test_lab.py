"""Lab conversions against skimage's numbers (fixtures/colorization_prepost) and the demo's pre/post path."""

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.lab import lab2rgb, lab_to_uint8, rgb2lab, rgb2lightness
from tests.conftest import load_fixture


def test_rgb2lab_matches_skimage_float64():
    io, _, _ = load_fixture("colorization_prepost")
    lab = rgb2lab(io["rgb_u8"].numpy())
    assert lab.dtype == np.float64
    np.testing.assert_allclose(lab, io["lab_f64"].numpy(), rtol=0, atol=1e-9)


def test_lightness_alone_equals_rgb2lab_l():
    io, _, _ = load_fixture("colorization_prepost")
    rgb = io["rgb_u8"].numpy()
    np.testing.assert_allclose(rgb2lightness(rgb), io["lab_f64"].numpy()[..., 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(rgb2lightness(rgb), io["tens_orig_l"].numpy()[0, 0], rtol=0, atol=1e-5)


def test_demo_256_bicubic_lightness_path():
    """preprocess_img: PIL bicubic resize of the uint8 RGB to 256x256, then L (stored as float32)."""
    io, _, _ = load_fixture("colorization_prepost")
    small = np.asarray(Image.fromarray(io["rgb_u8"].numpy()).resize((256, 256), Image.BICUBIC))
    np.testing.assert_allclose(rgb2lightness(small), io["tens_rs_l"].numpy()[0, 0], rtol=0, atol=1e-5)


def test_demo_postprocess_bilinear_ab_and_lab2rgb():
    """postprocess_tens: ab bilinear (align_corners False) to the original size + original L -> lab2rgb."""
    io, _, _ = load_fixture("colorization_prepost")
    ab = F.interpolate(io["ab_256"], size=(72, 100), mode="bilinear", align_corners=False)
    lab = torch.cat([io["tens_orig_l"], ab], dim=1)[0].permute(1, 2, 0).double().numpy()
    np.testing.assert_allclose(lab2rgb(lab), io["postprocess_rgb"].numpy(), rtol=0, atol=1e-5)


def test_round_trip_of_random_colours_within_one_level():
    rgb = np.random.default_rng(0).integers(0, 256, (20000, 3), dtype=np.uint8)
    corners = np.array(
        [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [1, 2, 3]], np.uint8
    )
    rgb = np.concatenate([rgb, corners])
    back = lab2rgb(rgb2lab(rgb))
    assert np.abs(back - rgb / 255.0).max() < 1 / 255
    np.testing.assert_array_equal(lab_to_uint8(rgb2lab(rgb)), rgb)


def test_reference_white_and_black():
    # skimage's rounded sRGB matrix leaves white a few thousandths off the neutral axis
    np.testing.assert_allclose(rgb2lab(np.array([255, 255, 255], np.uint8)), [100, 0, 0], atol=1e-2)
    np.testing.assert_allclose(rgb2lab(np.array([0, 0, 0], np.uint8)), [0, 0, 0], atol=1e-12)


def test_out_of_gamut_lab_is_clipped_to_the_unit_range():
    lab = np.array([[50.0, 110.0, -110.0], [100.0, -110.0, 110.0], [0.0, 0.0, 100.0]])
    rgb = lab2rgb(lab)
    assert rgb.min() == 0.0 and rgb.max() == 1.0
    assert np.isfinite(rgb).all()
