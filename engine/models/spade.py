"""SPADE / GauGAN generator and its convolutional style encoder (Park et al., CVPR 2019).

Module names mirror the official release so its state dicts load by name after spectral norm is
folded (``blocks.fold_spectral_norm``). ``norm="clade"`` swaps SPADE for class-adaptive norms.
``noise_nc > 0`` adds OASIS's 3D noise (Schönfeld et al., ICLR 2021): noise channels concatenated
to the label map, the conditioning input of the first layer and of every normalization, so that
different noise gives different photos of the same labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.models.blocks import LabelConditionedResBlock, LabelConv3x3, label_norm_factory
from engine.models.semantics import SemanticMap

UPSAMPLING_COUNT = {"normal": 5, "more": 6, "most": 7}


@dataclass(frozen=True)
class SPADEConfig:
    """Architecture of a SPADE generator (+ optional style encoder); names follow the official options."""

    label_nc: int
    contain_dontcare: bool = False
    use_instance_edges: bool = False
    ngf: int = 64
    num_upsampling_layers: Literal["normal", "more", "most"] = "normal"
    crop_size: int = 256
    aspect_ratio: float = 1.0
    use_vae: bool = False
    z_dim: int = 256
    norm: Literal["spade", "clade"] = "spade"
    norm_hidden: int = 128
    encoder_ngf: int | None = None
    has_encoder: bool = False
    noise_nc: int = 0  # OASIS 3D noise channels carried by the SemanticMap (0: none, as SPADE)

    def __post_init__(self) -> None:
        if self.noise_nc < 0:
            raise ValueError(f"noise_nc must be 0 (no noise) or positive, got {self.noise_nc}")

    @property
    def num_classes(self) -> int:
        """Label channels: classes plus the don't-care channel."""
        return self.label_nc + int(self.contain_dontcare)

    @property
    def semantic_nc(self) -> int:
        return self.num_classes + int(self.use_instance_edges)

    @property
    def num_up(self) -> int:
        return UPSAMPLING_COUNT[self.num_upsampling_layers]

    @property
    def latent_size(self) -> tuple[int, int]:
        """(sh, sw) of the first feature map at the native resolution."""
        sw = self.crop_size // 2**self.num_up
        return round(sw / self.aspect_ratio), sw

    @property
    def native_size(self) -> tuple[int, int]:
        sh, sw = self.latent_size
        return sh * 2**self.num_up, sw * 2**self.num_up

    @property
    def size_multiple(self) -> int:
        return 2**self.num_up

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SPADEConfig:
        return cls(**data)

    @classmethod
    def from_official_options(cls, options: dict[str, Any], has_encoder: bool = False) -> SPADEConfig:
        """Build from the official option names (as in the reference manifests)."""
        return cls(
            label_nc=options["label_nc"],
            contain_dontcare=options["contain_dontcare_label"],
            use_instance_edges=not options["no_instance"],
            ngf=options["ngf"],
            num_upsampling_layers=options["num_upsampling_layers"],
            crop_size=options["crop_size"],
            aspect_ratio=options["aspect_ratio"],
            use_vae=options["use_vae"],
            z_dim=options["z_dim"],
            has_encoder=has_encoder,
        )


class SPADEGenerator(nn.Module):
    """Label map (+ its 3D noise) (+ z) -> image in [-1, 1]; input sides are multiples of ``2**num_up``."""

    def __init__(self, config: SPADEConfig):
        super().__init__()
        self.config = config
        nf = config.ngf
        make_norm = label_norm_factory(
            config.norm, config.num_classes, config.use_instance_edges, config.norm_hidden, config.noise_nc
        )
        sh, sw = config.latent_size
        if config.use_vae:
            self.fc = nn.Linear(config.z_dim, 16 * nf * sh * sw)
        else:
            self.fc = LabelConv3x3(config.num_classes, config.use_instance_edges, 16 * nf, config.noise_nc)
        self.head_0 = LabelConditionedResBlock(16 * nf, 16 * nf, make_norm)
        self.G_middle_0 = LabelConditionedResBlock(16 * nf, 16 * nf, make_norm)
        self.G_middle_1 = LabelConditionedResBlock(16 * nf, 16 * nf, make_norm)
        self.up_0 = LabelConditionedResBlock(16 * nf, 8 * nf, make_norm)
        self.up_1 = LabelConditionedResBlock(8 * nf, 4 * nf, make_norm)
        self.up_2 = LabelConditionedResBlock(4 * nf, 2 * nf, make_norm)
        self.up_3 = LabelConditionedResBlock(2 * nf, nf, make_norm)
        final_nc = nf
        if config.num_upsampling_layers == "most":
            self.up_4 = LabelConditionedResBlock(nf, nf // 2, make_norm)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)

    def forward(self, semantics: SemanticMap, z: Tensor | None = None) -> Tensor:
        h, w = semantics.size
        k = self.config.size_multiple
        if h % k or w % k:
            raise ValueError(f"SPADE input sides must be multiples of {k}, got {h}x{w}")
        if semantics.noise_nc != self.config.noise_nc:
            raise ValueError(
                f"this generator takes {self.config.noise_nc} noise channels, got {semantics.noise_nc}"
            )
        latent = (h // k, w // k)
        if self.config.use_vae:
            if z is None:
                raise ValueError("this generator was trained with a style encoder and needs a latent z")
            sh, sw = self.config.latent_size
            if latent != (sh, sw):
                raise ValueError(f"a VAE SPADE generator runs only at its native size {sh * k}x{sw * k}")
            x = self.fc(z).view(z.shape[0], -1, sh, sw)
        else:
            x = self.fc(semantics.at(latent))

        def up(t: Tensor) -> Tensor:
            return F.interpolate(t, scale_factor=2, mode="nearest")

        x = up(self.head_0(x, semantics))
        x = self.G_middle_0(x, semantics)
        if self.config.num_upsampling_layers in ("more", "most"):
            x = up(x)
        x = up(self.G_middle_1(x, semantics))
        x = up(self.up_0(x, semantics))
        x = up(self.up_1(x, semantics))
        x = up(self.up_2(x, semantics))
        x = self.up_3(x, semantics)
        if self.config.num_upsampling_layers == "most":
            x = self.up_4(up(x), semantics)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class StyleEncoder(nn.Module):
    """SPADE's ConvEncoder: RGB image in [-1, 1] -> (mu, logvar) of the style latent (256-d)."""

    def __init__(self, config: SPADEConfig):
        super().__init__()
        ndf = config.encoder_ngf or config.ngf
        self.num_layers = 6 if config.crop_size >= 256 else 5
        widths = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 8 * ndf, 8 * ndf][: self.num_layers + 1]
        for i in range(self.num_layers):
            conv = nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1, bias=False)
            self.add_module(f"layer{i + 1}", nn.Sequential(conv, nn.InstanceNorm2d(widths[i + 1])))
        self.fc_mu = nn.Linear(8 * ndf * 4 * 4, 256)
        self.fc_var = nn.Linear(8 * ndf * 4 * 4, 256)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor]:
        if image.shape[-2:] != (256, 256):
            image = F.interpolate(image, size=(256, 256), mode="bilinear", align_corners=False)
        x = image
        for i in range(self.num_layers):
            x = getattr(self, f"layer{i + 1}")(x if i == 0 else F.leaky_relu(x, 0.2))
        x = F.leaky_relu(x, 0.2).flatten(1)
        return self.fc_mu(x), self.fc_var(x)
