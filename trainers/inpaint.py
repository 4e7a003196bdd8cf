"""``python -m trainers.inpaint``: train a LaMa inpainting generator (the engine's
``FFCResNetGenerator``) on any photo folder by erasing random holes, and export it as a model the
app's Inpaint tab opens.

    python -m trainers.inpaint --data ../shared/datasets/photos/bsds500/train --out runs/lama
    python -m trainers.inpaint --data photos/ --guided --out runs/lama-guided  (user-guided variant)
    torchrun --nproc-per-node 4 -m trainers.inpaint ...      (several GPUs or machines: DDP)
    python -m trainers.inpaint --out runs/lama --resume     (continue after a stop or a crash)
    python -m trainers.export runs/lama -o my-inpainter     (export the latest checkpoint)

Each sample is a random crop with a free-form hole drawn from its (seed, epoch, index): thick
strokes and boxes covering 5-60 % of the crop (``trainers.masks``). The generator sees what the
engine gives it, ``cat(photo * (1 - mask), mask[, guide * mask])`` with the photo in [0, 1], and
its output is pasted into the hole before the discriminator sees it (LaMa). ``--guided`` adds an
edge channel, as DeepFill v2's user-guided variant did: Canny edges of the photo, kept inside the
hole, 1 or 2 px wide (the app's guide pen draws 2), and dropped for a share of the samples so the
model also fills without a guide.

Losses (LaMa): a PatchGAN with the non-saturating loss, where only patches that overlap the hole
count as fake (the rest of a composite is the real photo), R1 gradient penalty on real photos
(lazily, on every 16th D step), feature matching, and L1 on the known pixels (the raw prediction)
and on the hole, weighted separately; ``--perceptual-weights`` adds a VGG19 loss (then hole L1
defaults to 0, as LaMa leaves the hole to its perceptual loss). Learning rates: G 1e-3, D 1e-4 (LaMa's).
For fine-tuning towards PSNR, ``--lambda-l2-hole`` adds the hole's mean squared error, GAN weights
of 0 skip D, and ``--frozen-norm`` keeps the batch-norm statistics of ``--init``'s model, which
small batches would otherwise move.

Defaults follow the device: on a CPU a compact generator (ngf 32, 4 FFC blocks; D ndf 32) with
batch 1; on a GPU big-lama's architecture (ngf 64, 18 blocks; ``--big-lama`` on a CPU) with batch 4
per GPU, mixed precision and channels-last. The run folder gets checkpoints, samples/ (input with
the hole | output | real), TensorBoard logs and, at the end, model/.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
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
from engine.edges import INK, canny_sketch, thicken
from engine.models.lama import FFCResNetGenerator, LaMaConfig, generator_input, with_guide_input
from trainers.augment import Augmentation
from trainers.discriminators import MultiscaleDiscriminator
from trainers.launch import add_loop_arguments, main_for, on_gpu
from trainers.loop import TrainingError
from trainers.losses import Logits, feature_matching_loss, nonsaturating_g_loss, r1_penalty
from trainers.masks import STROKE_FAMILIES, MaskConfig, random_mask
from trainers.perceptual import VGGPerceptualLoss
from trainers.photos import PhotoDataset, PhotoSource, add_photo_arguments
from trainers.recipe import OptimizerSpec, Recipe, StepContext, frozen
from trainers.weights import init_weights

BIG_LAMA = LaMaConfig()  # the released big-lama architecture: ngf 64, 3 downsamplings, 18 blocks
GUIDE_WIDTHS = (1, 2)  # px of the training edges: Canny's thin lines and the app's guide pen
GUIDE_COLOR = (-1.0, 1.0, 1.0)  # cyan guide lines on the sample grids, in [-1, 1]


# --- data ---------------------------------------------------------------------------------------------


def guide_edges(photo: np.ndarray, width: int = 1) -> np.ndarray:
    """The edge sketch a guided model learns from: Canny lines of a uint8 RGB photo (thresholds
    from its median grey, ``engine.edges``), ``width`` px wide, as a float32 (H, W) 0/1 map."""
    return (thicken(canny_sketch(photo), width) == INK).astype(np.float32)


class MaskedPhotoDataset(PhotoDataset):
    """Photo crops plus ``mask`` (1, H, W), 1 = hole, and with ``guides`` ``guide`` (1, H, W) edges
    (all zero for a ``guide_dropout`` share of the samples), all drawn from ``rng(index, epoch)``:
    the same sample in the same epoch always gets the same hole, so runs resume exactly."""

    def __init__(
        self,
        photos: Sequence[Path],
        augmentation: Augmentation,
        *,
        masks: MaskConfig,
        guides: bool = False,
        guide_dropout: float = 0.0,
        seed: int = 0,
        augment: bool = True,
    ):
        super().__init__(photos, augmentation, seed=seed, augment=augment)
        self.masks = masks
        self.guides = guides
        self.guide_dropout = guide_dropout

    def item(self, index: int, epoch: int = 0) -> dict[str, Any]:
        sample = super().item(index, epoch)
        rng = self.rng(index, epoch).spawn(1)[0]  # a stream of its own, independent of the crop's
        size = tuple(sample["image"].shape[-2:])
        sample["mask"] = torch.from_numpy(random_mask(size, self.masks, rng))[None].float()
        if self.guides:
            width = int(rng.choice(GUIDE_WIDTHS))
            if rng.random() < self.guide_dropout:
                edges = np.zeros(size, np.float32)
            else:
                photo = sample["image"].add(1).mul(127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
                edges = guide_edges(photo, width)
            sample["guide"] = torch.from_numpy(edges)[None]
        return sample


class MaskedPhotoSource(PhotoSource):
    """Photo folders whose samples carry the recipe's training holes (and guides)."""

    def datasets(
        self, index: Any, recipe: Recipe, data: Mapping[str, Any], seed: int
    ) -> tuple[Dataset, Dataset]:
        training = recipe.training
        dataset_class = partial(
            MaskedPhotoDataset,
            masks=training.masks,
            guides=recipe.guided,
            guide_dropout=training.guide_dropout,
        )
        return PhotoSource(dataset_class).datasets(index, recipe, data, seed)


