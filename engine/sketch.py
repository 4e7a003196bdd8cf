"""Image-to-image models (pix2pix family): a sketch or label image in, a photo out.

``SketchModel`` is the runtime behind ``engine.load_model`` for model cards of kind "pix2pix";
``import_official_pix2pix`` converts the official ``unet_256`` releases into model folders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from engine.checkpoints import (
    ModelCard,
    load_checked,
    read_state_dict,
    save_model,
)
from engine.edges import SketchStyle
from engine.errors import CheckpointError, InferenceError, InputImageError
from engine.image_runtime import ImageModel
from engine.models.pix2pix import INFERENCE_MODES, InferenceMode, Pix2PixConfig, UnetGenerator
from engine.session import friendly_oom, image_to_tensor, tensor_to_uint8

# official release name -> (what goes in and comes out, training data)
OFFICIAL_RELEASES: dict[str, tuple[str, str]] = {
    "facades_label2photo": (
        "input: a colour-coded CMP facade label image; output: a facade photo",
        "CMP Facades",
    ),
    "edges2shoes": ("input: black edges on white; output: a shoe photo", "UT Zappos50K shoes"),
    "sat2map": ("input: a satellite photo; output: a map", "Google Maps tiles"),
    "map2sat": ("input: a map; output: a satellite photo", "Google Maps tiles"),
    "day2night": ("input: a daytime photo; output: the scene at night", "Transient Attributes"),
}
OFFICIAL_LICENSE = "BSD (junyanz/pytorch-CycleGAN-and-pix2pix); the training data's own terms apply"


class SketchModel(ImageModel):
    """A pix2pix U-Net on a device: any-size RGB or grey image in, RGB uint8 image of the same size out.

    The network runs at the card's native size (256x256 for ``unet_256``): the input is resized to
    it (bicubic, as the official data pipeline) and the output resized back (bicubic).
    """

    kind = "pix2pix"
    config_class = Pix2PixConfig
    network_class = UnetGenerator
    architecture_name = "pix2pix"
    modes = INFERENCE_MODES

    def __init__(self, card: ModelCard, generator: UnetGenerator, device: torch.device, dtype: torch.dtype):
        super().__init__(card, generator, device, dtype)
        self.config: Pix2PixConfig
        channels = (self.config.input_nc, self.config.output_nc)
        if not set(channels) <= {1, 3}:
            raise CheckpointError(
                f"model '{card.name}' maps {channels[0]} to {channels[1]} channels; "
                "only grey (1) or RGB (3) images are supported"
            )
        k = self.config.size_multiple
        if any(side % k for side in card.native_size):
            raise CheckpointError(
                f"model '{card.name}' has native size {card.native_size[1]}x{card.native_size[0]}, "
                f"but its U-Net needs sides that are multiples of {k}"
            )

    @property
    def native_size(self) -> tuple[int, int]:
        return self.card.native_size

    @property
    def default_mode(self) -> InferenceMode:
        return self.config.default_mode

    @property
    def seed_matters(self) -> bool:
        """Whether ``seed`` can change a photo: only dropout draws noise (a U-Net trained with
        ``--no-dropout`` differs between the modes by its BatchNorm statistics alone)."""
        return self.config.use_dropout

    @property
    def trained_sketches(self) -> dict[str, Any]:
        """How the sketches it learned from were read or drawn (the trainer's record in the card:
        format, edge detector, line width...); empty for imported official weights."""
        return dict(self.card.training.get("sketches", {}))

    @property
    def trained_line_width(self) -> int | None:
        """Width in pixels of the lines it learned from, where its card records it."""
        width = self.trained_sketches.get("edge_width")
        return width if isinstance(width, int) else None

    @property
    def trace_style(self) -> SketchStyle:
        """How ``trace`` draws photos: like its training sketches where they were drawn from photos
        (the card's edge detector, line width, smallest line), else thin Canny lines (the official
        releases learned from thin edge maps; models trained on drawn sketches record only a width)."""
        record = self.trained_sketches
        drawn = record.get("format") == "edges"
        return SketchStyle(
            detector=record.get("edges", "canny") if drawn else "canny",
            line_width=int(record.get("edge_width", 1)),
            min_pixels=int(record.get("min_line", 16)),
        )

    def trace(self, photo: np.ndarray) -> np.ndarray:
        """A uint8 RGB or grey photo drawn as a sketch (grey uint8, black lines on white) the way this
        model learned sketches, at the scale it runs at: the long side at the model's, aspect kept, so
        the lines are as wide as in training. Editing the tracing is the quickest start from a photo."""
        image = np.asarray(photo)
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
            raise InputImageError(
                f"a photo to trace must be a non-empty uint8 image, got {image.dtype} {image.shape}"
            )
        h, w = image.shape[:2]
        scale = max(self.native_size) / max(h, w)
        if scale != 1:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))
        return self.trace_style(image)

    def translate(self, image: np.ndarray, mode: str | None = None, seed: int | None = None) -> np.ndarray:
        """RGB uint8 (H, W, 3) or grey uint8 (H, W) image -> RGB uint8 (H, W, 3) image.

        ``mode``: "deterministic" (BatchNorm running statistics, no dropout: ``test.py --eval``) or
        "official" (this image's BatchNorm statistics and dropout noise, what the official
        ``test.py`` does by default); None takes the card's ``default_mode``. ``seed`` fixes the
        dropout noise of "official" (None: new noise each call); "deterministic" ignores it.

        The official ``tensor2im`` converts to uint8 without clipping; we clip to [0, 255] first
        so that a value rounded past the ends (reduced precision) cannot wrap around.
        """
        mode = mode or self.default_mode
        if mode not in INFERENCE_MODES:
            raise InferenceError(
                f"unknown pix2pix mode {mode!r} (expected one of {', '.join(INFERENCE_MODES)})"
            )
        image = np.asarray(image)
        x = self._input_tensor(image)
        generator = None
        if mode == "official" and seed is not None:
            generator = torch.Generator(self.device).manual_seed(int(seed))
        height, width = self.native_size
        with torch.inference_mode(), friendly_oom(f"translating at {width}x{height}"):
            photo = tensor_to_uint8(self.generator.run(x, mode, generator))
        if photo.shape[2] == 1:
            photo = np.repeat(photo, 3, axis=2)
        if photo.shape[:2] != image.shape[:2]:
            photo = np.asarray(Image.fromarray(photo).resize((image.shape[1], image.shape[0]), Image.BICUBIC))
        return photo

    def warm_up(self) -> None:
        """One translation of a blank sheet, so the first stroke does not pay for lazy initialisation."""
        self.translate(np.full(self.native_size, 255, dtype=np.uint8), mode="deterministic")

    def _input_tensor(self, image: np.ndarray) -> torch.Tensor:
        """The network input in [-1, 1] at the native size, with the model's channel count."""
        if image.dtype != np.uint8:
            raise InputImageError(f"a sketch image must be uint8, got {image.dtype}")
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or image.size == 0:
            raise InputImageError(
                "a sketch image must be a non-empty RGB (H, W, 3) or grey (H, W) array, "
                f"got shape {image.shape}"
            )
        # as the official pipeline: PIL's grey conversion (ITU-R 601 luma) first, then the resize
        picture = Image.fromarray(image)
        if self.config.input_nc == 1:
            picture = picture.convert("L")
        height, width = self.native_size
        if picture.size != (width, height):
            picture = picture.resize((width, height), Image.BICUBIC)
        x = image_to_tensor(np.array(picture.convert("RGB")))[:, : self.config.input_nc]
        return x.to(self.device, self.dtype)


