"""Interactive colorization of a grey photo from user colour hints (Zhang et al., SIGGRAPH'17).

The network sees the photo's lightness at its working size (the official demo's 256x256 path:
PIL bicubic resize, skimage Lab) and sparse ab hints; its ab is upsampled bilinearly and joined
with the photo's original full-resolution lightness, so detail is never lost to the working size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.checkpoints import (
    ModelCard,
    load_checked,
    read_state_dict,
    save_model,
)
from engine.errors import CheckpointError, InferenceError, InputImageError
from engine.image_runtime import ImageModel
from engine.lab import lab_to_uint8, rgb2lab, rgb2lightness
from engine.models.colorize import (
    AB_BINS,
    AB_BINS_PER_AXIS,
    AB_MAX,
    AB_STEP,
    ColorizationConfig,
    SIGGRAPHGenerator,
    ab_bin_centers,
)
from engine.session import friendly_oom

# global hint layout: ab histogram over the 529 classes, histogram-given flag, mean HSV saturation,
# saturation-given flag (the paper's global hints: a colour distribution and a saturation)
GLOBAL_HINT_SIZE = AB_BINS + 3
GLOBAL_HINT_SIDE = 256  # reference images are reduced to this long side first: a histogram needs no more
OFFICIAL_FILE = "siggraph17-df00044c.pth"


@dataclass(frozen=True)
class Hint:
    """A user's colour at image pixel (x right, y down).

    ``size`` is the side of the square patch, in pixels of the network's working grid (256x256 for
    the official model), that gets the colour's ab; its lightness is ignored (L comes from the photo).
    """

    x: float
    y: float
    rgb: tuple[int, int, int]
    size: int = 3


def global_hint_from_image(
    rgb: np.ndarray, use_histogram: bool = True, use_saturation: bool = True
) -> np.ndarray:
    """Global hint vector (``GLOBAL_HINT_SIZE`` float32) of a reference RGB uint8 image.

    The ab histogram is over the network's colour classes (nearest centre); a part switched off
    is zero with its flag 0, which the network reads as "not given".
    """
    rgb = _checked_rgb(rgb, "the reference image")
    if max(rgb.shape[:2]) > GLOBAL_HINT_SIDE:
        scale = GLOBAL_HINT_SIDE / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
    vector = np.zeros(GLOBAL_HINT_SIZE, np.float32)
    if use_histogram:
        ab = rgb2lab(rgb)[..., 1:].reshape(-1, 2)
        index = np.clip(np.rint((ab + AB_MAX) / AB_STEP), 0, AB_BINS_PER_AXIS - 1).astype(np.int64)
        counts = np.bincount(index[:, 0] * AB_BINS_PER_AXIS + index[:, 1], minlength=AB_BINS)
        vector[:AB_BINS] = counts / counts.sum()
        vector[AB_BINS] = 1
    if use_saturation:
        unit = rgb.reshape(-1, 3) / 255.0
        high, low = unit.max(axis=1), unit.min(axis=1)
        vector[AB_BINS + 1] = np.where(high > 0, (high - low) / np.maximum(high, 1e-12), 0).mean()
        vector[AB_BINS + 2] = 1
    return vector


def _checked_rgb(image: np.ndarray, what: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise InputImageError(f"{what} must be an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    return image


def _checked_photo(image: np.ndarray) -> np.ndarray:
    """A grey (H, W) or RGB (H, W, 3) uint8 photo as RGB; an RGB photo's colours are only used as its L."""
    image = np.asarray(image)
    if image.dtype == np.uint8 and image.ndim == 2 and image.size:
        return np.repeat(image[:, :, None], 3, axis=2)
    return _checked_rgb(image, "the photo to colorize")


