"""pix2pixHD's generators and instance feature encoder (Wang et al., CVPR 2018).

The global generator is a residual encoder-decoder; the local enhancer runs it on a half-size copy
of the input and adds its last feature map to a full-resolution branch (coarse to fine). Every
network is an ``nn.Sequential`` built with the official layer order, parameter-free layers
included, so the released state dicts (``model.<i>``, ``model1_1.<i>``, ``model1_2.<i>``) load by
name without a rename table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# the official label2city sizes: 512p (global) scales Cityscapes to 1024 px wide; each enhancer doubles
GLOBAL_NATIVE_SIZE = (512, 1024)


@dataclass(frozen=True)
class Pix2PixHDConfig:
    """Architecture of a pix2pixHD generator (+ feature encoder); names follow the official options.

    ``n_local_enhancers`` 0 is the global generator alone (``--netG global``); ``ngf`` is the width
    of the finest branch, the global part gets ``ngf * 2**n_local_enhancers``. ``feat_num`` 0 means
    no instance feature channels (``--instance_feat`` off).
    """

    label_nc: int
    use_instance_edges: bool = True
    feat_num: int = 0
    output_nc: int = 3
    ngf: int = 64
    n_downsample_global: int = 4
    n_blocks_global: int = 9
    n_local_enhancers: int = 0
    n_blocks_local: int = 3
    nef: int = 16
    n_downsample_E: int = 4
    has_encoder: bool = False
    native_size: tuple[int, int] = GLOBAL_NATIVE_SIZE

    @property
    def input_nc(self) -> int:
        """Generator input channels: one-hot labels, the edge map, the feature map (in that order)."""
        return self.label_nc + int(self.use_instance_edges) + self.feat_num

    @property
    def global_ngf(self) -> int:
        return self.ngf * 2**self.n_local_enhancers

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this (every downsampling halves exactly)."""
        return 2 ** (self.n_downsample_global + self.n_local_enhancers)

    @property
    def encoder_multiple(self) -> int:
        return 2**self.n_downsample_E

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["native_size"] = list(self.native_size)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pix2PixHDConfig:
        data = dict(data)
        if "native_size" in data:
            data["native_size"] = tuple(data["native_size"])
        return cls(**data)

    @classmethod
    def from_official_options(
        cls, options: dict[str, Any], has_encoder: bool | None = None
    ) -> Pix2PixHDConfig:
        """Build from the official option names (as in the reference manifests and fixtures)."""
        n_local = 0 if options["netG"] == "global" else options["n_local_enhancers"]
        instance_feat = options["instance_feat"] or options["label_feat"]
        return cls(
            label_nc=options["label_nc"],
            use_instance_edges=not options["no_instance"],
            feat_num=options["feat_num"] if instance_feat else 0,
            output_nc=options["output_nc"],
            ngf=options["ngf"],
            n_downsample_global=options["n_downsample_global"],
            n_blocks_global=options["n_blocks_global"],
            n_local_enhancers=n_local,
            n_blocks_local=options["n_blocks_local"],
            nef=options["nef"],
            n_downsample_E=options["n_downsample_E"],
            has_encoder=instance_feat if has_encoder is None else has_encoder,
            native_size=native_size_for(n_local),
        )


def native_size_for(n_local_enhancers: int) -> tuple[int, int]:
    """(H, W) the official label2city models were trained at."""
    h, w = GLOBAL_NATIVE_SIZE
    return h * 2**n_local_enhancers, w * 2**n_local_enhancers


def _norm_relu(channels: int) -> list[nn.Module]:
    # affine-free instance norm without running stats: no state-dict keys, same in train and eval
    return [nn.InstanceNorm2d(channels), nn.ReLU(inplace=True)]


def _stem(in_nc: int, out_nc: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_nc, out_nc, 7), *_norm_relu(out_nc)]


def _downsample(channels: int) -> list[nn.Module]:
    return [nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1), *_norm_relu(2 * channels)]


