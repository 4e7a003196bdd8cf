"""Inpainting with LaMa: fill a masked region of a photo, at any photo size, on a CPU or a GPU.

The network sees the official input (RGB in [0, 1] with the hole zeroed, the mask, and for guided
models the edge sketch inside the hole), padded like the official ``pad_img_to_modulo``. Large
photos are not run whole: a context window around the hole is cut out, shrunk to the working size
if needed, filled, and the fill is scaled back and pasted inside the mask only, so every pixel
outside the mask is returned unchanged and memory stays bounded by the working size.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.checkpoints import (
    ModelCard,
    load_checked,
    read_state_dict,
    save_model,
)
from engine.errors import CheckpointError, InferenceError, InputImageError
from engine.image_runtime import ImageModel
from engine.models.lama import FFCResNetGenerator, LaMaConfig, generator_input
from engine.session import friendly_oom

WORKING_SIZE = 512  # long side the network runs at, unless the model's native size is larger
CONTEXT_FACTOR = 2.0  # the context window spans this many times the hole's extent (per axis)
OFFICIAL_GENERATOR_PREFIX = "generator."  # inside LaMa's Lightning checkpoints
OFFICIAL_NATIVE_SIZE = (256, 256)  # big-lama was trained on 256x256 crops of Places365-Challenge


def symmetric_pad(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pad the last two axes at the bottom/right to (height, width) like numpy's 'symmetric' mode.

    The edge pixel is repeated (a mirror between pixels), and pads longer than the image keep
    mirroring: the image extends with period 2n, which is what numpy does.
    """

    def indices(n: int, target: int) -> torch.Tensor:
        j = torch.arange(target, device=x.device) % (2 * n)
        return torch.where(j < n, j, 2 * n - 1 - j)

    h, w = x.shape[-2:]
    if (h, w) == (height, width):
        return x
    return x[..., indices(h, height)[:, None], indices(w, width)[None, :]]


