"""``python -m trainers.evaluate inpaint``: how well an inpainting model fills holes, beside OpenCV.

Held-out photos get holes from NVIDIA's irregular test masks (Liu et al. 2018, the benchmark of
the partial-convolution and LaMa papers), each resized (nearest) to its photo. Figures are PSNR,
SSIM and L1 (0..255) on the hole pixels only, averaged over the pairs of each hole-size band, for
the model and for OpenCV's ``cv2.inpaint`` with Telea's fast marching and with Navier-Stokes.
Bands come from the masks' index (``<folder>_index.csv`` beside the folder, the hole ratio of
the original 512 px masks, which defines the dataset's bands), else from each mask itself.

Pairing is deterministic: per band, ``--limit`` masks picked with ``--seed``; the i-th mask of every
band goes with the same i-th photo of one seeded shuffle, so the bands differ in hole size only.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from engine import load_model
from engine.errors import CheckpointError, InputImageError, SynthpaintError
from engine.labels import read_rgb_image
from engine.session import resize_ids
from trainers.evaluation.metrics import l1, psnr, ssim
from trainers.evaluation.options import write_report
from trainers.inpaint import guide_edges
from trainers.photos import find_photos

BANDS = ((0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))  # (low, high] hole ratios
INPAINT_RADIUS = 3  # px: the neighbourhood OpenCV's methods draw from
OPENCV_METHODS = {"telea": cv2.INPAINT_TELEA, "navier-stokes": cv2.INPAINT_NS}
GUIDED = "model+guide"  # the method name of a guided model's fills given the photo's edges
RATIO_COLUMN = "hole_ratio_512_original"
METRICS = ("psnr", "ssim", "l1")


class EvaluationError(SynthpaintError):
    """The evaluation's inputs cannot be used: a missing folder, an unreadable mask index, no pairs."""


@dataclass(frozen=True)
class HoleMask:
    path: Path
    ratio: float  # share of hole pixels, which decides the band


@dataclass
class BandResult:
    """Per-pair figures of every method on one band: ``scores[method][metric]`` lists."""

    band: tuple[float, float]
    pairs: int = 0
    scores: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, method: str, values: dict[str, float]) -> None:
        for metric, value in values.items():
            self.scores.setdefault(method, {}).setdefault(metric, []).append(value)

    def mean(self, method: str, metric: str) -> float:
        return float(np.mean(self.scores[method][metric]))


def band_label(band: tuple[float, float]) -> str:
    return f"{round(band[0] * 100)}-{round(band[1] * 100)}"


def band_of(ratio: float) -> tuple[float, float] | None:
    """The band whose (low, high] holds ``ratio`` (the first band also takes 0)."""
    return next((band for band in BANDS if band[0] < ratio <= band[1] or ratio == band[0] == 0), None)


def read_mask(path: Path) -> np.ndarray:
    """A hole mask PNG (white or any non-zero value = hole) as a bool (H, W) array."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L")) > 0
    except (OSError, ValueError) as exc:
        raise InputImageError(f"cannot read the mask {path} ({exc})") from None


def find_masks(folder: Path, index: Path | None = None) -> list[HoleMask]:
    """The masks of ``folder`` with their hole ratios: from ``index`` (default ``<folder>_index.csv``
    beside the folder: columns id, hole_ratio_512_original and stored) when there is one, else
    measured on each PNG."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvaluationError(f"the mask folder {folder} does not exist")
    index = index or folder.parent / f"{folder.name}_index.csv"
    if not index.exists():
        return [HoleMask(path, float(read_mask(path).mean())) for path in sorted(folder.glob("*.png"))]
    masks = []
    try:
        with index.open(newline="") as handle:
            for row in csv.DictReader(handle):
                path = folder / f"{row['id']}.png"
                if row.get("stored", "yes") == "yes" and path.exists():
                    masks.append(HoleMask(path, float(row[RATIO_COLUMN])))
    except (OSError, KeyError, ValueError) as exc:
        raise EvaluationError(
            f"the mask index {index} is unreadable (needs columns id and {RATIO_COLUMN}: {exc})"
        ) from None
    return masks


def pair_photos_and_masks(
    photos: Sequence[Path], masks: Sequence[HoleMask], limit: int, seed: int
) -> dict[tuple[float, float], list[tuple[Path, HoleMask]]]:
    """Up to ``limit`` (photo, mask) pairs per band, a function of ``seed`` (see the module doc)."""
    order = np.random.default_rng([seed, 0]).permutation(len(photos))
    pairs = {}
    for number, band in enumerate(BANDS, start=1):
        members = [mask for mask in masks if band_of(mask.ratio) == band]
        if not members:
            continue
        picked = np.random.default_rng([seed, number]).permutation(len(members))[:limit]
        pairs[band] = [(photos[order[i % len(photos)]], members[j]) for i, j in enumerate(picked)]
    return pairs