def _upsample(channels: int) -> list[nn.Module]:
    conv = nn.ConvTranspose2d(channels, channels // 2, 3, stride=2, padding=1, output_padding=1)
    return [conv, *_norm_relu(channels // 2)]


def _to_rgb(in_nc: int, out_nc: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_nc, out_nc, 7), nn.Tanh()]


class ResnetBlock(nn.Module):
    """x + (reflect-pad, conv3x3, IN, ReLU, reflect-pad, conv3x3, IN)(x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            *_norm_relu(channels),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


def _global_trunk(config: Pix2PixHDConfig, ngf: int) -> list[nn.Module]:
    """The global generator up to (not including) its RGB output layers."""
    layers = _stem(config.input_nc, ngf)
    for i in range(config.n_downsample_global):
        layers += _downsample(ngf * 2**i)
    bottleneck = ngf * 2**config.n_downsample_global
    layers += [ResnetBlock(bottleneck) for _ in range(config.n_blocks_global)]
    for i in range(config.n_downsample_global, 0, -1):
        layers += _upsample(ngf * 2**i)
    return layers


def _check_input(x: Tensor, config: Pix2PixHDConfig) -> None:
    k = config.size_multiple
    h, w = x.shape[-2:]
    if h % k or w % k:
        raise ValueError(f"pix2pixHD input sides must be multiples of {k}, got {h}x{w}")
    if x.shape[1] != config.input_nc:
        raise ValueError(f"this generator takes {config.input_nc} input channels, got {x.shape[1]}")


class GlobalGenerator(nn.Module):
    """``--netG global``: input (N, input_nc, H, W) -> image in [-1, 1]."""

    def __init__(self, config: Pix2PixHDConfig):
        super().__init__()
        if config.n_local_enhancers:
            raise ValueError("a config with local enhancers builds a LocalEnhancer (see build_generator)")
        self.config = config
        self.model = nn.Sequential(*_global_trunk(config, config.ngf), *_to_rgb(config.ngf, config.output_nc))

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.config)
        return self.model(x)


class LocalEnhancer(nn.Module):
    """``--netG local``: the global trunk on the input averaged down by 2 per enhancer, refined by the
    enhancer branches ``model<n>_1`` (down) + trunk features -> ``model<n>_2`` (res blocks, up).
    """

    def __init__(self, config: Pix2PixHDConfig):
        super().__init__()
        if not config.n_local_enhancers:
            raise ValueError("a config without local enhancers builds a GlobalGenerator")
        self.config = config
        self.model = nn.Sequential(*_global_trunk(config, config.global_ngf))
        n_local = config.n_local_enhancers
        for n in range(1, n_local + 1):
            ngf = config.ngf * 2 ** (n_local - n)
            down = _stem(config.input_nc, ngf) + _downsample(ngf)
            up: list[nn.Module] = [ResnetBlock(2 * ngf) for _ in range(config.n_blocks_local)]
            up += _upsample(2 * ngf)
            if n == n_local:
                up += _to_rgb(ngf, config.output_nc)
            setattr(self, f"model{n}_1", nn.Sequential(*down))
            setattr(self, f"model{n}_2", nn.Sequential(*up))
        # averaging the whole input (one-hot, edges, features) makes it fractional at boundaries, as trained
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.config)
        n_local = self.config.n_local_enhancers
        pyramid = [x]
        for _ in range(n_local):
            pyramid.append(self.downsample(pyramid[-1]))
        out = self.model(pyramid[-1])
        for n in range(1, n_local + 1):
            branch = getattr(self, f"model{n}_1")(pyramid[n_local - n])
            out = getattr(self, f"model{n}_2")(branch + out)
        return out


def build_generator(config: Pix2PixHDConfig) -> GlobalGenerator | LocalEnhancer:
    return LocalEnhancer(config) if config.n_local_enhancers else GlobalGenerator(config)


class FeatureEncoder(nn.Module):
    """The instance feature encoder E: photo in [-1, 1] -> feat_num channels, averaged per instance.

    Same pattern as the global generator without residual blocks: stem, downsamplings,
    upsamplings, a 7x7 conv to ``feat_num`` channels and tanh.
    """

    def __init__(self, config: Pix2PixHDConfig):
        super().__init__()
        if config.feat_num < 1:
            raise ValueError("a feature encoder needs feat_num >= 1")
        self.config = config
        layers = _stem(3, config.nef)
        for i in range(config.n_downsample_E):
            layers += _downsample(config.nef * 2**i)
        for i in range(config.n_downsample_E, 0, -1):
            layers += _upsample(config.nef * 2**i)
        self.model = nn.Sequential(*layers, *_to_rgb(config.nef, config.feat_num))

    def encode(self, image: Tensor) -> Tensor:
        """Per-pixel features (N, feat_num, H, W) before pooling; sides multiples of encoder_multiple."""
        k = self.config.encoder_multiple
        h, w = image.shape[-2:]
        if h % k or w % k:
            raise ValueError(f"feature encoder input sides must be multiples of {k}, got {h}x{w}")
        return self.model(image)

    def forward(self, image: Tensor, instances: Tensor) -> Tensor:
        return instance_average_pool(self.encode(image), instances)


def instance_means(features: Tensor, instances: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(ids (K,), means (K, C), inverse (H*W,)) of features (C, H, W) over each id of instances (H, W).

    Sums run in float32 whatever the feature dtype, so half precision does not lose large instances.
    """
    ids, inverse = torch.unique(instances.reshape(-1), return_inverse=True)
    flat = features.reshape(features.shape[0], -1).float()
    sums = flat.new_zeros(len(ids), flat.shape[0]).index_add_(0, inverse, flat.t())
    counts = torch.bincount(inverse, minlength=len(ids)).to(sums.dtype)
    return ids, sums / counts[:, None], inverse


def instance_average_pool(features: Tensor, instances: Tensor) -> Tensor:
    """Every pixel of every instance gets the instance's mean feature (per channel, per image).

    ``features`` (N, C, H, W); ``instances`` (N, H, W) or (N, 1, H, W) instance ids.
    """
    n, c, h, w = features.shape
    instances = instances.reshape(n, h, w)
    pooled = []
    for b in range(n):
        _, means, inverse = instance_means(features[b], instances[b])
        pooled.append(means[inverse].t().reshape(c, h, w))
    return torch.stack(pooled).to(features.dtype)


def generator_input(
    config: Pix2PixHDConfig,
    channels: Tensor,
    edges: Tensor | None = None,
    features: Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """The official generator input: one-hot of ``channels`` (N, H, W), the edge map (N, 1, H, W),
    then the feature map (N, feat_num, H, W), each present exactly when the config uses it."""
    if config.use_instance_edges != (edges is not None):
        raise ValueError(f"this generator {'needs' if config.use_instance_edges else 'takes no'} edge map")
    if bool(config.feat_num) != (features is not None):
        raise ValueError(f"this generator {'needs' if config.feat_num else 'takes no'} feature map")
    parts = [F.one_hot(channels.long(), config.label_nc).permute(0, 3, 1, 2).to(dtype)]
    parts += [t.to(dtype) for t in (edges, features) if t is not None]
    return torch.cat(parts, dim=1)
