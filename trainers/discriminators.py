"""Discriminators: the multi-scale conditional PatchGAN (pix2pix, pix2pixHD, SPADE), pix2pix's D chosen
by receptive field (PixelGAN included) and OASIS's segmentation discriminator. They only exist in
training, so their layout is ours to choose."""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Norm = Literal["instance", "batch", "none"]


def maybe_spectral(layer: nn.Module, spectral: bool) -> nn.Module:
    """Spectral normalisation with the classic hook (keys ``weight_orig``/``weight_u``/``weight_v``)."""
    return nn.utils.spectral_norm(layer) if spectral else layer


def _norm_layer(norm: Norm, channels: int) -> nn.Module:
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class PatchDiscriminator(nn.Module):
    """Conditional PatchGAN: (photo, condition) -> [features of every layer..., patch logits].

    ``n_layers`` 4x4 conv blocks (stride 2, the last stride 1, widths ndf, 2ndf, ... capped at 512)
    and a final 4x4 conv to one logit per patch; no norm on the first block, ``norm`` (+ spectral
    norm) on the others. The first conv over ``cat(photo, condition)`` is computed as the sum of a
    conv over the photo and one over the condition: the condition term is computed once and shared
    by every photo of the batch (fakes and reals), which saves work and is the same function.
    ``images`` may hold k x N photos for N conditions (e.g. ``cat([fake, real])``).
    """

    def __init__(
        self,
        image_nc: int,
        condition_nc: int,
        ndf: int = 64,
        n_layers: int = 4,
        norm: Norm = "instance",
        spectral: bool = True,
        padding: int = 2,
    ):
        super().__init__()
        self.image_conv = nn.Conv2d(image_nc, ndf, 4, 2, padding)
        self.condition_conv = (
            nn.Conv2d(condition_nc, ndf, 4, 2, padding, bias=False) if condition_nc else None
        )
        blocks: list[nn.Module] = []
        nf = ndf
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            conv = nn.Conv2d(prev, nf, 4, 1 if n == n_layers - 1 else 2, padding, bias=norm == "none")
            blocks.append(
                nn.Sequential(maybe_spectral(conv, spectral), _norm_layer(norm, nf), nn.LeakyReLU(0.2))
            )
        self.blocks = nn.ModuleList(blocks)
        self.final = nn.Conv2d(nf, 1, 4, 1, padding)

    def forward(self, images: Tensor, condition: Tensor | None = None) -> list[Tensor]:
        x = self.image_conv(images)
        if self.condition_conv is not None:
            if condition is None:
                raise ValueError("this discriminator is conditional: pass the condition")
            term = self.condition_conv(condition.to(x.dtype))
            k = images.shape[0] // condition.shape[0]
            x = (x.unflatten(0, (k, condition.shape[0])) + term).flatten(0, 1)
        features = [F.leaky_relu(x, 0.2)]
        for block in self.blocks:
            features.append(block(features[-1]))
        features.append(self.final(features[-1]))
        return features


