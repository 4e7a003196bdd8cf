"""Our model format (safetensors weights + a JSON model card) and safe reading of foreign checkpoints.

A model is a folder::

    model.json           the card: kind, architecture, label set, native size, provenance, metrics
    model.safetensors    weights, keys prefixed by network: ``G.`` generator, ``E.`` style encoder
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from engine.errors import CheckpointError

CARD_FILE = "model.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


@dataclass
class ModelCard:
    """What a model is and where it came from; shown in the app and by ``python -m engine models``."""

    name: str
    kind: str
    architecture: dict[str, Any]
    label_set: dict[str, Any] | None
    native_size: tuple[int, int]
    description: str = ""
    source: str = ""
    trained_on: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    license: str = ""
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["native_size"] = list(self.native_size)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = {f for f in cls.__dataclass_fields__}
        data = {k: v for k, v in data.items() if k in known}
        data["native_size"] = tuple(data["native_size"])
        return cls(**data)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write via a temporary file in the same folder and rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(
    folder: str | Path,
    card: ModelCard,
    networks: Mapping[str, nn.Module | Mapping[str, Tensor]],
    float_dtype: torch.dtype | None = None,
) -> Path:
    """Write ``card`` and the networks' weights (e.g. ``{"G": generator, "E": encoder}``) to ``folder``.

    ``float_dtype`` (e.g. ``torch.float16``) stores floating-point tensors at that precision to halve
    the file; loading converts them back to the network's dtype.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, Tensor] = {}
    for prefix, net in networks.items():
        state = net.state_dict() if isinstance(net, nn.Module) else net
        for key, value in state.items():
            value = value.detach().cpu()
            if float_dtype is not None and value.is_floating_point():
                value = value.to(float_dtype)
            tensors[f"{prefix}.{key}"] = value.contiguous()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".weights.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"format": "synthpaint", "kind": card.kind})
        os.replace(tmp, folder / WEIGHTS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    atomic_write_bytes(folder / CARD_FILE, json.dumps(card.to_dict(), indent=2).encode())
    return folder


def architecture_from_card(config_class: Any, card: ModelCard, folder: str | Path, what: str) -> Any:
    """``config_class.from_dict(card.architecture)``; a card that does not fit is a CheckpointError."""
    try:
        return config_class.from_dict(card.architecture)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"the architecture in {Path(folder) / CARD_FILE} is not a {what} config ({exc})"
        ) from None


def read_card(folder: str | Path) -> ModelCard:
    path = Path(folder) / CARD_FILE
    try:
        return ModelCard.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise CheckpointError(f"{folder} is not a synthpaint model: it has no {CARD_FILE}") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"the model card {path} is damaged ({exc})") from None


def read_weights(folder: str | Path) -> dict[str, dict[str, Tensor]]:
    """The model's tensors grouped by network prefix: ``{"G": {...}, "E": {...}}``."""
    flat = read_state_dict(Path(folder) / WEIGHTS_FILE)
    grouped: dict[str, dict[str, Tensor]] = {}
    for key, value in flat.items():
        prefix, _, rest = key.partition(".")
        grouped.setdefault(prefix, {})[rest] = value
    return grouped


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Tensors of a .safetensors file or a PyTorch pickle, never executing code from the file.

    Pickles load with ``weights_only=True``: a file that needs anything but tensors and plain
    containers (for example one crafted to run code) is refused. Lightning checkpoints are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        try:
            return load_file(path)
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path.name} is not a readable safetensors file ({exc})") from None
    try:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            data = _load_training_checkpoint(path, exc)
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path.name} is not a readable PyTorch checkpoint ({exc})") from None
    if isinstance(data, Mapping) and isinstance(data.get("state_dict"), Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping) or not all(isinstance(v, Tensor) for v in data.values()):
        raise CheckpointError(f"{path.name} does not hold a state dict of tensors")
    return dict(data)


# Training frameworks whose objects (callback states, hyper-parameter containers) ride along in
# released checkpoints, e.g. LaMa's Lightning ``best.ckpt``; they never hold weights we need.
TRAINING_FRAMEWORKS = ("pytorch_lightning.", "lightning.", "lightning_fabric.", "omegaconf.")


class _Inert:
    """Stands in for a training framework's object while unpickling: builds nothing, runs nothing."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def __setstate__(self, _state: Any) -> None:
        pass


def _load_training_checkpoint(path: Path, refusal: pickle.UnpicklingError) -> Any:
    """Load a checkpoint whose only non-tensor objects belong to training frameworks, as inert stubs.

    Anything else (for example a pickle crafted to call ``os.system``) is refused, naming it.
    """
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (RuntimeError, ValueError, OSError):  # a bare (non-zip) pickle: nothing can be vetted
        names = []
    unsafe = [name for name in names if not name.startswith(TRAINING_FRAMEWORKS)]
    if unsafe or not names:
        first_line = str(refusal).strip().splitlines()[0] if str(refusal).strip() else "unknown objects"
        raise CheckpointError(
            f"refused to load {path.name}: it contains Python objects other than tensors, which could "
            f"run code on this machine ({', '.join(unsafe) or first_line})"
        )
    with torch.serialization.safe_globals([(_Inert, name) for name in names]):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise CheckpointError(
                f"refused to load {path.name}: {str(exc).strip().splitlines()[0]}"
            ) from None


def load_checked(
    module: nn.Module, state: Mapping[str, Tensor], source: str, hint: str = "", new_parts_ok: bool = False
) -> list[str]:
    """Load ``state`` into ``module`` after checking every key and shape; name the first mismatch.

    ``num_batches_tracked`` may be missing (old files); it does not affect inference. With
    ``new_parts_ok`` a top-level submodule the file has no key of at all (e.g. a branch added to a
    model being fine-tuned) keeps its fresh weights; the names of such parts are returned.
    """
    expected = module.state_dict()
    suffix = f" ({hint})" if hint else ""

    def part(key: str) -> str:
        return key.split(".")[0]

    fresh = sorted({part(k) for k in expected} - {part(k) for k in state}) if new_parts_ok else []
    for key, value in expected.items():
        if key not in state:
            if key.endswith("num_batches_tracked") or part(key) in fresh:
                continue
            raise CheckpointError(f"{source} does not fit this network: key '{key}' is missing{suffix}")
        got = tuple(state[key].shape)
        if got != tuple(value.shape):
            raise CheckpointError(
                f"{source} does not fit this network: '{key}' has shape {got} in the file, "
                f"expected {tuple(value.shape)}{suffix}"
            )
    for key in state:
        if key not in expected:
            raise CheckpointError(f"{source} does not fit this network: unexpected key '{key}'{suffix}")
    module.load_state_dict(state, strict=False)
    return fresh
