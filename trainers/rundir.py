"""The layout of a run folder:

* ``run.json``: recipe and options (how to rebuild and resume the run)
* ``checkpoint.pt``: latest training state (atomic; ``--resume`` continues from it)
* ``samples/``: PNG grids of the fixed sample batch (labels | output | real)
* ``tensorboard/``: TensorBoard scalars and image grids
* ``problems.log``: files that were skipped, one line each
* ``model/``: the exported engine model (at the end of training)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.checkpoints import atomic_write_bytes
from engine.errors import CheckpointError

RUN_FILE = "run.json"
CHECKPOINT_FILE = "checkpoint.pt"
MODEL_DIR = "model"
RUN_FORMAT = "synthpaint.run"


def write_run_file(
    run_dir: Path, recipe_module: str, recipe: dict[str, Any], train: dict[str, Any], data: dict[str, Any]
) -> None:
    payload = {
        "format": RUN_FORMAT,
        "recipe": recipe_module,
        "recipe_config": recipe,
        "train": train,
        "data": data,
    }
    atomic_write_bytes(Path(run_dir) / RUN_FILE, json.dumps(payload, indent=2).encode())


def read_run_file(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_FILE
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{run_dir} is not a training run: it has no {RUN_FILE}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"the run file {path} is damaged ({exc})") from None
    if not isinstance(run, dict) or run.get("format") != RUN_FORMAT:
        raise CheckpointError(f"{path} is not a synthpaint run file")
    return run


def data_folders(data: Mapping[str, Any]) -> str:
    """Where a run's data is, from its ``run.json`` data: one dataset folder or photo folders."""
    return data["root"] if "root" in data else ", ".join(data["roots"])