def downsample(x: Tensor) -> Tensor:
    """The 3x3 stride-2 average pool between scales (borders averaged over real pixels only)."""
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` PatchDiscriminators on the input at full, half, quarter... resolution (pix2pixHD).

    Returns one feature list per scale; ``[-1]`` of each list is that scale's patch logits.
    """

    def __init__(self, image_nc: int, condition_nc: int, num_d: int = 2, **patch_options):
        super().__init__()
        self.scales = nn.ModuleList(
            PatchDiscriminator(image_nc, condition_nc, **patch_options) for _ in range(num_d)
        )

    def forward(self, images: Tensor, condition: Tensor | None = None) -> list[list[Tensor]]:
        outputs = []
        for i, scale in enumerate(self.scales):
            if i:
                images = downsample(images)
                condition = None if condition is None else downsample(condition)
            outputs.append(scale(images, condition))
        return outputs


class _ResidualBlock(nn.Module):
    """OASIS discriminator block: (lrelu) conv3x3, lrelu, conv3x3 plus a 1x1 shortcut, then resampled."""

    def __init__(self, fin: int, fout: int, resample: Literal["down", "up"], first: bool = False):
        super().__init__()
        self.resample = resample
        self.first = first
        self.conv_0 = nn.utils.spectral_norm(nn.Conv2d(fin, fout, 3, padding=1))
        self.conv_1 = nn.utils.spectral_norm(nn.Conv2d(fout, fout, 3, padding=1))
        self.conv_s = nn.utils.spectral_norm(nn.Conv2d(fin, fout, 1))

    def forward(self, x: Tensor) -> Tensor:
        if self.resample == "up":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv_0(x if self.first else F.leaky_relu(x, 0.2))
        h = self.conv_1(F.leaky_relu(h, 0.2))
        out = h + self.conv_s(x)
        return F.avg_pool2d(out, 2) if self.resample == "down" else out


class OASISDiscriminator(nn.Module):
    """OASIS (Sushko et al., ICLR 2021): a U-Net that segments a photo into the N label channels plus
    class 0 = "fake", pixel by pixel. No condition input: G must produce photos whose segmentation
    is the painted map. Widths follow the paper's (128, 128, 256, 256, 512, 512) at ``ndf=64``;
    ``depth`` (encoder blocks) defaults to what leaves a 4-pixel bottleneck, at most 6.
    """

    def __init__(self, num_classes: int, ndf: int = 64, image_size: int = 256, depth: int | None = None):
        super().__init__()
        self.num_classes = num_classes
        depth = depth or max(1, min(6, int(math.log2(image_size)) - 2))
        widths = [ndf * m for m in (2, 2, 4, 4, 8, 8)][:depth]
        self.encoder = nn.ModuleList(
            _ResidualBlock(3 if i == 0 else widths[i - 1], widths[i], "down", first=i == 0)
            for i in range(depth)
        )
        decoder = []
        for i in reversed(range(depth)):
            fin = widths[i] if i == depth - 1 else 2 * widths[i]
            decoder.append(_ResidualBlock(fin, widths[i - 1] if i else ndf, "up"))
        self.decoder = nn.ModuleList(decoder)
        self.classifier = nn.Conv2d(ndf, num_classes + 1, 1)

    @property
    def size_multiple(self) -> int:
        return 2 ** len(self.encoder)

    def forward(self, images: Tensor) -> Tensor:
        if images.shape[-2] % self.size_multiple or images.shape[-1] % self.size_multiple:
            raise ValueError(
                f"the OASIS discriminator needs sides that are multiples of {self.size_multiple}"
            )
        skips = []
        x = images
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        for i, block in enumerate(self.decoder):
            x = block(x if i == 0 else torch.cat([x, skips[-1 - i]], dim=1))
        return self.classifier(F.leaky_relu(x, 0.2))


# --- pix2pix: one D per receptive field -----------------------------------------------------------------

# receptive field (pixels) -> PatchDiscriminator n_layers: stride-2 convs then one stride-1 conv and
# the 4x4 logit conv; pix2pix counts only the stride-2 convs after the first (n_layers_D 1, 3, 5)
PATCH_LAYERS = {16: 2, 70: 4, 286: 6}
RECEPTIVE_FIELDS = (1, *PATCH_LAYERS)


class PixelDiscriminator(nn.Module):
    """pix2pix's 1x1 PatchGAN ("PixelGAN"): each pixel's colour judged alone, given the sketch there
    (1x1 convs ndf, 2 ndf with batch norm, 1 logit). Same interface as ``PatchDiscriminator``."""

    def __init__(self, image_nc: int, condition_nc: int, ndf: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(image_nc + condition_nc, ndf, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 1, bias=False),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 1, bias=False),
        )

    def forward(self, images: Tensor, condition: Tensor) -> list[Tensor]:
        return [self.net(torch.cat([images, condition.to(images.dtype)], 1))]


def conditional_discriminator(receptive: int, image_nc: int, condition_nc: int, ndf: int) -> nn.Module:
    """pix2pix's D on (photo, sketch): one logit per ``receptive`` x ``receptive`` patch, batch norm."""
    if receptive == 1:
        return PixelDiscriminator(image_nc, condition_nc, ndf)
    return PatchDiscriminator(
        image_nc, condition_nc, ndf, n_layers=PATCH_LAYERS[receptive], norm="batch", spectral=False, padding=1
    )
