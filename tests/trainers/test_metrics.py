"""PSNR, L1 and SSIM against values worked out by hand."""

import numpy as np
import pytest

from trainers.evaluation.metrics import l1, psnr, ssim


def test_psnr_and_l1_of_a_known_difference_and_inside_a_region():
    a = np.zeros((8, 8, 3), np.uint8)
    b = a.copy()
    b[:4] = 10  # half the pixels off by 10
    assert l1(a, b) == pytest.approx(5.0)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 50))
    region = np.zeros((8, 8), bool)
    region[4:] = True
    assert psnr(a, b, region) == float("inf") and l1(a, b, region) == 0
    with pytest.raises(ValueError, match="empty"):
        psnr(a, b, np.zeros((8, 8), bool))


def test_ssim_is_one_for_identical_images_and_drops_with_noise():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert ssim(image, image) == pytest.approx(1.0)
    noisy = np.clip(image.astype(int) + rng.normal(0, 40, image.shape), 0, 255).astype(np.uint8)
    assert 0 < ssim(image, noisy) < 0.9
    flat = np.full_like(image, 128)
    assert ssim(flat, flat) == pytest.approx(1.0)


def test_line_f1_matches_lines_within_the_tolerance_and_penalises_missing_or_extra_ones():
    from trainers.evaluation.metrics import line_f1

    reference = np.full((40, 40), 255, np.uint8)
    reference[10, 5:35] = 0
    shifted = np.full((40, 40), 255, np.uint8)
    shifted[12, 5:35] = 0  # 2 px off: within the tolerance
    assert line_f1(reference, reference) == 1.0 and line_f1(shifted, reference) == 1.0
    assert line_f1(shifted, reference, tolerance=1) == 0.0
    half = np.full((40, 40), 255, np.uint8)
    half[10, 5:20] = 0  # precision 1; recall 17/30 (x 5..21 lie within 2 px of it)
    recall = 17 / 30
    assert abs(line_f1(half, reference) - 2 * recall / (1 + recall)) < 1e-9
    assert line_f1(np.full((40, 40), 255, np.uint8), reference) == 0.0  # no lines at all
    assert line_f1(np.stack([half] * 3, axis=2), reference) == line_f1(half, reference)  # RGB sketches
