"""Shared test helpers: where ../shared is, and loaders for the official parity fixtures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"
DATASETS = SHARED / "datasets"


def require_shared(path: Path) -> Path:
    """Skip (with the reason) when the shared reference data is not checked out beside the repo."""
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared must sit beside the repository)")
    return path


def load_fixture(name: str) -> tuple[dict, dict, dict]:
    """(io tensors, G/E weights merged under 'G'/'E', info.json) of a parity fixture."""
    from safetensors.torch import load_file

    folder = require_shared(REFERENCE / "fixtures" / name)
    weights = {
        part: load_file(folder / f"{part}.safetensors")
        for part in ("G", "E")
        if (folder / f"{part}.safetensors").exists()
    }
    info = json.loads((folder / "info.json").read_text())
    return load_file(folder / "io.safetensors"), weights, info


def load_manifest(name: str) -> dict:
    return json.loads(require_shared(REFERENCE / "manifests" / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def no_shipped_models(request, tmp_path_factory, monkeypatch):
    """Tests see only the models they install, not what ``assets/models`` ships (tested on its own)."""
    if "shipped" not in request.keywords:
        monkeypatch.setattr("engine.registry.SHIPPED_MODELS", tmp_path_factory.mktemp("no-shipped-models"))
