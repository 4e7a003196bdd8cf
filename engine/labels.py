"""Label sets (class ids, names, colours, groups) and the conversions between label maps, colour-coded
images and network channels.

numpy + PIL only, so the app can paint and convert label maps without importing torch. Every conversion
goes through lookup tables so a 1024x1024 map takes milliseconds.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import InputImageError, LabelRangeError, LabelSetError, SynthpaintError, UnknownColorError

LABELSETS_DIR = Path(__file__).resolve().parent.parent / "assets" / "labelsets"
BUILTIN_NAMES = ("coco", "ade20k", "cityscapes", "facades")
FORMAT = "synthpaint.labelset"
FORMAT_VERSION = 1
MAX_ID = 65535  # ids must fit a 16-bit greyscale PNG

Color = tuple[int, int, int]
StrPath = str | os.PathLike[str]


def parse_color(value: str | Sequence[int]) -> Color:
    """'#rrggbb' or (r, g, b) -> (r, g, b); JSON files store the hex form."""
    if isinstance(value, str):
        text = value.strip().removeprefix("#")
        if len(text) != 6:
            raise ValueError(f"colour {value!r} is not of the form #rrggbb")
        try:
            return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
        except ValueError:
            raise ValueError(f"colour {value!r} is not of the form #rrggbb") from None
    color = tuple(value)
    if len(color) != 3 or not all(isinstance(c, int | np.integer) and 0 <= c <= 255 for c in color):
        raise ValueError(f"colour {value!r} is not three integers in 0..255")
    return int(color[0]), int(color[1]), int(color[2])


def color_hex(color: Sequence[int]) -> str:
    """(r, g, b) -> '#RRGGBB', the form used in the reference tables and JSON files."""
    r, g, b = parse_color(color)
    return f"#{r:02X}{g:02X}{b:02X}"


def _color_keys(rgb: np.ndarray) -> np.ndarray:
    """One int32 per pixel (r<<16 | g<<8 | b), so colours can be matched with searchsorted."""
    keys = rgb[..., 0].astype(np.int32) << 16
    keys |= rgb[..., 1].astype(np.int32) << 8
    keys |= rgb[..., 2]
    return keys


def _describe_ids(ids: Sequence[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5': the valid ids, short enough for an error message."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@dataclass(frozen=True)
class LabelClass:
    id: int
    name: str
    color: Color
    group: str
    has_instances: bool = False

    def __post_init__(self) -> None:
        is_int = isinstance(self.id, int | np.integer) and not isinstance(self.id, bool)
        if not is_int or not 0 <= self.id <= MAX_ID:
            raise ValueError(f"class id {self.id!r} is not an integer in 0..{MAX_ID}")
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"class {self.id} has no name")
        object.__setattr__(self, "id", int(self.id))
        object.__setattr__(self, "color", parse_color(self.color))
        object.__setattr__(self, "has_instances", bool(self.has_instances))


@dataclass(frozen=True)
class LabelSet:
    """The classes a model was trained on; ids are what label maps hold, colours what users paint."""

    name: str
    title: str
    classes: tuple[LabelClass, ...] = field(repr=False)  # 183 classes would flood logs and tracebacks
    dontcare_id: int | None
    background_id: int
    groups: tuple[str, ...]

    def __post_init__(self) -> None:
        classes = tuple(sorted(self.classes, key=lambda c: c.id))
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "groups", tuple(self.groups))
        if not self.name:
            raise ValueError("a label set needs a name")
        if not classes:
            raise ValueError(f"label set '{self.name}' has no classes")
        # colours must be unique too: colour-coded images have to convert back to exactly the same ids
        for what, values in (
            ("id", [c.id for c in classes]),
            ("name", [c.name.casefold() for c in classes]),
            ("colour", [color_hex(c.color) for c in classes]),
            ("group", list(self.groups)),
        ):
            seen: set = set()
            for value in values:
                if value in seen:
                    raise ValueError(f"label set '{self.name}' has the {what} {value} more than once")
                seen.add(value)
        for c in classes:
            if c.group not in self.groups:
                raise ValueError(f"class {c.id} ({c.name}) is in group '{c.group}', which is not in groups")
        ids = {c.id for c in classes}
        if self.dontcare_id is not None and self.dontcare_id not in ids:
            raise ValueError(f"dontcare_id {self.dontcare_id} is not a class of label set '{self.name}'")
        if self.background_id not in ids:
            raise ValueError(f"background_id {self.background_id} is not a class of label set '{self.name}'")

    # --- lookups -------------------------------------------------------------------------------------------

    @cached_property
    def _by_id(self) -> dict[int, LabelClass]:
        return {c.id: c for c in self.classes}

    @cached_property
    def _by_name(self) -> dict[str, LabelClass]:
        # full names first, then the first synonym ("person" for ADE20K's "person, individual, ...")
        index = {c.name.casefold(): c for c in self.classes}
        for c in self.classes:
            index.setdefault(c.name.split(",")[0].strip().casefold(), c)
        return index

    @cached_property
    def ids(self) -> np.ndarray:
        ids = np.array([c.id for c in self.classes], dtype=np.int32)
        ids.flags.writeable = False
        return ids

    @property
    def max_id(self) -> int:
        return self.classes[-1].id

    def by_id(self, label_id: int) -> LabelClass:
        try:
            return self._by_id[int(label_id)]
        except KeyError:
            raise KeyError(f"label set '{self.name}' has no class with id {label_id}") from None

    def by_name(self, name: str) -> LabelClass:
        """Case-insensitive; a class can also be found by the first of its comma-separated synonyms."""
        try:
            return self._by_name[name.strip().casefold()]
        except KeyError:
            raise KeyError(f"label set '{self.name}' has no class named '{name}'") from None

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, label_id: object) -> bool:
        return isinstance(label_id, int | np.integer) and int(label_id) in self._by_id

    # --- network channels ----------------------------------------------------------------------------------

    @property
    def label_nc(self) -> int:
        """Number of real classes, i.e. of one-hot channels before the optional don't-care channel."""
        return len(self.classes) - (self.dontcare_id is not None)

    @property
    def num_channels(self) -> int:
        """One-hot channels the network sees: label_nc, plus one when there is a don't-care id."""
        return len(self.classes)

    @cached_property
    def _channel_lut_padded(self) -> np.ndarray:
        # index = clip(id, -1, max_id + 1) + 1, so entry 0 and the last entry catch every out-of-range id
        lut = np.full(self.max_id + 3, -1, dtype=np.int64)
        real = [c.id for c in self.classes if c.id != self.dontcare_id]
        lut[np.array(real) + 1] = np.arange(len(real))
        if self.dontcare_id is not None:
            lut[self.dontcare_id + 1] = len(real)
        lut.flags.writeable = False
        return lut

    @property
    def channel_lut(self) -> np.ndarray:
        """channel_lut[id] = network channel of that id, -1 for ids not in the set."""
        return self._channel_lut_padded[1:-1]

    @cached_property
    def _channel_to_id(self) -> np.ndarray:
        to_id = np.empty(self.num_channels, dtype=np.int32)
        to_id[self.channel_lut[self.ids]] = self.ids
        return to_id

    def _lut_index(self, label_map: np.ndarray, source: StrPath | None) -> np.ndarray:
        """Validate a label map and return its index into the padded lookup tables (id + 1)."""
        a = np.asarray(label_map)
        if not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"a label map must hold integers, not {a.dtype}")
        if a.ndim != 2:
            raise ValueError(f"a label map must be 2-D (height x width), got shape {a.shape}")
        index = a.astype(np.int64)
        np.clip(index, -1, self.max_id + 1, out=index)
        index += 1
        valid = self._channel_lut_padded[index] >= 0
        if not valid.all():
            y, x = np.unravel_index(int(np.argmin(valid)), a.shape)
            raise LabelRangeError(a[y, x], (x, y), self.name, _describe_ids(self.ids.tolist()), source)
        return index

    def validate(self, label_map: np.ndarray, *, source: StrPath | None = None) -> None:
        """Raise LabelRangeError naming the first pixel (x = column) whose id is not in the set."""
        self._lut_index(label_map, source)

    def to_channels(self, label_map: np.ndarray) -> np.ndarray:
        """ids -> network channel indices (int64): real classes in id order, then the don't-care id."""
        return self._channel_lut_padded[self._lut_index(label_map, None)]

    def from_channels(self, channel_map: np.ndarray) -> np.ndarray:
        """Channel indices (e.g. an argmax over the network's classes) -> ids (int32)."""
        a = np.asarray(channel_map)
        if not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"a channel map must hold integers, not {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= self.num_channels):
            raise ValueError(
                f"channel indices must lie in 0..{self.num_channels - 1} for label set '{self.name}', "
                f"got {a.min()}..{a.max()}"
            )
        return self._channel_to_id[a]

    # --- colours -------------------------------------------------------------------------------------------

    @cached_property
    def _color_lut_padded(self) -> np.ndarray:
        lut = np.zeros((self.max_id + 3, 3), dtype=np.uint8)
        lut[self.ids + 1] = [c.color for c in self.classes]
        lut.flags.writeable = False
        return lut

    @cached_property
    def _sorted_colors(self) -> tuple[np.ndarray, np.ndarray]:
        keys = _color_keys(np.array([c.color for c in self.classes], dtype=np.uint8))
        order = np.argsort(keys)
        return keys[order], self.ids[order]

    def _match_colors(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, found) for an array of colours (..., 3); ids are meaningless where found is False."""
        keys = _color_keys(rgb)
        sorted_keys, sorted_ids = self._sorted_colors
        pos = np.searchsorted(sorted_keys, keys)
        np.minimum(pos, len(sorted_keys) - 1, out=pos)
        return sorted_ids[pos], sorted_keys[pos] == keys

    def to_colors(self, label_map: np.ndarray) -> np.ndarray:
        """ids -> uint8 H x W x 3 in the class colours."""
        return self._color_lut_padded[self._lut_index(label_map, None)]

    def from_colors(self, rgb: np.ndarray, *, source: StrPath | None = None) -> np.ndarray:
        """uint8 H x W x 3 (x 4: alpha ignored) in class colours -> int32 ids; exact inverse of to_colors."""
        a = np.asarray(rgb)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] not in (3, 4):
            raise ValueError(f"a colour image must be uint8 height x width x 3, got {a.dtype} {a.shape}")
        ids, found = self._match_colors(a[..., :3])
        if not found.all():
            y, x = np.unravel_index(int(np.argmin(found)), found.shape)
            raise UnknownColorError(tuple(a[y, x, :3]), (x, y), self.name, source)
        return ids

    @cached_property
    def _palette(self) -> bytes:
        palette = np.zeros((256, 3), dtype=np.uint8)
        palette[self.ids] = [c.color for c in self.classes]
        return palette.tobytes()

    def to_palette_image(self, label_map: np.ndarray) -> Image.Image:
        """Mode 'P' image whose pixel values are the ids and whose palette holds their colours."""
        if self.max_id > 255:
            raise ValueError(f"label set '{self.name}' has ids above 255, which do not fit a palette image")
        self.validate(label_map)
        image = Image.fromarray(np.asarray(label_map).astype(np.uint8))
        image.putpalette(self._palette)
        return image

    # --- JSON ----------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "title": self.title,
            "dontcare_id": self.dontcare_id,
            "background_id": self.background_id,
            "groups": list(self.groups),
            "classes": [
                {
                    "id": c.id,
                    "name": c.name,
                    "color": color_hex(c.color),
                    "group": c.group,
                    "has_instances": c.has_instances,
                }
                for c in self.classes
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "label set definition") -> LabelSet:
        """Inverse of to_dict; unknown keys (notes such as 'official_color') are ignored."""
        try:
            if not isinstance(data, Mapping):
                raise TypeError("expected a JSON object")
            if data.get("format", FORMAT) != FORMAT or data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
                raise ValueError(f"expected format '{FORMAT}' version {FORMAT_VERSION}")
            classes = tuple(
                LabelClass(
                    id=c["id"],
                    name=c["name"],
                    color=parse_color(c["color"]),
                    group=c["group"],
                    has_instances=c.get("has_instances", False),
                )
                for c in data["classes"]
            )
            return cls(
                name=data["name"],
                title=data.get("title", data["name"]),
                classes=classes,
                dontcare_id=data.get("dontcare_id"),
                background_id=data["background_id"],
                groups=tuple(data["groups"]),
            )
        except KeyError as err:
            raise LabelSetError(f"invalid {source}: the key {err} is missing") from err
        except (TypeError, ValueError, AttributeError) as err:
            raise LabelSetError(f"invalid {source}: {err}") from err


# --- built-in and user label sets ------------------------------------------------------------------------


def _format_json(data: Mapping[str, Any]) -> str:
    """Indented JSON with one line per class, so the files stay readable and diff well."""
    head = {k: v for k, v in data.items() if k != "classes"}
    lines = ",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in data["classes"])
    text = json.dumps({**head, "classes": []}, indent=2, ensure_ascii=False)
    return text.replace('"classes": []', '"classes": [\n' + lines + "\n  ]") + "\n"


def load_label_set(path: StrPath) -> LabelSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelSetError(f"label set file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise LabelSetError(f"cannot read label set file {path} ({err})") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise LabelSetError(
            f"label set file {path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})"
        ) from err
    return LabelSet.from_dict(data, source=f"label set file {path}")


def save_label_set(label_set: LabelSet | Mapping[str, Any], path: StrPath) -> None:
    """Write a label set as JSON; a dict is validated first and written with its extra keys kept."""
    if isinstance(label_set, LabelSet):
        data: Mapping[str, Any] = label_set.to_dict()
    else:
        LabelSet.from_dict(label_set)
        data = label_set
    Path(path).write_text(_format_json(data), encoding="utf-8")


@functools.cache
def _builtins() -> dict[str, LabelSet]:
    return {name: load_label_set(LABELSETS_DIR / f"{name}.json") for name in BUILTIN_NAMES}


def builtin_label_sets() -> dict[str, LabelSet]:
    """coco, ade20k, cityscapes and facades, read once from assets/labelsets."""
    return dict(_builtins())


def get_label_set(name_or_path: StrPath) -> LabelSet:
    """A built-in label set by name, or a label set from a JSON file."""
    if isinstance(name_or_path, str) and name_or_path.strip().lower() in BUILTIN_NAMES:
        return _builtins()[name_or_path.strip().lower()]
    path = Path(name_or_path)
    if path.suffix.lower() == ".json" or path.is_file():
        return load_label_set(path)
    raise LabelSetError(
        f"unknown label set '{name_or_path}': use one of {', '.join(BUILTIN_NAMES)} "
        "or the path of a label set JSON file"
    )


# --- image files -----------------------------------------------------------------------------------------


def _open_image(path: StrPath, what: str) -> Image.Image:
    """Open and decode an image, turning every failure into an InputImageError that names the file."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
    except FileNotFoundError as err:
        raise InputImageError(f"the {what} {path} does not exist") from err
    except IsADirectoryError as err:
        raise InputImageError(f"the {what} {path} is a folder, not an image file") from err
    except UnidentifiedImageError as err:
        raise InputImageError(f"the {what} {path} is not an image file in a format that can be read") from err
    except Image.DecompressionBombError as err:
        raise InputImageError(f"the {what} {path} is too large to open ({err})") from err
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise InputImageError(f"the {what} {path} is damaged or cannot be read ({err})") from err
    return image


