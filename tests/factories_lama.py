"""Tiny LaMa inpainting models for tests: random weights, our format, fast on a CPU."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoints import ModelCard, save_model
from engine.models.lama import FFCResNetGenerator, LaMaConfig


def make_tiny_lama(
    folder: Path, *, name: str = "tiny-lama", guide_channels: int = 0, native: int = 64, seed: int = 0
) -> Path:
    """Write a compact FFC-ResNet inpainting model (ngf 4, one block) to ``folder`` and return it."""
    torch.manual_seed(seed)
    config = LaMaConfig(ngf=4, n_downsampling=2, n_blocks=1, guide_channels=guide_channels)
    generator = FFCResNetGenerator(config)
    # random running stats so that the batch norms are not the identity
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    card = ModelCard(
        name=name,
        kind="lama",
        architecture=config.to_dict(),
        label_set=None,
        native_size=(native, native),
        description="random weights, for tests",
        license="Apache-2.0",
    )
    return save_model(folder, card, {"G": generator})
