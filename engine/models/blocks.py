"""Building blocks shared by the generators: label-conditioned convs and norms, residual blocks,
and the spectral-norm folding used when importing official checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.models.semantics import SemanticMap


class LabelConv3x3(nn.Module):
    """A 3x3 zero-padded convolution over the one-hot label map (+ edge channel) (+ 3D noise).

    A 3x3 conv of a one-hot map is, at each pixel, the sum of nine weight columns picked by the
    classes under the kernel: one ``embedding_bag`` instead of a conv over hundreds of channels.
    OASIS's noise channels join the lookups when the noise is spatially constant (see ``_table``)
    and are convolved densely otherwise. Parameters keep the shape of the ``nn.Conv2d`` over
    [one-hot, edges, noise], so released weights load unchanged.
    """

    def __init__(self, num_classes: int, has_edges: bool, out_channels: int, noise_nc: int = 0):
        super().__init__()
        self.num_classes = num_classes
        self.has_edges = has_edges
        self.noise_nc = noise_nc
        in_channels = num_classes + int(has_edges) + noise_nc
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.empty(out_channels))
        reference = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        with torch.no_grad():
            self.weight.copy_(reference.weight)
            self.bias.copy_(reference.bias)

    @property
    def noise_weight(self) -> Tensor:
        """(out, noise_nc, 3, 3): the kernel columns of the noise channels (the last ones)."""
        return self.weight[:, self.weight.shape[1] - self.noise_nc :]

    def forward(self, semantics: SemanticMap) -> Tensor:
        if self.has_edges != semantics.has_edges:
            raise ValueError(f"this layer {'needs' if self.has_edges else 'takes no'} instance-edge channel")
        if self.noise_nc != semantics.noise_nc:
            raise ValueError(f"this layer takes {self.noise_nc} noise channels, got {semantics.noise_nc}")
        n, (h, w) = semantics.labels.shape[0], semantics.size
        table = self._table(semantics)
        indices, weights = semantics.bags()
        if table.dim() == 3:  # a table per image: shift each image's indices to its own rows
            offsets = torch.arange(n, device=indices.device)[:, None] * table.shape[1]
            indices = (indices.view(n, -1) + offsets).view_as(indices)
            table = table.flatten(0, 1)
        if weights is not None:
            weights = weights.to(self.weight.dtype)
        y = F.embedding_bag(indices, table, mode="sum", per_sample_weights=weights)
        y = y.view(n, h, w, -1)
        if self.noise_nc and semantics.uniform_noise() is None:
            y = y + F.conv2d(semantics.noise.to(y.dtype), self.noise_weight, padding=1).permute(0, 2, 3, 1)
        # (N, H, W, out) is already channels-last memory: hand it on as such, without a copy
        return y.permute(0, 3, 1, 2)

    def _table(self, semantics: SemanticMap) -> Tensor:
        """The bag rows in ``SemanticMap.bags``'s order, (rows, out), or (N, rows, out) with noise.

        A spatially constant noise z joins for free: every tap inside the image picks exactly one
        row of its tap's class block and taps outside pick the zero row, so adding W_k z to the
        block of tap k adds the zero-padded conv of the noise.
        """
        c, out = self.num_classes, self.weight.shape[0]
        taps = self.weight.permute(2, 3, 1, 0)  # (3, 3, in, out)
        classes = taps[:, :, :c]  # (3, 3, c, out)
        z = semantics.uniform_noise() if self.noise_nc else None
        if z is not None:
            noise = torch.einsum("oikl,ni->nklo", self.noise_weight, z.to(self.weight.dtype))
            classes = classes + noise[:, :, :, None]  # (N, 3, 3, c, out)
        edges = taps[:, :, c].reshape(9, out) if self.has_edges else self.weight.new_zeros(9, out)
        rest = torch.cat([edges, self.weight.new_zeros(1, out), self.bias.view(1, out)])
        classes = classes.reshape(*classes.shape[:-4], 9 * c, out)
        return torch.cat([classes, rest.expand(*classes.shape[:-2], -1, -1)], dim=-2)


class SpatiallyAdaptiveNorm(nn.Module):
    """SPADE: parameter-free batch norm, then a per-pixel scale and shift predicted from the labels.

    At inference the scale and shift are computed densely only near class boundaries: inside a
    region the 5x5 label neighbourhood is constant, so they equal a per-class value (same function,
    a fraction of the work on painted maps, where most pixels are far from a boundary).
    """

    sparse_threshold = 0.5  # above this fraction of boundary pixels the dense convs are faster

    def __init__(
        self, channels: int, num_classes: int, has_edges: bool, hidden: int = 128, noise_nc: int = 0
    ):
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(channels, affine=False)
        self.mlp_shared = nn.Sequential(LabelConv3x3(num_classes, has_edges, hidden, noise_nc), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: Tensor, semantics: SemanticMap) -> Tensor:
        semantics = semantics.at(x.shape[-2:])
        actv = self.mlp_shared(semantics)
        normalized = self.param_free_norm(x)
        if not self._sparse_applies(semantics):
            return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)
        gamma, beta = self._sparse_modulation(actv, semantics)
        return torch.addcmul(beta, normalized, gamma)

    def _sparse_applies(self, semantics: SemanticMap) -> bool:
        """At inference, with few boundary pixels and no spatially varying noise (which would make
        the modulation vary inside regions)."""
        if torch.is_grad_enabled() or (semantics.noise_nc and semantics.uniform_noise() is None):
            return False
        return bool(semantics.boundary_mask().float().mean() <= self.sparse_threshold)

    def _sparse_modulation(self, actv: Tensor, semantics: SemanticMap) -> tuple[Tensor, Tensor]:
        """(1 + gamma, beta), computed per class (and image) inside regions and by patches near boundaries."""
        channels = self.mlp_gamma.out_channels
        weight = torch.cat([self.mlp_gamma.weight, self.mlp_beta.weight])  # (2C, hidden, 3, 3)
        bias = torch.cat([self.mlp_gamma.bias + 1, self.mlp_beta.bias])
        shared = self.mlp_shared[0]
        nc = shared.num_classes
        # a region of class c: every tap sees c (and the image's constant noise z), so
        # actv = relu(bias + sum of c's nine weights + sum of the noise's nine weights . z)
        region_pre = (shared.weight[:, :nc].sum((2, 3)).t() + shared.bias)[None]  # (1, nc, hidden)
        if shared.noise_nc:
            noise_part = semantics.uniform_noise().to(weight.dtype) @ shared.noise_weight.sum((2, 3)).t()
            region_pre = region_pre + noise_part[:, None]  # (N, nc, hidden)
        per_class = torch.relu(region_pre) @ weight.sum((2, 3)).t() + bias  # (1 or N, nc, 2C)
        images = torch.arange(per_class.shape[0], device=per_class.device).view(-1, 1, 1)
        out = per_class[images, semantics.labels]  # (N, H, W, 2C)
        n_idx, y_idx, x_idx = semantics.boundary_mask().nonzero(as_tuple=True)
        if len(n_idx):
            padded = F.pad(actv, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # (N, H+2, W+2, hidden)
            patches = torch.stack(
                [padded[n_idx, y_idx + ky, x_idx + kx] for ky in range(3) for kx in range(3)], dim=1
            )  # (P, 9, hidden)
            flat_weight = weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)  # (2C, 9*hidden)
            out[n_idx, y_idx, x_idx] = torch.addmm(bias, patches.flatten(1), flat_weight.t())
        out = out.permute(0, 3, 1, 2)
        return out[:, :channels], out[:, channels:]


class ClassAdaptiveNorm(nn.Module):
    """CLADE: like SPADE, but scale and shift are looked up per class (and per edge pixel).

    Far cheaper than SPADE's two 3x3 convs per layer, which makes compact CPU models possible.
    3D noise (OASIS) adds a 1x1 conv of the noise to scale and shift: per pixel, as cheap as that.
    """

    def __init__(self, channels: int, num_classes: int, has_edges: bool, noise_nc: int = 0):
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(num_classes, channels)
        self.beta = nn.Embedding(num_classes, channels)
        nn.init.zeros_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)
        self.edge_gamma = nn.Parameter(torch.zeros(channels)) if has_edges else None
        self.edge_beta = nn.Parameter(torch.zeros(channels)) if has_edges else None
        self.noise_modulation = nn.Conv2d(noise_nc, 2 * channels, 1, bias=False) if noise_nc else None

    def forward(self, x: Tensor, semantics: SemanticMap) -> Tensor:
        sem = semantics.at(x.shape[-2:])
        gamma = self.gamma(sem.labels).permute(0, 3, 1, 2)
        beta = self.beta(sem.labels).permute(0, 3, 1, 2)
        if self.edge_gamma is not None and sem.edges is not None:
            edges = sem.edges.to(x.dtype)
            gamma = gamma + edges * self.edge_gamma.view(1, -1, 1, 1)
            beta = beta + edges * self.edge_beta.view(1, -1, 1, 1)
        if self.noise_modulation is not None:
            noise_gamma, noise_beta = self._noise_modulation(sem).chunk(2, dim=1)
            gamma, beta = gamma + noise_gamma, beta + noise_beta
        return self.param_free_norm(x) * (1 + gamma) + beta

    def _noise_modulation(self, sem: SemanticMap) -> Tensor:
        """(N, 2C, H, W) or, for spatially constant noise, (N, 2C, 1, 1) to broadcast."""
        channels = self.noise_modulation.in_channels
        if sem.noise_nc != channels:
            raise ValueError(f"this layer takes {channels} noise channels, got {sem.noise_nc}")
        weight = self.noise_modulation.weight
        z = sem.uniform_noise()
        if z is None:
            return F.conv2d(sem.noise.to(weight.dtype), weight)
        return (z.to(weight.dtype) @ weight[:, :, 0, 0].t())[:, :, None, None]


NormFactory = Callable[[int], nn.Module]


def label_norm_factory(
    kind: str, num_classes: int, has_edges: bool, hidden: int = 128, noise_nc: int = 0
) -> NormFactory:
    """Return ``channels -> norm layer`` for the configured label-conditioned normalization."""
    if kind == "spade":
        return lambda channels: SpatiallyAdaptiveNorm(channels, num_classes, has_edges, hidden, noise_nc)
    if kind == "clade":
        return lambda channels: ClassAdaptiveNorm(channels, num_classes, has_edges, noise_nc)
    raise ValueError(f"unknown label normalization {kind!r} (expected 'spade' or 'clade')")


class LabelConditionedResBlock(nn.Module):
    """SPADE residual block: norm -> lrelu -> conv, twice, plus a learned 1x1 shortcut if widths differ."""

    def __init__(self, fin: int, fout: int, make_norm: NormFactory):
        super().__init__()
        fmid = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = nn.Conv2d(fin, fmid, 3, padding=1)
        self.conv_1 = nn.Conv2d(fmid, fout, 3, padding=1)
        self.norm_0 = make_norm(fin)
        self.norm_1 = make_norm(fmid)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
            self.norm_s = make_norm(fin)

    def forward(self, x: Tensor, semantics: SemanticMap) -> Tensor:
        shortcut = self.conv_s(self.norm_s(x, semantics)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, semantics), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, semantics), 0.2))
        return shortcut + dx


def fold_spectral_norm(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Replace every ``X.weight_orig/weight_u/weight_v`` triple by the plain ``X.weight`` it stands for.

    ``W = weight_orig / (u . (W_orig v))`` with the stored u and v, exactly what the hook computes
    in eval mode; recomputing sigma by SVD would not reproduce the official outputs.
    """
    folded: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if key.endswith((".weight_u", ".weight_v")):
            continue
        if key.endswith(".weight_orig"):
            prefix = key[: -len("weight_orig")]
            u, v = state_dict.get(prefix + "weight_u"), state_dict.get(prefix + "weight_v")
            if u is None or v is None:
                missing = "weight_u" if u is None else "weight_v"
                raise KeyError(f"{key} has no matching {prefix}{missing} (spectral norm vectors)")
            w = value.float()
            sigma = torch.dot(u.float(), w.reshape(w.shape[0], -1) @ v.float())
            folded[prefix + "weight"] = (w / sigma).to(value.dtype)
        else:
            folded[key] = value
    return folded