class ColorizationModel(ImageModel):
    """A SIGGRAPH'17 colorization network on a device, with hint placement and Lab pre/post-processing.

    ``working_size`` (H, W) is what the network runs at (the native 256x256 by default, any
    multiple of 8); the output always has the photo's size.
    """

    kind = "colorization"
    config_class = ColorizationConfig
    network_class = SIGGRAPHGenerator
    architecture_name = "colorization"

    def __init__(
        self, card: ModelCard, generator: SIGGRAPHGenerator, device: torch.device, dtype: torch.dtype
    ):
        super().__init__(card, generator, device, dtype)
        self.config: ColorizationConfig
        self._working_size = self.config.native_size

    @property
    def native_size(self) -> tuple[int, int]:
        return self.config.native_size

    @property
    def has_global_hints(self) -> bool:
        return self.config.global_hint_channels > 0

    @property
    def working_size(self) -> tuple[int, int]:
        return self._working_size

    @working_size.setter
    def working_size(self, size: tuple[int, int]) -> None:
        k = self.config.size_multiple
        if len(size) != 2 or min(size) < k or size[0] % k or size[1] % k:
            raise InferenceError(f"the colorization working size must be two multiples of {k}, got {size}")
        self._working_size = (int(size[0]), int(size[1]))

    def colorize(
        self, image: np.ndarray, hints: Sequence[Hint] = (), global_hint: np.ndarray | None = None
    ) -> np.ndarray:
        """Grey (H, W) or RGB (H, W, 3) uint8 photo + colour hints -> colorized RGB (H, W, 3) uint8."""
        rgb = _checked_photo(image)
        with (
            torch.inference_mode(),
            friendly_oom(f"colorizing at {self.working_size[1]}x{self.working_size[0]}"),
        ):
            ab = self._predict(rgb, hints, global_hint, with_classes=False)
            full_ab = F.interpolate(ab.float(), size=rgb.shape[:2], mode="bilinear", align_corners=False)
        lab = np.concatenate(
            [rgb2lightness(rgb)[..., None], full_ab[0].permute(1, 2, 0).cpu().numpy()], axis=2
        )
        return lab_to_uint8(lab)

    def suggest_colors(
        self,
        image: np.ndarray,
        point: tuple[float, float],
        k: int = 8,
        hints: Sequence[Hint] = (),
        global_hint: np.ndarray | None = None,
    ) -> list[tuple[tuple[int, int, int], float]]:
        """The ``k`` likeliest colours at image pixel ``point`` (x, y) given the hints, best first.

        From the colour-class head's softmax: each class's ab centre at the pixel's own lightness.
        """
        rgb = _checked_photo(image)
        x, y = self._checked_point(point, rgb.shape[:2], "the suggestion point")
        with torch.inference_mode(), friendly_oom("computing colour suggestions"):
            logits = self._predict(rgb, hints, global_hint, with_classes=True)
        gh, gw = logits.shape[-2:]
        row = min(int((y + 0.5) * gh / rgb.shape[0]), gh - 1)
        col = min(int((x + 0.5) * gw / rgb.shape[1]), gw - 1)
        probabilities = logits[0, :, row, col].float().softmax(0).cpu()
        top = probabilities.topk(min(max(int(k), 1), AB_BINS))
        centers = ab_bin_centers()[top.indices].double().numpy()
        lightness = rgb2lightness(rgb[int(y), int(x)])
        colors = lab_to_uint8(np.concatenate([np.full((len(centers), 1), lightness), centers], axis=1))
        return [(tuple(int(c) for c in color), float(p)) for color, p in zip(colors, top.values, strict=True)]

    def warm_up(self) -> None:
        """One colorization at the working size, so the first hint does not pay for lazy initialisation."""
        self.colorize(np.full(self.working_size, 128, np.uint8))

    def _predict(
        self, rgb: np.ndarray, hints: Sequence[Hint], global_hint: np.ndarray | None, with_classes: bool
    ) -> torch.Tensor:
        """Network ab (1, 2, h, w) at the working size, or the class logits (1, 529, h/4, w/4)."""
        h, w = self.working_size
        small = (
            rgb if rgb.shape[:2] == (h, w) else np.asarray(Image.fromarray(rgb).resize((w, h), Image.BICUBIC))
        )
        lightness = torch.from_numpy(rgb2lightness(small).astype(np.float32))[None, None]
        ab, mask = self.hint_maps(hints, rgb.shape[:2])
        tensors = [t.to(self.device, self.dtype) for t in (lightness, ab, mask)]
        out = self.generator(*tensors, self._global_tensor(global_hint), return_class_logits=with_classes)
        return out[1] if with_classes else out

    def hint_maps(self, hints: Sequence[Hint], canvas: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """What the network sees of ``hints`` on a ``canvas`` (H, W) photo: ab (1, 2, h, w) and mask
        (1, 1, h, w) on the working grid; later hints overwrite earlier ones."""
        h, w = self.working_size
        ab = np.zeros((2, h, w), np.float32)
        mask = np.zeros((1, h, w), np.float32)
        for hint in hints:
            x, y = self._checked_point((hint.x, hint.y), canvas, "a colour hint")
            if len(hint.rgb) != 3 or not all(0 <= int(c) <= 255 for c in hint.rgb):
                raise InferenceError(f"a colour hint's colour must be three values 0..255, got {hint.rgb}")
            if int(hint.size) < 1:
                raise InferenceError(f"a colour hint's patch size must be at least 1, got {hint.size}")
            row = min(int((y + 0.5) * h / canvas[0]), h - 1)
            col = min(int((x + 0.5) * w / canvas[1]), w - 1)
            top, left = max(row - (int(hint.size) - 1) // 2, 0), max(col - (int(hint.size) - 1) // 2, 0)
            patch = (slice(top, row + int(hint.size) // 2 + 1), slice(left, col + int(hint.size) // 2 + 1))
            ab[(slice(None), *patch)] = rgb2lab(np.array(hint.rgb, np.uint8))[1:, None, None]
            mask[(slice(None), *patch)] = 1
        return torch.from_numpy(ab)[None], torch.from_numpy(mask)[None]

    def _global_tensor(self, global_hint: np.ndarray | None) -> torch.Tensor | None:
        if global_hint is None:
            return None
        if not self.has_global_hints:
            raise InferenceError(
                f"model '{self.card.name}' takes no global hints (it has no global hints branch)"
            )
        vector = np.asarray(global_hint, np.float32)
        if vector.shape != (self.config.global_hint_channels,):
            raise InferenceError(
                f"a global hint for '{self.card.name}' must have {self.config.global_hint_channels} values, "
                f"got shape {vector.shape}"
            )
        return torch.from_numpy(vector)[None].to(self.device, self.dtype)

    @staticmethod
    def _checked_point(point: tuple[float, float], canvas: tuple[int, int], what: str) -> tuple[float, float]:
        x, y = float(point[0]), float(point[1])
        if not (0 <= x < canvas[1] and 0 <= y < canvas[0]):
            raise InferenceError(
                f"{what} at (x={x:g}, y={y:g}) lies outside the {canvas[1]}x{canvas[0]} photo"
            )
        return x, y


def import_official_colorization(checkpoint: Path, out_dir: Path, name: str | None = None) -> Path:
    """Convert richzhang/colorization's ``siggraph17`` release into a model folder; returns the folder."""
    checkpoint = Path(checkpoint)
    state = read_state_dict(checkpoint)
    first = state.get("model1.0.weight")
    if first is None or first.dim() != 4:
        raise CheckpointError(
            f"{checkpoint.name} is not a SIGGRAPH'17 colorization checkpoint: it has no 'model1.0.weight'"
        )
    config = ColorizationConfig(width=first.shape[0])
    generator = SIGGRAPHGenerator(config)
    load_checked(generator, state, checkpoint.name, f"is this richzhang/colorization's {OFFICIAL_FILE}?")
    card = ModelCard(
        name=name or "colorization-siggraph17-official",
        kind=ColorizationModel.kind,
        architecture=config.to_dict(),
        label_set=None,
        native_size=config.native_size,
        description="Colorization from colour hints (Zhang et al., SIGGRAPH 2017), official weights",
        source=f"richzhang/colorization siggraph17 ({checkpoint.name})",
        trained_on="ImageNet",
        license="BSD-2-Clause",
    )
    return save_model(out_dir, card, {"G": generator})
