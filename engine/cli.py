"""``python -m engine``: synthesize from the command line, list models, import official checkpoints."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from engine.errors import InputImageError, ModelNotFoundError, SynthpaintError
from engine.labels import builtin_label_sets, read_instance_image, read_label_image, read_rgb_image
from engine.official import KINDS, import_official
from engine.registry import list_models, model_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    synth = sub.add_parser("synth", help="turn a label map into a photo")
    synth.add_argument(
        "--model", help="installed model name or model folder (default: the first shipped one)"
    )
    synth.add_argument(
        "--labels",
        required=True,
        type=Path,
        help="label PNG: single-channel ids (as datasets store them), a palette PNG, or colour-coded",
    )
    synth.add_argument("--instances", type=Path, help="instance-id PNG (8- or 16-bit) for instance edges")
    style = synth.add_mutually_exclusive_group()
    style.add_argument("--style", type=Path, help="style image (RGB)")
    style.add_argument("--seed", type=int, help="random style seed (models with a style encoder)")
    synth.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    synth.add_argument("--resolution", type=int, help="short side the network runs at (default: native)")
    synth.add_argument("-o", "--output", required=True, type=Path, help="output image (PNG or JPEG)")

    sub.add_parser("models", help="list installed models and built-in label sets")

    imp = sub.add_parser("import-official", help="convert an official release into a synthpaint model")
    imp.add_argument("--kind", required=True, choices=KINDS)
    imp.add_argument("--generator", required=True, type=Path, help="e.g. latest_net_G.pth")
    imp.add_argument("--encoder", type=Path, help="style encoder, e.g. latest_net_E.pth (VAE variants)")
    imp.add_argument(
        "--labelset", required=True, help="label set the release was trained on (coco, ade20k, ...)"
    )
    imp.add_argument("--name", help="model name (default: <kind>-<labelset>-official)")
    imp.add_argument("-o", "--output", required=True, type=Path, help="model folder to write")
    return parser


def default_model_name() -> str:
    for _, card in list_models():
        if card.kind == "spade":
            return card.name
    raise ModelNotFoundError("no label-to-photo model is installed; pass --model NAME|PATH")


def run_synth(args: argparse.Namespace) -> None:
    from engine.session import load_model

    model = load_model(args.model or default_model_name(), device=args.device)
    if args.resolution:
        model.resolution = args.resolution
    labels = read_label_image(args.labels, model.label_set)
    instances = None
    if args.instances is not None:
        instances = read_instance_image(args.instances)
        if instances.shape != labels.shape:
            raise InputImageError(
                f"{args.instances} is {instances.shape[1]}x{instances.shape[0]} but the label map is "
                f"{labels.shape[1]}x{labels.shape[0]}"
            )
    style = read_rgb_image(args.style) if args.style is not None else None
    photo = model.synthesize(labels, instances=instances, style=style, seed=args.seed)
    save_image(photo, args.output)
    print(f"wrote {args.output} ({photo.shape[1]}x{photo.shape[0]}, model {model.card.name})")


def save_image(image: np.ndarray, path: Path) -> None:
    try:
        Image.fromarray(image).save(path)
    except (OSError, ValueError) as exc:
        raise InputImageError(f"could not write {path} ({exc})") from None


def run_models() -> None:
    models = list_models()
    print("Models" + ("" if models else f" (none found in {', '.join(str(d) for d in model_dirs())})"))
    for folder, card in models:
        h, w = card.native_size
        label_set = (card.label_set or {}).get("name", "-")
        metrics = ", ".join(f"{k} {v}" for k, v in card.metrics.items()) or "no metrics"
        print(f"  {card.name:28} {card.kind:10} labels {label_set:11} {w}x{h}  {metrics}  [{folder}]")
    print("Label sets")
    for name, label_set in builtin_label_sets().items():
        print(f"  {name:12} {len(label_set):4} classes  {label_set.title}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "synth":
            run_synth(args)
        elif args.command == "models":
            run_models()
        else:
            folder = import_official(
                args.kind, args.generator, args.labelset, args.output, args.encoder, args.name
            )
            print(f"wrote model {folder}")
    except SynthpaintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
