"""Project files (``.synthpaint``) and the crash-recovery copies the app autosaves.

A project is a zip of lossless PNG layers plus ``project.json``, so people can unzip it and look inside.
Pure Python/numpy/PIL (no Qt), so saving and loading can be tested without a display.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from engine.checkpoints import atomic_write_bytes
from engine.errors import LabelRangeError, LabelSetError, SynthpaintError
from engine.labels import LabelSet
from engine.registry import user_data_dir

PROJECT_SUFFIX = ".synthpaint"
FORMAT_VERSION = 1

JSON_MEMBER = "project.json"
LABELS_MEMBER = "labels.png"
INSTANCES_MEMBER = "instances.png"
COLOR_MEMBER = "labels_color.png"
LAYER_FOLDER = "layers/"  # the other modes' images (sketch, photo, mask...): layers/<name>.png

MAX_MEMBER_BYTES = 1 << 30  # a real canvas is far smaller; anything bigger is a zip bomb or damage
MAX_CANVAS = 16384  # pixels per side
# PNG has no 32-bit greyscale (and Pillow cannot write one), so instance ids travel as 24-bit RGB,
# id = r<<16 | g<<8 | b: the convention engine.labels.read_instance_image already reads
MAX_INSTANCE_ID = (1 << 24) - 1

_RESERVED_KEYS = ("format_version", "canvas_size", "label_set", "model", "style", "seed", "modes")
_LAYER_NAME = re.compile(r"[a-z0-9_]+")
_LABEL_MODES = ("L", "I", "I;16", "I;16L", "I;16B")
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]+")


class ProjectError(SynthpaintError):
    """A project file cannot be read or written; the message names the file."""


@dataclass
class Project:
    """Everything needed to reopen a painting where the user left it."""

    label_set: LabelSet
    labels: np.ndarray  # int32 H x W label ids
    instances: np.ndarray | None = None  # H x W instance ids, same size as labels
    model: str | None = None  # model name or folder path
    style: str | None = None  # style image path
    seed: int | None = None
    modes: dict[str, dict[str, Any]] = field(default_factory=dict)  # mode name -> its JSON-able state
    layers: dict[str, np.ndarray] = field(default_factory=dict)  # name -> uint8 grey or RGB image, any size
    extras: dict[str, Any] = field(default_factory=dict)  # unknown JSON keys, kept for newer versions


# --- saving ----------------------------------------------------------------------------------------------


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _instance_rgb(instances: np.ndarray) -> np.ndarray:
    ids = instances.astype(np.int64)
    return np.stack([(ids >> 16) & 255, (ids >> 8) & 255, ids & 255], axis=-1).astype(np.uint8)


def _check_for_saving(path: Path, project: Project) -> tuple[np.ndarray, np.ndarray | None]:
    """Refuse what could not be read back exactly, before anything is written."""
    labels = np.asarray(project.labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 2-D integer array, got {labels.dtype} {labels.shape}")
    if max(labels.shape) > MAX_CANVAS or min(labels.shape) < 1:
        raise ProjectError(
            f"cannot save {path}: the canvas is {labels.shape[1]}x{labels.shape[0]} pixels, "
            f"but each side must lie in 1..{MAX_CANVAS}"
        )
    try:
        project.label_set.validate(labels, source=path)
    except LabelRangeError as err:
        raise ProjectError(f"cannot save the project: {err}") from err
    if project.instances is None:
        return labels, None
    instances = np.asarray(project.instances)
    if not np.issubdtype(instances.dtype, np.integer):
        raise ValueError(f"instances must be an integer array, got {instances.dtype}")
    if instances.shape != labels.shape:
        raise ValueError(f"the instance map is {instances.shape}, but the label map is {labels.shape}")
    if instances.size and (instances.min() < 0 or instances.max() > MAX_INSTANCE_ID):
        raise ProjectError(
            f"cannot save {path}: instance ids must lie in 0..{MAX_INSTANCE_ID}, "
            f"got {instances.min()}..{instances.max()}"
        )
    return labels, instances


def _check_layers(path: Path, layers: dict[str, np.ndarray]) -> None:
    for name, image in layers.items():
        if not _LAYER_NAME.fullmatch(name):
            raise ValueError(f"layer names must be lower-case letters, digits and _, got {name!r}")
        if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise ValueError(f"layer {name} must be uint8 grey or RGB, got {image.dtype} {image.shape}")
        if max(image.shape[:2]) > MAX_CANVAS or min(image.shape[:2]) < 1:
            raise ProjectError(
                f"cannot save {path}: the {name} layer is {image.shape[1]}x{image.shape[0]} pixels, "
                f"but each side must lie in 1..{MAX_CANVAS}"
            )


def save_project(path: str | os.PathLike[str], project: Project) -> None:
    """Write the project atomically, so a crash or a full disk never damages the previous file."""
    path = Path(path)
    labels, instances = _check_for_saving(path, project)
    _check_layers(path, project.layers)
    clash = sorted(set(project.extras) & set(_RESERVED_KEYS))
    if clash:
        raise ValueError(f"extras must not use the reserved keys {', '.join(clash)}")
    meta = {
        **project.extras,
        "format_version": FORMAT_VERSION,
        "canvas_size": [int(labels.shape[0]), int(labels.shape[1])],
        "label_set": project.label_set.to_dict(),
        "model": project.model,
        "style": project.style,
        "seed": None if project.seed is None else int(project.seed),
        "modes": project.modes,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(JSON_MEMBER, json.dumps(meta, indent=2), compress_type=zipfile.ZIP_DEFLATED)
        # PNGs are compressed already: storing them saves time on every autosave
        archive.writestr(LABELS_MEMBER, _png_bytes(Image.fromarray(labels.astype(np.uint16))))
        if instances is not None:
            archive.writestr(INSTANCES_MEMBER, _png_bytes(Image.fromarray(_instance_rgb(instances))))
        colors = project.label_set.to_colors(labels)
        archive.writestr(COLOR_MEMBER, _png_bytes(Image.fromarray(colors)))
        for name, image in project.layers.items():
            archive.writestr(f"{LAYER_FOLDER}{name}.png", _png_bytes(Image.fromarray(image)))
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as err:
        raise ProjectError(f"cannot write the project file {path} ({err})") from err


# --- loading ---------------------------------------------------------------------------------------------


def _read_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ProjectError(
            f"the project file {path} has no {name}, so it is damaged or not a project"
        ) from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise ProjectError(
            f"{name} in the project file {path} would unpack to {info.file_size} bytes, "
            "which is refused as unsafe"
        )
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as err:
        raise ProjectError(f"{name} in the project file {path} is damaged ({err})") from err


def _read_png(data: bytes, name: str, path: Path, size: tuple[int, int] | None) -> Image.Image:
    """Decode a PNG layer, checking its size from the header before the pixels are unpacked.

    ``size`` None: any size up to ``MAX_CANVAS`` per side.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        if size is None and max(image.size) > MAX_CANVAS:
            raise ProjectError(
                f"{name} in the project file {path} is {image.width}x{image.height} pixels, "
                f"more than {MAX_CANVAS} per side"
            )
        if size is not None and (image.height, image.width) != size:
            raise ProjectError(
                f"{name} in the project file {path} is {image.width}x{image.height} pixels, "
                f"but project.json says {size[1]}x{size[0]}"
            )
        image.load()
    except Image.DecompressionBombError as err:
        raise ProjectError(f"{name} in the project file {path} is too large to open ({err})") from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as err:
        raise ProjectError(f"{name} in the project file {path} is not a readable PNG image ({err})") from err
    return image


