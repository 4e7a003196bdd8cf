"""Interactive colorization network of Zhang et al., "Real-Time User-Guided Image Colorization with
Learned Deep Priors" (SIGGRAPH 2017), as released in richzhang/colorization (``siggraph17``).

Module names and ``nn.Sequential`` indices mirror the release so its state dict loads by name. The
paper's global hints network (a colour histogram and saturation of a reference image) was never
part of the release; here it is an optional branch (``global_hint_channels > 0``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

AB_MAX = 110.0  # ab range of the network's output and of its quantised colour classes
AB_STEP = 10.0  # spacing of the class grid in ab
AB_BINS_PER_AXIS = int(2 * AB_MAX / AB_STEP) + 1  # 23 centres from -110 to 110
AB_BINS = AB_BINS_PER_AXIS**2  # 529 classes, index = a_index * 23 + b_index
L_CENTER, L_NORM = 50.0, 100.0


@dataclass(frozen=True)
class ColorizationConfig:
    """Architecture of a SIGGRAPH'17 colorization network; the defaults are the official release.

    ``width`` is the first stage's channel count (stages use 1x, 2x, 4x, 8x of it).
    ``global_hint_channels`` > 0 adds the global hints branch with that input length.
    """

    width: int = 64
    global_hint_channels: int = 0
    crop_size: int = 256

    @property
    def native_size(self) -> tuple[int, int]:
        return self.crop_size, self.crop_size

    @property
    def size_multiple(self) -> int:
        """Three 2x subsamplings and three 2x transposed convs must line up for the skip sums."""
        return 8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColorizationConfig:
        return cls(**data)


def ab_bin_centers() -> Tensor:
    """(529, 2) ab centre of every colour class, in the class head's channel order."""
    axis = torch.arange(AB_BINS_PER_AXIS, dtype=torch.float32) * AB_STEP - AB_MAX
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([a.flatten(), b.flatten()], dim=1)


def _conv_stage(fin: int, fout: int, convs: int, dilation: int = 1) -> nn.Sequential:
    """``convs`` x (3x3 conv -> ReLU), then BatchNorm: the release puts BN after the last ReLU."""
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [
            nn.Conv2d(fin if i == 0 else fout, fout, 3, padding=dilation, dilation=dilation),
            nn.ReLU(),
        ]
    return nn.Sequential(*layers, nn.BatchNorm2d(fout))


