"""``python -m trainers.evaluate labels``: the FCN-score of a label-to-photo model (pix2pix protocol).

A segmenter trained on real photos (``python -m trainers.segmenter``) labels (a) the real test
photos and (b) the photos the model synthesizes from their label maps. The closer (b)'s scores come
to (a)'s, the more the synthesized photos show the painted classes where they were painted.
Sketch-to-photo models are scored the same way from sketches of the test photos (``--input
sketches``): the label maps then say whether the photo painted from the lines shows the classes
where the real photo shows them.

Scores come from one confusion matrix over all pixels of the split (rows: true class, columns:
predicted), as in pix2pix's evaluation: per-pixel accuracy = correct / all; per-class accuracy =
mean over classes present in the truth of their recall; mean IoU = mean over classes present in
the truth or the prediction of TP / (TP + FP + FN). Don't-care pixels are left out.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from engine import load_model
from engine.errors import CheckpointError
from engine.labels import LabelSet
from engine.models.segmenter import SegmentationModel, load_segmenter
from engine.registry import ASSETS
from trainers.data import FORMATS, DatasetError, Example, SampleFiles, find_samples, read_example
from trainers.evaluation.options import add_run_options, write_report
from trainers.sketch_data import SketchData

# a decoded test sample (photo, label ids, instance ids) -> the model's photo of it, (H, W, 3) uint8
Painter = Callable[[Example], np.ndarray]
INPUTS = ("labels", "sketches")

# trained on the real facades/train photos; the shipped facades models' cards were measured with it
FACADES_SEGMENTER = ASSETS / "evaluation" / "seg-facades"


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Pixel counts (num_classes, num_classes), row = true class, column = predicted class, from
    channel-index maps; true values outside 0..num_classes-1 (the don't-care channel) are left out."""
    truth, predicted = np.asarray(truth).ravel(), np.asarray(predicted).ravel()
    if truth.shape != predicted.shape:
        raise ValueError(f"the maps differ in size: {truth.size} vs {predicted.size} pixels")
    keep = (truth >= 0) & (truth < num_classes)
    truth, predicted = truth[keep].astype(np.int64), predicted[keep].astype(np.int64)
    if predicted.size and (predicted.min() < 0 or predicted.max() >= num_classes):
        raise ValueError(f"predicted classes must lie in 0..{num_classes - 1}")
    return np.bincount(truth * num_classes + predicted, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


@dataclass(frozen=True)
class SegmentationScores:
    pixel_accuracy: float
    class_accuracy: float
    mean_iou: float
    class_iou: tuple[float | None, ...]  # per class; None where it is neither in the truth nor predicted

    def to_dict(self, label_set: LabelSet | None = None) -> dict[str, Any]:
        """JSON-able; ``class_iou`` keyed by class name when ``label_set`` is given."""
        ious: Any = list(self.class_iou)
        if label_set is not None:
            names = [c.name for c in label_set.classes if c.id != label_set.dontcare_id]
            ious = dict(zip(names, self.class_iou, strict=True))
        return {
            "pixel_accuracy": self.pixel_accuracy,
            "class_accuracy": self.class_accuracy,
            "mean_iou": self.mean_iou,
            "class_iou": ious,
        }


def segmentation_scores(confusion: np.ndarray) -> SegmentationScores:
    """Per-pixel accuracy, per-class accuracy and mean IoU of a confusion matrix (see the module doc)."""
    confusion = np.asarray(confusion, np.float64)
    if confusion.sum() == 0:
        raise ValueError("the confusion matrix counts no pixels")
    correct = np.diag(confusion)
    in_truth, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    union = in_truth + predicted - correct
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = correct / in_truth
        iou = correct / union
    return SegmentationScores(
        pixel_accuracy=float(correct.sum() / confusion.sum()),
        class_accuracy=float(np.nanmean(recall)),
        mean_iou=float(np.nanmean(iou)),
        class_iou=tuple(None if np.isnan(v) else float(v) for v in iou),
    )


@dataclass(frozen=True)
class FCNScore:
    real: SegmentationScores
    synthesized: SegmentationScores
    pairs: int

    @property
    def mean_iou_ratio(self) -> float | None:
        """(b)/(a) of mean IoU: 1 when the segmenter finds the classes as well as in real photos."""
        return self.synthesized.mean_iou / self.real.mean_iou if self.real.mean_iou else None

    def card_metrics(self) -> dict[str, float | None]:
        """Flat numbers for a model card's ``metrics``."""
        return {
            "fcn_pixel_accuracy": round(self.synthesized.pixel_accuracy, 4),
            "fcn_class_accuracy": round(self.synthesized.class_accuracy, 4),
            "fcn_mean_iou": round(self.synthesized.mean_iou, 4),
            "fcn_mean_iou_real": round(self.real.mean_iou, 4),
            "fcn_mean_iou_ratio": None if self.mean_iou_ratio is None else round(self.mean_iou_ratio, 4),
        }


def same_classes(a: LabelSet, b: LabelSet) -> bool:
    return [(c.id, c.name) for c in a.classes] == [(c.id, c.name) for c in b.classes]


def label_painter(model: Any, label_set: LabelSet) -> Painter:
    """How ``model`` turns a label map of ``label_set`` into a photo: ``synthesize`` without style
    (z = 0 for models with a style encoder), or for pix2pix models ``translate`` of the map in the
    label set's colours (fixed dropout noise)."""
    name = model.card.name
    if hasattr(model, "synthesize"):
        if not same_classes(model.label_set, label_set):
            raise CheckpointError(
                f"the model '{name}' paints label set '{model.label_set.name}' but the segmenter was "
                f"trained on '{label_set.name}'"
            )
        return lambda example: model.synthesize(example.ids, instances=example.instances)
    if hasattr(model, "translate"):
        return lambda example: model.translate(label_set.to_colors(example.ids), seed=0)
    raise CheckpointError(
        f"the model '{name}' (kind '{model.card.kind}') does not turn label maps into photos"
    )


def sketch_painter(model: Any) -> Painter:
    """How a sketch-to-photo (pix2pix) ``model`` paints a test sample: from the sketch of its photo,
    drawn the way the model was trained to read sketches (its card; the photo edge detector), in the
    model's own inference mode with fixed dropout noise."""
    if not hasattr(model, "translate"):
        raise CheckpointError(
            f"the model '{model.card.name}' (kind '{model.card.kind}') does not turn sketches into photos"
        )
    sketches = SketchData.as_trained(model)
    return lambda example: model.translate(sketches.draw(example.photo), seed=0)


def fcn_score(
    paint: Painter, segmenter: SegmentationModel, samples: Sequence[SampleFiles], progress: bool = False
) -> FCNScore:
    """Score the segmenter on the real photos of ``samples`` and on ``paint``'s photos of their maps."""
    label_set = segmenter.label_set
    n = label_set.label_nc
    real = np.zeros((n, n), np.int64)
    synthesized = np.zeros((n, n), np.int64)
    for files in tqdm(samples, unit="pair", disable=not progress, file=sys.stderr):
        example = read_example(files, label_set)
        truth = label_set.to_channels(example.ids)
        real += confusion_matrix(truth, label_set.to_channels(segmenter.segment(example.photo)), n)
        photo = paint(example)
        synthesized += confusion_matrix(truth, label_set.to_channels(segmenter.segment(photo)), n)
    if not real.any():
        raise DatasetError(f"the {len(samples)} label maps hold no labeled pixels (only don't-care)")
    return FCNScore(segmentation_scores(real), segmentation_scores(synthesized), len(samples))


def format_table(score: FCNScore, model: str) -> str:
    rows = [("(a) real photos", score.real), (f"(b) synthesized by {model}", score.synthesized)]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'':{width}}  per-pixel acc.  per-class acc.  mean IoU"]
    for name, s in rows:
        lines.append(f"{name:{width}}  {s.pixel_accuracy:14.3f}  {s.class_accuracy:14.3f}  {s.mean_iou:8.3f}")
    ratio = score.mean_iou_ratio
    shown = "n/a (the real photos' mean IoU is 0)" if ratio is None else f"{ratio:.3f}"
    lines.append(f"mean IoU ratio (b)/(a): {shown}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="label-to-photo model folder or installed name (spade, pix2pixhd; pix2pix models get the "
        "label maps in the label set's colours)",
    )
    parser.add_argument(
        "--segmenter",
        type=Path,
        default=FACADES_SEGMENTER,
        help="segmenter model folder trained on real photos of the same label set "
        "(python -m trainers.segmenter); default: the shipped facades segmenter "
        f"({FACADES_SEGMENTER.relative_to(ASSETS.parent)})",
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset folder with photos and label maps")
    parser.add_argument(
        "--format", choices=list(FORMATS), default="facades", help="layout of --data (default: facades)"
    )
    parser.add_argument("--split", default="test", help="split to evaluate (default: test)")
    parser.add_argument(
        "--input",
        choices=INPUTS,
        default="labels",
        help="what the model paints from: the label maps, or (sketch-to-photo models) sketches drawn "
        "from the test photos as the model's card says it was trained (default: labels)",
    )
    add_run_options(parser, "both networks")


def run(args: argparse.Namespace) -> FCNScore:
    segmenter = load_segmenter(args.segmenter, args.device, args.precision)
    model = load_model(args.model, args.device, args.precision)
    paint = sketch_painter(model) if args.input == "sketches" else label_painter(model, segmenter.label_set)
    samples = find_samples(args.data, args.format, args.split).samples[: args.limit]
    score = fcn_score(paint, segmenter, samples, progress=sys.stderr.isatty())
    print(
        f"FCN-score on {score.pairs} pairs of {args.data} ({args.split}), from the {args.input}, "
        f"segmenter '{segmenter.card.name}'"
    )
    print(format_table(score, f"'{model.card.name}'"))
    if args.json:
        report = {
            "task": "labels",
            "model": str(args.model),
            "segmenter": str(args.segmenter),
            "data": str(args.data),
            "split": args.split,
            "input": args.input,
            "pairs": score.pairs,
            "real": score.real.to_dict(segmenter.label_set),
            "synthesized": score.synthesized.to_dict(segmenter.label_set),
            "mean_iou_ratio": score.mean_iou_ratio,
            "card_metrics": score.card_metrics(),
        }
        write_report(args.json, report)
    return score
