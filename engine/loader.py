"""``engine.load_model``: open any model folder (or installed model) with the runtime of its kind.

Each kind of model card has one runtime class with ``from_folder(folder, card, device, dtype)``
and ``warm_up()``; they are imported lazily, so loading a SPADE model never imports LaMa.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from engine.checkpoints import read_card
from engine.device import pick_device, pick_dtype
from engine.errors import CheckpointError
from engine.registry import resolve_model

# card kind -> (module, runtime class, what the mode does for a person)
RUNTIMES: dict[str, tuple[str, str, str]] = {
    "spade": ("engine.session", "SynthesisModel", "label map to photo"),
    "pix2pixhd": ("engine.instance_synthesis", "InstanceSynthesisModel", "label map + instances to photo"),
    "pix2pix": ("engine.sketch", "SketchModel", "sketch to photo"),
    "lama": ("engine.inpainting", "InpaintingModel", "inpainting"),
    "colorization": ("engine.colorization", "ColorizationModel", "colorization with hints"),
}


def runtime_class(kind: str) -> type:
    """The runtime class for a card kind; a clear error for kinds this version does not know."""
    if kind not in RUNTIMES:
        raise CheckpointError(
            f"'{kind}' models cannot be run by this version (known kinds: {', '.join(RUNTIMES)})"
        )
    module, name, _ = RUNTIMES[kind]
    return getattr(importlib.import_module(module), name)


def load_model(
    name_or_path: str | Path, device: str = "auto", precision: str = "auto", warm_up: bool | None = None
) -> Any:
    """Load an installed model by name, or a model folder, onto ``device`` ('auto', 'cpu', 'cuda', 'mps').

    Returns the runtime of the card's kind: ``SynthesisModel`` (spade: ``synthesize``),
    ``InstanceSynthesisModel`` (pix2pixhd: ``synthesize`` with instances and feature codes),
    ``SketchModel`` (pix2pix: ``translate``), ``InpaintingModel`` (lama: ``inpaint``) or
    ``ColorizationModel`` (colorization: ``colorize``). ``warm_up`` defaults to on for GPUs, where
    the first call pays for kernel selection.
    """
    folder = resolve_model(name_or_path)
    card = read_card(folder)
    runtime = runtime_class(card.kind)
    torch_device = pick_device(device)
    model = runtime.from_folder(folder, card, torch_device, pick_dtype(torch_device, precision))
    model.folder = folder
    if warm_up or (warm_up is None and torch_device.type != "cpu"):
        model.warm_up()
    return model