def import_official_pix2pix(
    checkpoint: Path, out_dir: Path, name: str | None = None, direction_note: str | None = None
) -> Path:
    """Convert an official pix2pix generator (``latest_net_G.pth`` of a ``unet_256`` release) into a
    model folder; returns the folder.

    Widths and depth come from the weights' shapes. The release is recognised by its name in the
    file or folder name (e.g. ``edges2shoes_pretrained/latest_net_G.pth``) to describe what goes in
    and out; ``direction_note`` overrides that description.
    """
    checkpoint = Path(checkpoint)
    state = read_state_dict(checkpoint)
    try:
        config = Pix2PixConfig.from_state_dict(state)
    except KeyError as exc:
        raise CheckpointError(
            f"{checkpoint.name} is not a pix2pix U-Net generator: it has no {exc} weight"
        ) from None
    except ValueError as exc:
        raise CheckpointError(f"{checkpoint.name} is not a usable pix2pix U-Net generator ({exc})") from None
    generator = UnetGenerator(config)
    load_checked(
        generator, state, checkpoint.name, "is this a pix2pix unet generator (netG unet_128/unet_256)?"
    )
    release = next(
        (r for r in OFFICIAL_RELEASES if r in checkpoint.stem or r in checkpoint.parent.name), None
    )
    note, trained_on = OFFICIAL_RELEASES.get(release, ("", ""))
    note = direction_note or note or "input: the kind of image the model was trained on; output: a photo"
    card = ModelCard(
        name=name or (f"pix2pix-{release}-official" if release else "pix2pix-official"),
        kind="pix2pix",
        architecture=config.to_dict(),
        label_set=None,
        native_size=config.native_size,
        description=f"pix2pix U-Net ({note}), imported from the official release",
        source=f"junyanz/pytorch-CycleGAN-and-pix2pix {release or 'pix2pix'} ({checkpoint.name})",
        trained_on=trained_on,
        license=OFFICIAL_LICENSE,
    )
    return save_model(out_dir, card, {"G": generator})
