"""``python -m trainers.evaluate TASK ...``: measure a model the way its card reports it.

Tasks live in ``trainers/evaluation/<task>.py``; each has ``add_arguments(parser)`` and
``run(args)`` (raising ``SynthpaintError`` for user errors) and prints a table of figures.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import SynthpaintError

# task -> (module, one line for --help)
TASKS = {
    "inpaint": ("trainers.evaluation.inpaint", "PSNR/SSIM/L1 on holes vs OpenCV's inpainting, by hole size"),
    "colorize": ("trainers.evaluation.colorize", "PSNR vs number of colour hints, vs a grey baseline"),
    "labels": ("trainers.evaluation.fcn_score", "FCN-score of a label-to-photo model (pix2pix protocol)"),
    "sketch": ("trainers.evaluation.sketch", "PSNR/SSIM of a sketch-to-photo model on held-out pairs"),
}


def build_parser(task: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``task``'s module is imported (each task pulls in its own dependencies)."""
    parser = argparse.ArgumentParser(prog="python -m trainers.evaluate", description=__doc__)
    tasks = parser.add_subparsers(dest="task", required=True)
    for name, (module, summary) in TASKS.items():
        sub = tasks.add_parser(name, help=summary, description=summary)
        if name == task:
            importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(next((a for a in argv if a in TASKS), None)).parse_args(argv)
    try:
        importlib.import_module(TASKS[args.task][0]).run(args)
    except SynthpaintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
