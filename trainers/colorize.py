"""``python -m trainers.colorize``: train the interactive colorization network of Zhang et al.,
"Real-Time User-Guided Image Colorization with Learned Deep Priors" (SIGGRAPH 2017; the engine's
``SIGGRAPHGenerator``) on photo folders, and export it as a model the app's Colorize mode opens.

    python -m trainers.colorize --data ../shared/datasets/photos \\
        --exclude ../shared/datasets/photos/imagenet_sample_grayscale.txt --out runs/colorize
    torchrun --nproc-per-node 4 -m trainers.colorize ...      (several GPUs or machines: DDP)
    python -m trainers.colorize --out runs/colorize --resume  (continue after a stop or a crash)
    python -m trainers.evaluate colorize --model runs/colorize/model --photos DIR

Every crop is converted to Lab with the engine's conversion (scikit-image's numbers). The network
sees its lightness and colour hints simulated from its own ab as in the paper: a geometric number
of points (p = 1/8, mean 7, often none), square patches of 1-9 px, each carrying its patch's mean
ab. It learns ab with a smooth L1 (Huber) loss plus the cross-entropy of its colour-class head over
the 529 quantised ab bins (the classes behind the app's colour suggestions); there is no GAN.
``--global-hints`` also trains the paper's global hints branch, given the crop's own ab histogram
and mean saturation, each left out at random so the network works with either, both or neither.

Defaults follow the device: on a CPU a compact network (width 16: a quarter of the official
channels, 1/16 of its computation) with batch 1; on a GPU the official width 64 with batch 4 per
GPU, mixed precision and channels-last. The run folder gets checkpoints, samples/ (hints | output |
output without hints | real), TensorBoard logs and, at the end, model/.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from engine.checkpoints import ModelCard
from engine.colorization import GLOBAL_HINT_SIZE, global_hint_from_image
from engine.lab import lab_to_uint8, rgb2lab
from engine.labels import read_rgb_image
from engine.models.colorize import AB_BINS_PER_AXIS, AB_MAX, AB_STEP, ColorizationConfig, SIGGRAPHGenerator
from engine.session import image_to_tensor
from trainers.augment import Augmentation
from trainers.evaluation.metrics import psnr
from trainers.hints import LOCATIONS, HintSampling, simulate_hints
from trainers.launch import add_loop_arguments, main_for, on_gpu
from trainers.loop import TrainingError
from trainers.photos import PhotoDataset, PhotoSource, add_photo_arguments
from trainers.recipe import OptimizerSpec, Recipe, StepContext

CLASS_DOWNSAMPLING = 4  # the colour-class head predicts one class per 4x4 block of pixels


@dataclass(frozen=True)
class ColorizationTraining:
    """The recipe's options (the network's architecture is its own ``ColorizationConfig``).

    ``global_keep`` is the probability that each part of the global hint (histogram, saturation)
    is given. The regression loss is smooth L1 in Lab units (beta 1) divided by the ab range 110.
    """

    hints: HintSampling = field(default_factory=HintSampling)
    global_keep: float = 0.5
    lambda_reg: float = 10.0
    lambda_class: float = 1.0
    lr: float = 0.0001
    betas: tuple[float, float] = (0.9, 0.999)

    def __post_init__(self) -> None:
        if not 0 <= self.global_keep <= 1:
            raise TrainingError(f"--global-keep must be a probability in [0, 1], got {self.global_keep}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColorizationTraining:
        data = dict(data)
        return cls(hints=HintSampling(**data.pop("hints")), betas=tuple(data.pop("betas")), **data)


def ab_classes(ab: Tensor) -> Tensor:
    """ab (N, 2, H, W) in Lab units -> (N, H, W) index of the nearest colour class, in the order of
    ``engine.models.colorize.ab_bin_centers`` (ab outside the grid goes to its border class)."""
    index = ((ab.float() + AB_MAX) / AB_STEP).round().clamp(0, AB_BINS_PER_AXIS - 1).long()
    return index[:, 0] * AB_BINS_PER_AXIS + index[:, 1]


def lab_images(lightness: Tensor, ab: Tensor) -> Tensor:
    """L (N, 1, H, W) + ab (N, 2, H, W) -> RGB (N, 3, H, W) in [-1, 1], through the engine's Lab
    conversion and uint8 rounding, i.e. the colours the app shows."""
    lab = torch.cat([lightness.float(), ab.float()], 1).permute(0, 2, 3, 1).cpu().double().numpy()
    rgb = torch.from_numpy(lab_to_uint8(lab)).permute(0, 3, 1, 2).float()
    return (rgb / 127.5 - 1).to(lightness.device)


def to_uint8(images: Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8."""
    return (
        np.rint((images.float().permute(0, 2, 3, 1).cpu().numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
    )


class ColorizationDataset(PhotoDataset):
    """Crops in Lab with simulated hints: ``lightness`` (1, H, W) in [0, 100], ``ab`` (2, H, W) the
    target, ``hint_ab`` and ``hint_mask`` what the simulated user gave, ``image`` the crop in
    [-1, 1]; with ``global_keep`` set also ``global_hint`` (the crop's own, each part kept with that
    probability). Crop, hints and global hint are drawn in that order from ``rng(index, epoch)``."""

    def __init__(
        self,
        photos: Sequence[Path],
        augmentation: Augmentation,
        *,
        seed: int = 0,
        augment: bool = True,
        hints: HintSampling | None = None,
        global_keep: float | None = None,
    ):
        super().__init__(photos, augmentation, seed=seed, augment=augment)
        self.hints = hints or HintSampling()
        self.global_keep = global_keep

    def item(self, index: int, epoch: int = 0) -> dict[str, Any]:
        photo = read_rgb_image(self.photos[index])
        rng = self.rng(index, epoch)
        shape = photo.shape[:2]
        crop = self.augmentation.random(shape, rng) if self.augment else self.augmentation.center(shape)
        rgb = crop.photo(photo)
        lab = rgb2lab(rgb).transpose(2, 0, 1)
        hint_ab, hint_mask = simulate_hints(lab[1:], rng, self.hints)
        item = {
            "image": image_to_tensor(rgb)[0],
            "lightness": torch.from_numpy(lab[:1].astype(np.float32)),
            "ab": torch.from_numpy(lab[1:].astype(np.float32)),
            "hint_ab": torch.from_numpy(hint_ab),
            "hint_mask": torch.from_numpy(hint_mask),
            "index": index,
        }
        if self.global_keep is not None:
            histogram, saturation = rng.random(2) < self.global_keep
            item["global_hint"] = torch.from_numpy(global_hint_from_image(rgb, histogram, saturation))
        return item


class ColorizationSource(PhotoSource):
    """Photo folders (``--data``, ``--exclude``) read by ``ColorizationDataset`` with the recipe's hints."""

    def datasets(
        self, index: Any, recipe: Recipe, data: Mapping[str, Any], seed: int
    ) -> tuple[Dataset, Dataset]:
        dataset_class: Callable[..., PhotoDataset] = partial(
            ColorizationDataset, hints=recipe.training.hints, global_keep=recipe.global_keep
        )
        return PhotoSource(dataset_class).datasets(index, recipe, data, seed)


class ColorizationRecipe(Recipe):
    kind = "colorization"
    module = "trainers.colorize"

    def __init__(self, config: ColorizationConfig, training: ColorizationTraining):
        if config.global_hint_channels not in (0, GLOBAL_HINT_SIZE):
            raise TrainingError(
                f"the global hints branch takes {GLOBAL_HINT_SIZE} values (the engine's layout), "
                f"got {config.global_hint_channels}"
            )
        self.config = config
        self.training = training

    @property
    def image_size(self) -> tuple[int, int]:
        return self.config.native_size

    @property
    def global_keep(self) -> float | None:
        """The datasets' global-hint probability; None when the network has no global hints branch."""
        return self.training.global_keep if self.config.global_hint_channels else None

    def to_dict(self) -> dict[str, Any]:
        return {"generator": self.config.to_dict(), "training": self.training.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColorizationRecipe:
        return cls(
            ColorizationConfig.from_dict(dict(data["generator"])),
            ColorizationTraining.from_dict(data["training"]),
        )

    # --- networks --------------------------------------------------------------------------------------

    def build_networks(self) -> dict[str, nn.Module]:
        """PyTorch's default initialisation; the global branch starts at zero as the engine builds it."""
        return {"G": SIGGRAPHGenerator(self.config)}

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"G": OptimizerSpec(("G",), self.training.lr, self.training.betas)}

    def inference_networks(self) -> dict[str, nn.Module]:
        return {"G": SIGGRAPHGenerator(self.config)}

    def inference_state(self, name: str, network: nn.Module) -> dict[str, Tensor]:
        return network.state_dict()

    # --- one iteration ---------------------------------------------------------------------------------

    def _inputs(self, batch: Mapping[str, Any], hints: bool = True) -> tuple[Tensor, ...]:
        lightness = batch["lightness"]
        if not hints:
            return lightness, torch.zeros_like(batch["hint_ab"]), torch.zeros_like(batch["hint_mask"])
        return lightness, batch["hint_ab"], batch["hint_mask"]

    def _global_hint(self, batch: Mapping[str, Any]) -> Tensor | None:
        return batch["global_hint"] if self.config.global_hint_channels else None

    def train_step(self, batch: Mapping[str, Any], ctx: StepContext) -> dict[str, Tensor]:
        training = self.training
        with ctx.autocast():
            ab, logits = ctx.nets["G"](
                *self._inputs(batch), self._global_hint(batch), return_class_logits=True
            )
        target = batch["ab"]
        classes = ab_classes(F.avg_pool2d(target, CLASS_DOWNSAMPLING))
        losses = {
            "G/huber": training.lambda_reg * F.smooth_l1_loss(ab.float(), target, beta=1.0) / AB_MAX,
            "G/class": training.lambda_class * F.cross_entropy(logits.float(), classes),
        }
        ctx.optimize("G", sum(losses.values()))
        return {k: v.detach() for k, v in losses.items()}

    # --- samples, metrics, export ----------------------------------------------------------------------

    def _render(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module], hints: bool) -> Tensor:
        ab = networks["G"](*self._inputs(batch, hints), self._global_hint(batch))
        return lab_images(batch["lightness"], ab)

    def visualize(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> list[Tensor]:
        """Hints on the grey photo | output | output without hints | real photo."""
        shown_hints = lab_images(batch["lightness"], batch["hint_ab"] * batch["hint_mask"])
        return [
            shown_hints,
            self._render(batch, networks, hints=True),
            self._render(batch, networks, hints=False),
            batch["image"],
        ]

    def metrics(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> dict[str, float]:
        """Mean PSNR (dB, RGB 0..255) against the real crops of the fixed batch, with its simulated
        hints and without any."""
        real = to_uint8(batch["image"])
        scores = {}
        for key, hints in (("sample_psnr", True), ("sample_psnr_no_hints", False)):
            output = to_uint8(self._render(batch, networks, hints))
            scores[key] = float(np.mean([psnr(o, r) for o, r in zip(output, real, strict=True)]))
        return scores

    def model_card(self, name: str, **fields: Any) -> ModelCard:
        config, training = self.config, self.training
        branch = ", global hints" if config.global_hint_channels else ""
        return self.card(
            name,
            fields,
            architecture=config,
            native_size=config.native_size,
            description=f"Colorization from colour hints (SIGGRAPH'17 network, width {config.width}{branch}) "
            "trained with synthpaint",
            training={
                "losses": "smooth L1 on ab + colour-class cross-entropy (529 ab bins), no GAN",
                "lambda_reg": training.lambda_reg,
                "lambda_class": training.lambda_class,
                "lr": training.lr,
                "betas": list(training.betas),
                "hints": asdict(training.hints),
                "global_keep": self.global_keep,
            },
        )


RECIPE = ColorizationRecipe


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.colorize",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_photo_arguments(parser)
    model = parser.add_argument_group("network")
    model.add_argument(
        "--size",
        type=int,
        default=256,
        help="side of the square training crops and of the model (multiple of 8, at least 16; default: 256)",
    )
    model.add_argument(
        "--width", type=int, help="channels of the first stage (default: 16 on a CPU, 64 on a GPU = official)"
    )
    model.add_argument(
        "--global-hints",
        action="store_true",
        help="train the global hints branch (reference colour histogram and saturation)",
    )
    hints = parser.add_argument_group("hints and losses")
    hints.add_argument(
        "--hint-p",
        type=float,
        default=0.125,
        help="hints per crop are geometric with this p, counted from 0 (default: %(default)s, mean 7)",
    )
    hints.add_argument(
        "--hint-max-size",
        type=int,
        default=9,
        help="largest hint patch side in pixels (default: %(default)s)",
    )
    hints.add_argument(
        "--hint-location",
        choices=LOCATIONS,
        default="uniform",
        help="where hints go: uniform over the crop, or gaussian around its centre (default: uniform)",
    )
    hints.add_argument(
        "--global-keep",
        type=float,
        default=0.5,
        help="with --global-hints: probability that the histogram, and separately the saturation, "
        "is given (default: %(default)s)",
    )
    hints.add_argument(
        "--lambda-reg", type=float, default=10.0, help="smooth L1 weight on ab (default: %(default)s)"
    )
    hints.add_argument(
        "--lambda-class",
        type=float,
        default=1.0,
        help="colour-class cross-entropy weight (default: %(default)s)",
    )
    hints.add_argument("--lr", type=float, default=0.0001, help="Adam learning rate (default: %(default)s)")
    add_loop_arguments(parser)
    return parser


def recipe_from_args(args: argparse.Namespace) -> ColorizationRecipe:
    k = ColorizationConfig().size_multiple
    if args.size < 2 * k or args.size % k:
        raise TrainingError(f"--size must be a multiple of {k} and at least {2 * k}, got {args.size}")
    width = args.width or (64 if on_gpu(args) else 16)
    if width < 1:
        raise TrainingError(f"--width must be at least 1, got {width}")
    config = ColorizationConfig(
        width=width,
        global_hint_channels=GLOBAL_HINT_SIZE if args.global_hints else 0,
        crop_size=args.size,
    )
    training = ColorizationTraining(
        hints=HintSampling(p=args.hint_p, max_size=args.hint_max_size, location=args.hint_location),
        global_keep=args.global_keep,
        lambda_reg=args.lambda_reg,
        lambda_class=args.lambda_class,
        lr=args.lr,
    )
    return ColorizationRecipe(config, training)


def main(argv: list[str] | None = None) -> int:
    return main_for(build_parser(), recipe_from_args, argv, ColorizationSource())


if __name__ == "__main__":
    sys.exit(main())
