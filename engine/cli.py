"""``python -m engine``: synthesize from the command line, list models, import official checkpoints."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.errors import InputImageError, ModelNotFoundError, SynthpaintError
from engine.labels import (
    builtin_label_sets,
    parse_color,
    read_instance_image,
    read_label_image,
    read_mask_image,
    read_rgb_image,
)
from engine.official import KINDS, import_official
from engine.registry import guided_inpainters, list_models, model_dirs, model_input


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

    sketch = sub.add_parser("sketch", help="turn a sketch (black lines on white) into a photo (pix2pix)")
    _add_model_options(sketch, "pix2pix")
    source = sketch.add_mutually_exclusive_group(required=True)
    source.add_argument("--sketch", type=Path, help="sketch or input image (PNG/JPEG)")
    source.add_argument(
        "--trace",
        type=Path,
        metavar="PHOTO",
        help="a photo whose lines are drawn first, the way the model learned sketches (the photo "
        "comes back at the model's scale)",
    )
    sketch.add_argument(
        "--mode",
        choices=("deterministic", "official"),
        help="deterministic (running statistics, no dropout) or official (batch statistics + dropout "
        "noise, what the official test.py does); default: the model's",
    )
    sketch.add_argument(
        "--seed",
        type=int,
        default=0,
        help="dropout noise seed of mode official (default: 0, the same photo each run)",
    )
    sketch.add_argument(
        "--save-sketch",
        type=Path,
        metavar="PNG",
        help="also write the sketch the model was given (with --trace: the tracing, to edit and rerun)",
    )

    inpaint = sub.add_parser("inpaint", help="fill the white part of a mask in a photo (LaMa)")
    _add_model_options(inpaint, "lama")
    inpaint.add_argument("--image", required=True, type=Path, help="photo")
    inpaint.add_argument("--mask", required=True, type=Path, help="mask image: white = hole to fill")
    inpaint.add_argument(
        "--guide",
        type=Path,
        help="edge sketch steering the fill, white lines (without --model: the first installed guided model)",
    )

    colorize = sub.add_parser("colorize", help="colour a grey photo, optionally with colour hints")
    _add_model_options(colorize, "colorization")
    colorize.add_argument("--image", required=True, type=Path, help="photo (a colour one is made grey first)")
    colorize.add_argument(
        "--hints",
        type=Path,
        help='JSON list of hints: [{"x": 10, "y": 20, "color": "#aa3300", "size": 3}] (image pixels)',
    )
    colorize.add_argument("--reference", type=Path, help="reference image for a global colour hint")

    sub.add_parser("models", help="list installed models and built-in label sets")

    imp = sub.add_parser("import-official", help="convert an official release into a synthpaint model")
    imp.add_argument("--kind", required=True, choices=KINDS)
    imp.add_argument(
        "--generator",
        required=True,
        type=Path,
        help="the release's network: latest_net_G.pth (SPADE, pix2pixHD, pix2pix), best.ckpt (LaMa), "
        "siggraph17-*.pth (colorization)",
    )
    imp.add_argument("--encoder", type=Path, help="encoder latest_net_E.pth (SPADE VAE, pix2pixHD feat)")
    imp.add_argument("--features", type=Path, help="pix2pixHD features_clustered_010.npy (feature bank)")
    imp.add_argument(
        "--labelset", help="label set of a label-map release (spade: coco, ade20k, cityscapes; pix2pixhd)"
    )
    imp.add_argument("--name", help="model name (default: <kind>-<labelset>-official)")
    imp.add_argument("-o", "--output", required=True, type=Path, help="model folder to write")
    return parser


def _add_model_options(parser: argparse.ArgumentParser, kind: str) -> None:
    parser.add_argument(
        "--model", help=f"installed model name or model folder (default: the shipped {kind} model)"
    )
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output image (PNG or JPEG)")


def default_model_name(kinds: Sequence[str]) -> str:
    """The first installed model (shipped ones first) of one of ``kinds``, in their order."""
    models = list_models()
    for kind in kinds:
        for _, card in models:
            if card.kind == kind:
                return card.name
    raise ModelNotFoundError(f"no {' or '.join(kinds)} model is installed; pass --model NAME|PATH")


def open_model(name: str | None, kinds: Sequence[str], device: str) -> Any:
    """Load ``name`` (or the default model of ``kinds``) and check that it is of one of those kinds."""
    from engine.loader import load_model

    model = load_model(name or default_model_name(kinds), device=device)
    if model.kind not in kinds:
        raise ModelNotFoundError(
            f"the model '{model.card.name}' is a {model.kind} model; this command needs {' or '.join(kinds)}"
        )
    return model


def run_synth(args: argparse.Namespace) -> None:
    model = open_model(args.model, ("spade", "pix2pixhd"), args.device)
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
    if model.kind == "pix2pixhd":  # per-instance feature codes instead of a style image
        if args.style is not None:
            raise InputImageError(
                f"'{model.card.name}' takes per-instance feature codes, not a style image; use --seed"
            )
        photo = model.synthesize(labels, instances=instances, seed=args.seed)
    else:
        style = read_rgb_image(args.style, "style image") if args.style is not None else None
        photo = model.synthesize(labels, instances=instances, style=style, seed=args.seed)
    save_image(photo, args.output)
    print(f"wrote {args.output} ({photo.shape[1]}x{photo.shape[0]}, model {model.card.name})")


def run_sketch(args: argparse.Namespace) -> None:
    model = open_model(args.model, ("pix2pix",), args.device)
    if args.trace is not None:
        lines = model.trace(read_rgb_image(args.trace, "photo"))
    else:
        lines = read_rgb_image(args.sketch, "sketch")
    photo = model.translate(lines, mode=args.mode, seed=args.seed)
    if args.save_sketch is not None:
        save_image(lines, args.save_sketch)
    save_image(photo, args.output)
    print(f"wrote {args.output} ({photo.shape[1]}x{photo.shape[0]}, model {model.card.name})")


def run_inpaint(args: argparse.Namespace) -> None:
    guided = guided_inpainters() if args.model is None and args.guide is not None else []
    model = open_model(str(guided[0][0]) if guided else args.model, ("lama",), args.device)
    image, mask = read_rgb_image(args.image), read_mask_image(args.mask)
    guide = read_mask_image(args.guide, "guide") if args.guide is not None else None
    photo = model.inpaint(image, mask, guide=guide)
    save_image(photo, args.output)
    print(f"wrote {args.output} ({photo.shape[1]}x{photo.shape[0]}, {mask.mean():.1%} filled)")


def read_hints(path: Path) -> list[Any]:
    """Colour hints from JSON: ``[{"x": 10, "y": 20, "color": "#aa3300", "size": 3}, ...]``."""
    from engine.colorization import Hint

    try:
        entries = json.loads(path.read_text())
        return [
            Hint(float(e["x"]), float(e["y"]), parse_color(e["color"]), int(e.get("size", 3)))
            for e in entries
        ]
    except FileNotFoundError:
        raise InputImageError(f"the hints file {path} does not exist") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputImageError(f"the hints file {path} is not readable JSON ({exc})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputImageError(
            f'the hints file {path} must be a list of {{"x", "y", "color", "size"}} objects ({exc!r})'
        ) from None


def run_colorize(args: argparse.Namespace) -> None:
    from engine.colorization import global_hint_from_image

    model = open_model(args.model, ("colorization",), args.device)
    hints = read_hints(args.hints) if args.hints is not None else []
    reference = None
    if args.reference is not None:
        reference = global_hint_from_image(read_rgb_image(args.reference, "reference image"))
    photo = model.colorize(read_rgb_image(args.image), hints, global_hint=reference)
    save_image(photo, args.output)
    print(f"wrote {args.output} ({photo.shape[1]}x{photo.shape[0]}, {len(hints)} hints)")


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
        numbers = {k: v for k, v in card.metrics.items() if isinstance(v, int | float)}
        metrics = ", ".join(f"{k} {v}" for k, v in numbers.items()) or "no metrics"
        print(f"  {card.name:28} {card.kind:12} {model_input(card):18} {w}x{h}  {metrics}  [{folder}]")
    print("Label sets")
    for name, label_set in builtin_label_sets().items():
        print(f"  {name:12} {len(label_set):4} classes  {label_set.title}")


COMMANDS = {"synth": run_synth, "sketch": run_sketch, "inpaint": run_inpaint, "colorize": run_colorize}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            run_models()
        elif args.command == "import-official":
            folder = import_official(
                args.kind, args.generator, args.labelset, args.output, args.encoder, args.name, args.features
            )
            print(f"wrote model {folder}")
        else:
            COMMANDS[args.command](args)
    except SynthpaintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