_ID_MODES = ("1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N")


def read_label_image(path: StrPath, label_set: LabelSet) -> np.ndarray:
    """A label map (int32 ids) from an id-valued greyscale/palette image or a colour-coded image."""
    image = _open_image(path, "label image")
    if image.mode in _ID_MODES:
        ids = np.asarray(image).astype(np.int32)
    elif image.mode == "P":
        ids = _palette_ids(image, label_set, path)
    elif image.mode == "F":
        raise InputImageError(f"the label image {path} holds floating-point values, not integer label ids")
    else:
        ids = label_set.from_colors(np.asarray(image.convert("RGB")), source=path)
    label_set.validate(ids, source=path)
    return ids


def _palette_ids(image: Image.Image, label_set: LabelSet, path: StrPath) -> np.ndarray:
    """Palette images are either ids with any palette (as datasets store them) or colour-coded images."""
    index = np.asarray(image)
    used = np.unique(index)
    palette = np.zeros((256, 3), dtype=np.uint8)
    entries = np.asarray(image.getpalette() or [], dtype=np.uint8)[:768].reshape(-1, 3)
    palette[: len(entries)] = entries
    used_are_ids = bool(np.isin(used, label_set.ids).all())
    if used_are_ids and np.array_equal(palette[used], label_set.to_colors(used[None, :].astype(np.int32))[0]):
        return index.astype(np.int32)
    matched, found = label_set._match_colors(palette[used])
    if found.all():
        lut = np.zeros(256, dtype=np.int32)
        lut[used] = matched
        return lut[index]
    if used_are_ids:
        return index.astype(np.int32)
    y, x = np.unravel_index(int(np.argmax(np.isin(index, used[~found]))), index.shape)
    raise UnknownColorError(tuple(palette[index[y, x]]), (x, y), label_set.name, path)


