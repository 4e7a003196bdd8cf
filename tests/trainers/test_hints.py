"""Simulated colour hints: the paper's statistics (geometric count, 1-9 px patches, uniform or
central locations) and hint colours that are exactly their patch's mean ab."""

import numpy as np
import pytest

from trainers.hints import HintPatch, HintSampling, hint_maps, sample_count, sample_patches, simulate_hints
from trainers.loop import TrainingError


def test_the_number_of_hints_is_geometric_from_zero_with_mean_seven():
    rng = np.random.default_rng(0)
    counts = np.array([sample_count(rng, HintSampling()) for _ in range(20000)])
    assert HintSampling().mean_count == 7
    assert counts.min() == 0
    assert abs(counts.mean() - 7) < 0.25  # standard error of the mean: 0.05
    assert abs((counts == 0).mean() - 1 / 8) < 0.01  # P(0) = p
    assert abs((counts == 1).mean() - 7 / 64) < 0.01  # P(1) = p (1 - p)


def test_patch_sides_are_uniform_in_1_to_9_and_every_patch_lies_inside_the_image():
    patches = sample_patches(np.random.default_rng(1), (20, 30), HintSampling(), count=9000)
    sizes = np.array([p.size for p in patches])
    assert set(sizes) == set(range(1, 10))
    assert np.all(np.abs(np.bincount(sizes)[1:] - 1000) < 120)
    assert all(p.top >= 0 and p.left >= 0 and p.top + p.size <= 20 and p.left + p.size <= 30 for p in patches)
    tops = np.array([p.top for p in patches])
    assert abs(tops.mean() - np.mean((20 - sizes) / 2)) < 0.2  # uniform over the valid positions


def test_patches_larger_than_the_image_are_cut_to_it():
    patches = sample_patches(np.random.default_rng(2), (4, 6), HintSampling(min_size=9), count=5)
    assert {(p.size, p.top) for p in patches} == {(4, 0)}
    assert all(0 <= p.left <= 2 for p in patches)


def test_gaussian_locations_gather_around_the_centre():
    shape = (256, 256)
    centres = {}
    for location in ("uniform", "gaussian"):
        patches = sample_patches(np.random.default_rng(3), shape, HintSampling(location=location), 8000)
        centres[location] = np.array([(p.top + p.size / 2, p.left + p.size / 2) for p in patches])
    gaussian = centres["gaussian"]
    assert np.all(np.abs(gaussian.mean(axis=0) - 128) < 2)
    assert np.all(np.abs(gaussian.std(axis=0) - 64) < 4)  # sigma = a quarter of the side, a little clipped
    central = {k: np.mean(np.all(np.abs(c - 128) < 64, axis=1)) for k, c in centres.items()}
    assert abs(central["gaussian"] - 0.683**2) < 0.02 and abs(central["uniform"] - 0.25) < 0.02


def test_a_hint_carries_its_patch_mean_ab_exactly_and_the_mask_covers_it():
    ab = np.random.default_rng(4).uniform(-100, 100, (2, 16, 20))
    patches = [HintPatch(0, 0, 3), HintPatch(5, 7, 4), HintPatch(12, 19, 1)]
    hint_ab, mask = hint_maps(ab, patches)
    assert hint_ab.shape == (2, 16, 20) and mask.shape == (1, 16, 20)
    assert hint_ab.dtype == mask.dtype == np.float32
    covered = np.zeros((16, 20), bool)
    for patch in patches:
        rows, cols = patch.region
        expected = ab[:, rows, cols].mean(axis=(1, 2)).astype(np.float32)
        assert np.array_equal(
            hint_ab[:, rows, cols], np.broadcast_to(expected[:, None, None], (2, *covered[rows, cols].shape))
        )
        covered[rows, cols] = True
    assert np.array_equal(mask[0], covered.astype(np.float32))
    assert not hint_ab[:, ~covered].any()


def test_where_hints_overlap_the_later_one_wins():
    ab = np.random.default_rng(5).uniform(-50, 50, (2, 8, 8))
    hint_ab, mask = hint_maps(ab, [HintPatch(0, 0, 4), HintPatch(2, 2, 4)])
    assert np.allclose(hint_ab[:, 3, 3], ab[:, 2:6, 2:6].mean(axis=(1, 2)))
    assert np.allclose(hint_ab[:, 0, 0], ab[:, :4, :4].mean(axis=(1, 2)))
    assert mask.sum() == 16 + 16 - 4


def test_simulated_hints_are_a_function_of_the_generator_state():
    ab = np.random.default_rng(6).uniform(-50, 50, (2, 32, 32))
    draws = [simulate_hints(ab, np.random.default_rng(seed), HintSampling()) for seed in (7, 7, 8)]
    assert np.array_equal(draws[0][0], draws[1][0]) and np.array_equal(draws[0][1], draws[1][1])
    assert not np.array_equal(draws[0][1], draws[2][1])
    masks = [simulate_hints(ab, np.random.default_rng(seed), HintSampling())[1] for seed in range(200)]
    assert any(not m.any() for m in masks)  # the automatic case, without any hint, is common


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"p": 0}, "probability must be in"),
        ({"min_size": 5, "max_size": 4}, "1 <= min <= max"),
        ({"min_size": 0}, "1 <= min <= max"),
        ({"location": "corner"}, "unknown hint location 'corner'"),
    ],
)
def test_bad_sampling_options_are_named(options, message):
    with pytest.raises(TrainingError, match=message):
        HintSampling(**options)
