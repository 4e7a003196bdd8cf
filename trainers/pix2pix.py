"""``python -m trainers.pix2pix``: train a pix2pix U-Net (the engine's ``UnetGenerator``) to turn
sketches into photos, and export it as a model the app's Sketch tab opens.

    python -m trainers.pix2pix --data ../shared/datasets --format bsds --out runs/bsds
    python -m trainers.pix2pix --data ~/photos --format edges --edges xdog --out runs/photos
    python -m trainers.pix2pix --data edges2shoes --format aligned --direction AtoB --out runs/shoes
    torchrun --nproc-per-node 4 -m trainers.pix2pix ...    (several GPUs or machines: DDP)
    python -m trainers.pix2pix --out runs/bsds --resume    (continue after a stop or a crash)

Data (--format): pairs (A/ sketches, B/ photos with matching stems), aligned (side-by-side A|B
images, as pix2pix's datasets), edges (any photo folder: sketches drawn on the fly by Canny or
XDoG) or bsds (BSDS500's human boundary maps with their photos). Sketches are grey, black lines
on white, as the app draws them (--input-nc 3 keeps colour inputs, e.g. label images).

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import Dataset

from engine.checkpoints import ModelCard
from engine.errors import InputImageError
from engine.labels import read_rgb_image
from engine.models.pix2pix import MIN_DOWNS, Pix2PixConfig, UnetGenerator
from engine.session import image_to_tensor
from trainers.augment import Augmentation
from trainers.data import IMAGE_SUFFIXES, DatasetError, item_or_replacement
from trainers.discriminators import PatchDiscriminator
from trainers.edges import EDGE_DETECTORS, INK, PAPER, SketchStyle, thicken
from trainers.launch import DataSource, add_loop_arguments, main_for, on_gpu
from trainers.loop import TrainingError
from trainers.losses import GAN_LOSSES
from trainers.photos import find_photos
from trainers.recipe import OptimizerSpec, Recipe, StepContext, frozen
from trainers.weights import init_weights

# --- data: sketch/photo pairs ---------------------------------------------------------------------------

SKETCH_FORMATS = {
    "pairs": "A/ (sketches) and B/ (photos) with matching stems; also A/{split}, B/{split} or {split}/A, "
    "{split}/B",
    "aligned": "side-by-side images, A on the left and B on the right, in {split}/ (else the folder itself)",
    "edges": "any photos ({split}/ when there is one), searched recursively: sketches drawn by --edges",
    "bsds": "BSDS500: edges/bsds500/{split}/*.png boundary maps and photos/bsds500/{split}/*.jpg",
}
DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True)
class PairFiles:
    """Where one pair's images are. ``sketch`` None: drawn from the photo (format edges); for
    side-by-side images (format aligned) both name the same file."""

    photo: Path
    sketch: Path | None = None


@dataclass
class PairIndex:
    """What a folder scan found: usable pairs, and one message per file without a partner."""

    samples: list[PairFiles]
    problems: list[str] = field(default_factory=list)


def _images_by_stem(folder: Path) -> dict[str, Path]:
    """Image files under ``folder`` (recursively) keyed by their relative path without extension."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            found.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
    return found


def match_folders(sketches: Path, photos: Path) -> PairIndex:
    """Pairs of sketch and photo files with the same relative stem; unmatched files are problems."""
    sketch_files, photo_files = _images_by_stem(sketches), _images_by_stem(photos)
    problems = [
        f"the photo {photo_files[k]} has no sketch in {sketches}"
        for k in photo_files
        if k not in sketch_files
    ]
    problems += [
        f"the sketch {sketch_files[k]} has no photo in {photos}" for k in sketch_files if k not in photo_files
    ]
    keys = sorted(sketch_files.keys() & photo_files.keys())
    return PairIndex([PairFiles(photo_files[k], sketch_files[k]) for k in keys], problems)


def _split_folder(root: Path, split: str) -> Path:
    return root / split if (root / split).is_dir() else root


