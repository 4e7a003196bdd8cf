"""Loaded models ready for inference: the public API behind ``engine.load_model``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from engine.checkpoints import ModelCard, architecture_from_card, load_checked, read_weights
from engine.errors import CheckpointError, InferenceError, InputImageError
from engine.label_runtime import LabelMapModel
from engine.labels import LabelSet
from engine.models.semantics import SemanticMap, instance_edges
from engine.models.spade import SPADEConfig, SPADEGenerator, StyleEncoder
from engine.style_transfer import FALLBACK_DESCRIPTION, STATISTICS_SIZE, style_statistics, transfer_colors


def tensor_to_uint8(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [-1, 1] -> HxWx3 uint8, truncating like the official ``tensor2im``."""
    array = ((image[0].float().permute(1, 2, 0) + 1) / 2 * 255).clamp(0, 255)
    return array.cpu().numpy().astype(np.uint8)


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> (1, 3, H, W) float in [-1, 1], as the official data pipeline does."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputImageError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    return (torch.from_numpy(image).float().div(255).sub(0.5).div(0.5)).permute(2, 0, 1)[None]


def resize_ids(ids: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an integer map to (H, W); never invents ids."""
    if ids.shape == tuple(size):
        return ids
    rows = (np.arange(size[0]) * ids.shape[0] // size[0]).clip(0, ids.shape[0] - 1)
    cols = (np.arange(size[1]) * ids.shape[1] // size[1]).clip(0, ids.shape[1] - 1)
    return ids[rows[:, None], cols[None, :]]


@contextmanager
def friendly_oom(what: str) -> Iterator[None]:
    """Turn out-of-memory during inference into a message that says what to change."""
    try:
        yield
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        raise InferenceError(
            f"out of GPU memory while {what}; lower the output resolution or switch the device to CPU"
        ) from None
    except RuntimeError as exc:
        if "out of memory" not in str(exc).lower() and "can't allocate memory" not in str(exc).lower():
            raise
        raise InferenceError(f"out of memory while {what}; lower the output resolution") from None


class SynthesisModel(LabelMapModel):
    """A label-map -> photo model (SPADE family) on a device; see ``LabelMapModel`` for canvas sizes.

    VAE models (trained with the style encoder) run only at their native size. Models with OASIS
    3D noise (``noise_nc > 0``) take a noise vector drawn from the seed, replicated over every pixel.
    """

    kind = "spade"

    def __init__(
        self,
        card: ModelCard,
        label_set: LabelSet,
        generator: SPADEGenerator,
        encoder: StyleEncoder | None,
        device: torch.device,
        dtype: torch.dtype,
    ):
        self.config: SPADEConfig = generator.config
        super().__init__(card, label_set, device, dtype)
        self.generator = generator.to(device=device, dtype=dtype).eval()
        self.encoder = None if encoder is None else encoder.to(device=device, dtype=dtype).eval()

    @classmethod
    def from_folder(
        cls, folder: Path, card: ModelCard, device: torch.device, dtype: torch.dtype
    ) -> SynthesisModel:
        """Build the networks of a SPADE model folder, checking its label set against its architecture."""
        if card.label_set is None:
            raise CheckpointError(f"model '{card.name}' has no label set in its card")
        label_set = LabelSet.from_dict(card.label_set)
        config = architecture_from_card(SPADEConfig, card, folder, "SPADE")
        if label_set.label_nc != config.label_nc or (
            label_set.dontcare_id is not None and not config.contain_dontcare
        ):
            raise CheckpointError(
                f"model '{card.name}' has {config.label_nc} label channels, which does not fit its label "
                f"set '{label_set.name}' ({label_set.label_nc} classes)"
            )
        weights = read_weights(folder)
        generator = SPADEGenerator(config)
        load_checked(generator, weights.get("G", {}), f"{Path(folder).name}/G")
        encoder = None
        if "E" in weights:
            encoder = StyleEncoder(config)
            load_checked(encoder, weights["E"], f"{Path(folder).name}/E")
        return cls(card, label_set, generator, encoder, device, dtype)

    @property
    def native_size(self) -> tuple[int, int]:
        return self.config.native_size

    @property
    def has_style_encoder(self) -> bool:
        return self.encoder is not None and self.config.use_vae

    @property
    def style_fallback(self) -> str | None:
        """How a style image is used when the network itself cannot take one (None if it can)."""
        return None if self.has_style_encoder else FALLBACK_DESCRIPTION

    @property
    def has_random_styles(self) -> bool:
        """Whether ``seed`` selects the look: a style latent from the prior, or 3D noise."""
        return self.has_style_encoder or self.config.noise_nc > 0

    @property
    def uses_instances(self) -> bool:
        return self.config.use_instance_edges

    def working_size(self, canvas: tuple[int, int]) -> tuple[int, int]:
        """(H, W) the network runs at for a canvas of that size, before padding."""
        return self.native_size if self.config.use_vae else super().working_size(canvas)

    @property
    def style_size(self) -> int:
        """Length of this model's style codes: z_dim with an encoder, else the Lab statistics' 6."""
        return self.config.z_dim if self.has_style_encoder else STATISTICS_SIZE

    def encode_style(self, image: np.ndarray) -> np.ndarray:
        """Style code of an RGB uint8 image: the encoder's mean z (deterministic), or, for models
        without an encoder, the Lab statistics the fallback transfers. Codes can be blended linearly.
        """
        if not self.has_style_encoder:
            return style_statistics(np.asarray(image))
        with torch.inference_mode(), friendly_oom("encoding the style image"):
            mu, _ = self.encoder(image_to_tensor(image).to(self.device, self.dtype))
        return mu[0].float().cpu().numpy()

    def random_style(self, seed: int) -> np.ndarray:
        """The latent ``seed`` selects, reproducibly: a style z from the prior N(0, I) (a style code for
        models with a style encoder), or, for models with 3D noise and no encoder, the noise vector
        that ``synthesize(seed=seed)`` replicates over the map."""
        style, noise = self._seeded_latents(seed)
        return noise if self.config.noise_nc and not self.has_style_encoder else style

    def _seeded_latents(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(style z, noise vector): consecutive draws from N(0, I) seeded by ``seed``, so they are
        independent and a seed keeps selecting the same style z as before noise existed."""
        generator = torch.Generator().manual_seed(int(seed))
        style = torch.randn(self.config.z_dim, generator=generator)
        return style.numpy(), torch.randn(self.config.noise_nc, generator=generator).numpy()

    def synthesize(
        self,
        labels: np.ndarray,
        instances: np.ndarray | None = None,
        style: np.ndarray | None = None,
        seed: int | None = None,
    ) -> np.ndarray:
        """Label ids (H, W) -> photo (H, W, 3) uint8.

        ``style``: an RGB uint8 image, a style code (``encode_style``; a z vector for models with a
        style encoder), or None. ``seed`` draws a random style z (VAE models); without style or
        seed they use z = 0, the prior's mean. Models without an encoder apply a style by
        ``style_fallback``. Models with 3D noise draw their noise vector from ``seed`` (None counts
        as 0, so a painting always gives the same photo), spatially constant; others ignore it.
        """
        labels = self.checked_labels(labels)
        instances = self.checked_instances(instances, labels.shape)
        canvas = labels.shape
        work = self.working_size(canvas)
        semantics = self._semantics(labels, instances, work, seed)
        z = self._style_latent(style, seed)
        with torch.inference_mode(), friendly_oom(f"synthesizing at {work[1]}x{work[0]}"):
            photo = tensor_to_uint8(self.generator(semantics, z))[: work[0], : work[1]]
        photo = self.to_canvas(photo, canvas)
        if style is not None and not self.has_style_encoder:
            photo = transfer_colors(photo, self._checked_code(np.asarray(style)))
        return photo

    def warm_up(self) -> None:
        """One synthesis at native size, so the first user stroke does not pay for lazy initialisation."""
        h, w = self.native_size
        background = self.label_set.background_id
        self.synthesize(np.full((h, w), background, dtype=np.int32), seed=0 if self.config.use_vae else None)

    def _semantics(
        self, labels: np.ndarray, instances: np.ndarray | None, work: tuple[int, int], seed: int | None
    ) -> SemanticMap:
        k = self.config.size_multiple
        padded = (-(-work[0] // k) * k, -(-work[1] // k) * k)
        pad = ((0, padded[0] - work[0]), (0, padded[1] - work[1]))
        channels = np.pad(resize_ids(self.label_set.to_channels(labels), work), pad, mode="edge")
        edges = None
        if self.config.use_instance_edges:
            inst = np.asarray(instances) if instances is not None else labels
            inst = np.pad(resize_ids(inst.astype(np.int64), work), pad, mode="edge")
            edges = instance_edges(torch.from_numpy(inst)[None]).to(self.device, self.dtype)
        noise = None
        if self.config.noise_nc:
            noise = torch.from_numpy(self._seeded_latents(seed or 0)[1])[None].to(self.device, self.dtype)
        labels_tensor = torch.from_numpy(channels)[None].to(self.device)
        return SemanticMap(labels_tensor, self.config.num_classes, edges, noise)

    def _checked_code(self, style: np.ndarray) -> np.ndarray:
        if style.ndim == 3:
            return style
        if style.shape != (self.style_size,):
            raise InferenceError(
                f"a style code for '{self.card.name}' must have {self.style_size} values, "
                f"got shape {style.shape}"
            )
        return style.astype(np.float32)

    def _style_latent(self, style: np.ndarray | None, seed: int | None) -> torch.Tensor | None:
        if not self.has_style_encoder:
            return None
        if style is None:
            z = self._seeded_latents(seed)[0] if seed is not None else np.zeros(self.config.z_dim, np.float32)
        else:
            style = self._checked_code(np.asarray(style))
            z = self.encode_style(style) if style.ndim == 3 else style
        return torch.from_numpy(z)[None].to(self.device, self.dtype)
