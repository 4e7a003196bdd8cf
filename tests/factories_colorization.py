"""Tiny colorization models for tests: random weights whose outputs depend on every input."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoints import ModelCard, save_model
from engine.models.colorize import ColorizationConfig, SIGGRAPHGenerator


def randomize_colorization(generator: SIGGRAPHGenerator) -> SIGGRAPHGenerator:
    """He-normal convs and random BatchNorm statistics.

    PyTorch's default init shrinks activations layer by layer, so in a narrow untrained network the
    bottleneck (where global hints enter) would no longer reach the output.
    """
    for module in generator.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return generator


def make_tiny_colorization(
    folder: Path,
    *,
    name: str = "tiny-colorization",
    width: int = 4,
    global_hint_channels: int = 0,
    crop_size: int = 64,
    seed: int = 0,
) -> Path:
    """Write a compact colorization model to ``folder`` and return the folder."""
    torch.manual_seed(seed)
    config = ColorizationConfig(width=width, global_hint_channels=global_hint_channels, crop_size=crop_size)
    generator = randomize_colorization(SIGGRAPHGenerator(config))
    card = ModelCard(
        name=name,
        kind="colorization",
        architecture=config.to_dict(),
        label_set=None,
        native_size=config.native_size,
        description="random weights, for tests",
    )
    return save_model(folder, card, {"G": generator})