def hole_scores(result: np.ndarray, photo: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    return {
        "psnr": psnr(result, photo, hole),
        "ssim": ssim(result, photo, hole),
        "l1": l1(result, photo, hole),
    }


def evaluate(
    model, pairs: dict[tuple[float, float], list[tuple[Path, HoleMask]]], *, guide: bool = False
) -> list[BandResult]:
    """Fill every pair with the model and with OpenCV's methods; figures on the holes, per band.
    With ``guide`` a guided model also fills each hole given the real photo's Canny edges (method
    ``GUIDED``), beside its fill without them, so one pass shows what the guide adds."""
    results = []
    for band, band_pairs in pairs.items():
        result = BandResult(band)
        for photo_path, mask in band_pairs:
            photo = read_rgb_image(photo_path)
            hole = resize_ids(read_mask(mask.path), photo.shape[:2])
            if not hole.any():
                continue  # a hole smaller than a pixel of this photo
            result.pairs += 1
            result.add("model", hole_scores(model.inpaint(photo, hole), photo, hole))
            if guide:
                sketch = (guide_edges(photo) * 255).astype(np.uint8)
                result.add(GUIDED, hole_scores(model.inpaint(photo, hole, sketch), photo, hole))
            hole_u8 = hole.astype(np.uint8) * 255
            for name, flag in OPENCV_METHODS.items():
                filled = cv2.inpaint(photo, hole_u8, INPAINT_RADIUS, flag)
                result.add(name, hole_scores(filled, photo, hole))
        if result.pairs:
            results.append(result)
    return results


def combined(results: Sequence[BandResult]) -> BandResult:
    """Every pair of ``results`` as one band."""
    total = BandResult((BANDS[0][0], BANDS[-1][1]), sum(r.pairs for r in results))
    for result in results:
        for method, metrics in result.scores.items():
            for metric, values in metrics.items():
                total.scores.setdefault(method, {}).setdefault(metric, []).extend(values)
    return total


def labelled_bands(results: Sequence[BandResult]) -> list[tuple[BandResult, str]]:
    """Each band with its label, then every pair together as "all"."""
    return [*((r, band_label(r.band)) for r in results), (combined(results), "all")]


def format_table(results: Sequence[BandResult], model_name: str) -> str:
    """One row per band and method, then the same for every pair together ("all")."""
    width = max(16, len(model_name) + 1)  # the model's full name: a cut one may read as another model
    lines = [f"{'hole %':<8}{'pairs':>6}  {'method':<{width}}{'PSNR':>8}{'SSIM':>8}{'L1':>8}"]
    for result, label in labelled_bands(results):
        methods = ["model", *([GUIDED] if GUIDED in result.scores else []), *OPENCV_METHODS]
        for i, method in enumerate(methods):
            head = f"{label:<8}{result.pairs:>6}" if i == 0 else " " * 14
            name = {"model": model_name, GUIDED: "+ edge guides"}.get(method, method)
            figures = [result.mean(method, metric) for metric in METRICS]
            lines.append(f"{head}  {name:<{width}}{figures[0]:>8.2f}{figures[1]:>8.3f}{figures[2]:>8.2f}")
    return "\n".join(lines)


def report(results: Sequence[BandResult]) -> dict[str, dict]:
    """Per band (and "all"): pairs, each method's mean figures and the model's PSNR gain over the
    better OpenCV method, as the model cards give them."""
    bands = {}
    for result, label in labelled_bands(results):
        means = {m: {k: round(result.mean(m, k), 4) for k in METRICS} for m in result.scores}
        opencv = max(means[m]["psnr"] for m in OPENCV_METHODS)
        bands[label] = {
            "pairs": result.pairs,
            **means,
            "gain_db_over_opencv": round(means["model"]["psnr"] - opencv, 4),
        }
    return bands


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, help="inpainting model: an installed name or a model folder"
    )
    parser.add_argument(
        "--photos",
        type=Path,
        action="append",
        required=True,
        help="held-out photo folder (searched recursively) or file; repeatable",
    )
    parser.add_argument(
        "--masks",
        type=Path,
        required=True,
        help="folder of hole masks (PNG, white = hole), e.g. ../shared/datasets/masks/nvidia_irregular_test",
    )
    parser.add_argument(
        "--mask-index",
        type=Path,
        help="CSV of hole ratios (columns id, hole_ratio_512_original, stored); default: "
        "<masks>_index.csv beside the folder, else the ratios are measured",
    )
    parser.add_argument(
        "--limit", type=int, default=100, help="pairs per hole-size band (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the photo/mask pairing (default: 0)")
    parser.add_argument(
        "--guide",
        action="store_true",
        help="a guided model also fills each hole given the Canny edges of the real photo (the sketch a "
        "user would draw): one more row per band",
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, mps")
    parser.add_argument("--json", type=Path, help="also write the scores to this JSON file (for model cards)")


def run(args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise EvaluationError(f"--limit must be at least 1, got {args.limit}")
    photos = find_photos(args.photos).samples
    masks = find_masks(args.masks, args.mask_index)
    pairs = pair_photos_and_masks(photos, masks, args.limit, args.seed)
    if not pairs:
        raise EvaluationError(
            f"no mask in {args.masks} has a hole ratio in {band_label((BANDS[0][0], BANDS[-1][1]))} %"
        )
    model = load_model(args.model, device=args.device)
    if model.card.kind != "lama":
        raise CheckpointError(f"'{args.model}' is a {model.card.kind} model, not an inpainting (lama) model")
    if args.guide and not model.supports_guide:
        raise EvaluationError(f"--guide: the model '{model.card.name}' was not trained with guide sketches")
    results = evaluate(model, pairs, guide=args.guide)
    print(
        f"inpainting model '{model.card.name}' on {len(photos)} photos and {len(masks)} masks "
        f"(up to {args.limit} pairs per band, seed {args.seed}{', edge guides' if args.guide else ''}); "
        "PSNR (dB), SSIM and L1 (0..255) on the holes"
    )
    print(format_table(results, model.card.name))
    if args.json:
        write_report(
            args.json,
            {
                "task": "inpaint",
                "model": str(args.model),
                "photos": [str(p) for p in args.photos],
                "masks": str(args.masks),
                "limit": args.limit,
                "seed": args.seed,
                "guide": args.guide,
                "bands": report(results),
            },
        )
