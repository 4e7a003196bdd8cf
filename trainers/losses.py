"""GAN objectives and regularisers, written from the papers.

Discriminator outputs are lists over scales (multi-scale PatchGAN) of per-patch logits; every loss
is a mean over its elements and, for lists, a mean over scales, so values do not depend on the
batch size or on how a batch is split over processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

Logits = Tensor | Sequence[Tensor]


def _scales(logits: Logits) -> list[Tensor]:
    return [logits] if isinstance(logits, Tensor) else list(logits)


def _mean_over_scales(logits: Logits, loss: Callable[[Tensor], Tensor]) -> Tensor:
    scales = _scales(logits)
    return sum(loss(x.float()) for x in scales) / len(scales)


# --- adversarial losses: (discriminator loss on real and fake logits, generator loss on fake logits) ---


def hinge_d_loss(real: Logits, fake: Logits) -> tuple[Tensor, Tensor]:
    """Geometric GAN / SPADE: mean(relu(1 - D(real))), mean(relu(1 + D(fake)))."""
    return (
        _mean_over_scales(real, lambda x: F.relu(1 - x).mean()),
        _mean_over_scales(fake, lambda x: F.relu(1 + x).mean()),
    )


def hinge_g_loss(fake: Logits) -> Tensor:
    return _mean_over_scales(fake, lambda x: -x.mean())


def lsgan_d_loss(real: Logits, fake: Logits) -> tuple[Tensor, Tensor]:
    """Least squares GAN (pix2pixHD): real -> 1, fake -> 0; halved as in the paper."""
    return (
        _mean_over_scales(real, lambda x: 0.5 * (x - 1).square().mean()),
        _mean_over_scales(fake, lambda x: 0.5 * x.square().mean()),
    )


def lsgan_g_loss(fake: Logits) -> Tensor:
    return _mean_over_scales(fake, lambda x: 0.5 * (x - 1).square().mean())


def nonsaturating_d_loss(real: Logits, fake: Logits) -> tuple[Tensor, Tensor]:
    """The original GAN loss with logits (pix2pix's 'vanilla'): softplus(-D(real)), softplus(D(fake))."""
    return (
        _mean_over_scales(real, lambda x: F.softplus(-x).mean()),
        _mean_over_scales(fake, lambda x: F.softplus(x).mean()),
    )


def nonsaturating_g_loss(fake: Logits) -> Tensor:
    return _mean_over_scales(fake, lambda x: F.softplus(-x).mean())


GAN_LOSSES: dict[
    str, tuple[Callable[[Logits, Logits], tuple[Tensor, Tensor]], Callable[[Logits], Tensor]]
] = {
    "hinge": (hinge_d_loss, hinge_g_loss),
    "lsgan": (lsgan_d_loss, lsgan_g_loss),
    "nonsaturating": (nonsaturating_d_loss, nonsaturating_g_loss),
}


# --- reconstruction-style terms ---------------------------------------------------------------------------


def feature_matching_loss(fake: Sequence[Sequence[Tensor]], real: Sequence[Sequence[Tensor]]) -> Tensor:
    """pix2pixHD: L1 between the discriminator's intermediate features of fake and real, summed over
    layers (the final logits excluded) and averaged over scales; real features are targets only."""
    total = sum(
        F.l1_loss(f.float(), r.detach().float())
        for fs, rs in zip(fake, real, strict=True)
        for f, r in zip(fs[:-1], rs[:-1], strict=True)
    )
    return total / len(fake)


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over latent dimensions, averaged over the batch."""
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1).mean()


def r1_penalty(real_logits: Logits, real_images: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): mean squared gradient norm of D's real logits w.r.t. the real images.

    ``real_images`` must have required grad before the discriminator ran; multiply by gamma / 2.
    """
    total = sum(x.float().sum() for x in _scales(real_logits))
    (grad,) = torch.autograd.grad(total, real_images, create_graph=True)
    return grad.float().square().flatten(1).sum(1).mean()


# --- OASIS: the discriminator is an (N+1)-class segmenter, class 0 = fake ---------------------------------


def class_balance_weights(labels: Tensor, num_classes: int) -> Tensor:
    """Per-pixel weights (N, H, W) inversely proportional to each class's frequency in the batch,
    normalised so that a batch with equally frequent classes gets weight 1 (OASIS, eq. 3)."""
    counts = torch.bincount(labels.flatten(), minlength=num_classes).float()
    present = (counts > 0).sum()
    coefficients = torch.where(counts > 0, labels.numel() / (counts * present).clamp(min=1), 0)
    return coefficients[labels]


def oasis_loss(logits: Tensor, labels: Tensor, *, real: bool) -> Tensor:
    """Class-balanced cross-entropy of the segmentation discriminator's logits (N, C+1, H, W).

    ``real``: the target is each pixel's class + 1 (used for real photos in D's loss and for fakes in
    G's loss); otherwise the target is the fake class 0. ``labels`` are channel indices (N, H, W).
    """
    weights = class_balance_weights(labels, logits.shape[1] - 1)
    target = labels + 1 if real else torch.zeros_like(labels)
    return (F.cross_entropy(logits.float(), target, reduction="none") * weights).mean()


def labelmix_mask(labels: Tensor, num_classes: int, generator: torch.Generator | None = None) -> Tensor:
    """LabelMix (OASIS): each class of each image is taken from the real photo or from the fake with
    probability 1/2; returns the (N, 1, H, W) float mask, 1 = real."""
    choice = torch.randint(0, 2, (labels.shape[0], num_classes), generator=generator).to(labels.device)
    return torch.gather(choice, 1, labels.flatten(1)).view_as(labels).unsqueeze(1).float()


def labelmix_loss(mixed: Tensor, real: Tensor, fake: Tensor, mask: Tensor) -> Tensor:
    """D must be consistent with the mix: D(mix(real, fake)) ~ mix(D(real), D(fake)) on the logits."""
    target = mask * real.float() + (1 - mask) * fake.float()
    return F.mse_loss(mixed.float(), target)