def write_label_image(
    path: StrPath,
    label_map: np.ndarray,
    label_set: LabelSet,
    mode: Literal["color", "indexed"] = "color",
) -> None:
    """Save a label map as a PNG: colour-coded RGB, or an indexed palette image whose values are the ids."""
    if mode == "color":
        image = Image.fromarray(label_set.to_colors(label_map))
    elif mode == "indexed":
        image = label_set.to_palette_image(label_map)
    else:
        raise ValueError(f"mode must be 'color' or 'indexed', not {mode!r}")
    try:
        image.save(path, format="PNG")
    except OSError as err:
        raise SynthpaintError(f"cannot write the label image {path} ({err})") from err


def read_instance_image(path: StrPath) -> np.ndarray:
    """Instance ids (int64) from an 8/16/32-bit greyscale image, or an RGB one where id = r<<16 | g<<8 | b."""
    image = _open_image(path, "instance map")
    if image.mode in ("RGB", "RGBA"):
        return _color_keys(np.asarray(image)).astype(np.int64)
    if image.mode in _ID_MODES or image.mode == "P":
        return np.asarray(image).astype(np.int64)
    raise InputImageError(
        f"the instance map {path} has pixel mode {image.mode}; use an 8/16/32-bit greyscale or an RGB PNG"
    )


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")  # what read_rgb_image reads


