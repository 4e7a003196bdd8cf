"""Building blocks shared by the generators: label-conditioned convs and norms, residual blocks,
and the spectral-norm folding used when importing official checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.models.semantics import SemanticMap


class LabelConv3x3(nn.Module):
    """A 3x3 zero-padded convolution over the one-hot label map (+ edge channel), computed as lookups.

    A 3x3 conv of a one-hot map is, at each pixel, the sum of nine weight columns picked by the
    classes under the kernel: one ``embedding_bag`` instead of a conv over hundreds of channels.
    Parameters keep the shape of the official ``nn.Conv2d`` so released weights load unchanged.
    """

    def __init__(self, num_classes: int, has_edges: bool, out_channels: int):
        super().__init__()
        self.num_classes = num_classes
        self.has_edges = has_edges
        in_channels = num_classes + int(has_edges)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.empty(out_channels))
        reference = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        with torch.no_grad():
            self.weight.copy_(reference.weight)
            self.bias.copy_(reference.bias)

    def forward(self, semantics: SemanticMap) -> Tensor:
        if self.has_edges != semantics.has_edges:
            raise ValueError(f"this layer {'needs' if self.has_edges else 'takes no'} instance-edge channel")
        n, (h, w) = semantics.labels.shape[0], semantics.size
        c, out = self.num_classes, self.weight.shape[0]
        taps = self.weight.permute(2, 3, 1, 0)  # (3, 3, in, out)
        rows = [taps[:, :, :c].reshape(9 * c, out)]
        rows.append(taps[:, :, c].reshape(9, out) if self.has_edges else self.weight.new_zeros(9, out))
        rows += [self.weight.new_zeros(1, out), self.bias.view(1, out)]
        indices, weights = semantics.bags()
        if weights is not None:
            weights = weights.to(self.weight.dtype)
        y = F.embedding_bag(indices, torch.cat(rows), mode="sum", per_sample_weights=weights)
        # (N*H*W, out) is already channels-last memory: hand it on as such, without a copy
        return y.view(n, h, w, out).permute(0, 3, 1, 2)


class SpatiallyAdaptiveNorm(nn.Module):
    """SPADE: parameter-free batch norm, then a per-pixel scale and shift predicted from the labels.

    At inference the scale and shift are computed densely only near class boundaries: inside a
    region the 5x5 label neighbourhood is constant, so they equal a per-class value (same function,
    a fraction of the work on painted maps, where most pixels are far from a boundary).
    """

    sparse_threshold = 0.5  # above this fraction of boundary pixels the dense convs are faster

    def __init__(self, channels: int, num_classes: int, has_edges: bool, hidden: int = 128):
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(channels, affine=False)
        self.mlp_shared = nn.Sequential(LabelConv3x3(num_classes, has_edges, hidden), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: Tensor, semantics: SemanticMap) -> Tensor:
        semantics = semantics.at(x.shape[-2:])
        actv = self.mlp_shared(semantics)
        normalized = self.param_free_norm(x)
        if torch.is_grad_enabled() or semantics.boundary_mask().float().mean() > self.sparse_threshold:
            return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)
        gamma, beta = self._sparse_modulation(actv, semantics)
        return torch.addcmul(beta, normalized, gamma)

    def _sparse_modulation(self, actv: Tensor, semantics: SemanticMap) -> tuple[Tensor, Tensor]:
        """(1 + gamma, beta), computed per class inside regions and by patches near boundaries."""
        channels = self.mlp_gamma.out_channels
        weight = torch.cat([self.mlp_gamma.weight, self.mlp_beta.weight])  # (2C, hidden, 3, 3)
        bias = torch.cat([self.mlp_gamma.bias + 1, self.mlp_beta.bias])
        shared = self.mlp_shared[0]
        nc = shared.num_classes
        # a region of class c: every tap sees c, so actv = relu(bias + sum of c's nine weights)
        region_actv = torch.relu(shared.weight[:, :nc].sum((2, 3)).t() + shared.bias)  # (nc, hidden)
        per_class = region_actv @ weight.sum((2, 3)).t() + bias  # (nc, 2C)
        out = per_class[semantics.labels]  # (N, H, W, 2C)
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
    """

    def __init__(self, channels: int, num_classes: int, has_edges: bool):
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(num_classes, channels)
        self.beta = nn.Embedding(num_classes, channels)
        nn.init.zeros_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)
        self.edge_gamma = nn.Parameter(torch.zeros(channels)) if has_edges else None
        self.edge_beta = nn.Parameter(torch.zeros(channels)) if has_edges else None

    def forward(self, x: Tensor, semantics: SemanticMap) -> Tensor:
        sem = semantics.at(x.shape[-2:])
        gamma = self.gamma(sem.labels).permute(0, 3, 1, 2)
        beta = self.beta(sem.labels).permute(0, 3, 1, 2)
        if self.edge_gamma is not None and sem.edges is not None:
            edges = sem.edges.to(x.dtype)
            gamma = gamma + edges * self.edge_gamma.view(1, -1, 1, 1)
            beta = beta + edges * self.edge_beta.view(1, -1, 1, 1)
        return self.param_free_norm(x) * (1 + gamma) + beta


NormFactory = Callable[[int], nn.Module]


def label_norm_factory(kind: str, num_classes: int, has_edges: bool, hidden: int = 128) -> NormFactory:
    """Return ``channels -> norm layer`` for the configured label-conditioned normalization."""
    if kind == "spade":
        return lambda channels: SpatiallyAdaptiveNorm(channels, num_classes, has_edges, hidden)
    if kind == "clade":
        return lambda channels: ClassAdaptiveNorm(channels, num_classes, has_edges)
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