# --- the recipe -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InpaintTraining:
    """The inpainting recipe's options (the generator's architecture is its own ``LaMaConfig``).

    L1 terms are means over their region (known pixels, hole pixels) in [0, 1] units, so their
    weights do not depend on how much of a crop the hole covers.
    """

    masks: MaskConfig = field(default_factory=MaskConfig)
    guide_dropout: float = 0.3
    ndf: int = 64
    num_d: int = 1
    n_layers_d: int = 4
    lambda_adv: float = 10.0
    lambda_feat: float = 25.0
    lambda_r1: float = 0.001
    r1_every: int = 16
    lambda_l1_known: float = 10.0
    lambda_l1_hole: float = 10.0
    lambda_l2_hole: float = 0.0
    frozen_norm: bool = False
    lambda_perceptual: float = 10.0
    perceptual_weights: str | None = None
    lr_g: float = 0.001
    lr_d: float = 0.0001

    def __post_init__(self) -> None:
        if not 0 <= self.guide_dropout <= 1:
            raise TrainingError(f"--guide-dropout must be in [0, 1], got {self.guide_dropout}")
        if self.r1_every < 1:
            raise TrainingError(f"--r1-every must be at least 1, got {self.r1_every}")
        weights = ("adv", "feat", "r1", "l1_known", "l1_hole", "l2_hole", "perceptual")
        for name in (f"lambda_{weight}" for weight in weights):
            if getattr(self, name) < 0:
                raise TrainingError(
                    f"--{name.replace('_', '-')} must not be negative, got {getattr(self, name)}"
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def adversarial(self) -> bool:
        """Whether G learns from D at all; without it D is neither run nor trained (a pure
        reconstruction fine-tune, e.g. towards PSNR with ``lambda_l2_hole``)."""
        return self.lambda_adv > 0 or self.lambda_feat > 0

    def r1_due(self, step: int) -> bool:
        """Lazy R1 (StyleGAN2): the penalty, ``r1_every`` times heavier, on every ``r1_every``-th D
        step only; its double backward costs more than D's own pass."""
        return self.lambda_r1 > 0 and step % self.r1_every == 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InpaintTraining:
        return cls(**{**data, "masks": MaskConfig.from_dict(data["masks"])})


def to_signed(image: Tensor) -> Tensor:
    """[0, 1] (the generator's range) -> [-1, 1] (the discriminator's, the samples' and VGG's)."""
    return image * 2 - 1


def hole_patches(mask: Tensor, logits: Tensor) -> Tensor:
    """1 for the discriminator's patches whose cell overlaps the hole, else 0 (logits' grid)."""
    return F.adaptive_max_pool2d(mask.float(), logits.shape[-2:])


def masked_nonsaturating_d_loss(real: Logits, fake: Logits, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Non-saturating D loss where only the fake patches over the hole are fake (LaMa): the rest of
    a composite is the real photo and is labelled real. Means over patches, then over scales."""
    real, fake = ([x] if isinstance(x, Tensor) else list(x) for x in (real, fake))
    d_real = sum(F.softplus(-x.float()).mean() for x in real) / len(real)
    d_fake = 0
    for logits in fake:
        hole = hole_patches(mask, logits)
        d_fake = (
            d_fake + (hole * F.softplus(logits.float()) + (1 - hole) * F.softplus(-logits.float())).mean()
        )
    return d_real, d_fake / len(fake)


def region_mean(difference: Tensor, region: Tensor) -> Tensor:
    """Mean of a per-pixel ``difference`` over the pixels where ``region`` (N, 1, H, W) is 1, per
    sample, then averaged over the batch (so the value does not depend on how a batch is split over
    processes)."""
    per_sample = (difference * region).sum((1, 2, 3))
    return (per_sample / (region.sum((1, 2, 3)) * difference.shape[1]).clamp(min=1)).mean()


def region_l1(a: Tensor, b: Tensor, region: Tensor) -> Tensor:
    """Mean absolute difference over ``region`` (see ``region_mean``)."""
    return region_mean((a.float() - b.float()).abs(), region)


def region_mse(a: Tensor, b: Tensor, region: Tensor) -> Tensor:
    """Mean squared difference over ``region``: the loss whose minimum is the best PSNR."""
    return region_mean((a.float() - b.float()).square(), region)


def freeze_batch_norms(network: nn.Module) -> None:
    """Normalise with the stored statistics and leave them as they are (eval mode). Fine-tuning a
    model trained at batch 32 with small batches otherwise moves them and costs PSNR."""
    for module in network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


class InpaintRecipe(Recipe):
    kind = "lama"
    module = "trainers.inpaint"

    def __init__(self, generator: LaMaConfig, size: int, training: InpaintTraining):
        if generator.input_nc != 4 or generator.output_nc != 3:
            raise TrainingError("the generator must take RGB + mask (input_nc 4) and give RGB (output_nc 3)")
        k = generator.size_multiple
        if size < generator.min_size or size % k:
            raise TrainingError(
                f"--size must be a multiple of {k} and at least {generator.min_size} for "
                f"{generator.n_downsampling} downsamplings, got {size}"
            )
        if generator.guide_channels not in (0, 1):
            raise TrainingError(f"guided models take one guide channel, got {generator.guide_channels}")
        self.generator = generator
        self.size = size
        self.training = training
        self._vgg: VGGPerceptualLoss | None = None

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.size, self.size)

    @property
    def guided(self) -> bool:
        return self.generator.guide_channels > 0

    def to_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.to_dict(), "size": self.size, "training": self.training.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InpaintRecipe:
        return cls(
            LaMaConfig.from_dict(data["generator"]), data["size"], InpaintTraining.from_dict(data["training"])
        )

    # --- networks --------------------------------------------------------------------------------------

    def build_networks(self) -> dict[str, nn.Module]:
        training = self.training
        # G keeps PyTorch's default initialisation (batch norm everywhere); D is initialised as pix2pix's
        discriminator = MultiscaleDiscriminator(
            3, 0, training.num_d, ndf=training.ndf, n_layers=training.n_layers_d, spectral=False
        )
        return {"G": FFCResNetGenerator(self.generator), "D": init_weights(discriminator)}

    def optimizers(self) -> dict[str, OptimizerSpec]:
        betas = (0.9, 0.999)
        return {
            "G": OptimizerSpec(("G",), self.training.lr_g, betas),
            "D": OptimizerSpec(("D",), self.training.lr_d, betas),
        }

    def inference_networks(self) -> dict[str, nn.Module]:
        return {"G": FFCResNetGenerator(self.generator)}

    def starting_state(self, name: str, state: Mapping[str, Tensor]) -> Mapping[str, Tensor]:
        """A guided run may start from an unguided model: its guide input starts at zero weights."""
        return with_guide_input(state, self.generator) if name == "G" and self.guided else state

    def inference_state(self, name: str, network: nn.Module) -> dict[str, Tensor]:
        return network.state_dict()

    # --- one iteration ---------------------------------------------------------------------------------

    def vgg(self, device: torch.device) -> VGGPerceptualLoss | None:
        if self.training.perceptual_weights is None or not self.training.lambda_perceptual:
            return None
        if self._vgg is None:
            self._vgg = VGGPerceptualLoss(self.training.perceptual_weights)
        return self._vgg.to(device)

    def _fill(self, batch: Mapping[str, Any], generator: nn.Module) -> tuple[Tensor, Tensor]:
        """(raw prediction, composite) in [0, 1]: the network's output and the photo with the hole filled."""
        image, mask = (batch["image"] + 1) / 2, batch["mask"]
        predicted = generator(generator_input(image, mask, batch.get("guide"), self.generator))
        return predicted, mask * predicted + (1 - mask) * image

    def train_step(self, batch: Mapping[str, Any], ctx: StepContext) -> dict[str, Tensor]:
        """G first (the composite kept for D's step: one generator pass per iteration), then, unless
        the GAN terms are off, D with R1."""
        real, mask = batch["image"], batch["mask"]
        training = self.training
        if training.frozen_norm:
            freeze_batch_norms(ctx.raw["G"])
        with ctx.autocast():
            predicted, composite = self._fill(batch, ctx.nets["G"])
            fake = to_signed(composite)
            losses = self._adversarial_g_losses(fake, real, ctx) if training.adversarial else {}
            target = (real + 1) / 2
            if training.lambda_l1_known:
                losses["G/l1_known"] = training.lambda_l1_known * region_l1(predicted, target, 1 - mask)
            if training.lambda_l1_hole:
                losses["G/l1_hole"] = training.lambda_l1_hole * region_l1(predicted, target, mask)
            if training.lambda_l2_hole:
                losses["G/l2_hole"] = training.lambda_l2_hole * region_mse(predicted, target, mask)
            vgg = self.vgg(real.device)
            if vgg is not None:
                losses["G/perceptual"] = training.lambda_perceptual * vgg(fake, real)
        ctx.optimize("G", sum(losses.values()))
        if training.adversarial:
            losses |= self._d_step(fake.detach(), real, mask, ctx)
        return {k: v.detach() for k, v in losses.items()}

    def _adversarial_g_losses(self, fake: Tensor, real: Tensor, ctx: StepContext) -> dict[str, Tensor]:
        training = self.training
        with frozen(ctx.raw["D"]):
            fake_out = ctx.raw["D"](fake)
            losses = {"G/adv": training.lambda_adv * nonsaturating_g_loss([out[-1] for out in fake_out])}
            if training.lambda_feat:
                with torch.no_grad():
                    real_out = ctx.raw["D"](real)
                losses["G/feat"] = training.lambda_feat * feature_matching_loss(fake_out, real_out)
        return losses

    def _d_step(self, fake: Tensor, real: Tensor, mask: Tensor, ctx: StepContext) -> dict[str, Tensor]:
        """D on the composites (only hole patches fake) and the real photos, with lazy R1."""
        training = self.training
        r1_now = training.r1_due(ctx.step)
        real_input = real.detach().requires_grad_(r1_now)
        n = real.shape[0]
        # R1's double backward under fp16's loss scale overflows, every D step is then skipped and the
        # shared scale collapses: D's pass runs in fp32 on the steps with R1
        with ctx.autocast(enabled=not r1_now):
            outputs = ctx.nets["D"](torch.cat([fake, real_input]))
            real_logits = [out[-1][n:] for out in outputs]
            d_real, d_fake = masked_nonsaturating_d_loss(real_logits, [out[-1][:n] for out in outputs], mask)
            d_losses = {"D/real": d_real, "D/fake": d_fake}
            if r1_now:
                weight = training.lambda_r1 * training.r1_every
                d_losses["D/r1"] = weight * r1_penalty(real_logits, real_input)
        ctx.optimize("D", sum(d_losses.values()))
        return d_losses

    # --- samples, metrics, export ----------------------------------------------------------------------

    def visualize(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> list[Tensor]:
        """input (hole white, guide lines cyan) | output | real."""
        real, mask = batch["image"].float(), batch["mask"]
        shown = real * (1 - mask) + mask
        if "guide" in batch and self.guided:
            lines = batch["guide"] * mask
            color = torch.tensor(GUIDE_COLOR, device=real.device).view(1, 3, 1, 1)
            shown = shown * (1 - lines) + color * lines
        return [shown, to_signed(self._fill(batch, networks["G"])[1].float()), real]

    def metrics(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> dict[str, float]:
        """Mean absolute difference (0..255) and PSNR (dB) on the holes of the fixed sample batch."""
        mask = batch["mask"]
        composite = self._fill(batch, networks["G"])[1].float()
        target = (batch["image"].float() + 1) / 2
        l1 = float(region_l1(composite, target, mask)) * 255
        mse = float(((composite - target).square() * mask).sum() / (mask.sum() * 3).clamp(min=1))
        return {"sample_hole_l1": l1, "sample_hole_psnr": 10 * float(np.log10(1 / max(mse, 1e-10)))}

    def model_card(self, name: str, **fields: Any) -> ModelCard:
        config, training = self.generator, self.training
        guided = ", guided by edge sketches" if self.guided else ""
        network = f"FFC-ResNet, ngf {config.ngf}, {config.n_blocks} residual FFC blocks{guided}"
        return self.card(
            name,
            fields,
            architecture=config,
            native_size=self.image_size,
            description=f"LaMa inpainting ({network}) trained with synthpaint",
            training={
                "masks": training.masks.to_dict(),
                "guide": "Canny edges inside the hole" if self.guided else None,
                "guide_dropout": training.guide_dropout if self.guided else 0,
                "gan_loss": "nonsaturating (patches over the hole fake)",
                "lr_g": training.lr_g,
                "lr_d": training.lr_d,
                "lambda_adv": training.lambda_adv,
                "lambda_feat": training.lambda_feat,
                "lambda_r1": training.lambda_r1,
                "r1_every": training.r1_every,
                "lambda_l1_known": training.lambda_l1_known,
                "lambda_l1_hole": training.lambda_l1_hole,
                "lambda_l2_hole": training.lambda_l2_hole,
                "frozen_norm": training.frozen_norm,
                "lambda_perceptual": training.lambda_perceptual if training.perceptual_weights else 0,
            },
        )


RECIPE = InpaintRecipe


# --- command line ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.inpaint",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_photo_arguments(parser)
    model = parser.add_argument_group("generator")
    model.add_argument(
        "--size", type=int, default=256, help="side of the square training crops (default: 256, as LaMa)"
    )
    model.add_argument(
        "--big-lama",
        action="store_true",
        help="big-lama's architecture (ngf 64, 18 blocks), the GPU default; --ngf/--n-blocks still apply",
    )
    model.add_argument(
        "--ngf", type=int, help="generator width (default: 32 on a CPU, 64 on a GPU = big-lama)"
    )
    model.add_argument(
        "--n-blocks", type=int, help="FFC residual blocks (default: 4 on a CPU, 18 on a GPU = big-lama)"
    )
    model.add_argument(
        "--n-downsampling", type=int, default=3, help="strided convolutions before the blocks (default: 3)"
    )
    model.add_argument(
        "--guided",
        action="store_true",
        help="user-guided variant: an extra input channel with edges inside the hole (the app's guide pen); "
        "--init may name an unguided model, whose fills it starts from",
    )
    model.add_argument(
        "--guide-dropout",
        type=float,
        default=0.3,
        help="share of guided training samples without a guide, so the model fills without one too "
        "(default: %(default)s)",
    )
    masks = parser.add_argument_group("training holes")
    masks.add_argument(
        "--coverage",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=(5.0, 60.0),
        help="percentages of the crop a hole covers, drawn uniformly in between (default: 5 60)",
    )
    masks.add_argument(
        "--mask-families",
        default=",".join(STROKE_FAMILIES),
        help="stroke widths to draw holes with, comma-separated from "
        f"{', '.join(STROKE_FAMILIES)} (default: %(default)s)",
    )
    masks.add_argument(
        "--box-probability",
        type=float,
        default=0.25,
        help="chance that a shape of a hole is a box rather than a stroke (default: %(default)s)",
    )
    losses = parser.add_argument_group("discriminator and losses")
    losses.add_argument("--ndf", type=int, help="discriminator width (default: 32 on a CPU, 64 on a GPU)")
    losses.add_argument("--num-d", type=int, default=1, help="PatchGAN scales (default: %(default)s)")
    losses.add_argument(
        "--n-layers-d", type=int, default=4, help="PatchGAN conv blocks per scale (default: %(default)s)"
    )
    losses.add_argument(
        "--lambda-adv", type=float, default=10.0, help="adversarial loss weight (default: %(default)s)"
    )
    losses.add_argument(
        "--lambda-feat", type=float, default=25.0, help="feature matching weight (default: %(default)s)"
    )
    losses.add_argument(
        "--lambda-r1",
        type=float,
        default=0.001,
        help="weight of R1, the mean squared gradient norm of D on real photos (default: %(default)s)",
    )
    losses.add_argument(
        "--r1-every",
        type=int,
        default=16,
        help="apply R1 on every N-th D step only, N times heavier (lazy R1; default: %(default)s)",
    )
    losses.add_argument(
        "--lambda-l1-known",
        type=float,
        default=10.0,
        help="L1 weight on the known pixels (default: %(default)s)",
    )
    losses.add_argument(
        "--lambda-l1-hole",
        type=float,
        help="L1 weight on the hole (default: 10, or 0 with --perceptual-weights, as LaMa)",
    )
    losses.add_argument(
        "--lambda-l2-hole",
        type=float,
        default=0.0,
        help="mean squared error weight on the hole, what PSNR measures (default: %(default)s)",
    )
    losses.add_argument(
        "--frozen-norm",
        action="store_true",
        help="keep the generator's batch-norm statistics as --init left them: for fine-tuning with "
        "small batches (a CPU), whose statistics would otherwise drift",
    )
    losses.add_argument(
        "--perceptual-weights",
        help="torchvision VGG19 weights file: enables the perceptual loss (nothing is downloaded)",
    )
    losses.add_argument(
        "--lambda-perceptual", type=float, default=10.0, help="perceptual loss weight (default: %(default)s)"
    )
    losses.add_argument(
        "--lr-g", type=float, default=0.001, help="generator learning rate (default: %(default)s)"
    )
    losses.add_argument(
        "--lr-d", type=float, default=0.0001, help="discriminator learning rate (default: %(default)s)"
    )
    add_loop_arguments(parser)
    return parser


def generator_config(args: argparse.Namespace) -> LaMaConfig:
    big = args.big_lama or on_gpu(args)
    return LaMaConfig(
        ngf=args.ngf or (BIG_LAMA.ngf if big else 32),
        n_downsampling=args.n_downsampling,
        n_blocks=args.n_blocks or (BIG_LAMA.n_blocks if big else 4),
        guide_channels=1 if args.guided else 0,
    )


def mask_config(args: argparse.Namespace) -> MaskConfig:
    low, high = args.coverage
    families = tuple(name.strip() for name in args.mask_families.split(",") if name.strip())
    return MaskConfig(
        coverage=(low / 100, high / 100), families=families, box_probability=args.box_probability
    )


def recipe_from_args(args: argparse.Namespace) -> InpaintRecipe:
    hole_l1 = args.lambda_l1_hole
    if hole_l1 is None:  # LaMa leaves the hole to its perceptual loss
        hole_l1 = 0.0 if args.perceptual_weights else 10.0
    training = InpaintTraining(
        masks=mask_config(args),
        guide_dropout=args.guide_dropout,
        ndf=args.ndf or (64 if on_gpu(args) else 32),
        num_d=args.num_d,
        n_layers_d=args.n_layers_d,
        lambda_adv=args.lambda_adv,
        lambda_feat=args.lambda_feat,
        lambda_r1=args.lambda_r1,
        r1_every=args.r1_every,
        lambda_l1_known=args.lambda_l1_known,
        lambda_l1_hole=hole_l1,
        lambda_l2_hole=args.lambda_l2_hole,
        frozen_norm=args.frozen_norm,
        lambda_perceptual=args.lambda_perceptual,
        perceptual_weights=args.perceptual_weights,
        lr_g=args.lr_g,
        lr_d=args.lr_d,
    )
    return InpaintRecipe(generator_config(args), args.size, training)


def main(argv: list[str] | None = None) -> int:
    return main_for(build_parser(), recipe_from_args, argv, MaskedPhotoSource())


if __name__ == "__main__":
    sys.exit(main())
