"""VGG19 perceptual loss, only with weights the user supplies (``--vgg-weights FILE``).

No pretrained weights can be assumed on a user's machine, so nothing is downloaded: the file must
hold torchvision's VGG19 layout (``features.N.weight``/``bias``; classifier keys are ignored).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.checkpoints import load_checked, read_state_dict

VGG19_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
SLICE_ENDS = (2, 7, 12, 21, 30)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (exclusive indices)
LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)  # pix2pixHD / SPADE
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_features() -> nn.Sequential:
    """torchvision's ``vgg19().features`` up to relu5_1, with the same module indices."""
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG19_CONFIG:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU()]
            channels = item
    return nn.Sequential(*layers)


class VGGPerceptualLoss(nn.Module):
    """Weighted L1 between VGG19 activations of the fake and the real photo (both in [-1, 1])."""

    def __init__(self, weights_file: str | Path):
        super().__init__()
        self.features = vgg19_features()
        state = read_state_dict(weights_file)
        prefix = "features." if any(k.startswith("features.") for k in state) else ""
        wanted = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        wanted = {k: v for k, v in wanted.items() if k.split(".")[0].isdigit() and int(k.split(".")[0]) < 30}
        load_checked(self.features, wanted, Path(weights_file).name, "expected torchvision's VGG19 layout")
        self.features.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _activations(self, x: Tensor) -> list[Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std
        out, start = [], 0
        for end in SLICE_ENDS:
            x = self.features[start:end](x)
            out.append(x)
            start = end
        return out

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        with torch.no_grad():
            targets = self._activations(real)
        return sum(
            w * F.l1_loss(f.float(), t.float())
            for w, f, t in zip(LAYER_WEIGHTS, self._activations(fake), targets, strict=True)
        )