def _parse_meta(data: bytes, path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ProjectError(f"{JSON_MEMBER} in the project file {path} is not valid JSON ({err})") from err
    if not isinstance(meta, dict):
        raise ProjectError(f"{JSON_MEMBER} in the project file {path} is not a JSON object")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"the project file {path} has no valid format_version, so it is damaged")
    if version > FORMAT_VERSION:
        raise ProjectError(
            f"the project file {path} was saved by a newer synthpaint (project format {version}; "
            f"this version reads up to {FORMAT_VERSION}), so update synthpaint to open it"
        )
    size = meta.get("canvas_size")
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) for s in size)
    ):
        raise ProjectError(f"the project file {path} has no valid canvas_size [height, width]")
    if not all(1 <= s <= MAX_CANVAS for s in size):
        raise ProjectError(
            f"the project file {path} has a {size[1]}x{size[0]} canvas, "
            f"but each side must lie in 1..{MAX_CANVAS} pixels"
        )
    for key in ("model", "style"):
        if not isinstance(meta.get(key), str | None):
            raise ProjectError(f"the project file {path} has a {key} that is not a string")
    modes = meta.get("modes", {})
    if not isinstance(modes, dict) or not all(isinstance(v, dict) for v in modes.values()):
        raise ProjectError(f"the project file {path} has a 'modes' entry that is not an object of objects")
    seed = meta.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ProjectError(f"the project file {path} has a seed that is not an integer")
    return meta


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a project; every problem becomes a ProjectError naming the file, never a raw traceback."""
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as err:
        raise ProjectError(f"the project file {path} does not exist") from err
    except IsADirectoryError as err:
        raise ProjectError(f"the project file {path} is a folder, not a file") from err
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as err:
        raise ProjectError(
            f"the file {path} is not a synthpaint project or is damaged (not a valid zip)"
        ) from err
    except OSError as err:
        raise ProjectError(f"cannot read the project file {path} ({err})") from err
    with archive:
        meta = _parse_meta(_read_member(archive, JSON_MEMBER, path), path)
        size = (meta["canvas_size"][0], meta["canvas_size"][1])
        try:
            label_set = LabelSet.from_dict(meta["label_set"], source=f"label set in the project file {path}")
        except KeyError:
            raise ProjectError(f"the project file {path} has no label_set") from None
        except LabelSetError as err:
            raise ProjectError(str(err)) from err

        image = _read_png(_read_member(archive, LABELS_MEMBER, path), LABELS_MEMBER, path, size)
        if image.mode not in _LABEL_MODES:
            raise ProjectError(
                f"{LABELS_MEMBER} in the project file {path} has pixel mode {image.mode}, not greyscale ids"
            )
        labels = np.asarray(image).astype(np.int32)
        try:
            label_set.validate(labels, source=path)
        except LabelRangeError as err:
            raise ProjectError(str(err)) from err

        instances = None
        if INSTANCES_MEMBER in archive.namelist():
            image = _read_png(_read_member(archive, INSTANCES_MEMBER, path), INSTANCES_MEMBER, path, size)
            if image.mode != "RGB":
                raise ProjectError(
                    f"{INSTANCES_MEMBER} in the project file {path} has pixel mode {image.mode}, not RGB"
                )
            rgb = np.asarray(image).astype(np.int64)
            instances = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]

        layers = {}
        for member in archive.namelist():
            name = member[len(LAYER_FOLDER) : -len(".png")]
            if not (
                member.startswith(LAYER_FOLDER) and member.endswith(".png") and _LAYER_NAME.fullmatch(name)
            ):
                continue
            image = _read_png(_read_member(archive, member, path), member, path, None)
            if image.mode not in ("L", "RGB"):
                image = image.convert("RGB")
            layers[name] = np.asarray(image).copy()

    return Project(
        label_set=label_set,
        labels=labels,
        instances=instances,
        model=meta.get("model"),
        style=meta.get("style"),
        seed=meta.get("seed"),
        modes=meta.get("modes", {}),
        layers=layers,
        extras={k: v for k, v in meta.items() if k not in _RESERVED_KEYS},
    )


# --- crash recovery --------------------------------------------------------------------------------------


def recovery_dir() -> Path:
    """Where autosaves go: per user, outside any project folder, so they survive a crash of the app."""
    return user_data_dir() / "recovery"


def recovery_path(project_path: str | os.PathLike[str] | None, session_id: str) -> Path:
    """One stable autosave file per project path; unsaved documents are told apart by the app's session."""
    if project_path is None:
        if not _SESSION_ID.fullmatch(session_id):
            raise ValueError(f"session id {session_id!r} must be letters, digits, '-' or '_'")
        return recovery_dir() / f"untitled-{session_id}{PROJECT_SUFFIX}"
    absolute = Path(project_path).expanduser().resolve()
    digest = hashlib.sha256(os.path.normcase(str(absolute)).encode("utf-8")).hexdigest()[:8]
    return recovery_dir() / f"{absolute.stem}-{digest}{PROJECT_SUFFIX}"


def write_recovery(project: Project, project_path: str | os.PathLike[str] | None, session_id: str) -> Path:
    """Autosave ``project``; extras["recovered_from"] records the file it belongs to (None if unsaved)."""
    original = None if project_path is None else str(Path(project_path).expanduser().resolve())
    target = recovery_path(project_path, session_id)
    save_project(target, dataclasses.replace(project, extras={**project.extras, "recovered_from": original}))
    return target


def list_recoveries() -> list[tuple[Path, float]]:
    """Autosaves left behind (by a crash), newest first, with their modification times."""
    found = []
    folder = recovery_dir()
    if not folder.is_dir():
        return []
    for path in folder.glob(f"*{PROJECT_SUFFIX}"):
        if not path.is_file():
            continue
        try:
            found.append((path, path.stat().st_mtime))
        except FileNotFoundError:  # discarded by another instance meanwhile
            continue
    return sorted(found, key=lambda item: item[1], reverse=True)


def discard_recovery(path: str | os.PathLike[str]) -> None:
    """Remove an autosave once the work is safe (saved, closed cleanly, or declined by the user)."""
    Path(path).unlink(missing_ok=True)
