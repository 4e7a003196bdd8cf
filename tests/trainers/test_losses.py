"""GAN losses and regularisers on inputs whose values are known by hand."""

import math

import pytest
import torch

from trainers.losses import (
    class_balance_weights,
    feature_matching_loss,
    hinge_d_loss,
    hinge_g_loss,
    kl_divergence,
    labelmix_loss,
    labelmix_mask,
    lsgan_d_loss,
    lsgan_g_loss,
    nonsaturating_d_loss,
    nonsaturating_g_loss,
    oasis_loss,
    r1_penalty,
)

REAL = torch.tensor([2.0, 0.5])
FAKE = torch.tensor([-2.0, 0.5])


def test_hinge_values_and_mean_over_scales():
    d_real, d_fake = hinge_d_loss(REAL, FAKE)
    assert d_real.item() == pytest.approx(0.25) and d_fake.item() == pytest.approx(0.75)
    assert hinge_g_loss(FAKE).item() == pytest.approx(0.75)
    d_real, d_fake = hinge_d_loss([REAL, REAL + 10], [FAKE, FAKE - 10])
    assert d_real.item() == pytest.approx(0.125) and d_fake.item() == pytest.approx(0.375)


def test_lsgan_and_nonsaturating_values():
    d_real, d_fake = lsgan_d_loss(REAL, FAKE)
    assert d_real.item() == pytest.approx(0.5 * (1 + 0.25) / 2)
    assert d_fake.item() == pytest.approx(0.5 * (4 + 0.25) / 2)
    assert lsgan_g_loss(FAKE).item() == pytest.approx(0.5 * (9 + 0.25) / 2)
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    d_real, d_fake = nonsaturating_d_loss(REAL, FAKE)
    assert d_real.item() == pytest.approx((softplus(-2) + softplus(-0.5)) / 2)
    assert d_fake.item() == pytest.approx((softplus(-2) + softplus(0.5)) / 2)
    assert nonsaturating_g_loss(FAKE).item() == pytest.approx((softplus(2) + softplus(-0.5)) / 2)


def test_feature_matching_ignores_logits_averages_scales_and_only_moves_the_fake():
    real = [[torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 1)] for _ in range(2)]
    fake = [
        [torch.ones(2, 3, requires_grad=True), torch.full((2, 3), 2.0), torch.full((2, 1), 9.0)]
        for _ in range(2)
    ]
    loss = feature_matching_loss(fake, real)
    assert loss.item() == pytest.approx(3.0)  # (1 + 2) per scale, logits excluded, mean of 2 scales
    real[0][0].requires_grad_()
    feature_matching_loss(fake, real).backward()
    assert real[0][0].grad is None and fake[0][0].grad is not None


def test_kl_divergence_is_zero_at_the_prior_and_half_mu_squared():
    assert kl_divergence(torch.zeros(3, 8), torch.zeros(3, 8)).item() == 0
    assert kl_divergence(torch.ones(3, 8), torch.zeros(3, 8)).item() == pytest.approx(4.0)


def test_r1_is_the_squared_gradient_norm_and_differentiable():
    weights = torch.tensor([1.0, -2.0, 3.0])
    images = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]], requires_grad=True)
    penalty = r1_penalty((images.square() * weights).sum(1), images)  # gradient 2 w x
    assert penalty.item() == pytest.approx((4 * 14 + 4 * (4 + 36)) / 2)
    penalty.backward()  # create_graph: R1 trains D through its own gradient
    torch.testing.assert_close(images.grad, 4 * weights.square() * images.detach())


def test_class_balance_weights_favour_rare_classes_and_average_one():
    labels = torch.tensor([[[0, 0], [0, 2]]])
    weights = class_balance_weights(labels, 3)
    torch.testing.assert_close(weights, torch.tensor([[[2 / 3, 2 / 3], [2 / 3, 2.0]]]))
    assert weights.mean().item() == pytest.approx(1.0)


def test_oasis_loss_targets_class_plus_one_for_real_and_zero_for_fake():
    labels = torch.tensor([[[0, 1], [1, 1]]])
    confident = torch.full((1, 3, 2, 2), -20.0)
    confident[:, 1:].scatter_(1, labels[:, None], 20.0)  # class c is logit c + 1
    assert oasis_loss(confident, labels, real=True).item() < 1e-6
    assert oasis_loss(confident, labels, real=False).item() > 10
    fake_logits = torch.full((1, 3, 2, 2), -20.0)
    fake_logits[:, 0] = 20
    assert oasis_loss(fake_logits, labels, real=False).item() < 1e-6


def test_labelmix_mask_is_constant_per_class_and_a_consistent_d_has_no_loss():
    labels = torch.randint(0, 5, (16, 8, 8))
    mask = labelmix_mask(labels, 5, torch.Generator().manual_seed(0))
    assert mask.shape == (16, 1, 8, 8) and set(mask.unique().tolist()) == {0.0, 1.0}
    for n in range(16):
        for c in labels[n].unique():
            assert mask[n, 0][labels[n] == c].unique().numel() == 1
    real, fake = torch.randn(16, 6, 8, 8), torch.randn(16, 6, 8, 8)
    mixed = mask * real + (1 - mask) * fake
    assert labelmix_loss(mixed, real, fake, mask).item() == 0  # a per-pixel D is mix-consistent
    assert labelmix_loss(mixed + 1, real, fake, mask).item() == pytest.approx(1.0)
