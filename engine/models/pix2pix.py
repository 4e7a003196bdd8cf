"""pix2pix U-Net generator (Isola et al., CVPR 2017): image -> image with skip connections.

Module names mirror the official ``unet_256`` release (blocks nested inside-out, each an
``nn.Sequential`` named ``model``, parameter-free layers counted in the indices), so released state
dicts load by name. The test-time behaviour is a per-call choice (see ``UnetGenerator.forward``):
the official ``test.py`` runs the network in train mode, i.e. with per-image BatchNorm statistics
and active dropout, and only ``--eval`` gives the deterministic running-statistics network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

InferenceMode = Literal["deterministic", "official"]
INFERENCE_MODES: tuple[str, ...] = ("deterministic", "official")
MIN_DOWNS = 5  # the four width-changing levels plus the innermost one
NETG_DOWNS = {"unet_128": 7, "unet_256": 8}  # the official netG option -> num_downs


@dataclass(frozen=True)
class Pix2PixConfig:
    """Architecture of a U-Net generator; names follow the official options.

    ``default_mode`` is how the runtime runs the network when the caller does not say:
    "official" (per-image BatchNorm statistics and dropout noise, as the official ``test.py``) or
    "deterministic" (running statistics, no dropout, as ``test.py --eval``).
    """

    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    num_downs: int = 8
    norm: Literal["batch"] = "batch"
    use_dropout: bool = True
    default_mode: InferenceMode = "official"

    def __post_init__(self) -> None:
        if self.num_downs < MIN_DOWNS:
            raise ValueError(f"a U-Net generator needs num_downs >= {MIN_DOWNS}, got {self.num_downs}")
        if self.norm != "batch":
            raise ValueError(f"only norm='batch' U-Nets are supported, got {self.norm!r}")
        if self.default_mode not in INFERENCE_MODES:
            raise ValueError(
                f"default_mode must be one of {', '.join(INFERENCE_MODES)}, got {self.default_mode!r}"
            )

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this: every level halves them."""
        return 2**self.num_downs

    @property
    def native_size(self) -> tuple[int, int]:
        """The size whose innermost feature map is 1x1, which the official releases run at."""
        return self.size_multiple, self.size_multiple

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pix2PixConfig:
        return cls(**data)

    @classmethod
    def from_official_options(cls, options: Mapping[str, Any]) -> Pix2PixConfig:
        """Build from the official option names (as in the reference manifests and fixtures)."""
        num_downs = options.get("num_downs") or NETG_DOWNS.get(options.get("netG", ""))
        if num_downs is None:
            raise ValueError(
                f"netG {options.get('netG')!r} is not a U-Net (expected one of {list(NETG_DOWNS)})"
            )
        return cls(
            input_nc=options["input_nc"],
            output_nc=options["output_nc"],
            ngf=options["ngf"],
            num_downs=num_downs,
            norm=options["norm"],
            use_dropout=options["use_dropout"],
            default_mode="deterministic" if options.get("eval") else "official",
        )

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Tensor], **overrides: Any) -> Pix2PixConfig:
        """Widths and depth read off a U-Net state dict (dropout has no weights: it stays as given).

        Raises ``KeyError`` when the keys are not those of a U-Net generator.
        """
        first, last = state["model.model.0.weight"], state["model.model.3.weight"]
        inner_downs = [k for k in state if re.fullmatch(r"model\.model\.1\.(model\.3\.)*model\.1\.weight", k)]
        if not inner_downs:
            raise KeyError("model.model.1.model.1.weight")
        num_downs = 1 + len(inner_downs)
        return cls(
            input_nc=first.shape[1],
            output_nc=last.shape[1],
            ngf=first.shape[0],
            num_downs=num_downs,
            **overrides,
        )


@dataclass(frozen=True)
class _Behaviour:
    """How BatchNorm and Dropout behave in one forward; None follows the module's train/eval flag."""

    batch_stats: bool | None
    dropout: bool | None
    generator: torch.Generator | None


