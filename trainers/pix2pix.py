"""``python -m trainers.pix2pix``: train a pix2pix U-Net (the engine's ``UnetGenerator``) to turn
sketches into photos, and export it as a model the app's Sketch tab opens.

    python -m trainers.pix2pix --data ../shared/datasets --format bsds --out runs/bsds
    python -m trainers.pix2pix --data ~/photos --data ~/more --format edges --edges xdog --out runs/photos
    python -m trainers.pix2pix --data edges2shoes --format aligned --direction AtoB --out runs/shoes
    torchrun --nproc-per-node 4 -m trainers.pix2pix ...    (several GPUs or machines: DDP)
    python -m trainers.pix2pix --out runs/bsds --resume    (continue after a stop or a crash)

Data (--format): pairs (A/ sketches, B/ photos with matching stems), aligned (side-by-side A|B
images, as pix2pix's datasets), edges (any photo folders, --data repeated, --exclude lists:
sketches drawn on the fly by Canny or XDoG) or bsds (BSDS500's human boundary maps with their
photos). Sketches are grey, black lines on white, as the app draws them (--input-nc 3 keeps
colour inputs, e.g. label images).

As in the paper (Isola et al., CVPR 2017): U-Net generator with dropout as its only noise, a
conditional PatchGAN judging (photo, sketch) pairs with a receptive field of 70x70 pixels (1 =
PixelGAN, 16, 70 or 286 with --d-receptive), the original GAN loss plus 100 x L1, Adam with lr
2e-4 and betas (0.5, 0.999), batch norm everywhere and D's loss halved. Defaults follow the device:
the official widths (ngf 64, ndf 64) with batch 4 per GPU on a GPU; ngf 32 and ndf 32 with batch 1
(the paper's) on a CPU. The run folder gets checkpoints, samples/ (sketch | output | real),
TensorBoard logs and, at the end, model/: the EMA generator as a model the app opens.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.checkpoints import ModelCard
from engine.models.pix2pix import MIN_DOWNS, Pix2PixConfig, UnetGenerator
from trainers.discriminators import RECEPTIVE_FIELDS, conditional_discriminator
from trainers.launch import add_loop_arguments, main_for, on_gpu
from trainers.loop import TrainingError
from trainers.losses import GAN_LOSSES
from trainers.recipe import OptimizerSpec, Recipe, StepContext, frozen
from trainers.sketch_data import SketchData, SketchSource, add_sketch_data_arguments, sketch_data_from_args
from trainers.weights import init_weights

# --- the recipe -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pix2PixTraining:
    """The pix2pix recipe's options (the generator's architecture is its own ``Pix2PixConfig``)."""

    d_receptive: int = 70
    ndf: int = 64
    gan_loss: str = "nonsaturating"
    lambda_l1: float = 100.0
    lr: float = 0.0002
    beta1: float = 0.5

    def __post_init__(self) -> None:
        if self.d_receptive not in RECEPTIVE_FIELDS:
            choices = ", ".join(map(str, RECEPTIVE_FIELDS))
            raise TrainingError(f"--d-receptive must be one of {choices}, got {self.d_receptive}")
        if self.gan_loss not in GAN_LOSSES:
            raise TrainingError(f"unknown GAN loss '{self.gan_loss}' (use one of {', '.join(GAN_LOSSES)})")

    @property
    def betas(self) -> tuple[float, float]:
        return (self.beta1, 0.999)


DEFAULT_MODE_REASON = (
    "It runs in the official test-time mode by default (each image's own BatchNorm statistics, as in "
    "training at batch 1, and dropout noise that the app fixes by its seed, so a stroke does not "
    "repaint the picture at random); the running statistics of 'deterministic' mode drift from "
    "those at the U-Net's innermost levels."
)


class Pix2PixRecipe(Recipe):
    kind = "pix2pix"
    module = "trainers.pix2pix"

    def __init__(self, generator: Pix2PixConfig, size: int, training: Pix2PixTraining, sketches: SketchData):
        if size % generator.size_multiple:
            raise TrainingError(
                f"--size {size} is not a multiple of 2^{generator.num_downs} = {generator.size_multiple} "
                f"(--num-downs {generator.num_downs})"
            )
        self.generator = generator
        self.size = size
        self.training = training
        self.sketches = sketches

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.size, self.size)

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.to_dict(),
            "size": self.size,
            "training": asdict(self.training),
            "sketches": self.sketches.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pix2PixRecipe:
        return cls(
            Pix2PixConfig.from_dict(data["generator"]),
            data["size"],
            Pix2PixTraining(**data["training"]),
            SketchData.from_dict(data["sketches"]),
        )

    # --- networks --------------------------------------------------------------------------------------

    def build_networks(self) -> dict[str, nn.Module]:
        config, training = self.generator, self.training
        discriminator = conditional_discriminator(
            training.d_receptive, config.output_nc, config.input_nc, training.ndf
        )
        return {
            "G": init_weights(UnetGenerator(config), "normal", 0.02),
            "D": init_weights(discriminator, "normal", 0.02),
        }

    def optimizers(self) -> dict[str, OptimizerSpec]:
        lr, betas = self.training.lr, self.training.betas
        return {"G": OptimizerSpec(("G",), lr, betas), "D": OptimizerSpec(("D",), lr, betas)}

    def inference_networks(self) -> dict[str, nn.Module]:
        return {"G": UnetGenerator(self.generator)}

    def inference_state(self, name: str, network: nn.Module) -> dict[str, Tensor]:
        return network.state_dict()

    # --- one iteration ---------------------------------------------------------------------------------

    def train_step(self, batch: Mapping[str, Any], ctx: StepContext) -> dict[str, Tensor]:
        """As pix2pix: one generator pass (train mode: batch statistics, dropout as noise), D's step
        on the detached fake and on the real pair (separate passes: D's batch norm sees fakes and
        reals apart), then G's step against the updated D."""
        sketch, real = batch["sketch"], batch["image"]
        d_loss, g_loss = GAN_LOSSES[self.training.gan_loss]
        with ctx.autocast():
            fake = ctx.nets["G"](sketch)
            discriminator = ctx.nets["D"]
            d_real, d_fake = d_loss(discriminator(real, sketch)[-1], discriminator(fake.detach(), sketch)[-1])
            d_losses = {"D/real": 0.5 * d_real, "D/fake": 0.5 * d_fake}  # halved: D learns slower than G
        ctx.optimize("D", sum(d_losses.values()))
        with ctx.autocast(), frozen(ctx.raw["D"]):
            g_losses = {
                "G/gan": g_loss(ctx.raw["D"](fake, sketch)[-1]),
                "G/l1": self.training.lambda_l1 * F.l1_loss(fake.float(), real.float()),
            }
        ctx.optimize("G", sum(g_losses.values()))
        return {k: v.detach() for k, v in {**g_losses, **d_losses}.items()}

    # --- samples, metrics, export ----------------------------------------------------------------------

    def visualize(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> list[Tensor]:
        """sketch | output in the exported model's default ("official") mode | real photo."""
        sketch = batch["sketch"].float()
        shown = sketch.expand(-1, 3, -1, -1) if sketch.shape[1] == 1 else sketch
        return [shown, official_outputs(networks["G"], sketch), batch["image"]]

    def metrics(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> dict[str, float]:
        """Mean absolute difference to the real photos of the fixed batch ([-1, 1] units) in both
        inference modes."""
        sketch, real = batch["sketch"].float(), batch["image"].float()
        deterministic = networks["G"].run(sketch, "deterministic").float()
        official = official_outputs(networks["G"], sketch)
        return {
            "sample_l1": float((deterministic - real).abs().mean()),
            "sample_l1_official": float((official - real).abs().mean()),
        }

    def model_card(self, name: str, **fields: Any) -> ModelCard:
        config, training = self.generator, self.training
        source = "a grey sketch, black lines on white" if config.input_nc == 1 else "an RGB image"
        return self.card(
            name,
            fields,
            architecture=config,
            native_size=self.image_size,
            description=(
                f"pix2pix U-Net (input: {source}; output: a photo; ngf {config.ngf}, {config.num_downs} "
                f"levels) trained with synthpaint. {DEFAULT_MODE_REASON}"
            ),
            training={
                "d_receptive_field": training.d_receptive,
                "ndf": training.ndf,
                "gan_loss": training.gan_loss,
                "lambda_l1": training.lambda_l1,
                "lr": training.lr,
                "betas": list(training.betas),
                "sketches": self.sketches.to_dict(),
            },
        )


RECIPE = Pix2PixRecipe


# --- the command ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.pix2pix",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_sketch_data_arguments(parser)
    augment = parser.add_argument_group("augmentation")
    augment.add_argument(
        "--zoom",
        type=float,
        default=1.12,
        help="random zoom of up to this factor before the random crop (default: 1.12, pix2pix's 286 -> 256)",
    )
    augment.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    model = parser.add_argument_group("generator")
    model.add_argument(
        "--size",
        type=int,
        default=256,
        help="side of the square training crops and of the model (default: 256)",
    )
    model.add_argument(
        "--num-downs",
        type=int,
        help="U-Net levels (the size must be a multiple of 2^levels; default: as many as the size allows, "
        "at most 8 = the official unet_256)",
    )
    model.add_argument(
        "--ngf", type=int, help="generator width (default: 32 on a CPU, 64 on a GPU = official)"
    )
    model.add_argument(
        "--input-nc",
        type=int,
        choices=[1, 3],
        default=1,
        help="sketch channels: 1 = grey, as the app draws (default); 3 = colour inputs such as label images",
    )
    model.add_argument(
        "--no-dropout", action="store_true", help="no dropout in the generator (no noise at all)"
    )
    losses = parser.add_argument_group("discriminator and losses")
    losses.add_argument(
        "--d-receptive",
        type=int,
        choices=list(RECEPTIVE_FIELDS),
        default=70,
        help="PatchGAN receptive field in pixels: 1 (PixelGAN), 16, 70 (default) or 286",
    )
    losses.add_argument("--ndf", type=int, help="discriminator width (default: 32 on a CPU, 64 on a GPU)")
    losses.add_argument(
        "--gan-loss",
        choices=list(GAN_LOSSES),
        default="nonsaturating",
        help="GAN objective (default: nonsaturating = pix2pix's 'vanilla' cross-entropy)",
    )
    losses.add_argument("--lambda-l1", type=float, default=100.0, help="L1 weight (default: %(default)s)")
    losses.add_argument(
        "--lr", type=float, default=0.0002, help="Adam learning rate of G and D (default: %(default)s)"
    )
    losses.add_argument(
        "--beta1", type=float, default=0.5, help="Adam beta1 (default: %(default)s; beta2 0.999)"
    )
    add_loop_arguments(parser)
    return parser


def default_num_downs(size: int) -> int:
    """As many U-Net levels as ``size`` halves evenly, at most the official 8."""
    levels = 0
    while levels < 8 and size % 2 ** (levels + 1) == 0:
        levels += 1
    return levels


def official_outputs(generator: nn.Module, sketch: Tensor) -> Tensor:
    """The "official" mode image by image (its own statistics) with dropout seeded by the index, so
    no global random state is consumed."""
    return torch.cat(
        [
            generator.run(sketch[i : i + 1], "official", torch.Generator(sketch.device).manual_seed(i))
            for i in range(sketch.shape[0])
        ]
    ).float()


def recipe_from_args(args: argparse.Namespace) -> Pix2PixRecipe:
    gpu = on_gpu(args)
    num_downs = args.num_downs or default_num_downs(args.size)
    if args.size < 1 or num_downs < MIN_DOWNS or args.size % 2**num_downs:
        raise TrainingError(
            f"--size must be a positive multiple of {2**MIN_DOWNS} (and of 2^--num-downs), got {args.size}"
        )
    generator = Pix2PixConfig(
        input_nc=args.input_nc,
        output_nc=3,
        ngf=args.ngf or (64 if gpu else 32),
        num_downs=num_downs,
        use_dropout=not args.no_dropout,
        # per-image statistics, as in training at batch 1 and the official test.py: running statistics
        # ("deterministic") drift from them at the U-Net's 1x1-2x2 inner levels, and an EMA model's
        # outputs collapsed to black with them (measured: 7 dB PSNR against 12 dB per-image)
        default_mode="official",
    )
    training = Pix2PixTraining(
        d_receptive=args.d_receptive,
        ndf=args.ndf or (64 if gpu else 32),
        gan_loss=args.gan_loss,
        lambda_l1=args.lambda_l1,
        lr=args.lr,
        beta1=args.beta1,
    )
    return Pix2PixRecipe(generator, args.size, training, sketch_data_from_args(args))


def main(argv: list[str] | None = None) -> int:
    return main_for(build_parser(), recipe_from_args, argv, SketchSource())


if __name__ == "__main__":
    sys.exit(main())