def find_pairs(root: str | Path, fmt: str, split: str = "train", direction: str = "AtoB") -> PairIndex:
    """Scan ``root`` in layout ``fmt`` (``SKETCH_FORMATS``); raises DatasetError when nothing usable
    is there. ``direction`` BtoA takes B/ as the sketches of format pairs."""
    root = Path(root)
    if fmt not in SKETCH_FORMATS:
        raise DatasetError(f"unknown sketch data format '{fmt}' (use one of {', '.join(SKETCH_FORMATS)})")
    if not root.is_dir():
        raise DatasetError(f"the dataset folder {root} does not exist")
    if fmt == "pairs":
        layouts = [(root / "A" / split, root / "B" / split), (root / split / "A", root / split / "B")]
        a, b = next(((a, b) for a, b in layouts if a.is_dir() and b.is_dir()), (root / "A", root / "B"))
        for folder in (a, b):
            if not folder.is_dir():
                raise DatasetError(
                    f"{root} has no {folder.relative_to(root)}/ folder (format pairs: A/ and B/)"
                )
        index = match_folders(a, b) if direction == "AtoB" else match_folders(b, a)
    elif fmt == "bsds":
        edges, photos = root / "edges" / "bsds500" / split, root / "photos" / "bsds500" / split
        for folder in (edges, photos):
            if not folder.is_dir():
                raise DatasetError(f"{root} is not a BSDS500 layout: it has no {folder.relative_to(root)}/")
        index = match_folders(edges, photos)
    else:
        photos = find_photos([_split_folder(root, split)])
        index = PairIndex(
            [PairFiles(p, p if fmt == "aligned" else None) for p in photos.samples], photos.problems
        )
    if not index.samples:
        first = f" ({index.problems[0]})" if index.problems else ""
        raise DatasetError(f"found no complete sketch/photo pairs in {root} as format '{fmt}'{first}")
    return index


