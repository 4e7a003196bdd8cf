"""``python -m trainers.colorize`` and ``python -m trainers.evaluate colorize`` on tiny photo folders:
Lab crops with simulated hints, learning, exports the engine's colorization runtime opens, exact
resume, the evaluation table, and the command line's defaults and errors."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine import load_model
from engine.checkpoints import ModelCard, read_card
from engine.colorization import GLOBAL_HINT_SIZE, ColorizationModel, Hint, global_hint_from_image
from engine.lab import lab_to_uint8, rgb2lab
from engine.models.colorize import AB_BINS, ColorizationConfig, SIGGRAPHGenerator, ab_bin_centers
from tests.conftest import DATASETS, require_shared
from tests.trainers.test_spade import assert_same_training_state
from trainers import colorize, evaluate
from trainers.augment import Augmentation
from trainers.checkpoint import load_checkpoint
from trainers.evaluation.colorize import GLOBAL, GREY, HINT_COUNTS, evaluate_colorization
from trainers.evaluation.metrics import psnr
from trainers.hints import HintSampling
from trainers.photos import find_photos

TINY = ["--size", "32", "--width", "4", "--batch", "2", "--workers", "0", "--no-progress", "--no-tensorboard"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny networks: faster on one thread


PALETTE = np.array([(30, 60, 200), (240, 200, 40), (200, 40, 40)], np.uint8)  # L 33, 82, 44


def write_photos(folder, count, size=(40, 48), seed=0):
    """Blue photos with a yellow or red rectangle: colours a network can learn from lightness."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        photo = np.empty((*size, 3), np.uint8)
        photo[:] = PALETTE[0]
        top, left = rng.integers(0, size[0] // 2), rng.integers(0, size[1] // 2)
        photo[top : top + size[0] // 2, left : left + size[1] // 2] = PALETTE[1 + i % 2]
        Image.fromarray(photo).save(folder / f"p{i}.png")
    return folder


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"), 6)


def train(photos, out, *extra: str) -> None:
    assert colorize.main(["--data", str(photos), "--out", str(out), *TINY, *extra]) == 0


@pytest.fixture(scope="module")
def tiny_model(photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train(photos, out, "--iters", "2")
    return out / "model"


def test_colour_classes_are_the_nearest_bin_centres():
    centres = ab_bin_centers()[None, :, :, None].permute(0, 2, 1, 3)  # (1, 2, 529, 1)
    assert torch.equal(colorize.ab_classes(centres).flatten(), torch.arange(AB_BINS))
    shifted = colorize.ab_classes(centres + torch.tensor([4.9, -4.9])[None, :, None, None])
    assert torch.equal(shifted.flatten(), torch.arange(AB_BINS))
    outside = colorize.ab_classes(torch.tensor([[200.0, -200.0]])[:, :, None, None])
    assert outside.item() == 22 * 23  # a at its top class, b at its bottom one


def test_items_are_the_crop_in_lab_with_hints_from_its_own_colours(photos):
    samples = find_photos([photos]).samples
    dataset = colorize.ColorizationDataset(samples, Augmentation((32, 32)), seed=1, augment=False)
    item = dataset[(0, 0)]
    photo = np.asarray(Image.open(samples[0]).convert("RGB"))
    crop = Augmentation((32, 32)).center(photo.shape[:2]).photo(photo)
    lab = rgb2lab(crop).transpose(2, 0, 1)
    assert torch.equal(item["lightness"], torch.from_numpy(lab[:1].astype(np.float32)))
    assert torch.equal(item["ab"], torch.from_numpy(lab[1:].astype(np.float32)))
    assert item["image"].shape == (3, 32, 32) and "global_hint" not in item
    mask = item["hint_mask"][0].bool()
    assert not item["hint_ab"][:, ~mask].any()
    assert torch.equal(dataset[(0, 0)]["hint_mask"], item["hint_mask"])
    masks = [dataset[(0, epoch)]["hint_mask"] for epoch in range(1, 6)]
    assert any(not torch.equal(m, item["hint_mask"]) for m in masks)  # new hints every epoch
    hinted = next(dataset[(i, e)] for e in range(20) for i in range(6) if dataset[(i, e)]["hint_mask"].any())
    mask = hinted["hint_mask"][0].bool()
    colours = hinted["hint_ab"][:, mask]
    assert colours.abs().max() <= 110 and colours.abs().sum() > 0  # the photos' saturated colours


def test_global_hints_are_the_crops_own_with_parts_left_out_at_random(photos):
    samples = find_photos([photos]).samples
    dataset = colorize.ColorizationDataset(samples, Augmentation((32, 32)), global_keep=0.5)
    flags = []
    for epoch in range(12):
        item = dataset[(1, epoch)]
        vector = item["global_hint"].numpy()
        assert vector.shape == (GLOBAL_HINT_SIZE,)
        histogram, saturation = bool(vector[AB_BINS]), bool(vector[AB_BINS + 2])
        flags.append((histogram, saturation))
        rgb = np.rint((item["image"].permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)
        np.testing.assert_array_equal(vector, global_hint_from_image(rgb, histogram, saturation))
    assert len(set(flags)) >= 3


def test_training_raises_the_sample_psnr_and_exports_a_model_the_engine_colorizes_with(photos, tmp_path):
    fast = ["--lr", "0.008", "--width", "8"]
    train(photos, tmp_path / "short", "--iters", "1", *fast)
    run = tmp_path / "long"
    train(photos, run, "--iters", "40", "--checkpoint-every", "20", "--sample-every", "20", *fast)
    before = read_card(tmp_path / "short" / "model").metrics
    after = read_card(run / "model").metrics
    assert set(after) == {"sample_psnr", "sample_psnr_no_hints"}
    assert after["sample_psnr"] > before["sample_psnr"] + 3, (before, after)  # measured: 10.5 -> 15.2
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000020.png", "step_0000040.png"]
    grid = Image.open(run / "samples" / "step_0000040.png")
    assert grid.size == (4 * 32 + 3 * 2, 4 * 32 + 3 * 2)  # hints | output | no hints | real, 4 samples

    card = read_card(run / "model")
    assert card.kind == ColorizationModel.kind == "colorization" and card.label_set is None
    assert card.architecture == {"width": 8, "global_hint_channels": 0, "crop_size": 32}
    assert card.native_size == (32, 32) and card.trained_on.startswith("6 photos of ")
    assert card.training["steps"] == 40 and card.training["batch"] == 2 and card.training["hardware"]
    assert set(card.training["final_losses"]) == {"G/huber", "G/class"}
    assert card.training["hints"] == {"p": 0.125, "min_size": 1, "max_size": 9, "location": "uniform"}
    model = load_model(run / "model", device="cpu")
    assert isinstance(model, ColorizationModel) and not model.has_global_hints
    grey = np.full((45, 70), 120, np.uint8)
    out = model.colorize(grey, [Hint(10, 20, (200, 30, 30)), Hint(60, 40, (20, 40, 220), size=5)])
    assert out.shape == (45, 70, 3) and out.dtype == np.uint8
    assert len(model.suggest_colors(grey, (5, 5), k=3)) == 3


def test_global_hints_train_the_branch_the_engine_feeds(photos, tmp_path):
    train(photos, tmp_path / "global", "--iters", "2", "--global-hints", "--global-keep", "0.7")
    card = read_card(tmp_path / "global" / "model")
    assert (
        card.architecture["global_hint_channels"] == GLOBAL_HINT_SIZE and card.training["global_keep"] == 0.7
    )
    model = load_model(tmp_path / "global" / "model", device="cpu")
    assert model.has_global_hints
    reference = np.zeros((20, 20, 3), np.uint8)
    reference[..., 2] = 255
    assert model.colorize(
        np.full((32, 32), 90, np.uint8), global_hint=global_hint_from_image(reference)
    ).shape == (
        32,
        32,
        3,
    )
    branch = load_checkpoint(tmp_path / "global" / "checkpoint.pt")["networks"]["G"]["global_hints.6.weight"]
    assert branch.abs().sum() > 0  # the last layer starts at zero: it was trained


def test_resume_equals_an_uninterrupted_run(photos, tmp_path):
    """Stopped after 3 iterations and resumed to 7 (across an epoch: 6 photos, batch 2): the same
    weights, optimiser moments, EMA and step as 7 iterations in one go."""
    stopped = tmp_path / "stopped"
    train(photos, stopped, "--iters", "3", "--global-hints", "--no-export")
    assert colorize.main(["--out", str(stopped), "--resume", "--iters", "7"]) == 0
    train(photos, tmp_path / "straight", "--iters", "7", "--global-hints", "--no-export")
    resumed = load_checkpoint(stopped / "checkpoint.pt")
    straight = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    assert resumed["loop"]["step"] == 7 and resumed["loop"]["epoch"] == 2
    assert_same_training_state(resumed, straight)
    for a, b in zip(
        resumed["optimizers"]["G"]["state"].values(),
        straight["optimizers"]["G"]["state"].values(),
        strict=True,
    ):
        torch.testing.assert_close(a["exp_avg_sq"], b["exp_avg_sq"], atol=0, rtol=0)


def test_evaluation_prints_psnr_by_number_of_hints_and_the_grey_baseline(tiny_model, photos, capsys):
    assert (
        evaluate.main(["colorize", "--model", str(tiny_model), "--photos", str(photos), "--limit", "2"]) == 0
    )
    out = capsys.readouterr().out
    assert "on 2 photos of" in out and "at 32x32" in out
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [row[0] for row in rows] == [GREY, *map(str, HINT_COUNTS)]
    samples = find_photos([photos]).samples[:2]
    expected = []
    for path in samples:
        photo = np.asarray(Image.open(path).convert("RGB"))
        rgb = Augmentation((32, 32)).center(photo.shape[:2]).photo(photo)
        lab = rgb2lab(rgb)
        lab[..., 1:] = 0
        expected.append(psnr(lab_to_uint8(lab), rgb))
    assert float(rows[0][1]) == pytest.approx(np.mean(expected), abs=0.006)
    assert all(np.isfinite(float(row[1])) for row in rows)


class HintCopier(SIGGRAPHGenerator):
    """A stand-in network that answers the hint colours where there are hints and 0 elsewhere."""

    def forward(self, lightness, ab=None, mask=None, global_hint=None, return_class_logits=False):
        return ab * mask


class Grey(SIGGRAPHGenerator):
    def forward(self, lightness, ab=None, mask=None, global_hint=None, return_class_logits=False):
        return torch.zeros_like(ab)


class GlobalTint(SIGGRAPHGenerator):
    """Grey, or a fixed tint when given a global hint."""

    def forward(self, lightness, ab=None, mask=None, global_hint=None, return_class_logits=False):
        return torch.zeros_like(ab) + (0 if global_hint is None else 30)


def stand_in(network: type, global_hints: bool = False) -> ColorizationModel:
    channels = GLOBAL_HINT_SIZE if global_hints else 0
    config = ColorizationConfig(width=1, crop_size=32, global_hint_channels=channels)
    card = ModelCard("stand-in", "colorization", config.to_dict(), None, config.native_size)
    return ColorizationModel(card, network(config), torch.device("cpu"), torch.float32)


def test_evaluation_protocol_with_stand_in_networks(photos):
    samples = find_photos([photos]).samples
    grey = evaluate_colorization(stand_in(Grey), samples).psnr
    assert all(value == grey[GREY] for value in grey.values())  # ab = 0 is the grey baseline, exactly
    copied = evaluate_colorization(stand_in(HintCopier), samples, patch_size=5).psnr
    assert copied[0] == grey[GREY]
    assert copied[100] > copied[10] > copied[1] > grey[GREY]  # more of the real colours revealed
    again = evaluate_colorization(stand_in(HintCopier), samples, patch_size=5).psnr
    assert again == copied  # seeded
    assert evaluate_colorization(stand_in(HintCopier), samples, patch_size=5, seed=1).psnr != copied
    assert GLOBAL not in grey  # no branch, no row
    tinted = evaluate_colorization(stand_in(GlobalTint, global_hints=True), samples).psnr
    assert tinted[0] == grey[GREY] and tinted[GLOBAL] < grey[GREY]  # the row runs with the global hint


def test_evaluation_refuses_other_kinds_of_model_and_bad_options(tiny_model, photos, tmp_path, capsys):
    card = json.loads((tiny_model / "model.json").read_text())
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.safetensors").write_bytes((tiny_model / "model.safetensors").read_bytes())
    (other / "model.json").write_text(json.dumps({**card, "kind": "spade"}))
    base = ["colorize", "--photos", str(photos)]
    assert evaluate.main([*base, "--model", str(other)]) == 2
    assert capsys.readouterr().err == f"error: {other} holds a 'spade' model, not a colorization model\n"
    for option in ("--limit", "--patch-size"):
        with pytest.raises(SystemExit):
            evaluate.main([*base, "--model", str(tiny_model), option, "0"])
        assert f"argument {option}: must be at least 1, got 0" in capsys.readouterr().err


def test_defaults_train_a_compact_network_on_the_shared_photos_without_the_grey_ones(tmp_path):
    photos = require_shared(DATASETS / "photos")
    grey = photos / "imagenet_sample_grayscale.txt"
    out = tmp_path / "photos"
    options = ["--exclude", str(grey), "--out", str(out), "--iters", "1", "--no-progress", "--no-tensorboard"]
    assert colorize.main(["--data", str(photos), *options]) == 0
    card = read_card(out / "model")
    assert card.architecture == {"width": 16, "global_hint_channels": 0, "crop_size": 256}
    run = json.loads((out / "run.json").read_text())
    assert run["train"]["batch"] == 1
    assert run["data"]["samples"] == len(find_photos([photos]).samples) - len(grey.read_text().split())
    assert "minus those listed in" in card.trained_on and card.native_size == (256, 256)


def test_help_explains_every_option():
    parser = colorize.build_parser()
    text = parser.format_help()
    for option in (
        "--data",
        "--exclude",
        "--size",
        "--width",
        "--global-hints",
        "--hint-p",
        "--resume",
        "--iters",
    ):
        assert option in text
    for action in parser._actions:
        assert action.help, action.option_strings
    assert "compact network" in text and "{uniform,gaussian}" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--size", "36"], "--size must be a multiple of 8 and at least 16, got 36"),
        (["--width", "-2"], "--width must be at least 1, got -2"),
        (["--hint-max-size", "0"], "1 <= min <= max"),
        (["--global-keep", "1.5"], "--global-keep must be a probability"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(photos, tmp_path, capsys, options, message):
    code = colorize.main(
        ["--data", str(photos), "--out", str(tmp_path / "run"), *TINY, *options, "--iters", "1"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_recipe_round_trips_through_its_dict():
    recipe = colorize.ColorizationRecipe(
        ColorizationConfig(width=8, global_hint_channels=GLOBAL_HINT_SIZE, crop_size=64),
        colorize.ColorizationTraining(hints=HintSampling(p=0.25, location="gaussian"), lambda_class=0.5),
    )
    data = json.loads(json.dumps(recipe.to_dict()))
    again = colorize.ColorizationRecipe.from_dict(data)
    assert again.config == recipe.config and again.training == recipe.training
    assert again.image_size == (64, 64) and again.global_keep == 0.5


def test_a_new_run_can_start_from_an_exported_model_and_refuses_another_architecture(
    photos, tiny_model, tmp_path, capsys
):
    from engine.checkpoints import read_weights

    train(photos, tmp_path / "again", "--iters", "1", "--lr", "0", "--init", str(tiny_model))
    before, after = read_weights(tiny_model)["G"], read_weights(tmp_path / "again" / "model")["G"]
    weights = [key for key in before if "running_" not in key and "num_batches" not in key]
    assert weights and all(torch.equal(before[key], after[key]) for key in weights)  # lr 0: unchanged
    wider = ["--data", str(photos), "--out", str(tmp_path / "wider"), *TINY, "--iters", "1"]
    assert colorize.main([*wider, "--width", "8", "--init", str(tiny_model)]) == 2
    assert "--init" in capsys.readouterr().err
