"""Which models the pickers offer and which one each tab starts with, remembered across runs.

The pickers offer the installed models plus every folder the user opened (File > Open Model
Folder: a model just trained in ``runs/…/model`` need not be copied anywhere to stay at hand), and
each tab starts with the model it ran last.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from engine.checkpoints import ModelCard, read_card
from engine.errors import CheckpointError
from engine.registry import list_models, model_dirs

OPENED_KEY = "opened_model_folders"
MAX_OPENED = 16


def offered_models(settings: QSettings) -> list[tuple[Path, ModelCard]]:
    """(folder, card) of the installed models, then of the opened folders that still hold a model."""
    found = list_models()
    seen = {folder.resolve() for folder, _ in found}
    for text in _opened(settings):
        folder = Path(text)
        if folder.resolve() in seen:
            continue
        try:
            found.append((folder, read_card(folder)))
        except CheckpointError:  # moved, deleted or damaged since: no longer offered
            continue
        seen.add(folder.resolve())
    return found


def remember_model(settings: QSettings, tab: str, folder: Path | None) -> None:
    """``folder`` is what ``tab`` ran last; a folder outside the model directories is kept on offer."""
    if folder is None:
        return
    folder = Path(folder).resolve()
    settings.setValue(f"last_model/{tab}", str(folder))
    if folder.parent not in {root.resolve() for root in model_dirs()}:  # not an installed model
        opened = [str(folder)] + [p for p in _opened(settings) if Path(p).resolve() != folder]
        settings.setValue(OPENED_KEY, opened[:MAX_OPENED])


def starting_model(settings: QSettings, tab: str, offered: list[tuple[Path, ModelCard]]) -> Path | None:
    """The folder ``tab`` ran last if it is still offered, else the first offered (None: none)."""
    last = settings.value(f"last_model/{tab}", "", type=str)
    for folder, _ in offered:
        if last and folder.resolve() == Path(last):
            return folder
    return offered[0][0] if offered else None


def _opened(settings: QSettings) -> list[str]:
    return [str(p) for p in settings.value(OPENED_KEY, [], type=list) or []]