def read_rgb_image(path: StrPath, what: str = "image") -> np.ndarray:
    """A photo as uint8 H x W x 3, upright per its EXIF orientation; transparency is flattened onto white.

    ``what`` names the file in error messages (a command reads several images)."""
    image = _open_image(path, what)
    # a broken EXIF block should not stop a photo that every viewer opens
    with contextlib.suppress(OSError, ValueError, SyntaxError, KeyError, TypeError):
        image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16"):
        image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    try:
        return np.array(image.convert("RGB"))
    except ValueError as err:
        raise InputImageError(
            f"the {what} {path} uses colour mode {image.mode}, which has no RGB form"
        ) from err


def remap_by_name(label_map: np.ndarray, source: LabelSet, target: LabelSet) -> np.ndarray:
    """Translate a map between label sets by class name; classes the target lacks become its background."""
    lut = np.full(source.max_id + 1, target.background_id, dtype=np.int32)
    for cls in source.classes:
        try:
            lut[cls.id] = target.by_name(cls.name).id
        except KeyError:
            continue
    return lut[label_map]


def read_mask_image(path: StrPath, what: str = "mask") -> np.ndarray:
    """A hole mask (bool H x W) from an image where white (grey value > 127) marks the hole."""
    grey = read_rgb_image(path, what).astype(np.uint16).sum(axis=2)
    return grey > 3 * 127
