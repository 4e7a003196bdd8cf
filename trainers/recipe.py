"""What is specific to one model: its networks, one training step, its samples and its export.

A recipe is small; ``trainers.loop.Trainer`` does the rest (devices, processes, precision,
optimisers, EMA, checkpoints, logging). A recipe must be rebuildable from its ``to_dict`` (saved
in the run's ``run.json``), which is how ``python -m trainers.export`` reopens a run.
"""

from __future__ import annotations

import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch
from torch import Tensor, nn

from engine.checkpoints import ModelCard
from engine.errors import CheckpointError
from engine.labels import LabelSet


@dataclass(frozen=True)
class OptimizerSpec:
    """An Adam optimiser over the parameters of ``networks``: network names, or dotted paths to one
    of their submodules (``"G.model1_1"``) when only part of a network is trained."""

    networks: tuple[str, ...]
    lr: float
    betas: tuple[float, float]


class StepContext(Protocol):
    """What the loop hands a recipe's ``train_step``."""

    step: int
    device: torch.device
    nets: Mapping[str, nn.Module]  # wrapped for multi-process training: call these for gradients
    raw: Mapping[str, nn.Module]  # the networks themselves (e.g. D's forward for G's loss)

    def autocast(self, enabled: bool = True) -> AbstractContextManager[None]: ...

    def optimize(self, name: str, loss: Tensor) -> None:
        """Backward ``loss`` (scaled under mixed precision) and step optimiser ``name``."""


@contextmanager
def frozen(*modules: nn.Module):
    """Parameters of ``modules`` need no gradient inside the block (e.g. D during G's step)."""
    flags = [(p, p.requires_grad) for m in modules for p in m.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


class Recipe(ABC):
    """One model's training. ``module`` is the recipe's import path, recorded in ``run.json``."""

    kind: ClassVar[str]
    module: ClassVar[str]

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this recipe with ``from_dict``."""

    @classmethod
    @abstractmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe: ...

    @abstractmethod
    def build_networks(self) -> dict[str, nn.Module]:
        """The trainable networks by name (e.g. G, D, E), freshly initialised, on the CPU."""

    @abstractmethod
    def optimizers(self) -> dict[str, OptimizerSpec]: ...

    @abstractmethod
    def inference_networks(self) -> dict[str, nn.Module]:
        """Fresh networks of the exported kind (the engine's classes) for the EMA, by name."""

    @abstractmethod
    def inference_state(self, name: str, network: nn.Module) -> dict[str, Tensor]:
        """A training network's state in the inference network's form (e.g. spectral norm folded)."""

    @abstractmethod
    def train_step(self, batch: Mapping[str, Any], ctx: StepContext) -> dict[str, Tensor]:
        """One iteration on a batch already on the device; returns the losses to log (detached)."""

    @abstractmethod
    def visualize(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> list[Tensor]:
        """Columns of a sample grid, each (N, 3, H, W) in [-1, 1]: e.g. labels | output | real."""

    @abstractmethod
    def model_card(self, name: str, **fields: Any) -> ModelCard:
        """The exported model's card; ``fields`` are provenance (trained_on, training, metrics)."""

    def card(
        self,
        name: str,
        fields: Mapping[str, Any],
        *,
        architecture: Any,
        native_size: tuple[int, int],
        description: str,
        training: Mapping[str, Any],
        label_set: LabelSet | None = None,
    ) -> ModelCard:
        """The card of ``model_card``: provenance ``fields`` with this recipe's ``training`` settings
        (losses, optimiser) added to theirs; ``architecture`` is the network config."""
        return ModelCard(
            name=name,
            kind=self.kind,
            architecture=architecture.to_dict(),
            label_set=None if label_set is None else label_set.to_dict(),
            native_size=native_size,
            description=description,
            source=f"python -m {self.module}",
            **{**fields, "training": {**fields.get("training", {}), **training}},
        )

    def starting_state(self, name: str, state: Mapping[str, Tensor]) -> Mapping[str, Tensor]:
        """Network ``name``'s weights from an exported model (``--init``) as this run's start; a
        recipe may widen them for an input the model did not have."""
        return state

    def metrics(self, batch: Mapping[str, Any], networks: Mapping[str, nn.Module]) -> dict[str, float]:
        """Numbers about the EMA networks on the fixed sample batch, logged and put in the card."""
        return {}

    def exported_tensors(self, run_dir: Path, step: int) -> dict[str, dict[str, Tensor]]:
        """Tensors exported beside the networks, by weight prefix, for the checkpoint at ``step`` (e.g.
        a feature bank that a later command wrote into the run folder)."""
        return {}


class PairedRecipe(Recipe):
    """A recipe trained on photo + label-map pairs (``trainers.data.PairedDataset``)."""

    label_set: LabelSet

    @property
    @abstractmethod
    def image_size(self) -> tuple[int, int]:
        """(H, W) of the training crops."""


RECIPE_MODULE = re.compile(r"trainers\.[a-z0-9_]+")


def load_recipe(module: str, data: Mapping[str, Any]) -> Recipe:
    """Rebuild a recipe recorded in a run: ``module`` must be one of this package's recipe modules."""
    if not RECIPE_MODULE.fullmatch(module):
        raise CheckpointError(f"'{module}' is not a trainers recipe module")
    try:
        recipe_class = importlib.import_module(module).RECIPE
    except (ImportError, AttributeError):
        raise CheckpointError(f"this version has no training recipe '{module}'") from None
    try:
        return recipe_class.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"the recorded options of recipe '{module}' do not fit this version ({exc})"
        ) from None
