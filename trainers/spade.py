"""``python -m trainers.spade``: train a SPADE / GauGAN generator (the engine's ``SPADEGenerator``) on
paired photos and label maps, and export it as a model the app opens.

    python -m trainers.spade --data ../shared/datasets/facades --format facades --out runs/facades
    torchrun --nproc-per-node 4 -m trainers.spade ...      (several GPUs or machines: DDP)
    python -m trainers.spade --out runs/facades --resume  (continue after a stop or a crash)
    python -m trainers.export runs/facades -o my-model    (export the latest checkpoint)

Defaults follow the device: on a CPU a compact CLADE generator (ngf 16, class-adaptive norms,
far cheaper than SPADE's convolutions; D with ndf 32) trained with batch 1; on a GPU the official
SPADE architecture (ngf 64, ndf 64) with batch 4 per GPU, mixed precision and channels-last. The
run folder gets checkpoints, samples/ (labels | output | real), TensorBoard logs and, at the end,
model/: the EMA generator as a model the app and ``python -m engine synth`` open.

Losses as in the paper: hinge GAN loss from a two-scale PatchGAN with feature matching (+ KL with
``--use-vae``; + VGG with ``--vgg-weights``), TTUR learning rates (G 1e-4, D 4e-4, Adam betas 0
and 0.9). ``--d oasis`` uses OASIS's segmentation discriminator with LabelMix instead, and gives
the generator OASIS's 3D noise (``--noise-nc``, 64 channels by default with ``--d oasis``): each
step draws one z ~ N(0, I) per image and replicates it over every pixel (the paper's default; its
per-pixel sampling is not trained here), so that different z give different photos of a painting.
The exported model draws z from the app's seed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from engine.checkpoints import ModelCard
from engine.labels import LabelSet
from engine.models.blocks import LabelConditionedResBlock, fold_spectral_norm
from engine.models.semantics import SemanticMap, instance_edges
from engine.models.spade import SPADEConfig, SPADEGenerator, StyleEncoder
from trainers.discriminators import MultiscaleDiscriminator, OASISDiscriminator
from trainers.label_to_photo import LabelToPhotoRecipe, add_patchgan_arguments
from trainers.launch import add_data_arguments, add_loop_arguments, main_for, on_gpu, train_config
from trainers.loop import TrainingError
from trainers.losses import (
    GAN_LOSSES,
    feature_matching_loss,
    kl_divergence,
    labelmix_loss,
    labelmix_mask,
    oasis_loss,
)
from trainers.recipe import OptimizerSpec, StepContext, frozen
from trainers.weights import add_spectral_norm, init_weights


@dataclass(frozen=True)
class SPADETraining:
    """The SPADE recipe's options (the generator's architecture is its own ``SPADEConfig``)."""

    discriminator: Literal["patchgan", "oasis"] = "patchgan"
    ndf: int = 64
    num_d: int = 2
    n_layers_d: int = 4
    gan_loss: str = "hinge"
    lambda_feat: float = 10.0
    lambda_vgg: float = 10.0
    vgg_weights: str | None = None
    lambda_kld: float = 0.05
    lambda_labelmix: float = 10.0
    lr: float = 0.0002
    ttur: bool = True

    def __post_init__(self) -> None:
        if self.discriminator not in ("patchgan", "oasis"):
            raise TrainingError(f"unknown discriminator '{self.discriminator}' (use patchgan or oasis)")
        if self.gan_loss not in GAN_LOSSES:
            raise TrainingError(f"unknown GAN loss '{self.gan_loss}' (use one of {', '.join(GAN_LOSSES)})")

    @property
    def learning_rates(self) -> tuple[float, float]:
        """(G, D): TTUR halves G's and doubles D's rate (SPADE)."""
        return (self.lr / 2, self.lr * 2) if self.ttur else (self.lr, self.lr)

    @property
    def betas(self) -> tuple[float, float]:
        if not self.ttur:
            return (0.5, 0.999)
        return (0.0, 0.999) if self.discriminator == "oasis" else (0.0, 0.9)


def generator_semantics(
    batch: Mapping[str, Any], config: SPADEConfig, noise: Tensor | None = None
) -> SemanticMap:
    """The generator's input for a batch, built as the engine builds it at inference: channel
    indices plus, when the architecture uses them, the boundaries of the instance ids and the 3D
    noise (one vector per image, spatially constant)."""
    edges = instance_edges(batch["instances"]) if config.use_instance_edges else None
    return SemanticMap(batch["labels"], config.num_classes, edges, noise)


def sample_noise(
    config: SPADEConfig, count: int, device: torch.device, seed: int | None = None
) -> Tensor | None:
    """One 3D-noise vector per image from N(0, I) (None without noise): from the global generator,
    whose state the checkpoints keep, or, with ``seed``, fixed (samples and metrics comparable
    across steps, the training randomness untouched)."""
    if not config.noise_nc:
        return None
    if seed is None:
        return torch.randn(count, config.noise_nc, device=device)
    return torch.randn(count, config.noise_nc, generator=torch.Generator().manual_seed(seed)).to(device)


class SPADERecipe(LabelToPhotoRecipe):
    kind = "spade"
    module = "trainers.spade"
    config_class = SPADEConfig
    training_class = SPADETraining

    def __init__(self, generator: SPADEConfig, label_set: LabelSet, training: SPADETraining):
        if generator.use_vae and generator.crop_size < 256:
            raise TrainingError(
                "--use-vae needs a crop width of at least 256 (the style encoder's input), "
                f"got {generator.crop_size}"
            )
        if label_set.num_channels != generator.num_classes:
            raise TrainingError(
                f"the generator has {generator.num_classes} label channels but the label set "
                f"'{label_set.name}' has {label_set.num_channels}"
            )
        self.generator = generator
        self.label_set = label_set
        self.training = training

    # --- networks --------------------------------------------------------------------------------------

    def build_networks(self) -> dict[str, nn.Module]:
        config, training = self.generator, self.training
        generator = init_weights(SPADEGenerator(config))
        blocks = [m for m in generator.modules() if isinstance(m, LabelConditionedResBlock)]
        add_spectral_norm(
            conv for b in blocks for conv in (b.conv_0, b.conv_1, getattr(b, "conv_s", None)) if conv
        )
        networks: dict[str, nn.Module] = {"G": generator}
        if training.discriminator == "patchgan":
            networks["D"] = MultiscaleDiscriminator(
                3, config.semantic_nc, training.num_d, ndf=training.ndf, n_layers=training.n_layers_d
            )
        else:
            networks["D"] = OASISDiscriminator(config.num_classes, training.ndf, min(config.native_size))
        init_weights(networks["D"])
        if config.use_vae:
            encoder = init_weights(StyleEncoder(config))
            add_spectral_norm(getattr(encoder, f"layer{i + 1}")[0] for i in range(encoder.num_layers))
            networks["E"] = encoder
        return networks

    def optimizers(self) -> dict[str, OptimizerSpec]:
        lr_g, lr_d = self.training.learning_rates
        g_nets = ("G", "E") if self.generator.use_vae else ("G",)
        return {
            "G": OptimizerSpec(g_nets, lr_g, self.training.betas),
            "D": OptimizerSpec(("D",), lr_d, self.training.betas),
        }

    def inference_networks(self) -> dict[str, nn.Module]:
        networks: dict[str, nn.Module] = {"G": SPADEGenerator(self.generator)}
        if self.generator.use_vae:
            networks["E"] = StyleEncoder(self.generator)
        return networks

    def inference_state(self, name: str, network: nn.Module) -> dict[str, Tensor]:
        return fold_spectral_norm(network.state_dict())

    # --- one iteration ---------------------------------------------------------------------------------

    def train_step(self, batch: Mapping[str, Any], ctx: StepContext) -> dict[str, Tensor]:
        """G first (fake kept for D's step, as in pix2pixHD: one generator pass per iteration), then D."""
        real = batch["image"]
        noise = sample_noise(self.generator, real.shape[0], real.device)
        semantics = generator_semantics(batch, self.generator, noise)
        condition = semantics.one_hot() if self.training.discriminator == "patchgan" else None
        with ctx.autocast():
            z, losses = None, {}
            if self.generator.use_vae:
                mu, logvar = ctx.nets["E"](real)
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
                losses["G/kld"] = self.training.lambda_kld * kl_divergence(mu, logvar)
            fake = ctx.nets["G"](semantics, z)
            with frozen(ctx.raw["D"]):
                losses.update(self._generator_losses(ctx.raw["D"], fake, real, batch["labels"], condition))
        ctx.optimize("G", sum(losses.values()))
        with ctx.autocast():
            d_losses = self._discriminator_losses(
                ctx.nets["D"], fake.detach(), real, batch["labels"], condition
            )
        ctx.optimize("D", sum(d_losses.values()))
        return {k: v.detach() for k, v in {**losses, **d_losses}.items()}

    def _generator_losses(
        self, discriminator: nn.Module, fake: Tensor, real: Tensor, labels: Tensor, condition: Tensor | None
    ) -> dict[str, Tensor]:
        training = self.training
        losses = {}
        if training.discriminator == "oasis":
            losses["G/gan"] = oasis_loss(discriminator(fake), labels, real=True)
        else:
            fake_out = discriminator(fake, condition)
            losses["G/gan"] = GAN_LOSSES[training.gan_loss][1]([out[-1] for out in fake_out])
            if training.lambda_feat:
                with torch.no_grad():
                    real_out = discriminator(real, condition)
                losses["G/feat"] = training.lambda_feat * feature_matching_loss(fake_out, real_out)
        vgg = self.vgg(fake.device)
        if vgg is not None:
            losses["G/vgg"] = training.lambda_vgg * vgg(fake, real)
        return losses

    def _discriminator_losses(
        self, discriminator: nn.Module, fake: Tensor, real: Tensor, labels: Tensor, condition: Tensor | None
    ) -> dict[str, Tensor]:
        n = real.shape[0]
        if self.training.discriminator == "oasis":
            mask = labelmix_mask(labels, self.generator.num_classes).to(real.dtype)
            mixed = mask * real + (1 - mask) * fake
            fake_logits, real_logits, mixed_logits = discriminator(torch.cat([fake, real, mixed])).split(n)
            return {
                "D/real": oasis_loss(real_logits, labels, real=True),
                "D/fake": oasis_loss(fake_logits, labels, real=False),
                "D/labelmix": self.training.lambda_labelmix
                * labelmix_loss(mixed_logits, real_logits, fake_logits, mask),
            }
        outputs = discriminator(torch.cat([fake, real]), condition)
        d_real, d_fake = GAN_LOSSES[self.training.gan_loss][0](
            [out[-1][n:] for out in outputs], [out[-1][:n] for out in outputs]
        )
        return {"D/real": d_real, "D/fake": d_fake}

    # --- samples, metrics, export ----------------------------------------------------------------------

    def _render(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> Tensor:
        z = networks["E"](batch["image"])[0] if "E" in networks else None  # the encoded style's mean
        noise = sample_noise(self.generator, batch["image"].shape[0], batch["image"].device, seed=0)
        return networks["G"](generator_semantics(batch, self.generator, noise), z).float()

    def model_card(self, name: str, **fields: Any) -> ModelCard:
        config, training = self.generator, self.training
        lr_g, lr_d = training.learning_rates
        noise = f", {config.noise_nc}-channel 3D noise" if config.noise_nc else ""
        return self.card(
            name,
            fields,
            architecture=config,
            native_size=config.native_size,
            label_set=self.label_set,
            description=f"SPADE generator ({config.norm}, ngf {config.ngf}{noise}) trained with synthpaint",
            training={
                "discriminator": training.discriminator,
                "gan_loss": "oasis segmentation" if training.discriminator == "oasis" else training.gan_loss,
                "lr_g": lr_g,
                "lr_d": lr_d,
                "betas": list(training.betas),
                "lambda_feat": training.lambda_feat if training.discriminator == "patchgan" else 0,
                "lambda_vgg": training.lambda_vgg if training.vgg_weights else 0,
                "lambda_kld": training.lambda_kld if config.use_vae else 0,
            },
        )


RECIPE = SPADERecipe


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.spade",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    model = parser.add_argument_group("generator")
    model.add_argument(
        "--size",
        type=int,
        default=256,
        help="height of the training crops and of the model (multiple of 32; default: 256)",
    )
    model.add_argument(
        "--aspect", type=float, help="width / height of the crops (default: 2 for cityscapes, else 1)"
    )
    model.add_argument(
        "--norm",
        choices=["spade", "clade"],
        help="label-conditioned norm: spade (the paper's) or clade (per-class scale and shift, much "
        "cheaper); default: clade on a CPU, spade on a GPU",
    )
    model.add_argument(
        "--ngf", type=int, help="generator width (default: 16 on a CPU, 64 on a GPU = official)"
    )
    model.add_argument(
        "--norm-hidden", type=int, default=128, help="SPADE's hidden width (default: 128 = official)"
    )
    model.add_argument(
        "--instances",
        choices=["auto", "yes", "no"],
        default="auto",
        help="feed instance boundaries to G (auto: if the dataset has instance maps; without them the "
        "class boundaries are used, as the engine does)",
    )
    model.add_argument(
        "--use-vae", action="store_true", help="train a style encoder (needs a crop width >= 256)"
    )
    model.add_argument(
        "--z-dim", type=int, default=256, help="style latent size with --use-vae (default: 256)"
    )
    model.add_argument(
        "--noise-nc",
        type=int,
        help="channels of OASIS's 3D noise input, one z per image replicated over every pixel and "
        "drawn from the seed in the app (default: 64 with --d oasis, else 0; 0 = no noise)",
    )
    losses = parser.add_argument_group("discriminator and losses")
    losses.add_argument(
        "--d",
        choices=["patchgan", "oasis"],
        default="patchgan",
        help="patchgan: two-scale conditional PatchGAN + feature matching (SPADE); oasis: (N+1)-class "
        "segmentation U-Net with class-balanced cross-entropy and LabelMix (OASIS)",
    )
    add_patchgan_arguments(losses, "hinge", "default: %(default)s")
    losses.add_argument(
        "--lambda-kld", type=float, default=0.05, help="KL weight with --use-vae (default: %(default)s)"
    )
    losses.add_argument(
        "--lambda-labelmix",
        type=float,
        default=10.0,
        help="LabelMix weight, --d oasis (default: %(default)s)",
    )
    losses.add_argument(
        "--lr",
        type=float,
        default=0.0002,
        help="base learning rate (default: %(default)s; TTUR: G lr/2, D 2 lr)",
    )
    losses.add_argument(
        "--no-ttur", action="store_true", help="equal rates for G and D with Adam betas 0.5, 0.999"
    )
    add_loop_arguments(parser)
    return parser


def generator_config(args: argparse.Namespace, label_set: LabelSet, has_instances: bool) -> SPADEConfig:
    gpu = on_gpu(args)
    k = 32
    if args.size < k or args.size % k:
        raise TrainingError(f"--size must be a positive multiple of {k}, got {args.size}")
    aspect = args.aspect or (2.0 if args.format == "cityscapes" else 1.0)
    width = max(k, round(args.size * aspect / k) * k)
    instances = {"auto": has_instances, "yes": True, "no": False}[args.instances]
    noise_nc = args.noise_nc if args.noise_nc is not None else (64 if args.d == "oasis" else 0)
    if noise_nc < 0:
        raise TrainingError(f"--noise-nc must be 0 (no noise) or positive, got {noise_nc}")
    return SPADEConfig(
        label_nc=label_set.label_nc,
        contain_dontcare=label_set.dontcare_id is not None,
        use_instance_edges=instances,
        ngf=args.ngf or (64 if gpu else 16),
        crop_size=width,
        aspect_ratio=width / args.size,
        use_vae=args.use_vae,
        z_dim=args.z_dim,
        norm=args.norm or ("spade" if gpu else "clade"),
        norm_hidden=args.norm_hidden,
        has_encoder=args.use_vae,
        noise_nc=noise_nc,
    )


def check_batch_statistics(config: SPADEConfig, batch: int) -> None:
    """Batch norm needs more than one value per channel: the first layer is only latent-sized."""
    sh, sw = config.latent_size
    if batch * int(os.environ.get("WORLD_SIZE", "1")) * sh * sw < 2:
        raise TrainingError(
            f"at --size {config.native_size[0]} the first layer is {sh}x{sw}: batch norm needs a batch of "
            "at least 2 there (--batch 2) or a larger --size"
        )


def recipe_from_args(args: argparse.Namespace, label_set: LabelSet, has_instances: bool) -> SPADERecipe:
    training = SPADETraining(
        discriminator=args.d,
        ndf=args.ndf or (64 if on_gpu(args) else 32),
        num_d=args.num_d,
        n_layers_d=args.n_layers_d,
        gan_loss=args.gan_loss,
        lambda_feat=args.lambda_feat,
        lambda_vgg=args.lambda_vgg,
        vgg_weights=args.vgg_weights,
        lambda_kld=args.lambda_kld,
        lambda_labelmix=args.lambda_labelmix,
        lr=args.lr,
        ttur=not args.no_ttur,
    )
    config = generator_config(args, label_set, has_instances)
    check_batch_statistics(config, train_config(args).batch)
    return SPADERecipe(config, label_set, training)


def main(argv: list[str] | None = None) -> int:
    return main_for(build_parser(), recipe_from_args, argv)


if __name__ == "__main__":
    sys.exit(main())
