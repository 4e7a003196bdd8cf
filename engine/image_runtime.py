"""What the single-network image runtimes (sketch, inpainting, colorization) share: loading one
generator ``G`` from a model folder onto a device."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from engine.checkpoints import ModelCard, architecture_from_card, load_checked, read_weights


class ImageModel:
    """Base of the runtimes whose model folder holds one generator built from its card's config."""

    kind: ClassVar[str] = ""
    config_class: ClassVar[Any]
    network_class: ClassVar[type[nn.Module]]
    architecture_name: ClassVar[str]
    folder: Path | None = None  # where it was loaded from (load_model sets it), to reload it

    def __init__(self, card: ModelCard, generator: nn.Module, device: torch.device, dtype: torch.dtype):
        self.card = card
        self.config = generator.config
        self.device = device
        self.dtype = dtype
        self.generator = generator.to(device=device, dtype=dtype).eval()

    @classmethod
    def from_folder(cls, folder: Path, card: ModelCard, device: torch.device, dtype: torch.dtype) -> Any:
        config = architecture_from_card(cls.config_class, card, folder, cls.architecture_name)
        generator = cls.network_class(config)
        load_checked(generator, read_weights(folder).get("G", {}), f"{Path(folder).name}/G")
        return cls(card, generator, device, dtype)
