"""Weight initialisation and spectral normalisation of networks for training."""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from engine.models.blocks import LabelConv3x3


def init_weights(module: nn.Module, scheme: str = "xavier", gain: float = 0.02) -> nn.Module:
    """pix2pixHD/SPADE initialisation: conv and linear weights xavier-normal (``gain``) or N(0, gain),
    biases 0, batch-norm scales N(1, gain). Class embeddings (CLADE) keep their zero start."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear | LabelConv3x3):
            if scheme == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif scheme == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            else:
                raise ValueError(f"unknown initialisation '{scheme}' (expected 'xavier' or 'normal')")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module


def add_spectral_norm(layers: Iterable[nn.Module]) -> None:
    """Spectral norm with the classic hook, whose keys (``weight_orig``/``_u``/``_v``) are those of the
    official checkpoints, so ``engine.models.blocks.fold_spectral_norm`` turns them into plain weights."""
    for layer in layers:
        nn.utils.spectral_norm(layer)
