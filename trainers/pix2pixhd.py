"""``python -m trainers.pix2pixhd``: train a pix2pixHD generator (the engine's ``GlobalGenerator`` /
``LocalEnhancer``, optionally with the instance feature encoder E) on paired photos, label maps and
instance maps, and export it as a model the app opens.

    python -m trainers.pix2pixhd --data ../shared/datasets/cityscapes --format cityscapes --out runs/g
    python -m trainers.pix2pixhd --data ... --netG local --size 512 --init-global runs/g \\
        --niter-fix-global 10000 --out runs/l        (coarse to fine: the global run, then the enhancer)
    python -m trainers.pix2pixhd --data ../shared/datasets/facades --format facades \\
        --instances-from-components --instance-feat --out runs/facades
    python -m trainers.pix2pixhd cluster runs/facades --k 10   (the feature bank the app picks looks from)
    python -m trainers.pix2pixhd --out runs/g --resume         (continue after a stop or a crash)

Losses as in the paper: LSGAN from multi-scale conditional PatchGANs (instance norm, conditioned on
the one-hot labels and instance edges), feature matching (lambda 10), VGG with ``--vgg-weights``;
Adam (lr 2e-4, betas 0.5 and 0.999) for G (+ E) and D. The GAN term is summed over the scales and
feature matching averaged over them, as the official code weighs them. ``--instance-feat`` trains E
jointly: its output, averaged over each instance, is fed to G. Facades has no instance maps:
``--instances-from-components`` makes every connected region of a thing class one instance.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from engine.checkpoints import ModelCard, load_checked, read_card, read_weights
from engine.device import pick_device
from engine.errors import CheckpointError, SynthpaintError
from engine.instance_synthesis import BANK_PREFIX, THING_ID_BASE, FeatureBank, bank_from_tensors
from engine.labels import LabelSet
from engine.models.pix2pixhd import FeatureEncoder, Pix2PixHDConfig, build_generator, generator_input
from engine.models.semantics import SemanticMap, instance_edges
from trainers.checkpoint import load_checkpoint
from trainers.clustering import MIN_INSTANCE_AREA, cluster_codes, instance_codes, read_bank, write_bank
from trainers.data import PairedDataset, item_or_replacement
from trainers.discriminators import MultiscaleDiscriminator
from trainers.label_to_photo import LabelToPhotoRecipe, add_patchgan_arguments
from trainers.launch import PairedSource, add_data_arguments, add_loop_arguments, main_for, on_gpu
from trainers.loop import TrainingError
from trainers.losses import GAN_LOSSES, feature_matching_loss
from trainers.recipe import OptimizerSpec, Recipe, StepContext, frozen, load_recipe
from trainers.rundir import CHECKPOINT_FILE, MODEL_DIR, RUN_FILE, read_run_file
from trainers.weights import init_weights

# --- instances from connected components -------------------------------------------------------------------


def component_instances(ids: np.ndarray, label_set: LabelSet) -> np.ndarray:
    """Instance ids (int64) from a label-id map, in the official convention: each 4-connected region
    of a class with instances gets ``class * 1000 + k`` (k = 0, 1, ... in raster order of the regions'
    first pixels; k stops at 999), every other pixel keeps its class id. 4-connected, like instance
    edges: two regions touching only at a corner have no edge between them either way. Class 0 keeps
    its id (0 * 1000 + k would read as class k)."""
    out = ids.astype(np.int64)
    for class_id in np.unique(ids).tolist():
        if class_id == 0 or class_id not in label_set or not label_set.by_id(class_id).has_instances:
            continue
        _, components = cv2.connectedComponents((ids == class_id).astype(np.uint8), connectivity=4)
        found, first = np.unique(components.ravel(), return_index=True)
        order = np.zeros(int(found.max()) + 1, np.int64)
        regions = found[found > 0][np.argsort(first[found > 0])]  # by first pixel in raster order
        order[regions] = np.minimum(np.arange(len(regions)), THING_ID_BASE - 1)
        inside = components > 0
        out[inside] = class_id * THING_ID_BASE + order[components[inside]]
    return out


class ComponentInstances(Dataset):
    """A paired dataset whose instance maps are ``component_instances`` of its (cropped) label maps."""

    def __init__(self, dataset: PairedDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        return item_or_replacement(self, key)

    def item(self, index: int, epoch: int = 0) -> dict[str, Any]:
        item = self.dataset.item(index, epoch)
        label_set = self.dataset.label_set
        ids = label_set.from_channels(item["labels"].numpy())
        item["instances"] = torch.from_numpy(component_instances(ids, label_set))
        return item


class Pix2PixHDSource(PairedSource):
    """Paired data, optionally with instance maps made from connected components."""

    def describe(self, args: argparse.Namespace) -> dict[str, Any]:
        return {**super().describe(args), "instances_from_components": args.instances_from_components}

    def datasets(
        self, index: Any, recipe: Recipe, data: Mapping[str, Any], seed: int
    ) -> tuple[Dataset, Dataset]:
        dataset, preview = super().datasets(index, recipe, data, seed)
        if data.get("instances_from_components"):
            return ComponentInstances(dataset), ComponentInstances(preview)
        return dataset, preview


# --- the recipe --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pix2PixHDTraining:
    """The recipe's options (the generator's architecture is its own ``Pix2PixHDConfig``).

    ``n_layers_d`` counts our PatchDiscriminator's conv blocks: 4 is the official ``n_layers_D 3``.
    ``init_global`` records where the global part came from (provenance; the weights are read once).
    """

    ndf: int = 64
    num_d: int = 2
    n_layers_d: int = 4
    gan_loss: str = "lsgan"
    lambda_feat: float = 10.0
    lambda_vgg: float = 10.0
    vgg_weights: str | None = None
    lr: float = 0.0002
    beta1: float = 0.5
    niter_fix_global: int = 0
    init_global: str | None = None

    def __post_init__(self) -> None:
        if self.gan_loss not in GAN_LOSSES:
            raise TrainingError(f"unknown GAN loss '{self.gan_loss}' (use one of {', '.join(GAN_LOSSES)})")
        if self.niter_fix_global < 0:
            raise TrainingError(f"--niter-fix-global must be 0 or more, got {self.niter_fix_global}")

    @property
    def betas(self) -> tuple[float, float]:
        return (self.beta1, 0.999)

    @property
    def gan_weight(self) -> float:
        """The shared losses average over scales and halve LSGAN's G term; the official G loss is the
        unhalved mean squared error summed over scales."""
        return self.num_d * (2.0 if self.gan_loss == "lsgan" else 1.0)


class Pix2PixHDRecipe(LabelToPhotoRecipe):
    kind = "pix2pixhd"
    module = "trainers.pix2pixhd"
    config_class = Pix2PixHDConfig
    training_class = Pix2PixHDTraining

    def __init__(
        self,
        generator: Pix2PixHDConfig,
        label_set: LabelSet,
        training: Pix2PixHDTraining,
        initial_weights: Mapping[str, Mapping[str, Tensor]] | None = None,
    ):
        if label_set.num_channels != generator.label_nc:
            raise TrainingError(
                f"the generator has {generator.label_nc} label channels but the label set "
                f"'{label_set.name}' has {label_set.num_channels}"
            )
        if (training.niter_fix_global or training.init_global) and not generator.n_local_enhancers:
            raise TrainingError("--niter-fix-global and --init-global need --netG local")
        self.generator = generator
        self.label_set = label_set
        self.training = training
        # network path ("G.model", "E") -> state, loaded into a new run's networks (--init-global)
        self.initial_weights = dict(initial_weights or {})

    # --- networks --------------------------------------------------------------------------------------

    @property
    def condition_nc(self) -> int:
        """D's condition: the one-hot labels and the edge map (the official ``input_label``)."""
        return self.generator.label_nc + int(self.generator.use_instance_edges)

    def build_networks(self) -> dict[str, nn.Module]:
        config, training = self.generator, self.training
        networks: dict[str, nn.Module] = {"G": init_weights(build_generator(config), "normal")}
        networks["D"] = init_weights(
            MultiscaleDiscriminator(
                3,
                self.condition_nc,
                training.num_d,
                ndf=training.ndf,
                n_layers=training.n_layers_d,
                norm="instance",
                spectral=False,
            ),
            "normal",
        )
        if config.feat_num:
            networks["E"] = init_weights(FeatureEncoder(config), "normal")
        for path, state in self.initial_weights.items():
            network, _, part = path.partition(".")
            module = networks[network].get_submodule(part) if part else networks[network]
            load_checked(module, state, f"--init-global {training.init_global} ({path})")
        return networks

    def optimizers(self) -> dict[str, OptimizerSpec]:
        """G (+ E) and D; with ``niter_fix_global`` also "G_local": the finest enhancer (+ E) alone,
        stepped instead of G for the first iterations. G's own Adam state then starts afresh when
        all of G is trained, as when the official code rebuilds its optimiser."""
        lr, betas = self.training.lr, self.training.betas
        encoder = ("E",) if self.generator.feat_num else ()
        specs = {
            "G": OptimizerSpec(("G", *encoder), lr, betas),
            "D": OptimizerSpec(("D",), lr, betas),
        }
        if self.training.niter_fix_global:
            n = self.generator.n_local_enhancers
            specs["G_local"] = OptimizerSpec((f"G.model{n}_1", f"G.model{n}_2", *encoder), lr, betas)
        return specs

    def generator_optimizer(self, step: int) -> str:
        return "G_local" if step < self.training.niter_fix_global else "G"

    def inference_networks(self) -> dict[str, nn.Module]:
        networks: dict[str, nn.Module] = {"G": build_generator(self.generator)}
        if self.generator.feat_num:
            networks["E"] = FeatureEncoder(self.generator)
        return networks

    def inference_state(self, name: str, network: nn.Module) -> dict[str, Tensor]:
        return network.state_dict()

    # --- one iteration ---------------------------------------------------------------------------------

    def _inputs(self, batch: Mapping[str, Any], encoder: nn.Module | None) -> tuple[Tensor, Tensor]:
        """(G's input, D's condition) for a batch, built as the engine builds G's input at inference;
        with instance features, E's output on the real photo averaged over each instance."""
        config = self.generator
        edges = instance_edges(batch["instances"]) if config.use_instance_edges else None
        features = None if encoder is None else encoder(batch["image"], batch["instances"])
        x = generator_input(config, batch["labels"], edges, features, batch["image"].dtype)
        return x, SemanticMap(batch["labels"], config.label_nc, edges).one_hot()

    def train_step(self, batch: Mapping[str, Any], ctx: StepContext) -> dict[str, Tensor]:
        """G (+ E) first, the fake kept for D's step (one generator pass per iteration), then D."""
        real = batch["image"]
        with ctx.autocast():
            x, condition = self._inputs(batch, ctx.nets.get("E"))
            fake = ctx.nets["G"](x)
            with frozen(ctx.raw["D"]):
                losses = self._generator_losses(ctx.raw["D"], fake, real, condition)
        ctx.optimize(self.generator_optimizer(ctx.step), sum(losses.values()))
        with ctx.autocast():
            n = real.shape[0]
            outputs = ctx.nets["D"](torch.cat([fake.detach(), real]), condition)
            d_real, d_fake = GAN_LOSSES[self.training.gan_loss][0](
                [out[-1][n:] for out in outputs], [out[-1][:n] for out in outputs]
            )
        ctx.optimize("D", d_real + d_fake)
        return {k: v.detach() for k, v in {**losses, "D/real": d_real, "D/fake": d_fake}.items()}

    def _generator_losses(
        self, discriminator: nn.Module, fake: Tensor, real: Tensor, condition: Tensor
    ) -> dict[str, Tensor]:
        training = self.training
        fake_out = discriminator(fake, condition)
        gan = GAN_LOSSES[training.gan_loss][1]([out[-1] for out in fake_out])
        losses = {"G/gan": training.gan_weight * gan}
        if training.lambda_feat:
            with torch.no_grad():
                real_out = discriminator(real, condition)
            losses["G/feat"] = training.lambda_feat * feature_matching_loss(fake_out, real_out)
        vgg = self.vgg(fake.device)
        if vgg is not None:
            losses["G/vgg"] = training.lambda_vgg * vgg(fake, real)
        return losses

    # --- samples, metrics, export ----------------------------------------------------------------------

    def _render(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> Tensor:
        """The EMA generator on the fixed batch (with the features E encodes from the real photos)."""
        return networks["G"](self._inputs(batch, networks.get("E"))[0]).float()

    def exported_tensors(self, run_dir: Path, step: int) -> dict[str, dict[str, Tensor]]:
        """The feature bank of ``cluster``, if it was made from this checkpoint's encoder."""
        found = read_bank(run_dir) if self.generator.feat_num else None
        if found is None:
            return {}
        tensors, bank_step = found
        if bank_step != step:
            print(
                f"warning: the feature bank in {run_dir} was clustered at step {bank_step}, the checkpoint "
                f"is at step {step}: the model is exported without a bank (run the cluster command again)",
                file=sys.stderr,
            )
            return {}
        bank_from_tensors(tensors, self.generator.feat_num, str(run_dir))  # raises if it does not fit
        return {BANK_PREFIX: tensors}

    def model_card(self, name: str, **fields: Any) -> ModelCard:
        config, training = self.generator, self.training
        variant = f"local x{config.n_local_enhancers}" if config.n_local_enhancers else "global"
        features = f", {config.feat_num} instance feature channels" if config.feat_num else ""
        return self.card(
            name,
            fields,
            architecture=config,
            native_size=config.native_size,
            label_set=self.label_set,
            description=f"pix2pixHD generator ({variant}, ngf {config.ngf}{features}) trained by synthpaint",
            training={
                "gan_loss": training.gan_loss,
                "discriminator": f"{training.num_d}-scale PatchGAN, ndf {training.ndf}",
                "lr": training.lr,
                "betas": list(training.betas),
                "lambda_feat": training.lambda_feat,
                "lambda_vgg": training.lambda_vgg if training.vgg_weights else 0,
                "niter_fix_global": training.niter_fix_global,
                "init_global": training.init_global,
            },
        )


RECIPE = Pix2PixHDRecipe


# --- a trained global generator as the start of a local one (--init-global) --------------------------------

TRUNK_OPTIONS = {  # what the global part shares with a global generator, and the option that sets it
    "label_nc": "--labelset",
    "use_instance_edges": "--instances",
    "feat_num": "--instance-feat, --feat-num",
    "output_nc": "the photo channels",
    "n_downsample_global": "--n-downsample-global",
    "n_blocks_global": "--n-blocks-global",
    "global_ngf": "--ngf: a local run's is half its global part's",
}


def read_global_generator(source: Path) -> tuple[Pix2PixHDConfig, dict[str, dict[str, Tensor]]]:
    """(config, {"G": ..., "E": ...}) of a trained pix2pixHD: a run folder (its EMA weights, the ones
    it exports) or a model folder."""
    if (source / RUN_FILE).exists():
        run = read_run_file(source)
        recipe = load_recipe(run["recipe"], run["recipe_config"])
        if recipe.kind != Pix2PixHDRecipe.kind:  # not isinstance: this module may also run as __main__
            raise TrainingError(f"--init-global {source} is a '{recipe.kind}' run, not a pix2pixHD one")
        return recipe.generator, load_checkpoint(source / CHECKPOINT_FILE)["ema"]
    card = read_card(source)
    if card.kind != "pix2pixhd":
        raise TrainingError(f"--init-global {source} is a '{card.kind}' model, not a pix2pixHD one")
    return Pix2PixHDConfig.from_dict(card.architecture), read_weights(source)


def global_initialisation(source: Path, config: Pix2PixHDConfig) -> dict[str, dict[str, Tensor]]:
    """The states that start a local enhancer from a global generator: its trunk (every layer but the
    RGB output) into ``G.model``, and its feature encoder into ``E``."""
    trained, weights = read_global_generator(source)
    if trained.n_local_enhancers:
        raise TrainingError(f"--init-global {source} is a local enhancer; give a global generator's run")
    for name, option in TRUNK_OPTIONS.items():
        if getattr(trained, name) != getattr(config, name):
            raise TrainingError(
                f"--init-global {source} has {name.removeprefix('global_')} {getattr(trained, name)}, but "
                f"this run's global part needs {getattr(config, name)} ({option})"
            )
    trunk = {k.removeprefix("model."): v for k, v in weights.get("G", {}).items() if k.startswith("model.")}
    with torch.device("meta"):  # only the layer count: no memory for the weights
        layers = len(build_generator(config).model)
    states = {"G.model": {k: v for k, v in trunk.items() if int(k.split(".")[0]) < layers}}
    if config.feat_num:
        if "E" not in weights:
            raise TrainingError(f"--init-global {source} has no feature encoder to start this run's E from")
        states["E"] = weights["E"]
    return states


# --- the feature bank (cluster command) --------------------------------------------------------------------


@torch.no_grad()
def encode_training_instances(
    encoder: FeatureEncoder, dataset: Dataset, label_set: LabelSet, device: torch.device, min_area: float
) -> tuple[dict[int, np.ndarray], list[str]]:
    """class id -> codes (n, feat_num) of every training instance larger than ``min_area`` of its
    image (the un-augmented training view), and the files that could not be read."""
    codes: dict[int, list[np.ndarray]] = {}
    problems = []
    encoder = encoder.to(device).eval()
    for index in range(len(dataset)):
        try:
            item = dataset.item(index)
        except SynthpaintError as exc:
            problems.append(str(exc))
            continue
        features = encoder.encode(item["image"][None].to(device))[0]
        channels, means, areas = instance_codes(
            features, item["instances"].to(device), item["labels"].to(device), label_set.num_channels
        )
        large = (areas > min_area).cpu()
        class_ids = label_set.from_channels(channels.cpu().numpy())
        for class_id, code in zip(class_ids[large.numpy()], means.cpu()[large].numpy(), strict=True):
            codes.setdefault(int(class_id), []).append(code)
    return {c: np.stack(v) for c, v in codes.items()}, problems


def cluster_run(
    run_dir: Path,
    k: int = 10,
    output: Path | None = None,
    device: str = "auto",
    min_area: float = MIN_INSTANCE_AREA,
) -> tuple[Path, FeatureBank]:
    """Encode every training instance with the run's (EMA) encoder, k-means the codes per class,
    keep the bank in the run folder and export the model with it; returns (model folder, bank)."""
    from trainers.export import export_run

    if k < 1:
        raise TrainingError(f"--k must be at least 1, got {k}")
    run = read_run_file(run_dir)
    recipe = load_recipe(run["recipe"], run["recipe_config"])
    if recipe.kind != Pix2PixHDRecipe.kind or not recipe.generator.feat_num:
        raise TrainingError(
            f"{run_dir} is not a pix2pixHD run with --instance-feat: it has no instance features to cluster"
        )
    state = load_checkpoint(run_dir / CHECKPOINT_FILE)
    encoder = FeatureEncoder(recipe.generator)
    try:
        encoder.load_state_dict(state["ema"]["E"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"the checkpoint in {run_dir} does not fit its run.json ({exc})") from None
    source = Pix2PixHDSource()
    _, dataset = source.datasets(source.scan(run["data"]), recipe, run["data"], run["train"]["seed"])
    codes, problems = encode_training_instances(
        encoder, dataset, recipe.label_set, pick_device(device), min_area
    )
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if not codes:
        raise TrainingError(
            f"no training instance of {run_dir}'s data covers more than {min_area:.4g} of its image"
        )
    bank = cluster_codes(codes, k, seed=run["train"]["seed"])
    write_bank(run_dir, bank, state["loop"]["step"])
    folder = output or run_dir / MODEL_DIR
    name = run_dir.resolve().name if output is None else None
    return export_run(run_dir, folder, name=name), bank


# --- command line ------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.pix2pixhd",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    model = parser.add_argument_group("generator")
    model.add_argument(
        "--size", type=int, default=256, help="height of the training crops and of the model (default: 256)"
    )
    model.add_argument(
        "--aspect", type=float, help="width / height of the crops (default: 2 for cityscapes, else 1)"
    )
    model.add_argument(
        "--netG",
        choices=["global", "local"],
        default="global",
        help="global: the residual encoder-decoder; local: global part on the half-size input refined "
        "by a full-resolution enhancer (train a global run first, see --init-global)",
    )
    model.add_argument(
        "--n-local-enhancers", type=int, default=1, help="enhancers with --netG local (default: 1)"
    )
    model.add_argument(
        "--ngf",
        type=int,
        help="width of the finest branch (the global part of a local G is twice as wide); default: "
        "64 global / 32 local on a GPU (official), 16 / 8 on a CPU",
    )
    model.add_argument(
        "--n-downsample-global", type=int, default=4, help="downsamplings of the global part (default: 4)"
    )
    model.add_argument(
        "--n-blocks-global", type=int, default=9, help="residual blocks of the global part (default: 9)"
    )
    model.add_argument(
        "--n-blocks-local", type=int, default=3, help="residual blocks of each enhancer (default: 3)"
    )
    instances = parser.add_argument_group("instances")
    instances.add_argument(
        "--instances-from-components",
        action="store_true",
        help="instance ids from the connected regions of each class that has instances (class * 1000 + k; "
        "for data without instance maps, e.g. facades; replaces any instance maps)",
    )
    instances.add_argument(
        "--instances",
        choices=["auto", "yes", "no"],
        default="auto",
        help="feed instance edges to G and D (auto: if the dataset has instance maps or "
        "--instances-from-components; without them the class boundaries are used, as the engine does)",
    )
    instances.add_argument(
        "--instance-feat",
        action="store_true",
        help="train the feature encoder E jointly: its output averaged per instance is fed to G "
        "(then run the cluster command for the bank of looks the app offers)",
    )
    instances.add_argument(
        "--feat-num", type=int, default=3, help="feature channels per instance (default: 3)"
    )
    instances.add_argument("--nef", type=int, default=16, help="feature encoder width (default: 16)")
    instances.add_argument(
        "--n-downsample-E", type=int, default=4, help="feature encoder downsamplings (default: 4)"
    )
    model.add_argument(
        "--init-global",
        type=Path,
        help="run folder or model folder of a trained global generator (at half this --size): its layers "
        "(and E) start the local enhancer's global part",
    )
    model.add_argument(
        "--niter-fix-global",
        type=int,
        default=0,
        help="with --netG local: train only the (finest) enhancer and E for this many iterations, then "
        "all of G (default: 0)",
    )
    losses = parser.add_argument_group("discriminator and losses")
    add_patchgan_arguments(losses, "lsgan", "default: 4 = the official n_layers_D 3")
    losses.add_argument("--lr", type=float, default=0.0002, help="learning rate (default: %(default)s)")
    losses.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 (default: %(default)s)")
    add_loop_arguments(parser)
    return parser


def generator_config(args: argparse.Namespace, label_set: LabelSet, has_instances: bool) -> Pix2PixHDConfig:
    gpu, local = on_gpu(args), args.netG == "local"
    n_local = args.n_local_enhancers if local else 0
    if local and n_local < 1:
        raise TrainingError(f"--n-local-enhancers must be at least 1, got {n_local}")
    aspect = args.aspect or (2.0 if args.format == "cityscapes" else 1.0)
    instances = {"auto": has_instances or args.instances_from_components, "yes": True, "no": False}
    config = Pix2PixHDConfig(
        label_nc=label_set.num_channels,
        use_instance_edges=instances[args.instances],
        feat_num=args.feat_num if args.instance_feat else 0,
        ngf=args.ngf or (64 if gpu else 16) // (2 if local else 1),
        n_downsample_global=args.n_downsample_global,
        n_blocks_global=args.n_blocks_global,
        n_local_enhancers=n_local,
        n_blocks_local=args.n_blocks_local,
        nef=args.nef,
        n_downsample_E=args.n_downsample_E,
        has_encoder=args.instance_feat,
        native_size=(args.size, args.size),
    )
    k = max(config.size_multiple, config.encoder_multiple if config.feat_num else 1)
    smallest = -(-2 * config.size_multiple // k) * k  # the bottleneck needs 2 pixels (reflection padding)
    if args.size % k or args.size < smallest:
        raise TrainingError(
            f"--size must be a multiple of {k} and at least {smallest} for this generator "
            f"(2 ** downsamplings, and a bottleneck of at least 2 pixels), got {args.size}"
        )
    return replace(config, native_size=(args.size, max(smallest, round(args.size * aspect / k) * k)))


def recipe_from_args(args: argparse.Namespace, label_set: LabelSet, has_instances: bool) -> Pix2PixHDRecipe:
    config = generator_config(args, label_set, has_instances)
    training = Pix2PixHDTraining(
        ndf=args.ndf or (64 if on_gpu(args) else 32),
        num_d=args.num_d,
        n_layers_d=args.n_layers_d,
        gan_loss=args.gan_loss,
        lambda_feat=args.lambda_feat,
        lambda_vgg=args.lambda_vgg,
        vgg_weights=args.vgg_weights,
        lr=args.lr,
        beta1=args.beta1,
        niter_fix_global=args.niter_fix_global,
        init_global=None if args.init_global is None else str(args.init_global.resolve()),
    )
    initial = None
    if args.init_global is not None and config.n_local_enhancers:
        initial = global_initialisation(args.init_global, config)
    return Pix2PixHDRecipe(config, label_set, training, initial)


def build_cluster_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.pix2pixhd cluster",
        description="Encode every training instance of an --instance-feat run with its encoder, k-means "
        "the codes of each class and export the model with this feature bank (the looks the app offers).",
    )
    parser.add_argument("run_dir", type=Path, help="a pix2pixHD run folder trained with --instance-feat")
    parser.add_argument("--k", type=int, default=10, help="looks (cluster centres) per class (default: 10)")
    parser.add_argument(
        "--min-area",
        type=float,
        default=MIN_INSTANCE_AREA,
        help="only instances larger than this fraction of their image are clustered (default: 1/64, the "
        "paper's)",
    )
    parser.add_argument("-o", "--output", type=Path, help="model folder to write (default: RUN_DIR/model)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, mps")
    return parser


def cluster_main(argv: list[str]) -> int:
    args = build_cluster_parser().parse_args(argv)
    try:
        folder, bank = cluster_run(args.run_dir, args.k, args.output, args.device, args.min_area)
    except SynthpaintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    codes = sum(len(v) for v in bank.values())
    print(f"clustered {codes} looks for {len(bank)} classes; wrote model {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["cluster"]:
        return cluster_main(argv[1:])
    return main_for(build_parser(), recipe_from_args, argv, Pix2PixHDSource())


if __name__ == "__main__":
    sys.exit(main())