def _decoder_stage(width: int, convs: int, norm: bool) -> nn.Sequential:
    """ReLU-first decoder blocks: (ReLU -> 3x3 conv) x ``convs``, then ReLU + BN or LeakyReLU."""
    layers: list[nn.Module] = []
    for _ in range(convs):
        layers += [nn.ReLU(), nn.Conv2d(width, width, 3, padding=1)]
    layers += [nn.ReLU(), nn.BatchNorm2d(width)] if norm else [nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


def _upsample(fin: int, fout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(fin, fout, 4, stride=2, padding=1))


def _shortcut(fin: int, fout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(fin, fout, 3, padding=1))


class SIGGRAPHGenerator(nn.Module):
    """Lightness + sparse ab hints (+ a global hint vector) -> ab in Lab units (+ colour-class logits).

    Sides must be multiples of 8. Downsampling is pixel subsampling (``x[..., ::2, ::2]``), as
    in the release.
    """

    def __init__(self, config: ColorizationConfig):
        super().__init__()
        self.config = config
        w1, w2, w3, w4 = (config.width * m for m in (1, 2, 4, 8))
        self.model1 = _conv_stage(4, w1, 2)
        self.model2 = _conv_stage(w1, w2, 2)
        self.model3 = _conv_stage(w2, w3, 3)
        self.model4 = _conv_stage(w3, w4, 3)
        self.model5 = _conv_stage(w4, w4, 3, dilation=2)
        self.model6 = _conv_stage(w4, w4, 3, dilation=2)
        self.model7 = _conv_stage(w4, w4, 3)
        self.model8up = _upsample(w4, w3)
        self.model8 = _decoder_stage(w3, 2, norm=True)
        self.model9up = _upsample(w3, w2)
        self.model9 = _decoder_stage(w2, 1, norm=True)
        self.model10up = _upsample(w2, w2)
        self.model10 = _decoder_stage(w2, 1, norm=False)
        self.model3short8 = _shortcut(w3, w3)
        self.model2short9 = _shortcut(w2, w2)
        self.model1short10 = _shortcut(w1, w2)
        self.model_class = nn.Sequential(nn.Conv2d(w3, AB_BINS, 1))
        self.model_out = nn.Sequential(nn.Conv2d(w2, 2, 1), nn.Tanh())
        if config.global_hint_channels:
            self.global_hints = self._global_hints_branch(config.global_hint_channels, w4)

    @staticmethod
    def _global_hints_branch(channels: int, width: int) -> nn.Sequential:
        """Four 1x1 convs on the global vector (the paper's global hints network).

        The last one starts at zero, so a network fine-tuned from the official weights begins
        exactly at the official function.
        """
        branch = nn.Sequential(
            nn.Conv2d(channels, width, 1),
            nn.ReLU(),
            nn.Conv2d(width, width, 1),
            nn.ReLU(),
            nn.Conv2d(width, width, 1),
            nn.ReLU(),
            nn.Conv2d(width, width, 1),
        )
        nn.init.zeros_(branch[-1].weight)
        nn.init.zeros_(branch[-1].bias)
        return branch

    def forward(
        self,
        lightness: Tensor,
        ab: Tensor | None = None,
        mask: Tensor | None = None,
        global_hint: Tensor | None = None,
        return_class_logits: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """``lightness`` (N, 1, H, W) in [0, 100]; ``ab`` (N, 2, H, W) hint colours in Lab units, 0
        elsewhere; ``mask`` (N, 1, H, W) 1 at hinted pixels; ``global_hint`` (N, C).

        Returns ab (N, 2, H, W); with ``return_class_logits`` also the colour-class logits
        (N, 529, H/4, W/4), whose softmax is the predicted distribution over ``ab_bin_centers()``.
        """
        n, _, h, w = lightness.shape
        k = self.config.size_multiple
        if h % k or w % k:
            raise ValueError(f"colorization input sides must be multiples of {k}, got {h}x{w}")
        if ab is None:
            ab = lightness.new_zeros(n, 2, h, w)
        if mask is None:
            mask = lightness.new_zeros(n, 1, h, w)
        x = torch.cat([(lightness - L_CENTER) / L_NORM, ab / AB_MAX, mask], dim=1)
        conv1_2 = self.model1(x)
        conv2_2 = self.model2(conv1_2[:, :, ::2, ::2])
        conv3_3 = self.model3(conv2_2[:, :, ::2, ::2])
        conv4_3 = self.model4(conv3_3[:, :, ::2, ::2])
        conv4_3 = conv4_3 + self._global_features(global_hint, conv4_3)
        conv7_3 = self.model7(self.model6(self.model5(conv4_3)))
        conv8_3 = self.model8(self.model8up(conv7_3) + self.model3short8(conv3_3))
        conv9_3 = self.model9(self.model9up(conv8_3) + self.model2short9(conv2_2))
        conv10_2 = self.model10(self.model10up(conv9_3) + self.model1short10(conv1_2))
        out_ab = self.model_out(conv10_2) * AB_MAX
        if return_class_logits:
            return out_ab, self.model_class(conv8_3)
        return out_ab

    def _global_features(self, global_hint: Tensor | None, features: Tensor) -> Tensor | float:
        """The global branch's output, broadcast over the bottleneck; 0 when the branch is off."""
        channels = self.config.global_hint_channels
        if not channels:
            if global_hint is not None:
                raise ValueError("this colorization network has no global hints branch")
            return 0.0
        n = features.shape[0]
        if global_hint is None:
            global_hint = features.new_zeros(n, channels)  # every "given" flag off: no global hint
        if global_hint.shape != (n, channels):
            raise ValueError(f"global hint must have shape ({n}, {channels}), got {tuple(global_hint.shape)}")
        return self.global_hints(global_hint.to(features.dtype)[:, :, None, None])
