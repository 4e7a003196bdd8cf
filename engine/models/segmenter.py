"""A small U-Net that segments photos into a label set's classes, and its runtime.

It is the judge of the FCN-score (pix2pix, Isola et al. 2017): trained on real photos, it labels
synthesized ones, and how well its labels match the painted map measures how recognisable the
synthesis is. No pretrained weights exist for it here; ``python -m trainers.segmenter`` trains one.
Group norm (not batch norm) makes training with batches of one and inference behave the same.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from engine.checkpoints import ModelCard, architecture_from_card, load_checked, read_card, read_weights
from engine.device import pick_device, pick_dtype
from engine.errors import CheckpointError
from engine.labels import LabelSet
from engine.registry import resolve_model
from engine.session import friendly_oom, image_to_tensor

KIND = "segmenter"
MAX_WIDTH_FACTOR = 8  # channels stop doubling at 8 x width (as U-Nets usually cap them)


@dataclass(frozen=True)
class SegmenterConfig:
    """Architecture: ``num_classes`` outputs, ``depth`` halvings, ``width`` channels at full resolution."""

    num_classes: int
    width: int = 32
    depth: int = 4
    groups: int = 8

    def __post_init__(self) -> None:
        for name in ("num_classes", "width", "depth", "groups"):
            if getattr(self, name) < 1:
                raise ValueError(f"a segmenter's {name} must be at least 1, got {getattr(self, name)}")

    @property
    def widths(self) -> tuple[int, ...]:
        """Channels at each level, full resolution first."""
        return tuple(self.width * min(2**level, MAX_WIDTH_FACTOR) for level in range(self.depth + 1))

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmenterConfig:
        return cls(**data)


def conv_block(in_channels: int, out_channels: int, groups: int) -> nn.Sequential:
    """Two 3x3 convolutions, each followed by group norm and ReLU."""
    norm_groups = math.gcd(groups, out_channels)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.GroupNorm(norm_groups, out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.GroupNorm(norm_groups, out_channels),
        nn.ReLU(inplace=True),
    )


class UNetSegmenter(nn.Module):
    """RGB in [-1, 1] (N, 3, H, W) -> class logits (N, num_classes, H, W), for any H and W.

    Inputs are padded (edge pixels repeated) to a multiple of ``2**depth`` and the logits cropped back.
    """

    def __init__(self, config: SegmenterConfig):
        super().__init__()
        self.config = config
        widths, groups = config.widths, config.groups
        self.stem = conv_block(3, widths[0], groups)
        self.down = nn.ModuleList(conv_block(widths[i], widths[i + 1], groups) for i in range(config.depth))
        self.up = nn.ModuleList(
            conv_block(widths[i + 1] + widths[i], widths[i], groups) for i in range(config.depth)
        )
        self.head = nn.Conv2d(widths[0], config.num_classes, 1)

    def forward(self, image: Tensor) -> Tensor:
        h, w = image.shape[-2:]
        k = self.config.size_multiple
        x = F.pad(image, (0, -w % k, 0, -h % k), mode="replicate")
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(F.max_pool2d(skips[-1], 2)))
        x = skips.pop()
        for level in reversed(range(self.config.depth)):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = self.up[level](torch.cat([x, skips[level]], dim=1))
        return self.head(x)[..., :h, :w]


class SegmentationModel:
    """A trained segmenter on a device: RGB uint8 photo of any size -> label ids of its label set.

    The network runs at its training scale: the photo is resized (bicubic) so that its short side
    is the native short side, and the class scores are resized back (bilinear) before the argmax.
    A don't-care class, if the label set has one, is never predicted.
    """

    kind = KIND

    def __init__(
        self,
        card: ModelCard,
        label_set: LabelSet,
        network: UNetSegmenter,
        device: torch.device,
        dtype: torch.dtype,
    ):
        self.card = card
        self.label_set = label_set
        self.device = device
        self.dtype = dtype
        self.network = network.to(device=device, dtype=dtype).eval()
        self.resolution = min(card.native_size)

    @classmethod
    def from_folder(
        cls, folder: Path, card: ModelCard, device: torch.device, dtype: torch.dtype
    ) -> SegmentationModel:
        """Build the network of a segmenter model folder, checking its outputs against its label set."""
        if card.kind != KIND:
            raise CheckpointError(f"{folder} holds a '{card.kind}' model, not a {KIND}")
        if card.label_set is None:
            raise CheckpointError(f"the segmenter '{card.name}' has no label set in its card")
        label_set = LabelSet.from_dict(card.label_set)
        config = architecture_from_card(SegmenterConfig, card, folder, "segmenter")
        if config.num_classes != label_set.label_nc:
            raise CheckpointError(
                f"the segmenter '{card.name}' has {config.num_classes} outputs, which does not fit its "
                f"label set '{label_set.name}' ({label_set.label_nc} classes)"
            )
        network = UNetSegmenter(config)
        load_checked(network, read_weights(folder).get("S", {}), f"{Path(folder).name}/S")
        return cls(card, label_set, network, device, dtype)

    @property
    def native_size(self) -> tuple[int, int]:
        return self.card.native_size

    def working_size(self, shape: tuple[int, int]) -> tuple[int, int]:
        scale = self.resolution / min(shape)
        return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))

    def segment(self, photo: np.ndarray) -> np.ndarray:
        """RGB uint8 (H, W, 3) -> label ids (H, W) int32."""
        photo = np.asarray(photo)
        x = image_to_tensor(photo if photo.flags.writeable else photo.copy())  # checks shape and dtype
        canvas = photo.shape[:2]
        work = self.working_size(canvas)
        if work != canvas:
            resized = Image.fromarray(photo).resize((work[1], work[0]), Image.BICUBIC)
            x = image_to_tensor(np.array(resized))
        with torch.inference_mode(), friendly_oom(f"segmenting at {work[1]}x{work[0]}"):
            scores = self.network(x.to(self.device, self.dtype)).float()
            if work != canvas:
                scores = F.interpolate(scores, size=canvas, mode="bilinear", align_corners=False)
            channels = scores.argmax(dim=1)[0].cpu().numpy()
        return self.label_set.from_channels(channels)

    def warm_up(self) -> None:
        """One segmentation at native size (kernel selection on GPUs)."""
        self.segment(np.full((*self.native_size, 3), 128, np.uint8))


def load_segmenter(
    name_or_path: str | Path, device: str = "auto", precision: str = "auto"
) -> SegmentationModel:
    """Open a segmenter model folder (or installed model by name); ``engine.load_model``'s twin for
    this kind, which the app has no mode for."""
    folder = resolve_model(name_or_path)
    card = read_card(folder)
    torch_device = pick_device(device)
    return SegmentationModel.from_folder(folder, card, torch_device, pick_dtype(torch_device, precision))
