"""Tiny pix2pix models for tests: random weights in our format, a few KB, milliseconds on a CPU."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoints import ModelCard, save_model
from engine.models.pix2pix import Pix2PixConfig, UnetGenerator


def make_tiny_pix2pix(
    folder: Path,
    *,
    name: str = "tiny-pix2pix",
    input_nc: int = 3,
    output_nc: int = 3,
    num_downs: int = 5,
    native_size: tuple[int, int] | None = None,
    default_mode: str = "official",
    use_dropout: bool = True,
    seed: int = 0,
    training: dict | None = None,
) -> Path:
    """Write a U-Net with ngf 2 (native size 2**num_downs unless given) to ``folder``; return it.
    ``training`` is the card's record of how it was trained (e.g. how it reads sketches)."""
    torch.manual_seed(seed)
    config = Pix2PixConfig(
        input_nc=input_nc,
        output_nc=output_nc,
        ngf=2,
        num_downs=num_downs,
        default_mode=default_mode,
        use_dropout=use_dropout,
    )
    generator = UnetGenerator(config)
    # random affine and running stats, so that both BatchNorm modes differ from the identity
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.1)
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    card = ModelCard(
        name=name,
        kind="pix2pix",
        architecture=config.to_dict(),
        label_set=None,
        native_size=native_size or config.native_size,
        description="random weights, for tests",
        training=training or {},
    )
    return save_model(folder, card, {"G": generator})
