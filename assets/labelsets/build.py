"""Regenerate the built-in label sets (coco, ade20k, cityscapes, facades JSON files) from the reference
tables in shared/reference/labelsets and the palette of the CMP Facades label PNGs.

    python assets/labelsets/build.py [--shared ../shared] [--out assets/labelsets]

Colours must be unique within a set so colour-coded label images convert back exactly: where the official
table repeats a colour, the first id keeps it and later ids get a close but distinct one, recorded next to
the class as "official_color".
"""

from __future__ import annotations

import argparse
import colorsys
import csv
import math
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from PIL import Image  # noqa: E402

from engine.labels import Color, LabelClass, LabelSet, color_hex, parse_color, save_label_set  # noqa: E402

# The four groups of the GauGAN web demo (space-separated class names), in its display order; every
# other COCO class goes to "more".
COCO_GROUPS = {
    "landscape": "clouds fog hill mountain river rock sea sky snow stone water",
    "ground": "dirt gravel ground-other mud pavement road sand",
    "plant": "bush flower grass straw tree wood",
    "building": "bridge fence house platform roof wall-brick wall-stone wall-wood",
}
COCO_LAST_THING_ID = 90  # ids 0..90 are COCO "things" (objects with instances), 91..181 "stuff"
FACADES_INSTANCE_CLASSES = {"window", "door", "balcony", "shop", "sill", "blind", "pillar", "deco"}
NUDGE_STEP = 16  # how far a repeated official colour is moved: visibly close, yet distinct


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def distinct_color(color: Color, taken: set[Color]) -> Color:
    """The colour itself when free, else the nearest free one on its grey diagonal (deterministic)."""
    for k in range(256 // NUDGE_STEP + 1):
        step = k * NUDGE_STEP
        candidate = tuple(c + step if c + step <= 255 else c - step for c in color)
        if all(0 <= c <= 255 for c in candidate) and candidate not in taken:
            return candidate
    raise RuntimeError(f"no free colour near {color_hex(color)}")


def make_unique(colors: list[Color]) -> list[Color]:
    """Keep the first use of every colour; move later repeats to free colours (never another's official)."""
    taken = set(colors)
    seen: set[Color] = set()
    result = []
    for color in colors:
        if color in seen:
            color = distinct_color(color, taken)
            taken.add(color)
        seen.add(color)
        result.append(color)
    return result


def golden_palette(count: int, avoid: list[Color], min_distance: float = 40.0) -> list[Color]:
    """count colours with hues spread by the golden ratio and cycling saturation/value, each at least
    min_distance (RGB) from all others and from avoid."""
    golden = (math.sqrt(5) - 1) / 2
    saturations, values = (1.0, 0.75, 0.5, 0.3), (1.0, 0.8, 0.6, 0.4)
    chosen: list[Color] = []
    for k in range(100_000):
        if len(chosen) == count:
            return chosen
        s, v = saturations[k % 4], values[(k // 4) % 4]
        color = tuple(round(x * 255) for x in colorsys.hsv_to_rgb((k * golden) % 1.0, s, v))
        if all(math.dist(color, other) >= min_distance for other in chosen + avoid):
            chosen.append(color)
    raise RuntimeError(f"could not find {count} colours {min_distance} apart")


def build_coco(ref: Path) -> tuple[LabelSet, dict[int, Color]]:
    rows = read_csv(ref / "coco_stuff_182.csv")
    names = {row["name"] for row in rows}
    group_of = {}
    for group, members in COCO_GROUPS.items():
        for name in members.split():
            if name not in names:
                print(f"warning: COCO-Stuff has no class '{name}' (group {group})", file=sys.stderr)
            group_of[name] = group
    classes = [
        LabelClass(
            id=int(row["id"]),
            name=row["name"],
            color=parse_color(row["color"]),
            group=group_of.get(row["name"], "more"),
            has_instances=int(row["id"]) <= COCO_LAST_THING_ID,
        )
        for row in rows
    ]
    unlabeled = distinct_color((0, 0, 0), {c.color for c in classes})
    classes.append(LabelClass(id=255, name="unlabeled", color=unlabeled, group="more"))
    label_set = LabelSet(
        name="coco",
        title="COCO-Stuff",
        classes=tuple(classes),
        dontcare_id=255,
        background_id=255,
        groups=(*COCO_GROUPS, "more"),
    )
    return label_set, {}


def build_ade20k(ref: Path) -> tuple[LabelSet, dict[int, Color]]:
    rows = read_csv(ref / "ade20k_150.csv")
    other = (0, 0, 0)  # id 0, "other (unlabeled)"
    palette = iter(golden_palette(len(rows) - 1, avoid=[other]))
    classes = tuple(
        LabelClass(
            id=int(row["id"]),
            name=row["name"],
            color=other if int(row["id"]) == 0 else next(palette),
            group="all",
        )
        for row in rows
    )
    label_set = LabelSet(
        name="ade20k", title="ADE20K", classes=classes, dontcare_id=0, background_id=0, groups=("all",)
    )
    return label_set, {}


def build_cityscapes(ref: Path) -> tuple[LabelSet, dict[int, Color]]:
    rows = read_csv(ref / "cityscapes_35.csv")
    # the table lists license plate as -1; pix2pixHD and SPADE use label_nc 35, i.e. ids 0..34
    ids = [34 if int(row["id"]) == -1 else int(row["id"]) for row in rows]
    rows = [row for _, row in sorted(zip(ids, rows, strict=True), key=lambda pair: pair[0])]
    ids.sort()
    official = [parse_color(row["color"]) for row in rows]
    colors = make_unique(official)
    classes = tuple(
        LabelClass(
            id=i,
            name=row["name"],
            color=color,
            group=row["category"],
            has_instances=row["hasInstances"] == "True",
        )
        for i, row, color in zip(ids, rows, colors, strict=True)
    )
    groups = tuple(dict.fromkeys(row["category"] for row in rows))
    label_set = LabelSet(
        name="cityscapes",
        title="Cityscapes",
        classes=classes,
        dontcare_id=None,
        background_id=0,
        groups=groups,
    )
    moved = {i: o for i, o, c in zip(ids, official, colors, strict=True) if o != c}
    return label_set, moved


def facades_palette(label_dir: Path) -> list[Color]:
    """The 256-entry palette shared by every CMP Facades label PNG (they must all agree)."""
    palettes = set()
    for path in sorted(label_dir.glob("*.png")):
        with Image.open(path) as image:
            if image.mode != "P":
                raise SystemExit(f"{path} is not a palette PNG")
            palettes.add(tuple(image.getpalette()))
    if len(palettes) != 1:
        raise SystemExit(f"the label PNGs in {label_dir} use {len(palettes)} different palettes, expected 1")
    flat = palettes.pop()
    return [tuple(flat[i : i + 3]) for i in range(0, len(flat), 3)]


def build_facades(facades: Path) -> tuple[LabelSet, dict[int, Color]]:
    palette = facades_palette(facades / "train" / "label")
    classes = []
    for line in (facades / "label_names.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        label_id, name, _z_order = line.split()
        classes.append(
            LabelClass(
                id=int(label_id),
                name=name,
                color=palette[int(label_id)],
                group="facade",
                has_instances=name in FACADES_INSTANCE_CLASSES,
            )
        )
    label_set = LabelSet(
        name="facades",
        title="CMP Facades",
        classes=tuple(classes),
        dontcare_id=None,
        background_id=1,
        groups=("facade",),
    )
    return label_set, {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="shared data folder")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    args = parser.parse_args(argv)
    ref = args.shared / "reference" / "labelsets"
    facades = args.shared / "datasets" / "facades"
    for folder in (ref, facades):
        if not folder.is_dir():
            parser.error(f"{folder} does not exist (pass --shared)")
    sources = {
        "coco": "shared/reference/labelsets/coco_stuff_182.csv (GauGAN colours); 255 = unlabeled",
        "ade20k": "shared/reference/labelsets/ade20k_150.csv; colours generated by build.py",
        "cityscapes": "shared/reference/labelsets/cityscapes_35.csv; license plate (-1) is id 34",
        "facades": "shared/datasets/facades/label_names.txt and the palette of its label PNGs",
    }
    builds = {
        "coco": lambda: build_coco(ref),
        "ade20k": lambda: build_ade20k(ref),
        "cityscapes": lambda: build_cityscapes(ref),
        "facades": lambda: build_facades(facades),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, build in builds.items():
        label_set, moved = build()
        data = label_set.to_dict()
        data["source"] = f"generated by assets/labelsets/build.py from {sources[name]}"
        for entry in data["classes"]:
            if entry["id"] in moved:
                entry["official_color"] = color_hex(moved[entry["id"]])
        path = args.out / f"{name}.json"
        save_label_set(data, path)
        print(f"{path}: {len(label_set)} classes, {len(moved)} colours moved off official duplicates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
