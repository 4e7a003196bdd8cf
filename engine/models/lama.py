"""LaMa's inpainting generator: a ResNet of fast Fourier convolutions (Suvorov et al., WACV 2022).

An FFC splits its channels into a local part (ordinary 3x3 convolutions) and a global part that is
also convolved in the frequency domain, so every output pixel sees the whole image: what lets LaMa
continue large periodic structures into big holes. Module names and ``nn.Sequential`` indices mirror
the official ``FFCResNetGenerator`` so the released state dicts load by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# (local, global) feature pair; the global part is None before the first FFC that creates it
Features = tuple[Tensor, Tensor | None]


@dataclass(frozen=True)
class LaMaConfig:
    """Architecture of an FFC-ResNet generator; defaults are big-lama's.

    ``guide_channels`` > 0 is our user-guided variant: an edge sketch inside the hole is an extra
    input channel after the mask (0 for the official releases).
    """

    input_nc: int = 4
    output_nc: int = 3
    ngf: int = 64
    n_downsampling: int = 3
    n_blocks: int = 18
    ratio_g: float = 0.75
    max_features: int = 1024
    guide_channels: int = 0

    @property
    def in_channels(self) -> int:
        return self.input_nc + self.guide_channels

    @property
    def size_multiple(self) -> int:
        return 2**self.n_downsampling

    @property
    def min_size(self) -> int:
        """Smallest input side: the bottleneck needs 2 pixels for its reflect padding."""
        return 2 * self.size_multiple

    def width(self, multiplier: int) -> int:
        """Channels at the level where the features are ``multiplier`` times ngf (capped)."""
        return min(self.max_features, self.ngf * multiplier)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LaMaConfig:
        return cls(**data)

    @classmethod
    def from_official_options(cls, options: dict[str, Any]) -> LaMaConfig:
        """Build from the official generator options (configs/training/*.yaml, the reference manifests)."""
        resnet = options["resnet_conv_kwargs"]
        unsupported = {
            "kind": options["kind"] != "ffc_resnet",
            "add_out_act": options.get("add_out_act") != "sigmoid",
            "ratio_gin != ratio_gout": resnet["ratio_gin"] != resnet["ratio_gout"],
            "init/downsampling ratios": any(
                options[part].get(r, 0) != 0
                for part in ("init_conv_kwargs", "downsample_conv_kwargs")
                for r in ("ratio_gin", "ratio_gout")
            ),
            "enable_lfu": any(
                options[part].get("enable_lfu", False)
                for part in ("init_conv_kwargs", "downsample_conv_kwargs", "resnet_conv_kwargs")
            ),
        }
        bad = [name for name, is_bad in unsupported.items() if is_bad]
        if bad:
            raise ValueError(f"unsupported LaMa generator options: {', '.join(bad)}")
        return cls(
            input_nc=options["input_nc"],
            output_nc=options["output_nc"],
            ngf=options["ngf"],
            n_downsampling=options["n_downsampling"],
            n_blocks=options["n_blocks"],
            ratio_g=resnet["ratio_gin"],
            max_features=options.get("max_features", 1024),
        )


class FourierUnit(nn.Module):
    """1x1 conv + BN + ReLU applied to the real and imaginary parts of the image's 2-D spectrum.

    Channel 2k holds Re(channel k), 2k+1 Im(channel k), as in the official layout. The FFTs run
    in float32 because half-precision FFTs are unsupported on the CPU and size-limited on GPUs.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv_layer = nn.Conv2d(2 * channels, 2 * channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(2 * channels)

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        spectrum = torch.fft.rfft2(x.float(), norm="ortho")  # (N, C, H, W//2+1) complex
        parts = torch.view_as_real(spectrum).permute(0, 1, 4, 2, 3).reshape(n, 2 * c, h, -1)
        parts = F.relu(self.bn(self.conv_layer(parts.to(x.dtype))))
        parts = parts.float().view(n, c, 2, h, -1).permute(0, 1, 3, 4, 2).contiguous()
        return torch.fft.irfft2(torch.view_as_complex(parts), s=(h, w), norm="ortho").to(x.dtype)


class SpectralTransform(nn.Module):
    """The global-to-global path: halve the channels (1x1 + BN + ReLU), add the Fourier unit, 1x1 back."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        hidden = out_channels // 2
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU()
        )
        self.fu = FourierUnit(hidden)
        self.conv2 = nn.Conv2d(hidden, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        return self.conv2(x + self.fu(x))


class FFC(nn.Module):
    """Fast Fourier convolution: local and global channel groups with four cross paths.

    ``out_local = l2l(local) + g2l(global)``, ``out_global = l2g(local) + g2g(global)``; paths whose
    input or output group is empty do not exist (no weights, like the official ``nn.Identity``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        ratio_gin: float,
        ratio_gout: float,
        stride: int = 1,
        padding: int = 0,
    ):
        super().__init__()
        in_g = int(in_channels * ratio_gin)
        out_g = int(out_channels * ratio_gout)
        in_l, out_l = in_channels - in_g, out_channels - out_g
        self.local_channels, self.global_channels = out_l, out_g

        def conv(cin: int, cout: int) -> nn.Conv2d | None:
            if not (cin and cout):
                return None
            return nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=False, padding_mode="reflect")

        self.convl2l = conv(in_l, out_l)
        self.convl2g = conv(in_l, out_g)
        self.convg2l = conv(in_g, out_l)
        self.convg2g = SpectralTransform(in_g, out_g) if in_g and out_g else None

    def forward(self, x: Features) -> tuple[Tensor | None, Tensor | None]:
        local, glob = x
        out_local = _sum_paths((self.convl2l, local), (self.convg2l, glob))
        out_global = _sum_paths((self.convl2g, local), (self.convg2g, glob))
        return out_local, out_global


def _sum_paths(*paths: tuple[nn.Module | None, Tensor | None]) -> Tensor | None:
    terms = [module(x) for module, x in paths if module is not None and x is not None]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


class FFCConvBNReLU(nn.Module):
    """FFC, then BatchNorm + ReLU on each non-empty branch (the official ``FFC_BN_ACT``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        ratio_gin: float = 0.0,
        ratio_gout: float = 0.0,
        stride: int = 1,
        padding: int = 0,
    ):
        super().__init__()
        self.ffc = FFC(in_channels, out_channels, kernel_size, ratio_gin, ratio_gout, stride, padding)
        self.bn_l = nn.BatchNorm2d(self.ffc.local_channels) if self.ffc.local_channels else None
        self.bn_g = nn.BatchNorm2d(self.ffc.global_channels) if self.ffc.global_channels else None

    def forward(self, x: Tensor | Features) -> Features:
        local, glob = self.ffc(x if isinstance(x, tuple) else (x, None))
        if self.bn_l is not None:
            local = F.relu(self.bn_l(local))
        if self.bn_g is not None:
            glob = F.relu(self.bn_g(glob))
        return local, glob


class FFCResnetBlock(nn.Module):
    """Two FFC-BN-ReLU layers plus the identity, on both branches (activation before the add)."""

    def __init__(self, channels: int, ratio_g: float):
        super().__init__()
        self.conv1 = FFCConvBNReLU(channels, channels, 3, ratio_g, ratio_g, padding=1)
        self.conv2 = FFCConvBNReLU(channels, channels, 3, ratio_g, ratio_g, padding=1)

    def forward(self, x: Features) -> Features:
        local, glob = self.conv2(self.conv1(x))
        return x[0] + local, x[1] + glob


class ConcatLocalGlobal(nn.Module):
    """Merge the branches for the decoder: local channels first, then global."""

    def forward(self, x: Features) -> Tensor:
        local, glob = x
        return local if glob is None else torch.cat([local, glob], dim=1)


class FFCResNetGenerator(nn.Module):
    """Masked image + mask (+ guide) -> image in [0, 1]. Input sides must be multiples of 2**n_downsampling.

    Encoder: 7x7 FFC, n_downsampling strided 3x3 FFCs (the last one splits off the global
    branch), n_blocks FFC residual blocks; decoder: transposed convs + BN + ReLU, 7x7 conv, sigmoid.
    """

    def __init__(self, config: LaMaConfig):
        super().__init__()
        self.config = config
        c = config
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), FFCConvBNReLU(c.in_channels, c.ngf, 7)]
        for i in range(c.n_downsampling):
            ratio_out = c.ratio_g if i == c.n_downsampling - 1 else 0.0
            layers.append(
                FFCConvBNReLU(
                    c.width(2**i), c.width(2 ** (i + 1)), 3, ratio_gout=ratio_out, stride=2, padding=1
                )
            )
        bottleneck = c.width(c.size_multiple)
        layers += [FFCResnetBlock(bottleneck, c.ratio_g) for _ in range(c.n_blocks)]
        layers.append(ConcatLocalGlobal())
        for i in range(c.n_downsampling):
            mult = 2 ** (c.n_downsampling - i)
            cin, cout = c.width(mult), c.width(mult // 2)
            layers += [
                nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c.ngf, c.output_nc, 7), nn.Sigmoid()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        k = self.config.size_multiple
        if h % k or w % k or min(h, w) < self.config.min_size:
            raise ValueError(
                f"LaMa input sides must be multiples of {k} and at least {self.config.min_size}, got {h}x{w}"
            )
        if x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"this LaMa generator takes {self.config.in_channels} channels, got {x.shape[1]}"
            )
        return self.model(x)


FIRST_CONV_KEY = "model.1.ffc.convl2l.weight"  # the stem convolution, which reads the input channels


def with_guide_input(state: Mapping[str, Tensor], config: LaMaConfig) -> dict[str, Tensor]:
    """An unguided generator's weights for the guided ``config``: the guide channel (the last input)
    gets zero weights in the stem, so the result fills exactly as the unguided model did until
    training teaches it to read the guide. Weights that already have the channel pass unchanged."""
    stem = state[FIRST_CONV_KEY]
    missing = config.in_channels - stem.shape[1]
    if missing <= 0:
        return dict(state)
    zeros = stem.new_zeros(stem.shape[0], missing, *stem.shape[2:])
    return {**state, FIRST_CONV_KEY: torch.cat([stem, zeros], dim=1)}


def generator_input(image: Tensor, mask: Tensor, guide: Tensor | None, config: LaMaConfig) -> Tensor:
    """The network input: the photo in [0, 1] with the hole zeroed, the 0/1 mask and, for guided
    models, the guide inside the hole (zeros: no guide). Shared by the runtime and the trainer."""
    parts = [image * (1 - mask), mask]
    if config.guide_channels:
        parts.append(mask * (guide if guide is not None else torch.zeros_like(mask)))
    return torch.cat(parts, dim=1)
