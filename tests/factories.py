"""Tiny real models for tests: random weights, our format, a few hundred KB, fast on a CPU."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoints import ModelCard, save_model
from engine.labels import get_label_set
from engine.models.spade import SPADEConfig, SPADEGenerator, StyleEncoder


def make_tiny_spade(
    folder: Path,
    label_set: str = "facades",
    *,
    name: str = "tiny",
    use_vae: bool = False,
    instances: bool = False,
    norm: str = "clade",
    crop_size: int = 64,
    seed: int = 0,
) -> Path:
    """Write a compact SPADE model for ``label_set`` to ``folder`` and return the folder."""
    torch.manual_seed(seed)
    labels = get_label_set(label_set)
    config = SPADEConfig(
        label_nc=labels.label_nc,
        contain_dontcare=labels.dontcare_id is not None,
        use_instance_edges=instances,
        ngf=4,
        crop_size=crop_size if not use_vae else 256,
        use_vae=use_vae,
        z_dim=256,
        norm=norm,
        norm_hidden=8,
        has_encoder=use_vae,
    )
    generator = SPADEGenerator(config)
    # random running stats so that the batch norms are not the identity
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
        if hasattr(module, "gamma") and isinstance(module.gamma, torch.nn.Embedding):
            torch.nn.init.normal_(module.gamma.weight, 0, 0.5)
            torch.nn.init.normal_(module.beta.weight, 0, 0.5)
            if module.edge_gamma is not None:
                torch.nn.init.normal_(module.edge_gamma, 0, 0.5)
                torch.nn.init.normal_(module.edge_beta, 0, 0.5)
    networks = {"G": generator}
    if use_vae:
        networks["E"] = StyleEncoder(config)
    card = ModelCard(
        name=name,
        kind="spade",
        architecture=config.to_dict(),
        label_set=labels.to_dict(),
        native_size=config.native_size,
        description="random weights, for tests",
    )
    return save_model(folder, card, networks)
