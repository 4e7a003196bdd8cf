"""``python -m trainers.evaluate colorize``: PSNR of a colorization model against the real colour
photos as colour hints are added, the protocol of Zhang et al. (SIGGRAPH 2017, fig. 4).

Each photo is scaled to cover the model's native size and centre-cropped (as the trainer's
preview). Its hints are drawn from the real photo, seeded per photo: the first N of one random
sequence of patches (sides 1-9 px unless ``--patch-size``, uniform locations, each carrying its
patch's mean ab), so 2 hints are the 1-hint case plus one. The grey baseline is the photo's
lightness with ab = 0. Models with the global hints branch get one more row, "global": no local
hints, the photo's own colour histogram and saturation as the global hint (as the paper measured
its global hints network). PSNR is in dB on RGB 0..255, averaged over the photos.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine import load_model
from engine.checkpoints import read_card
from engine.colorization import ColorizationModel, global_hint_from_image
from engine.errors import CheckpointError
from engine.lab import lab_to_uint8, rgb2lab
from engine.labels import read_rgb_image
from engine.registry import resolve_model
from trainers.augment import Augmentation
from trainers.evaluation.metrics import psnr
from trainers.evaluation.options import positive
from trainers.hints import HintSampling, hint_maps, sample_patches
from trainers.photos import find_photos

HINT_COUNTS = (0, 1, 2, 5, 10, 20, 50, 100)
GREY = "grey"  # the baseline's row in the results
GLOBAL = "global"  # no local hints, the photo's own colour histogram and saturation as the global hint


@dataclass(frozen=True)
class ColorizationScores:
    """Mean PSNR (dB) by number of hints (and ``GREY`` for the grey baseline) over ``photos`` photos."""

    psnr: dict[int | str, float]
    photos: int
    size: tuple[int, int]

    def table(self) -> str:
        lines = [f"{'hints':>6}  {'PSNR (dB)':>9}"]
        for key, value in self.psnr.items():
            lines.append(f"{key:>6}  {value:9.2f}")
        return "\n".join(lines)


def colorize_with_hints(
    model: ColorizationModel,
    rgb: np.ndarray,
    hint_ab: np.ndarray,
    hint_mask: np.ndarray,
    global_hint: np.ndarray | None = None,
) -> np.ndarray:
    """The model's colours for a photo at its working size with hint maps on that grid: a batch
    (B, 2, H, W) ab + (B, 1, H, W) mask [+ (B, C) global hints] -> (B, H, W, 3) uint8, L taken
    from the photo."""
    lab = rgb2lab(rgb)
    batch = len(hint_ab)
    lightness = torch.from_numpy(lab[None, None, ..., 0].astype(np.float32)).expand(batch, -1, -1, -1)
    inputs = [
        t.to(model.device, model.dtype)
        for t in (lightness, torch.from_numpy(hint_ab), torch.from_numpy(hint_mask))
    ]
    if global_hint is not None:
        inputs.append(torch.from_numpy(global_hint).to(model.device, model.dtype))
    with torch.inference_mode():
        ab = model.generator(*inputs).float().permute(0, 2, 3, 1).cpu().numpy()
    return lab_to_uint8(
        np.concatenate([np.broadcast_to(lab[..., :1], (batch, *lab.shape[:2], 1)), ab], axis=3)
    )


def evaluate_colorization(
    model: ColorizationModel,
    photos: Sequence[Path],
    counts: Sequence[int] = HINT_COUNTS,
    seed: int = 0,
    patch_size: int | None = None,
) -> ColorizationScores:
    """Mean PSNR of ``model`` on ``photos`` for each number of hints in ``counts`` and for grey."""
    size = model.native_size
    augmentation = Augmentation(size)
    sampling = (
        HintSampling() if patch_size is None else HintSampling(min_size=patch_size, max_size=patch_size)
    )
    sums = dict.fromkeys([GREY, *counts, *([GLOBAL] if model.has_global_hints else [])], 0.0)
    for number, path in enumerate(photos):
        photo = read_rgb_image(path)
        rgb = augmentation.center(photo.shape[:2]).photo(photo)
        lab = rgb2lab(rgb)
        grey = lab_to_uint8(np.concatenate([lab[..., :1], np.zeros_like(lab[..., 1:])], axis=2))
        sums[GREY] += psnr(grey, rgb)
        patches = sample_patches(np.random.default_rng([seed, number]), size, sampling, max(counts))
        maps = [hint_maps(lab.transpose(2, 0, 1)[1:], patches[:count]) for count in counts]
        outputs = colorize_with_hints(
            model, rgb, np.stack([m[0] for m in maps]), np.stack([m[1] for m in maps])
        )
        for count, output in zip(counts, outputs, strict=True):
            sums[count] += psnr(output, rgb)
        if model.has_global_hints:
            empty = hint_maps(lab.transpose(2, 0, 1)[1:], [])
            (output,) = colorize_with_hints(
                model, rgb, empty[0][None], empty[1][None], global_hint_from_image(rgb)[None]
            )
            sums[GLOBAL] += psnr(output, rgb)
    return ColorizationScores({k: v / len(photos) for k, v in sums.items()}, len(photos), size)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="colorization model folder or installed model name")
    parser.add_argument(
        "--photos",
        type=Path,
        required=True,
        help="folder of colour photos (searched recursively) or one photo",
    )
    parser.add_argument(
        "--exclude",
        type=Path,
        action="append",
        default=[],
        help="text file listing photo file names to leave out, e.g. grayscale ones (repeatable)",
    )
    parser.add_argument("--limit", type=positive, help="evaluate only the first N photos (sorted by path)")
    parser.add_argument(
        "--patch-size",
        type=positive,
        help="side of every hint patch in pixels (default: random 1-9, as in training)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the hints (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, mps")


def run(args: argparse.Namespace) -> ColorizationScores:
    photos = find_photos([args.photos], args.exclude).samples[: args.limit]
    folder = resolve_model(args.model)
    kind = read_card(folder).kind
    if kind != ColorizationModel.kind:
        raise CheckpointError(f"{folder} holds a '{kind}' model, not a colorization model")
    model = load_model(folder, device=args.device)
    scores = evaluate_colorization(model, photos, seed=args.seed, patch_size=args.patch_size)
    height, width = scores.size
    print(
        f"colorization PSNR (dB, RGB 0..255) of {model.card.name} on {scores.photos} photos of {args.photos} "
        f"at {width}x{height}, hints seeded {args.seed}"
    )
    print(scores.table())
    return scores
