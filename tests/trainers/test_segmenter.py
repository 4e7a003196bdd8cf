"""``python -m trainers.segmenter`` on a tiny three-class dataset (learning, export, exact resume) and the
FCN-score of ``python -m trainers.evaluate labels``: its metrics by hand and a run end to end."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine import load_model
from engine.checkpoints import read_card
from engine.labels import LabelSet, save_label_set
from engine.models.segmenter import load_segmenter
from tests.conftest import DATASETS, require_shared
from tests.factories import make_tiny_spade
from tests.factories_pix2pix import make_tiny_pix2pix
from trainers import evaluate, segmenter
from trainers.checkpoint import load_checkpoint
from trainers.data import find_samples, read_example
from trainers.evaluation.fcn_score import FCNScore, confusion_matrix, segmentation_scores
from trainers.sketch_data import SketchData

TINY = [
    "--format",
    "folder",
    "--size",
    "32",
    "--width",
    "8",
    "--depth",
    "3",
    "--batch",
    "2",
    "--workers",
    "0",
]
QUIET = ["--no-progress", "--no-tensorboard"]
PALETTE = {1: (190, 70, 60), 2: (70, 180, 80), 3: (60, 80, 190), 255: (128, 128, 128)}


def three_classes() -> LabelSet:
    return LabelSet.from_dict(
        {
            "name": "three",
            "background_id": 1,
            "dontcare_id": 255,
            "groups": ["all"],
            "classes": [
                {"id": i, "name": name, "color": "#{:02x}{:02x}{:02x}".format(*PALETTE[i]), "group": "all"}
                for i, name in ((1, "sky"), (2, "grass"), (3, "water"), (255, "unlabeled"))
            ],
        }
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """8 photos of 40x48: 8x8 blocks of three classes in noisy colours, balanced (chance = 1/3), with an
    unlabeled (don't-care) top row of blocks whose photo is grey noise."""
    root = tmp_path_factory.mktemp("three")
    rng = np.random.default_rng(0)
    palette = np.zeros((256, 3))
    for label_id, color in PALETTE.items():
        palette[label_id] = color
    for folder in ("images", "labels"):
        (root / folder).mkdir()
    for i in range(8):
        blocks = rng.integers(1, 4, (5, 6))
        blocks[0] = 255
        ids = np.kron(blocks, np.ones((8, 8), np.int64)).astype(np.uint8)
        photo = np.clip(palette[ids] + rng.normal(0, 25, (*ids.shape, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(photo).save(root / "images" / f"s{i}.png")
        Image.fromarray(ids).save(root / "labels" / f"s{i}.png")
    save_label_set(three_classes(), root / "three.json")
    return root


def train(data, out, *extra: str) -> None:
    options = ["--data", str(data), "--labelset", str(data / "three.json"), "--out", str(out), *TINY]
    assert segmenter.main([*options, *extra]) == 0


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "seg"
    train(data, run, "--iters", "20", "--lr", "0.01", "--ema-decay", "0.8", "--sample-every", "20", *QUIET)
    return run


def test_the_segmenter_learns_three_classes_and_exports_a_model_the_runtime_opens(data, trained):
    card = read_card(trained / "model")
    assert card.kind == "segmenter" and card.native_size == (32, 32) and card.label_set["name"] == "three"
    assert card.architecture == {"num_classes": 3, "width": 8, "depth": 3, "groups": 8}
    assert card.training["steps"] == 20 and card.training["loss"] == "cross-entropy"
    assert card.metrics["sample_pixel_accuracy"] > 0.8  # fixed batch, centre crops: 0.93; chance: 1/3
    grid = Image.open(trained / "samples" / "step_0000020.png")
    assert grid.size == (3 * 32 + 2 * 2, 4 * 32 + 3 * 2)  # photo | predicted | true, 4 samples

    model = load_segmenter(trained / "model", device="cpu", precision="fp32")
    correct = labeled = 0
    for i in range(8):
        photo = np.array(Image.open(data / "images" / f"s{i}.png"))
        ids = np.array(Image.open(data / "labels" / f"s{i}.png"))
        predicted = model.segment(photo)  # whole 40x48 photos, run at 32x38
        assert predicted.shape == ids.shape and 255 not in predicted
        correct += int((predicted == ids)[ids != 255].sum())
        labeled += int((ids != 255).sum())
    assert correct / labeled > 0.8, correct / labeled  # measured: 0.94 (after 1 iteration: 0.47)


def test_resume_continues_exactly_where_the_run_stopped(data, tmp_path):
    cheap = ["--width", "4", "--depth", "2", *QUIET, "--no-export"]
    train(data, tmp_path / "resumed", "--iters", "3", *cheap)
    assert segmenter.main(["--out", str(tmp_path / "resumed"), "--resume", "--iters", "6"]) == 0
    train(data, tmp_path / "straight", "--iters", "6", *cheap)  # 4 batches an epoch
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")
    straight = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    assert resumed["loop"]["step"] == straight["loop"]["step"] == 6 and resumed["loop"]["epoch"] == 1
    for part in ("networks", "ema"):
        for key, value in straight[part]["S"].items():
            torch.testing.assert_close(resumed[part]["S"][key], value, atol=0, rtol=0, msg=f"{part} {key}")


def test_confusion_matrix_and_scores_match_hand_computed_values():
    truth = np.array([[0, 0, 1], [1, 2, 5]])  # 5: the don't-care channel of a 5-class set
    predicted = np.array([[0, 1, 1], [3, 0, 2]])
    confusion = confusion_matrix(truth, predicted, 5)
    expected = np.zeros((5, 5), np.int64)
    for t, p in ((0, 0), (0, 1), (1, 1), (1, 3), (2, 0)):
        expected[t, p] += 1
    assert np.array_equal(confusion, expected)
    scores = segmentation_scores(confusion)
    assert scores.pixel_accuracy == pytest.approx(2 / 5)
    assert scores.class_accuracy == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)  # class 3 is not in the truth
    # IoU: 0 and 1: 1 / (2 + 2 - 1); 2: 0 / 1; 3 (predicted only): 0 / 1; 4 (nowhere): left out
    assert scores.class_iou == pytest.approx((1 / 3, 1 / 3, 0.0, 0.0, None))
    assert scores.mean_iou == pytest.approx(1 / 6)
    assert segmentation_scores(np.eye(3) * 7).mean_iou == 1.0
    score = FCNScore(segmentation_scores(np.eye(3)), scores, pairs=2)
    assert score.mean_iou_ratio == pytest.approx(1 / 6)
    assert score.card_metrics()["fcn_mean_iou"] == round(1 / 6, 4)
    with pytest.raises(ValueError, match="predicted classes must lie in 0..4"):
        confusion_matrix(truth, predicted + 2, 5)
    with pytest.raises(ValueError, match="counts no pixels"):
        segmentation_scores(np.zeros((3, 3)))


@pytest.fixture(scope="module")
def facades_segmenter(tmp_path_factory):
    """A barely trained segmenter (2 iterations on the val split at 32 px): the model folder."""
    run = tmp_path_factory.mktemp("facades") / "seg"
    facades = require_shared(DATASETS / "facades")
    options = ["--format", "facades", "--split", "val", "--size", "32", "--width", "4", "--depth", "2"]
    options += ["--batch", "2", "--workers", "0", "--iters", "2", *QUIET]
    assert segmenter.main(["--data", str(facades), "--out", str(run), *options]) == 0
    return run / "model"


def test_fcn_score_of_a_tiny_spade_on_three_facades_test_pairs(facades_segmenter, tmp_path, capsys):
    facades = require_shared(DATASETS / "facades")
    spade = make_tiny_spade(tmp_path / "spade", "facades")
    report = tmp_path / "fcn.json"
    command = ["labels", "--model", str(spade), "--segmenter", str(facades_segmenter), "--data", str(facades)]
    assert evaluate.main([*command, "--limit", "3", "--device", "cpu", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "FCN-score on 3 pairs" in out and "(a) real photos" in out and "(b) synthesized by 'tiny'" in out
    result = json.loads(report.read_text())
    assert result["pairs"] == 3 and result["split"] == "test"

    # the same numbers, computed here pixel by pixel
    seg = load_segmenter(facades_segmenter, device="cpu", precision="fp32")
    model = load_model(spade, device="cpu", precision="fp32")
    real = synthesized = pixels = 0
    predicted_ids = set()
    for files in find_samples(facades, "facades", "test").samples[:3]:
        example = read_example(files, seg.label_set)
        predicted = seg.segment(example.photo)
        predicted_ids |= set(np.unique(predicted).tolist())
        real += int((predicted == example.ids).sum())
        synthesized += int((seg.segment(model.synthesize(example.ids)) == example.ids).sum())
        pixels += example.ids.size
    assert len(predicted_ids) > 1  # an untrained segmenter, but not a constant one
    assert result["real"]["pixel_accuracy"] == pytest.approx(real / pixels, abs=1e-12)
    assert result["synthesized"]["pixel_accuracy"] == pytest.approx(synthesized / pixels, abs=1e-12)
    ratio = result["synthesized"]["mean_iou"] / result["real"]["mean_iou"]
    assert result["mean_iou_ratio"] == pytest.approx(ratio)
    assert set(result["real"]["class_iou"]) == {c.name for c in seg.label_set.classes}
    assert result["card_metrics"]["fcn_mean_iou_ratio"] == round(ratio, 4)
    for line, scores in zip(out.splitlines()[2:4], (result["real"], result["synthesized"]), strict=True):
        assert line.split()[-3:] == [
            f"{scores[k]:.3f}" for k in ("pixel_accuracy", "class_accuracy", "mean_iou")
        ]


def test_the_evaluation_refuses_a_segmenter_of_another_label_set_or_kind(trained, tmp_path, capsys):
    facades = require_shared(DATASETS / "facades")
    spade = make_tiny_spade(tmp_path / "spade", "facades")
    for segmenter_folder, message in (
        (trained / "model", "paints label set 'facades' but the segmenter was trained on 'three'"),
        (spade, "holds a 'spade' model, not a segmenter"),
    ):
        command = ["labels", "--model", str(spade), "--segmenter", str(segmenter_folder)]
        assert evaluate.main([*command, "--data", str(facades), "--device", "cpu"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_a_pix2pix_model_is_scored_on_the_maps_in_label_colours_with_fixed_noise(facades_segmenter, tmp_path):
    facades = require_shared(DATASETS / "facades")
    pix2pix = make_tiny_pix2pix(tmp_path / "pix2pix", native_size=(64, 64))
    report = tmp_path / "fcn.json"
    command = ["labels", "--model", str(pix2pix), "--segmenter", str(facades_segmenter)]
    command += ["--data", str(facades), "--limit", "1", "--device", "cpu", "--json", str(report)]
    assert evaluate.main(command) == 0
    seg = load_segmenter(facades_segmenter, device="cpu", precision="fp32")
    example = read_example(find_samples(facades, "facades", "test").samples[0], seg.label_set)
    photo = load_model(pix2pix, device="cpu", precision="fp32").translate(
        seg.label_set.to_colors(example.ids), seed=0
    )
    accuracy = float((seg.segment(photo) == example.ids).mean())
    assert json.loads(report.read_text())["synthesized"]["pixel_accuracy"] == pytest.approx(
        accuracy, abs=1e-12
    )


def test_a_sketch_model_is_scored_on_sketches_of_the_test_photos_drawn_as_its_card_says(
    facades_segmenter, tmp_path, capsys
):
    facades = require_shared(DATASETS / "facades")
    drawing = {"format": "edges", "edges": "canny", "edge_width": 2, "min_line": 16}
    pix2pix = make_tiny_pix2pix(
        tmp_path / "sketch", input_nc=1, native_size=(64, 64), training={"sketches": drawing}
    )
    report = tmp_path / "fcn.json"
    command = ["labels", "--model", str(pix2pix), "--segmenter", str(facades_segmenter)]
    command += ["--input", "sketches", "--data", str(facades), "--limit", "2"]
    command += ["--device", "cpu", "--json", str(report)]
    assert evaluate.main(command) == 0
    assert "from the sketches" in capsys.readouterr().out
    seg = load_segmenter(facades_segmenter, device="cpu", precision="fp32")
    model = load_model(pix2pix, device="cpu", precision="fp32")
    correct = pixels = 0
    for files in find_samples(facades, "facades", "test").samples[:2]:
        example = read_example(files, seg.label_set)
        photo = model.translate(SketchData(**drawing).draw(example.photo), seed=0)
        correct += int((seg.segment(photo) == example.ids).sum())
        pixels += example.ids.size
    result = json.loads(report.read_text())
    assert result["input"] == "sketches"
    assert result["synthesized"]["pixel_accuracy"] == pytest.approx(correct / pixels, abs=1e-12)

    spade = make_tiny_spade(tmp_path / "spade", "facades")
    command = ["labels", "--model", str(spade), "--segmenter", str(facades_segmenter), "--input", "sketches"]
    assert evaluate.main([*command, "--data", str(facades), "--device", "cpu"]) == 2
    assert "does not turn sketches into photos" in capsys.readouterr().err