@dataclass(frozen=True)
class SketchData:
    """How pairs are read: the layout, which side is the sketch, how sketches are drawn from photos
    (format edges), the BSDS annotator agreement and the width of the lines.

    BSDS500 maps hold, per pixel, the fraction of the 4-9 annotators who drew a boundary there (x 255;
    only this mean is distributed here, not the single annotators' maps): ``bsds_agreement`` 0 keeps
    it as grey levels (darker where more annotators agree), a fraction in (0, 1] draws black lines
    where at least that fraction agrees (0.5: the majority).
    """

    format: str = "pairs"
    direction: str = "AtoB"
    edges: str = "xdog"
    edge_width: int = 1
    min_line: int = 16
    bsds_agreement: float = 0.0

    def __post_init__(self) -> None:
        if self.format not in SKETCH_FORMATS:
            raise DatasetError(
                f"unknown sketch data format '{self.format}' (use one of {', '.join(SKETCH_FORMATS)})"
            )
        if self.direction not in DIRECTIONS:
            raise DatasetError(f"--direction must be AtoB or BtoA, got '{self.direction}'")
        if self.edges not in EDGE_DETECTORS:
            raise DatasetError(
                f"unknown edge detector '{self.edges}' (use one of {', '.join(EDGE_DETECTORS)})"
            )
        if self.edge_width < 1:
            raise DatasetError(f"--edge-width must be at least 1 pixel, got {self.edge_width}")
        if not 0 <= self.bsds_agreement <= 1:
            raise DatasetError(f"--bsds-agreement must be a fraction in [0, 1], got {self.bsds_agreement}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SketchData:
        """From a dict that may hold other keys too (a run's data options)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    @property
    def style(self) -> SketchStyle:
        return SketchStyle(self.edges, self.edge_width, self.min_line)

    def read(self, files: PairFiles) -> tuple[np.ndarray | None, np.ndarray]:
        """(sketch, photo) as uint8 arrays of the same size; the sketch is None when it is to be drawn
        from the (cropped) photo with ``draw``. Raises SynthpaintError naming a bad file."""
        photo = read_rgb_image(files.photo)
        if self.format == "edges":
            return None, photo
        if self.format == "aligned":
            half = photo.shape[1] // 2
            if half == 0:
                raise InputImageError(f"the side-by-side image {files.photo} is only 1 pixel wide")
            a, b = photo[:, :half], photo[:, half : 2 * half]
            return (a, b) if self.direction == "AtoB" else (b, a)
        sketch = read_rgb_image(files.sketch)
        if sketch.shape[:2] != photo.shape[:2]:
            raise InputImageError(
                f"the sketch {files.sketch} is {sketch.shape[1]}x{sketch.shape[0]} but its photo "
                f"{files.photo} is {photo.shape[1]}x{photo.shape[0]}"
            )
        if self.format == "bsds":
            sketch = self.bsds_sketch(sketch[..., 0])
        return sketch, photo

    def bsds_sketch(self, boundaries: np.ndarray) -> np.ndarray:
        """A BSDS mean boundary map (255 = every annotator) -> black-on-white grey sketch."""
        if self.bsds_agreement > 0:
            sketch = np.where(boundaries >= self.bsds_agreement * 255 - 0.5, INK, PAPER).astype(np.uint8)
        else:
            sketch = PAPER - boundaries
        return thicken(sketch, self.edge_width)

    def draw(self, photo: np.ndarray) -> np.ndarray:
        """The sketch of a photo (format edges): black lines on white, grey uint8."""
        return self.style(photo)


def sketch_tensor(sketch: np.ndarray, channels: int) -> Tensor:
    """uint8 sketch (H, W) or (H, W, 3) -> (channels, H, W) in [-1, 1], converted as the engine's
    ``SketchModel`` converts its input (PIL's grey for one channel)."""
    picture = Image.fromarray(sketch)
    if channels == 1:
        picture = picture.convert("L")
    return image_to_tensor(np.array(picture.convert("RGB")))[0, :channels]


class SketchDataset(Dataset):
    """Pairs as ``sketch`` (C, H, W) and ``image`` (3, H, W) in [-1, 1], cut by the same crop.

    Items are addressed by ``(index, epoch)`` with the crop drawn from (seed, epoch, index), like
    ``PairedDataset``, so runs resume exactly; a bad file is reported and replaced. Sketches drawn from
    photos are drawn after the crop, at the training resolution. ``augment=False`` gives centre
    crops (the fixed preview batch).
    """

    def __init__(
        self,
        pairs: Sequence[PairFiles],
        augmentation: Augmentation,
        data: SketchData,
        channels: int,
        *,
        seed: int = 0,
        augment: bool = True,
    ):
        self.pairs = list(pairs)
        self.augmentation = augmentation
        self.data = data
        self.channels = channels
        self.seed = seed
        self.augment = augment

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        return item_or_replacement(self, key)

    def item(self, index: int, epoch: int = 0) -> dict[str, Any]:
        sketch, photo = self.data.read(self.pairs[index])
        shape = photo.shape[:2]
        if self.augment:
            crop = self.augmentation.random(shape, np.random.default_rng([self.seed, epoch, index]))
        else:
            crop = self.augmentation.center(shape)
        photo = crop.photo(photo)
        sketch = self.data.draw(photo) if sketch is None else crop.photo(sketch)
        return {
            "sketch": sketch_tensor(sketch, self.channels),
            "image": image_to_tensor(photo)[0],
            "index": index,
        }


def sketch_data_from_args(args: argparse.Namespace) -> SketchData:
    return SketchData(
        format=args.format,
        direction=args.direction,
        edges=args.edges,
        edge_width=args.edge_width,
        min_line=args.min_line,
        bsds_agreement=args.bsds_agreement,
    )


class SketchSource(DataSource):
    """Sketch/photo pairs in one of ``SKETCH_FORMATS``; ``make_recipe(args)`` builds the recipe."""

    def describe(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "root": str(Path(args.data).resolve()),
            "split": args.split,
            "zoom": args.zoom,
            "flip": not args.no_flip,
            **sketch_data_from_args(args).to_dict(),
        }

    def scan(self, data: Mapping[str, Any]) -> PairIndex:
        return find_pairs(data["root"], data["format"], data["split"], data["direction"])

    def new_recipe(self, args: argparse.Namespace, index: Any, make_recipe: Callable[..., Recipe]) -> Recipe:
        return make_recipe(args)

    def datasets(
        self, index: Any, recipe: Recipe, data: Mapping[str, Any], seed: int
    ) -> tuple[Dataset, Dataset]:
        augmentation = Augmentation(recipe.image_size, zoom=(1.0, max(1.0, data["zoom"])), flip=data["flip"])
        sketches, channels = SketchData.from_dict(data), recipe.generator.input_nc
        return (
            SketchDataset(index.samples, augmentation, sketches, channels, seed=seed),
            SketchDataset(index.samples, augmentation, sketches, channels, seed=seed, augment=False),
        )


# --- discriminators -------------------------------------------------------------------------------------

# receptive field (pixels) -> PatchDiscriminator n_layers: stride-2 convs then one stride-1 conv and
# the 4x4 logit conv; pix2pix counts only the stride-2 convs after the first (n_layers_D 1, 3, 5)
PATCH_LAYERS = {16: 2, 70: 4, 286: 6}
RECEPTIVE_FIELDS = (1, *PATCH_LAYERS)


class PixelDiscriminator(nn.Module):
    """pix2pix's 1x1 PatchGAN ("PixelGAN"): each pixel's colour judged alone, given the sketch there
    (1x1 convs ndf, 2 ndf with batch norm, 1 logit). Same interface as ``PatchDiscriminator``."""

    def __init__(self, image_nc: int, condition_nc: int, ndf: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(image_nc + condition_nc, ndf, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 1, bias=False),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 1, bias=False),
        )

    def forward(self, images: Tensor, condition: Tensor) -> list[Tensor]:
        return [self.net(torch.cat([images, condition.to(images.dtype)], 1))]


def conditional_discriminator(receptive: int, image_nc: int, condition_nc: int, ndf: int) -> nn.Module:
    """pix2pix's D on (photo, sketch): one logit per ``receptive`` x ``receptive`` patch, batch norm."""
    if receptive == 1:
        return PixelDiscriminator(image_nc, condition_nc, ndf)
    return PatchDiscriminator(
        image_nc, condition_nc, ndf, n_layers=PATCH_LAYERS[receptive], norm="batch", spectral=False, padding=1
    )


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
    "It runs deterministic by default (BatchNorm running statistics, no dropout): the app redraws the "
    "photo at every stroke, and the official test-time behaviour (this image's statistics and dropout "
    "noise) repaints the whole picture at each one, while the paper found the noise to change the "
    "output little; 'official' mode still gives that stochastic variant."
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
        sketch = batch["sketch"].float()
        shown = sketch.expand(-1, 3, -1, -1) if sketch.shape[1] == 1 else sketch
        return [shown, networks["G"].run(sketch, "deterministic").float(), batch["image"]]

    def metrics(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> dict[str, float]:
        """Mean absolute difference to the real photos of the fixed batch ([-1, 1] units) in both
        inference modes; "official" runs each image alone (its own statistics) with seeded dropout,
        so no global random state is consumed."""
        sketch, real = batch["sketch"].float(), batch["image"].float()
        generator = networks["G"]
        deterministic = generator.run(sketch, "deterministic").float()
        official = torch.cat(
            [
                generator.run(sketch[i : i + 1], "official", torch.Generator(sketch.device).manual_seed(i))
                for i in range(sketch.shape[0])
            ]
        ).float()
        return {
            "sample_l1": float((deterministic - real).abs().mean()),
            "sample_l1_official": float((official - real).abs().mean()),
        }

    def model_card(self, name: str, **fields: Any) -> ModelCard:
        config, training = self.generator, self.training
        fields["training"] = {
            **fields.get("training", {}),
            "d_receptive_field": training.d_receptive,
            "ndf": training.ndf,
            "gan_loss": training.gan_loss,
            "lambda_l1": training.lambda_l1,
            "lr": training.lr,
            "betas": list(training.betas),
            "sketches": self.sketches.to_dict(),
        }
        source = "a grey sketch, black lines on white" if config.input_nc == 1 else "an RGB image"
        return ModelCard(
            name=name,
            kind=self.kind,
            architecture=config.to_dict(),
            label_set=None,
            native_size=self.image_size,
            description=(
                f"pix2pix U-Net (input: {source}; output: a photo; ngf {config.ngf}, {config.num_downs} "
                f"levels) trained with synthpaint. {DEFAULT_MODE_REASON}"
            ),
            source="python -m trainers.pix2pix",
            **fields,
        )


RECIPE = Pix2PixRecipe


# --- the command ----------------------------------------------------------------------------------------


def add_sketch_data_arguments(parser: argparse.ArgumentParser, *, evaluation: bool = False) -> None:
    """The options that say how pairs are read (training, and ``trainers.evaluate sketch``, whose
    defaults are None: the values the model was trained with, from its card)."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--format",
        choices=list(SKETCH_FORMATS),
        default="bsds" if evaluation else "pairs",
        help="; ".join(f"{k}: {v}" for k, v in SKETCH_FORMATS.items())
        + f" (default: {'bsds' if evaluation else 'pairs'})",
    )
    group.add_argument(
        "--split",
        default="test" if evaluation else "train",
        help="sub-folder of the layout to use (default: %(default)s)",
    )
    trained = " (default: as the model was trained)" if evaluation else ""
    group.add_argument(
        "--direction",
        choices=DIRECTIONS,
        default=None if evaluation else "AtoB",
        help="AtoB: A (left half, A/) is the sketch and B the photo; BtoA the reverse"
        + (trained or " (default: AtoB)"),
    )
    group.add_argument(
        "--edges",
        choices=list(EDGE_DETECTORS),
        default=None if evaluation else "xdog",
        help="how format edges draws sketches: xdog (difference of Gaussians, pen-like lines) or canny "
        "(thin lines)" + (trained or " (default: xdog)"),
    )
    group.add_argument(
        "--edge-width",
        type=int,
        default=None if evaluation else 1,
        help="grow the lines of drawn sketches (edges) and BSDS maps to this width in pixels"
        + (trained or " (default: 1)"),
    )
    group.add_argument(
        "--min-line",
        type=int,
        default=None if evaluation else 16,
        help="erase drawn lines of fewer pixels (specks of texture; format edges)"
        + (trained or " (default: 16)"),
    )
    group.add_argument(
        "--bsds-agreement",
        type=float,
        default=None if evaluation else 0.0,
        help="format bsds: 0 = the annotators' mean as grey lines (darker where more agree); a fraction F: "
        "black lines where at least F of the annotators drew a boundary (0.5: the majority)"
        + (trained or " (default: 0)"),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.pix2pix",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, help="dataset folder (required unless --resume)")
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
        default_mode="deterministic",
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