class UnetSkipBlock(nn.Module):
    """One U-Net level: down (conv 4x4 s2) -> inner levels -> up (transposed conv 4x4 s2), skip-joined.

    The layers sit in ``self.model`` at the official indices: ``[LeakyReLU, Conv, BN, child, ReLU,
    ConvT, BN, (Dropout)]``; the innermost level has no child and no BN after its conv, the
    outermost has no LeakyReLU/BN and ends in ``ConvT (with bias), Tanh`` without a skip.
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        child: UnetSkipBlock | None = None,
        input_nc: int | None = None,
        outermost: bool = False,
        dropout: bool = False,
    ):
        super().__init__()
        self.outermost = outermost
        down_conv = nn.Conv2d(input_nc or outer_nc, inner_nc, 4, stride=2, padding=1, bias=False)
        up_in = inner_nc if child is None else 2 * inner_nc
        if outermost:
            up_conv = nn.ConvTranspose2d(up_in, outer_nc, 4, stride=2, padding=1)
            layers = [down_conv, child, nn.ReLU(), up_conv, nn.Tanh()]
        else:
            up_conv = nn.ConvTranspose2d(up_in, outer_nc, 4, stride=2, padding=1, bias=False)
            down = [nn.LeakyReLU(0.2), down_conv]
            if child is not None:
                down += [nn.BatchNorm2d(inner_nc), child]
            layers = down + [nn.ReLU(), up_conv, nn.BatchNorm2d(outer_nc)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor, behaviour: _Behaviour) -> Tensor:
        y = x
        for layer in self.model:
            if isinstance(layer, UnetSkipBlock):
                y = layer(y, behaviour)
            elif isinstance(layer, nn.BatchNorm2d) and behaviour.batch_stats is not None:
                y = _batch_norm(layer, y, behaviour.batch_stats)
            elif isinstance(layer, nn.Dropout) and behaviour.dropout is not None:
                y = _dropout(y, layer.p, behaviour) if behaviour.dropout else y
            else:
                y = layer(y)
        return y if self.outermost else torch.cat([x, y], 1)


def _batch_norm(layer: nn.BatchNorm2d, x: Tensor, batch_stats: bool) -> Tensor:
    """BatchNorm with the current batch's statistics (biased variance) or the running ones,
    never updating the stored running statistics."""
    mean, var = (None, None) if batch_stats else (layer.running_mean, layer.running_var)
    return F.batch_norm(x, mean, var, layer.weight, layer.bias, training=batch_stats, eps=layer.eps)


def _dropout(x: Tensor, p: float, behaviour: _Behaviour) -> Tensor:
    """Dropout drawing its keep mask like ``F.dropout`` on the CPU (``bernoulli_(1 - p)``), so a
    generator seeded as the official ``torch.manual_seed`` reproduces the official masks. The mask
    is drawn in float32, so a seed gives the same noise in every precision."""
    keep = torch.empty(x.shape, device=x.device).bernoulli_(1 - p, generator=behaviour.generator)
    return x * keep.div_(1 - p).to(x.dtype)


class UnetGenerator(nn.Module):
    """Image (N, input_nc, H, W) in [-1, 1] -> image (N, output_nc, H, W) in [-1, 1].

    H and W must be multiples of ``2**num_downs``. Dropout (p 0.5) sits in the ``num_downs - 5``
    ngf*8 levels just outside the innermost one.
    """

    def __init__(self, config: Pix2PixConfig):
        super().__init__()
        self.config = config
        ngf = config.ngf
        block = UnetSkipBlock(8 * ngf, 8 * ngf)
        for _ in range(config.num_downs - MIN_DOWNS):
            block = UnetSkipBlock(8 * ngf, 8 * ngf, block, dropout=config.use_dropout)
        for outer, inner in ((4, 8), (2, 4), (1, 2)):
            block = UnetSkipBlock(outer * ngf, inner * ngf, block)
        self.model = UnetSkipBlock(config.output_nc, ngf, block, input_nc=config.input_nc, outermost=True)

    def forward(
        self,
        x: Tensor,
        batch_stats: bool | None = None,
        dropout: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Run the network; by default BatchNorm and Dropout follow ``train()``/``eval()`` (training).

        ``batch_stats``: True normalises with this batch's statistics, False with the running ones;
        either way the running statistics are left untouched. ``dropout``: True drops half of the
        features in the dropout levels (keep masks drawn from ``generator``, else the global RNG).
        """
        h, w = x.shape[-2:]
        k = self.config.size_multiple
        if h % k or w % k:
            raise ValueError(f"U-Net input sides must be multiples of {k}, got {h}x{w}")
        return self.model(x, _Behaviour(batch_stats, dropout, generator))

    def run(self, x: Tensor, mode: InferenceMode, generator: torch.Generator | None = None) -> Tensor:
        """Inference in a named mode: "deterministic" (running statistics, no dropout) or
        "official" (this image's statistics and dropout noise, as the official test script)."""
        if mode not in INFERENCE_MODES:
            raise ValueError(f"mode must be one of {', '.join(INFERENCE_MODES)}, got {mode!r}")
        official = mode == "official"
        return self(x, batch_stats=official, dropout=official, generator=generator)