def context_window(hole: np.ndarray, working_size: int) -> tuple[slice, slice]:
    """Rows and columns of the region to inpaint: the hole's bounding box grown to ``CONTEXT_FACTOR``
    times its extent and to at least ``working_size`` per axis (context is free up to there), kept
    inside the image. A photo no larger than ``working_size`` is used whole."""

    def span(occupied: np.ndarray) -> slice:
        size = len(occupied)
        lo, hi = int(occupied.argmax()), size - int(occupied[::-1].argmax())
        want = min(size, max(math.ceil(CONTEXT_FACTOR * (hi - lo)), working_size))
        start = min(max((lo + hi - want) // 2, 0), size - want)
        return slice(start, start + want)

    return span(hole.any(axis=1)), span(hole.any(axis=0))


class InpaintingModel(ImageModel):
    """A LaMa-family generator on a device, filling masked regions of uint8 RGB photos."""

    kind = "lama"
    config_class = LaMaConfig
    network_class = FFCResNetGenerator
    architecture_name = "LaMa"

    def __init__(
        self, card: ModelCard, generator: FFCResNetGenerator, device: torch.device, dtype: torch.dtype
    ):
        super().__init__(card, generator, device, dtype)
        self.config: LaMaConfig
        self.working_size = max(WORKING_SIZE, *card.native_size)

    @property
    def supports_guide(self) -> bool:
        """Whether ``inpaint`` takes an edge sketch that steers the fill."""
        return self.config.guide_channels > 0

    def inpaint(self, image: np.ndarray, mask: np.ndarray, guide: np.ndarray | None = None) -> np.ndarray:
        """Fill the pixels where ``mask`` is true (or > 0); returns a new HxWx3 uint8 image.

        ``guide`` (models with ``supports_guide``): an HxW uint8 or bool edge sketch; only its part
        inside the hole is used. Pixels outside the mask are returned exactly as given.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputImageError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        hole = self._checked_plane(mask, image.shape[:2], "mask") > 0
        if not hole.any():
            raise InputImageError("the mask is empty: paint over the region to fill first")
        sketch = None if guide is None else self._checked_guide(guide, image.shape[:2])
        rows, cols = context_window(hole, self.working_size)
        hole = hole[rows, cols]
        window = f"a {hole.shape[1]}x{hole.shape[0]} region"
        with torch.inference_mode(), friendly_oom(f"inpainting {window}"):
            fill = self._fill(image[rows, cols], hole, None if sketch is None else sketch[rows, cols])
        out = image.copy()
        region = out[rows, cols]
        region[hole] = fill[hole]
        return out

    def _fill(self, crop: np.ndarray, hole: np.ndarray, sketch: np.ndarray | None) -> np.ndarray:
        """The window inpainted (HxWx3 uint8), run at most at the working size."""
        image = torch.from_numpy(np.array(crop)).to(self.device).permute(2, 0, 1)[None]
        image = image.float().div(255)
        mask = torch.from_numpy(hole).to(self.device)[None, None].float()
        guide = None if sketch is None else torch.from_numpy(sketch).to(self.device)[None, None]
        size = tuple(image.shape[-2:])
        scale = self.working_size / max(size)
        if scale < 1:
            # the same bins for both pools: a working pixel that touches the hole is a hole, so
            # known pixels are averages of known pixels only; max keeps thin sketch lines
            work = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
            image = F.adaptive_avg_pool2d(image, work)
            mask = F.adaptive_max_pool2d(mask, work)
            guide = None if guide is None else F.adaptive_max_pool2d(guide, work)
            composite = mask * self.predict(image, mask, guide) + (1 - mask) * image
            fill = F.interpolate(composite, size=size, mode="bicubic", align_corners=False)
        else:
            fill = self.predict(image, mask, guide)
        return (fill[0] * 255).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()

    def predict(
        self, image: torch.Tensor, mask: torch.Tensor, guide: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The network's prediction (1, 3, H, W) in [0, 1] for an image and a 0/1 mask of any size.

        Builds the official input ``cat(image * (1 - mask), mask[, guide * mask])``, pads it
        symmetrically to the network's multiple and crops the result back.
        """
        x = generator_input(image, mask, guide, self.config)
        h, w = x.shape[-2:]
        k, least = self.config.size_multiple, self.config.min_size
        x = symmetric_pad(x, max(-(-h // k) * k, least), max(-(-w // k) * k, least))
        with torch.inference_mode(), friendly_oom(f"inpainting at {w}x{h}"):
            out = self.generator(x.to(self.dtype))
        return out[..., :h, :w].float()

    def warm_up(self) -> None:
        """One small inpainting, so the first real one does not pay for lazy initialisation."""
        side = 2 * self.config.min_size
        mask = np.zeros((side, side), dtype=bool)
        mask[side // 4 : side // 2, side // 4 : side // 2] = True
        self.inpaint(np.full((side, side, 3), 128, dtype=np.uint8), mask)

    def _checked_guide(self, guide: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        if not self.supports_guide:
            raise InferenceError(f"the model '{self.card.name}' takes no guide sketch; inpaint without one")
        plane = self._checked_plane(guide, shape, "guide sketch")
        if plane.dtype == bool:
            return plane.astype(np.float32)
        if plane.dtype != np.uint8:
            raise InputImageError(f"the guide sketch must be a uint8 or bool array, got {plane.dtype}")
        return plane.astype(np.float32) / 255

    @staticmethod
    def _checked_plane(plane: np.ndarray, shape: tuple[int, int], what: str) -> np.ndarray:
        plane = np.asarray(plane)
        if plane.ndim != 2:
            raise InputImageError(
                f"the {what} must be a single-channel (H, W) array, got shape {plane.shape}"
            )
        if plane.shape != shape:
            raise InputImageError(
                f"the {what} is {plane.shape[1]}x{plane.shape[0]} but the image is "
                f"{shape[1]}x{shape[0]} (width x height)"
            )
        return plane


def official_generator_state(state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """The generator's weights from a LaMa Lightning checkpoint (``generator.`` keys; other
    networks such as the discriminator are dropped) or from a bare generator state dict."""
    generator = {
        key[len(OFFICIAL_GENERATOR_PREFIX) :]: value
        for key, value in state.items()
        if key.startswith(OFFICIAL_GENERATOR_PREFIX)
    }
    if not generator and any(key.startswith("model.") for key in state):
        generator = dict(state)
    if "model.1.ffc.convl2l.weight" not in generator:
        raise CheckpointError(
            f"{source} holds no LaMa generator: it has no 'generator.model.1.ffc.convl2l.weight' "
            f"(is it big-lama's models/best.ckpt?)"
        )
    return generator


def official_config(state: dict[str, torch.Tensor], source: str) -> LaMaConfig:
    """Read the architecture (widths, depth, global ratio) off a generator state dict's shapes."""
    ngf, in_channels = state["model.1.ffc.convl2l.weight"].shape[:2]
    if in_channels != 4:
        raise CheckpointError(
            f"{source} takes {in_channels} input channels; official LaMa generators take 4 (RGB + mask)"
        )
    blocks = sorted({int(key.split(".")[1]) for key in state if ".conv1.ffc." in key})
    if not blocks:
        raise CheckpointError(f"{source} is not an FFC-ResNet generator: it has no residual FFC blocks")
    n_downsampling = blocks[0] - 2
    last_down = f"model.{blocks[0] - 1}.ffc"
    final_conv = f"model.{blocks[-1] + 3 * n_downsampling + 3}.weight"
    for key in (f"{last_down}.convl2l.weight", f"{last_down}.convl2g.weight", final_conv):
        if key not in state:
            raise CheckpointError(f"{source} does not fit LaMa's FFC-ResNet layout: key '{key}' is missing")
    local = state[f"{last_down}.convl2l.weight"].shape[0]
    glob = state[f"{last_down}.convl2g.weight"].shape[0]
    return LaMaConfig(
        input_nc=4,
        output_nc=state[final_conv].shape[0],
        ngf=ngf,
        n_downsampling=n_downsampling,
        n_blocks=len(blocks),
        ratio_g=glob / (local + glob),
    )


def import_official_lama(checkpoint: Path, out_dir: Path, name: str | None = None) -> Path:
    """Convert LaMa's ``big-lama/models/best.ckpt`` (or another FFC-ResNet LaMa release) into a
    model folder the engine loads; returns the folder."""
    checkpoint = Path(checkpoint)
    state = official_generator_state(read_state_dict(checkpoint), checkpoint.name)
    config = official_config(state, checkpoint.name)
    generator = FFCResNetGenerator(config)
    load_checked(generator, state, checkpoint.name, "is this a LaMa FFC-ResNet checkpoint?")
    card = ModelCard(
        name=name or "lama-official",
        kind="lama",
        architecture=config.to_dict(),
        label_set=None,
        native_size=OFFICIAL_NATIVE_SIZE,
        description="LaMa inpainting (fast Fourier convolutions), imported from the official release",
        source=f"advimman/lama ({checkpoint.name}), generator weights",
        trained_on="Places365-Challenge",
        license="Apache-2.0",
    )
    return save_model(out_dir, card, {"G": generator})
