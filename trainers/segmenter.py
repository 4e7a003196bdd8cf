"""``python -m trainers.segmenter``: train the segmenter of the FCN-score (``engine.models.segmenter``)
on real photos and their label maps, and export it as a model folder of kind "segmenter".

    python -m trainers.segmenter --data ../shared/datasets/facades --format facades --out runs/seg-facades
    python -m trainers.segmenter --out runs/seg-facades --resume
    python -m trainers.evaluate labels --model runs/facades/model --segmenter runs/seg-facades/model \\
        --data ../shared/datasets/facades --split test

A U-Net with group norm learns per-pixel cross-entropy (don't-care pixels ignored) with Adam on
random zoomed, flipped crops. The exported weights are the EMA of the training weights
(``--ema-decay 0`` exports the last weights). Samples show photo | predicted labels | true labels.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from engine.checkpoints import ModelCard
from engine.labels import LabelSet
from engine.models.segmenter import KIND, SegmenterConfig, UNetSegmenter
from trainers.evaluation.fcn_score import confusion_matrix, segmentation_scores
from trainers.label_to_photo import label_colors
from trainers.launch import add_data_arguments, add_loop_arguments, main_for
from trainers.loop import TrainingError
from trainers.recipe import OptimizerSpec, PairedRecipe, StepContext

IGNORE = -100  # cross_entropy's marker of pixels without a class to learn


@dataclass(frozen=True)
class SegmenterTraining:
    lr: float = 0.0005
    betas: tuple[float, float] = (0.9, 0.999)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmenterTraining:
        return cls(lr=data["lr"], betas=tuple(data["betas"]))


class SegmenterRecipe(PairedRecipe):
    kind = KIND
    module = "trainers.segmenter"

    def __init__(
        self,
        network: SegmenterConfig,
        label_set: LabelSet,
        size: tuple[int, int],
        training: SegmenterTraining,
    ):
        if network.num_classes != label_set.label_nc:
            raise TrainingError(
                f"the segmenter has {network.num_classes} outputs but the label set '{label_set.name}' "
                f"has {label_set.label_nc} classes"
            )
        self.network = network
        self.label_set = label_set
        self.size = size
        self.training = training

    @property
    def image_size(self) -> tuple[int, int]:
        return self.size

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network.to_dict(),
            "label_set": self.label_set.to_dict(),
            "size": list(self.size),
            "training": asdict(self.training),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmenterRecipe:
        return cls(
            SegmenterConfig.from_dict(data["network"]),
            LabelSet.from_dict(data["label_set"]),
            tuple(data["size"]),
            SegmenterTraining.from_dict(data["training"]),
        )

    def build_networks(self) -> dict[str, nn.Module]:
        return {"S": UNetSegmenter(self.network)}

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"S": OptimizerSpec(("S",), self.training.lr, self.training.betas)}

    def inference_networks(self) -> dict[str, nn.Module]:
        return {"S": UNetSegmenter(self.network)}

    def inference_state(self, name: str, network: nn.Module) -> dict[str, Tensor]:
        return network.state_dict()

    def targets(self, labels: Tensor) -> Tensor:
        """Channel indices with the don't-care channel (the last, when the set has one) ignored."""
        if self.label_set.dontcare_id is None:
            return labels
        return labels.masked_fill(labels == self.label_set.label_nc, IGNORE)

    def train_step(self, batch: Mapping[str, Any], ctx: StepContext) -> dict[str, Tensor]:
        with ctx.autocast():
            logits = ctx.nets["S"](batch["image"])
        loss = F.cross_entropy(logits.float(), self.targets(batch["labels"]), ignore_index=IGNORE)
        ctx.optimize("S", loss)
        return {"S/cross_entropy": loss.detach()}

    def _predict(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> Tensor:
        return networks["S"](batch["image"]).argmax(dim=1)

    def visualize(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> list[Tensor]:
        predicted = self._predict(batch, networks)
        return [
            batch["image"].float(),
            label_colors(predicted, self.label_set),
            label_colors(batch["labels"], self.label_set),
        ]

    def metrics(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> dict[str, float]:
        """Scores on the fixed sample batch (training photos, centre crops)."""
        n = self.label_set.label_nc
        predicted = self._predict(batch, networks).cpu().numpy()
        scores = segmentation_scores(confusion_matrix(batch["labels"].cpu().numpy(), predicted, n))
        return {"sample_pixel_accuracy": scores.pixel_accuracy, "sample_mean_iou": scores.mean_iou}

    def model_card(self, name: str, **fields: Any) -> ModelCard:
        config = self.network
        return self.card(
            name,
            fields,
            architecture=config,
            native_size=self.size,
            label_set=self.label_set,
            description=(
                f"U-Net segmenter (width {config.width}, depth {config.depth}) for the FCN-score, "
                "trained with synthpaint"
            ),
            training={"loss": "cross-entropy", "lr": self.training.lr, "betas": list(self.training.betas)},
        )


RECIPE = SegmenterRecipe


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.segmenter",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    model = parser.add_argument_group("segmenter")
    model.add_argument(
        "--size", type=int, default=256, help="height of the training crops and of the model (default: 256)"
    )
    model.add_argument(
        "--aspect", type=float, help="width / height of the crops (default: 2 for cityscapes, else 1)"
    )
    model.add_argument(
        "--width", type=int, default=32, help="channels at full resolution (default: %(default)s)"
    )
    model.add_argument(
        "--depth", type=int, default=5, help="halvings of the resolution in the U-Net (default: %(default)s)"
    )
    model.add_argument("--lr", type=float, default=0.0005, help="Adam learning rate (default: %(default)s)")
    add_loop_arguments(parser)
    return parser


def recipe_from_args(args: argparse.Namespace, label_set: LabelSet, has_instances: bool) -> SegmenterRecipe:
    if args.size < 1:
        raise TrainingError(f"--size must be positive, got {args.size}")
    aspect = args.aspect or (2.0 if args.format == "cityscapes" else 1.0)
    try:
        network = SegmenterConfig(num_classes=label_set.label_nc, width=args.width, depth=args.depth)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    size = (args.size, max(1, round(args.size * aspect)))
    return SegmenterRecipe(network, label_set, size, SegmenterTraining(lr=args.lr))


def main(argv: list[str] | None = None) -> int:
    return main_for(build_parser(), recipe_from_args, argv)


if __name__ == "__main__":
    sys.exit(main())
