"""``python -m trainers.evaluate sketch``: how close a sketch-to-photo (pix2pix) model comes to the
real photos of held-out pairs, beside a trivial baseline.

Each sketch goes through the model as the app sends it (``SketchModel.translate``: any size in,
resized to the model's native size and back) and the photo that comes out is compared with the
real one at the real one's size: PSNR, SSIM and L1 on the 0..255 scale (``metrics.py``), averaged
over the pairs. The baseline is a flat image of the mean colour of the evaluated photos, what a
model that ignored the sketch could at best do per pixel; PSNR and SSIM reward such blur over
invented detail, so they favour it over any generative model. "Lines F1" measures what a sketch
tool owes its user instead: the output redrawn by the model's own sketch style (XDoG or Canny) against
the input sketch, line pixels matched within 2 px; the real photos redrawn the same way give its
ceiling for these sketches (1 for sketches drawn from the photos themselves).

Sketches are read as the model was trained on them (BSDS annotator agreement, line width, edge
detector: recorded in its card), unless the options say otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import load_model
from engine.checkpoints import read_card
from engine.errors import CheckpointError
from engine.models.pix2pix import INFERENCE_MODES
from engine.registry import resolve_model
from trainers.evaluation.metrics import l1, line_f1, psnr, ssim
from trainers.evaluation.options import add_run_options, write_report
from trainers.sketch_data import PairFiles, SketchData, add_sketch_data_arguments, find_pairs

READING_OPTIONS = ("direction", "edges", "edge_width", "min_line", "bsds_agreement")


@dataclass(frozen=True)
class ImageScores:
    """Means over the pairs: PSNR (dB), SSIM, L1 (0..255)."""

    psnr: float
    ssim: float
    l1: float
    lines_f1: float


@dataclass(frozen=True)
class SketchScores:
    model: ImageScores
    baseline: ImageScores
    real_lines_f1: float
    pairs: int
    mode: str


def _scores(output: np.ndarray, photo: np.ndarray, lines: float) -> tuple[float, float, float, float]:
    return psnr(output, photo), ssim(output, photo), l1(output, photo), lines


def _means(scores: Sequence[tuple[float, ...]]) -> ImageScores:
    return ImageScores(*(float(v) for v in np.mean(scores, axis=0)))


def evaluate_sketches(
    translate: Callable[[np.ndarray, int], np.ndarray],
    pairs: Sequence[PairFiles],
    data: SketchData,
    mode: str,
) -> SketchScores:
    """Scores of ``translate(sketch, i)`` (uint8 sketch -> RGB uint8 photo of its size) on ``pairs``.

    Photos are read twice (outputs, then the baseline, whose colour needs every photo) rather than
    kept, so memory does not grow with the number of pairs.
    """
    model, real_lines, colour_sum, pixels = [], [], np.zeros(3), 0
    for i, files in enumerate(pairs):
        sketch, photo = data.read(files)
        if sketch is None:  # drawn from the photo: the photo redrawn gives these very lines
            sketch, real = data.draw(photo), 1.0
        else:
            real = line_f1(data.draw(photo), sketch)
        output = translate(sketch, i)
        model.append(_scores(output, photo, line_f1(data.draw(output), sketch)))
        real_lines.append(real)
        colour_sum += photo.reshape(-1, 3).sum(0)
        pixels += photo.shape[0] * photo.shape[1]
    colour = np.rint(colour_sum / pixels).astype(np.uint8)
    baseline = []
    for files in pairs:
        photo = data.read(files)[1]
        flat = np.broadcast_to(colour, photo.shape)
        baseline.append(_scores(flat, photo, 0.0))  # a flat image has no lines
    return SketchScores(_means(model), _means(baseline), float(np.mean(real_lines)), len(pairs), mode)


def format_table(scores: SketchScores, model: str) -> str:
    rows = [(f"{model} ({scores.mode})", scores.model), ("baseline: mean photo colour", scores.baseline)]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'':{width}}  PSNR (dB)   SSIM    L1  lines F1"]
    for name, s in rows:
        lines.append(f"{name:{width}}  {s.psnr:9.2f}  {s.ssim:5.3f}  {s.l1:5.1f}  {s.lines_f1:8.3f}")
    lines.append(f"lines F1 of the real photos (the ceiling for these sketches): {scores.real_lines_f1:.3f}")
    return "\n".join(lines)


def reading_options(args: argparse.Namespace, trained: dict[str, Any]) -> SketchData:
    """The options given, else those the model was trained with (its card), else the defaults."""
    chosen = {k: getattr(args, k) for k in READING_OPTIONS if getattr(args, k) is not None}
    known = {k: v for k, v in trained.items() if k in READING_OPTIONS}
    return SketchData.from_dict({**known, **chosen, "format": args.format})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="pix2pix model folder or installed name")
    parser.add_argument("--data", type=Path, required=True, help="dataset folder with sketch/photo pairs")
    add_sketch_data_arguments(parser, evaluation=True)
    parser.add_argument(
        "--mode",
        choices=INFERENCE_MODES,
        help="deterministic or official (stochastic) inference (default: the model's own)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="dropout noise of mode official: pair i uses seed + i (default: 0)",
    )
    add_run_options(parser, "the model")


def run(args: argparse.Namespace) -> SketchScores:
    kind = read_card(resolve_model(args.model)).kind
    if kind != "pix2pix":
        raise CheckpointError(f"{args.model} is a '{kind}' model: the sketch task needs a pix2pix model")
    model = load_model(args.model, args.device, args.precision)
    data = reading_options(args, model.trained_sketches)
    pairs = find_pairs(args.data, args.format, args.split, data.direction).samples[: args.limit]
    mode = args.mode or model.default_mode

    def translate(sketch: np.ndarray, i: int) -> np.ndarray:
        return model.translate(sketch, mode, seed=args.seed + i)

    scores = evaluate_sketches(translate, pairs, data, mode)
    print(
        f"sketch -> photo on {scores.pairs} pairs of {args.data} (format {args.format}, split {args.split})"
    )
    print(format_table(scores, f"'{model.card.name}'"))
    if args.json:
        report = {
            "task": "sketch",
            "model": str(args.model),
            "data": str(args.data),
            "split": args.split,
            "sketches": data.to_dict(),
            "pairs": scores.pairs,
            "mode": scores.mode,
            "scores": {"model": asdict(scores.model), "baseline": asdict(scores.baseline)},
            "real_lines_f1": scores.real_lines_f1,
        }
        write_report(args.json, report)
    return scores
