"""What the label-map -> photo recipes (SPADE, pix2pixHD) share: their record, samples, metric and
the optional perceptual loss. Subclasses name their config classes and implement ``_render``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from engine.labels import LabelSet
from trainers.losses import GAN_LOSSES
from trainers.perceptual import VGGPerceptualLoss
from trainers.recipe import PairedRecipe


def label_colors(labels: Tensor, label_set: LabelSet) -> Tensor:
    """Channel-index maps (N, H, W) -> the label set's colours as images in [-1, 1]."""
    colors = label_set.to_colors(label_set.from_channels(labels.cpu().numpy()).reshape(-1, labels.shape[-1]))
    rgb = torch.from_numpy(colors.reshape(*labels.shape, 3)).permute(0, 3, 1, 2).float()
    return (rgb / 127.5 - 1).to(labels.device)


def add_patchgan_arguments(group: argparse._ArgumentGroup, gan_loss: str, n_layers_help: str) -> None:
    """The multi-scale PatchGAN, feature matching and perceptual options of both recipes."""
    group.add_argument("--ndf", type=int, help="discriminator width (default: 32 on a CPU, 64 on a GPU)")
    group.add_argument("--num-d", type=int, default=2, help="PatchGAN scales (default: %(default)s)")
    group.add_argument(
        "--n-layers-d", type=int, default=4, help=f"PatchGAN conv blocks per scale ({n_layers_help})"
    )
    group.add_argument(
        "--gan-loss",
        choices=list(GAN_LOSSES),
        default=gan_loss,
        help="PatchGAN objective (default: %(default)s)",
    )
    group.add_argument(
        "--lambda-feat", type=float, default=10.0, help="feature matching weight (default: %(default)s)"
    )
    group.add_argument(
        "--vgg-weights",
        help="torchvision VGG19 weights file: enables the perceptual loss (nothing is downloaded)",
    )
    group.add_argument(
        "--lambda-vgg", type=float, default=10.0, help="perceptual loss weight (default: %(default)s)"
    )


class LabelToPhotoRecipe(PairedRecipe):
    """``generator`` (an engine config), ``label_set`` and ``training`` (options with ``vgg_weights``
    and ``lambda_vgg``), rebuilt from ``to_dict`` through ``config_class`` / ``training_class``."""

    config_class: ClassVar[Any]
    training_class: ClassVar[Any]
    generator: Any
    training: Any

    @property
    def image_size(self) -> tuple[int, int]:
        return self.generator.native_size

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.to_dict(),
            "label_set": self.label_set.to_dict(),
            "training": asdict(self.training),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelToPhotoRecipe:
        return cls(
            cls.config_class.from_dict(data["generator"]),
            LabelSet.from_dict(data["label_set"]),
            cls.training_class(**data["training"]),
        )

    def vgg(self, device: torch.device) -> VGGPerceptualLoss | None:
        """The perceptual loss, only when the user gave VGG weights (none are assumed)."""
        if self.training.vgg_weights is None or not self.training.lambda_vgg:
            return None
        if getattr(self, "_vgg", None) is None:
            self._vgg = VGGPerceptualLoss(self.training.vgg_weights)
        return self._vgg.to(device)

    def _render(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> Tensor:
        """The EMA generator's photos (N, 3, H, W) in [-1, 1] for a batch."""
        raise NotImplementedError

    def visualize(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> list[Tensor]:
        return [label_colors(batch["labels"], self.label_set), self._render(batch, networks), batch["image"]]

    def metrics(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> dict[str, float]:
        """Mean absolute difference to the real photos of the fixed batch, in [-1, 1] units."""
        return {"sample_l1": float((self._render(batch, networks) - batch["image"].float()).abs().mean())}
