"""Where models live: shipped ones in ``assets/models/``, the user's in their model directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from engine.checkpoints import CARD_FILE, ModelCard, read_card
from engine.errors import CheckpointError, ModelNotFoundError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_MODELS = ASSETS / "models"


def user_data_dir() -> Path:
    """Per-user data folder (``SYNTHPAINT_HOME`` overrides), following each OS's convention."""
    if override := os.environ.get("SYNTHPAINT_HOME"):
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "synthpaint"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "synthpaint"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "synthpaint"


def model_dirs() -> list[Path]:
    """Folders searched for models, shipped first."""
    return [SHIPPED_MODELS, user_data_dir() / "models"]


def list_models() -> list[tuple[Path, ModelCard]]:
    """Every readable model in the search folders (damaged ones are skipped)."""
    found = []
    for root in model_dirs():
        if not root.is_dir():
            continue
        for card_path in sorted(root.glob(f"*/{CARD_FILE}")):
            try:
                found.append((card_path.parent, read_card(card_path.parent)))
            except CheckpointError:
                continue
    return found


def takes_guide(card: ModelCard) -> bool:
    """Whether the card's model is an inpainter that follows a guide sketch drawn in the hole."""
    return card.kind == "lama" and card.architecture.get("guide_channels", 0) > 0


def guided_inpainters() -> list[tuple[Path, ModelCard]]:
    """Installed inpainting models that take a guide sketch (shipped first): the ones a guide
    drawn by the user needs."""
    return [(folder, card) for folder, card in list_models() if takes_guide(card)]


def resolve_model(name_or_path: str | Path) -> Path:
    """A model folder from a path or from the name of an installed model."""
    path = Path(name_or_path).expanduser()
    if (path / CARD_FILE).is_file():
        return path
    if path.is_file() and path.name == CARD_FILE:
        return path.parent
    for folder, card in list_models():
        if str(name_or_path) in (card.name, folder.name):
            return folder
    names = ", ".join(card.name for _, card in list_models()) or "none installed"
    raise ModelNotFoundError(
        f"no model '{name_or_path}' (not a model folder, nor an installed model: {names})"
    )


# what each kind of model is given (label-map kinds add their label set)
MODEL_INPUTS = {"pix2pix": "sketch", "lama": "photo+hole", "colorization": "grey+hints", "segmenter": "photo"}


def model_input(card: ModelCard) -> str:
    """What the model is given, as ``engine models`` and the app list it: "labels facades", "sketch"..."""
    if card.label_set and card.kind != "segmenter":
        return f"labels {card.label_set.get('name', '?')}"
    return MODEL_INPUTS.get(card.kind, card.kind) + ("+guide" if takes_guide(card) else "")
