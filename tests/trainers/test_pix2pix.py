"""``python -m trainers.pix2pix`` and ``python -m trainers.evaluate sketch`` on tiny synthetic pairs
(and the shared BSDS500 sample): the four data formats, the discriminators' receptive fields, an
exported model the engine translates with, exact resume, and the evaluation's numbers."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine import load_model
from engine.checkpoints import read_card
from engine.sketch import SketchModel
from tests.conftest import DATASETS, require_shared
from tests.factories import make_tiny_spade
from tests.factories_pix2pix import make_tiny_pix2pix
from tests.trainers.test_spade import assert_same_training_state
from trainers import evaluate, pix2pix
from trainers.augment import Augmentation
from trainers.checkpoint import load_checkpoint
from trainers.data import DatasetError
from trainers.edges import SketchStyle
from trainers.evaluation.metrics import psnr, ssim
from trainers.pix2pix import (
    PairFiles,
    SketchData,
    SketchDataset,
    conditional_discriminator,
    find_pairs,
    sketch_tensor,
)

SIZE = (40, 48)
BACKGROUND, OBJECT = (40, 60, 120), (230, 200, 60)
TINY = ["--size", "32", "--ngf", "8", "--ndf", "8", "--batch", "2", "--workers", "0"]
QUIET = ["--no-progress", "--no-tensorboard"]


def square_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(sketch, photo): a yellow rectangle on dark blue (plus noise) and its black outline on white."""
    h, w = SIZE
    top, left = int(rng.integers(2, h // 2)), int(rng.integers(2, w // 2))
    bottom, right = top + int(rng.integers(8, h // 2)), left + int(rng.integers(8, w // 2))
    photo = np.empty((h, w, 3), np.float64)
    photo[:] = BACKGROUND
    photo[top:bottom, left:right] = OBJECT
    photo = np.clip(photo + rng.normal(0, 4, photo.shape), 0, 255).astype(np.uint8)
    sketch = np.full((h, w), 255, np.uint8)
    sketch[top:bottom, left:right] = 0
    sketch[top + 1 : bottom - 1, left + 1 : right - 1] = 255
    return sketch, photo


def write_pairs(root: Path, count: int, seed: int = 0) -> Path:
    """Format pairs: A/ sketches, B/ photos."""
    rng = np.random.default_rng(seed)
    for folder in ("A", "B"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sketch, photo = square_pair(rng)
        Image.fromarray(sketch).save(root / "A" / f"s{i:03d}.png")
        Image.fromarray(photo).save(root / "B" / f"s{i:03d}.png")
    return root


def write_aligned(folder: Path, count: int) -> Path:
    """Format aligned: sketch (as RGB) | photo side by side."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sketch, photo = square_pair(rng)
        Image.fromarray(np.concatenate([np.repeat(sketch[..., None], 3, 2), photo], 1)).save(
            folder / f"{i}.png"
        )
    return folder


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: the networks here are tiny, and on a busy machine a second thread waits
    more than it works (measured: 24 iterations in 3 s instead of 40 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("pairs"), 6)


def full_view(data: SketchData, files: list[PairFiles], channels: int = 1) -> SketchDataset:
    """Items at the files' own size: no zoom, crop or flip."""
    return SketchDataset(
        files, Augmentation(SIZE, zoom=(1.0, 1.0), flip=False), data, channels, augment=False
    )


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    return np.rint((tensor.permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)


# --- data ------------------------------------------------------------------------------------------------


def test_pairs_match_stems_in_either_direction_and_report_loners(pairs, tmp_path):
    index = find_pairs(pairs, "pairs")
    assert [(p.sketch.parent.name, p.photo.parent.name) for p in index.samples] == [("A", "B")] * 6
    assert index.problems == []
    item = full_view(SketchData("pairs"), index.samples)[0]
    assert item["sketch"].shape == (1, *SIZE) and item["image"].shape == (3, *SIZE)
    np.testing.assert_array_equal(
        to_uint8(item["sketch"])[..., 0], np.array(Image.open(pairs / "A" / "s000.png"))
    )
    np.testing.assert_array_equal(to_uint8(item["image"]), np.array(Image.open(pairs / "B" / "s000.png")))

    reverse = find_pairs(pairs, "pairs", direction="BtoA")
    assert reverse.samples[0] == PairFiles(pairs / "A" / "s000.png", pairs / "B" / "s000.png")

    split = write_pairs(tmp_path / "split" / "train", 2)  # {split}/A, {split}/B
    Image.new("RGB", SIZE[::-1]).save(split / "B" / "lonely.png")
    index = find_pairs(tmp_path / "split", "pairs", "train")
    assert len(index.samples) == 2 and index.problems == [
        f"the photo {split / 'B' / 'lonely.png'} has no sketch in {split / 'A'}"
    ]


def test_aligned_images_are_split_in_halves_by_direction(tmp_path):
    folder = write_aligned(tmp_path / "aligned" / "train", 3)
    index = find_pairs(tmp_path / "aligned", "aligned", "train")
    assert len(index.samples) == 3 and index.samples[0] == PairFiles(folder / "0.png", folder / "0.png")
    both = np.array(Image.open(folder / "0.png"))
    for direction, (sketch_half, photo_half) in {"AtoB": (0, 1), "BtoA": (1, 0)}.items():
        sketch, photo = SketchData("aligned", direction).read(index.samples[0])
        np.testing.assert_array_equal(sketch, both[:, sketch_half * 48 : (sketch_half + 1) * 48])
        np.testing.assert_array_equal(photo, both[:, photo_half * 48 : (photo_half + 1) * 48])
    rgb = full_view(SketchData("aligned"), index.samples, channels=3)[0]["sketch"]
    assert rgb.shape == (3, *SIZE)
    torch.testing.assert_close(rgb, sketch_tensor(both[:, :48], 3))


def test_edges_format_draws_the_sketch_of_each_random_crop(pairs):
    index = find_pairs(pairs / "B", "edges")  # any photo folder
    assert len(index.samples) == 6 and all(p.sketch is None for p in index.samples)
    data = SketchData("edges", edges="canny", min_line=4)
    dataset = SketchDataset(index.samples, Augmentation((32, 32), zoom=(1.0, 1.5)), data, 1, seed=3)
    for key in [(0, 0), (0, 1), (4, 2)]:
        item = dataset[key]
        photo = to_uint8(item["image"])
        sketch = to_uint8(item["sketch"])[..., 0]
        np.testing.assert_array_equal(sketch, SketchStyle("canny", 1, 4)(photo))
        assert (sketch == 0).sum() > 20 and set(np.unique(sketch)) == {0, 255}  # the outline, black on white


def test_bsds_maps_become_black_on_white_sketches():
    root = require_shared(DATASETS / "edges" / "bsds500").parents[1]
    assert [len(find_pairs(root, "bsds", s).samples) for s in ("train", "val", "test")] == [200, 100, 200]
    files = find_pairs(root, "bsds", "test").samples[0]
    assert files.sketch.name == files.photo.with_suffix(".png").name
    boundaries = np.array(Image.open(files.sketch))
    sketch, photo = SketchData("bsds").read(files)
    assert sketch.dtype == np.uint8 and sketch.shape == photo.shape[:2] == boundaries.shape
    np.testing.assert_array_equal(sketch, 255 - boundaries)  # the annotators' mean, inverted
    majority, _ = SketchData("bsds", bsds_agreement=0.5).read(files)
    np.testing.assert_array_equal(majority == 0, boundaries >= 127.5)
    assert set(np.unique(majority)) == {0, 255} and (majority == 0).sum() < (sketch < 255).sum()
    wide, _ = SketchData("bsds", bsds_agreement=0.5, edge_width=3).read(files)
    assert (wide == 0).sum() > 2 * (majority == 0).sum()
    item = SketchDataset([files], Augmentation((64, 64)), SketchData("bsds"), 1)[0]
    assert item["sketch"].shape == (1, 64, 64) and item["sketch"].min() < 0.5 < item["sketch"].max() == 1


@pytest.mark.parametrize(
    ("fmt", "layout", "message"),
    [
        ("pairs", [], "has no A/ folder (format pairs: A/ and B/)"),
        ("bsds", ["edges/bsds500/train"], "is not a BSDS500 layout: it has no photos/bsds500/train/"),
        ("edges", ["empty"], "no photos"),
        ("aligned", [], "no photos"),
    ],
)
def test_unusable_folders_are_named(tmp_path, fmt, layout, message):
    for folder in layout:
        (tmp_path / folder).mkdir(parents=True)
    with pytest.raises(DatasetError, match=re.escape(message)):
        find_pairs(tmp_path, fmt)
    with pytest.raises(DatasetError, match="does not exist"):
        find_pairs(tmp_path / "missing", fmt)


def test_a_pair_of_different_sizes_is_reported_and_replaced(tmp_path):
    root = write_pairs(tmp_path, 2)
    Image.new("L", (20, 20)).save(root / "A" / "s000.png")
    item = full_view(SketchData("pairs"), find_pairs(root, "pairs").samples)[0]
    assert item["index"] == 1
    assert item["problems"] == [
        f"the sketch {root / 'A' / 's000.png'} is 20x20 but its photo {root / 'B' / 's000.png'} is 48x40"
    ]


# --- discriminators --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("receptive", "size"), [(1, 16), (16, 48), (70, 112), (286, 320)])
def test_discriminator_sees_patches_of_the_chosen_size(receptive, size):
    """The support of the gradient of one central logit w.r.t. the photo and the sketch (running
    statistics: batch statistics would couple every pixel)."""
    torch.manual_seed(0)
    discriminator = conditional_discriminator(receptive, 3, 1, ndf=2).eval()
    photo = torch.randn(1, 3, size, size, requires_grad=True)
    sketch = torch.randn(1, 1, size, size, requires_grad=True)
    logits = discriminator(photo, sketch)[-1]
    logits[0, 0, logits.shape[2] // 2, logits.shape[3] // 2].backward()
    for grad in (photo.grad, sketch.grad):
        rows, cols = np.nonzero(grad[0].abs().sum(0).numpy())
        assert rows.max() - rows.min() + 1 == cols.max() - cols.min() + 1 == receptive


# --- training, export, resume ----------------------------------------------------------------------------


def train(data: Path, out: Path, *extra: str) -> None:
    assert pix2pix.main(["--data", str(data), "--format", "pairs", "--out", str(out), *TINY, *extra]) == 0


def test_training_exports_a_deterministic_sketch_model_the_engine_runs(pairs, tmp_path):
    fast = ["--lr", "0.002"]
    train(pairs, tmp_path / "short", "--iters", "1", *fast, *QUIET)
    train(pairs, tmp_path / "long", "--iters", "40", "--sample-every", "20", *fast, "--no-progress")
    run = tmp_path / "long"
    before = read_card(tmp_path / "short" / "model").metrics["sample_l1"]
    after = read_card(run / "model").metrics["sample_l1"]
    assert after < 0.5 * before, (before, after)  # measured: 0.44 -> 0.15
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000020.png", "step_0000040.png"]
    assert Image.open(run / "samples" / "step_0000040.png").size == (3 * 32 + 2 * 2, 4 * 32 + 3 * 2)
    assert any((run / "tensorboard").iterdir())

    card = read_card(run / "model")
    assert card.kind == "pix2pix" and card.label_set is None and card.native_size == (32, 32)
    assert card.architecture == {
        "input_nc": 1, "output_nc": 3, "ngf": 8, "num_downs": 5, "norm": "batch", "use_dropout": True,
        "default_mode": "deterministic",
    }  # fmt: skip
    assert "runs deterministic by default" in card.description and "every stroke" in card.description
    assert card.training["steps"] == 40 and card.training["lambda_l1"] == 100 and card.training["hardware"]
    assert card.training["betas"] == [0.5, 0.999] and card.training["d_receptive_field"] == 70
    assert card.training["sketches"]["format"] == "pairs" and "6 samples" in card.trained_on
    assert set(card.metrics) == {"sample_l1", "sample_l1_official"}

    model = load_model(run / "model", device="cpu")
    assert isinstance(model, SketchModel) and model.default_mode == "deterministic"
    sketch, photo = square_pair(np.random.default_rng(7))
    out = model.translate(sketch)
    assert out.shape == (*SIZE, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, model.translate(sketch))  # deterministic
    assert np.abs(out.astype(float) - photo).mean() < np.abs(255.0 - photo).mean() / 2  # learnt the colours
    assert model.translate(sketch, "official", seed=1).shape == (*SIZE, 3)


def test_resume_continues_exactly_like_an_uninterrupted_run(pairs, tmp_path):
    """3 iterations, then --resume to 5 (crossing an epoch: 6 pairs, batch 2) equals 5 straight:
    weights, BatchNorm statistics, EMA, Adam moments and the dropout noise's RNG."""
    options = ["--ngf", "4", "--ndf", "4", *QUIET, "--no-export"]
    train(pairs, tmp_path / "resumed", "--iters", "3", *options)
    assert pix2pix.main(["--out", str(tmp_path / "resumed"), "--resume", "--iters", "5"]) == 0
    train(pairs, tmp_path / "straight", "--iters", "5", *options)
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")
    straight = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    assert resumed["loop"]["step"] == 5 and resumed["loop"]["epoch"] == 1
    assert_same_training_state(resumed, straight)
    for name in ("G", "D"):
        for a, b in zip(
            resumed["optimizers"][name]["state"].values(),
            straight["optimizers"][name]["state"].values(),
            strict=True,
        ):
            torch.testing.assert_close(a["exp_avg"], b["exp_avg"], atol=0, rtol=0)


def test_help_explains_every_option():
    parser = pix2pix.build_parser()
    text = parser.format_help()
    for option in ("--format", "--direction", "--edges", "--bsds-agreement", "--d-receptive", "--lambda-l1"):
        assert option in text
    for action in parser._actions:
        assert action.help, action.option_strings
    assert "{pairs,aligned,edges,bsds}" in text and "{1,16,70,286}" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--size", "48"], "--size must be a positive multiple of 32"),
        (
            ["--size", "64", "--num-downs", "7"],
            "--size must be a positive multiple of 32 (and of 2^--num-downs)",
        ),
        (["--format", "bsds"], "is not a BSDS500 layout"),
        (["--edge-width", "0"], "--edge-width must be at least 1 pixel"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(pairs, tmp_path, capsys, options, message):
    argv = ["--data", str(pairs), "--out", str(tmp_path / "run"), *TINY, *options, "--iters", "1", *QUIET]
    assert pix2pix.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


# --- evaluation ------------------------------------------------------------------------------------------


def printed_rows(text: str) -> list[list[float]]:
    return [[float(v) for v in line.split()[-3:]] for line in text.splitlines()[2:4]]


def test_evaluate_sketch_prints_the_scores_of_the_model_and_the_baseline(pairs, tmp_path, capsys):
    model_dir = make_tiny_pix2pix(tmp_path / "tiny", input_nc=1, default_mode="deterministic")
    argv = ["sketch", "--model", str(model_dir), "--data", str(pairs), "--format", "pairs"]
    assert evaluate.main([*argv, "--device", "cpu", "--json", str(tmp_path / "scores.json")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"sketch -> photo on 6 pairs of {pairs} (format pairs, split test)"
    assert "PSNR (dB)   SSIM    L1" in out and "'tiny-pix2pix' (deterministic)" in out
    (model_psnr, model_ssim, _), (base_psnr, base_ssim, _) = printed_rows(out)

    model = load_model(model_dir, device="cpu", precision="fp32")
    files = find_pairs(pairs, "pairs").samples
    read = [(np.array(Image.open(f.sketch)), np.array(Image.open(f.photo))) for f in files]
    outputs = [(model.translate(sketch), photo) for sketch, photo in read]
    assert model_psnr == pytest.approx(np.mean([psnr(a, b) for a, b in outputs]), abs=0.006)
    assert model_ssim == pytest.approx(np.mean([ssim(a, b) for a, b in outputs]), abs=0.0006)
    colour = np.rint(np.mean([p.reshape(-1, 3).mean(0) for _, p in read], axis=0)).astype(np.uint8)
    flat = [(np.broadcast_to(colour, p.shape), p) for _, p in read]  # same-size photos: mean of means
    assert base_psnr == pytest.approx(np.mean([psnr(a, b) for a, b in flat]), abs=0.006)
    assert base_ssim == pytest.approx(np.mean([ssim(a, b) for a, b in flat]), abs=0.0006)
    assert '"pairs": 6' in (tmp_path / "scores.json").read_text()


def test_evaluate_sketch_on_bsds_test_pairs(tmp_path, capsys):
    root = require_shared(DATASETS / "edges" / "bsds500").parents[1]
    model_dir = make_tiny_pix2pix(tmp_path / "tiny", input_nc=1)
    argv = ["sketch", "--model", str(model_dir), "--data", str(root), "--limit", "2", "--device", "cpu"]
    assert evaluate.main([*argv, "--mode", "official", "--bsds-agreement", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "on 2 pairs" in out and "(format bsds, split test)" in out and "(official)" in out
    for psnr_db, ssim_value, l1_value in printed_rows(out):
        assert 0 < psnr_db < 40 and -1 < ssim_value < 1 and 0 < l1_value < 255


def test_evaluate_sketch_refuses_other_kinds_of_model(pairs, tmp_path, capsys):
    spade_dir = make_tiny_spade(tmp_path / "spade")
    argv = ["sketch", "--model", str(spade_dir), "--data", str(pairs), "--format", "pairs", "--device", "cpu"]
    assert evaluate.main(argv) == 2
    assert "is a 'spade' model: the sketch task needs a pix2pix model" in capsys.readouterr().err


def test_lr_decay_lowers_both_learning_rates_at_the_end_and_resume_can_add_it(pairs, tmp_path):
    options = ["--ngf", "4", "--ndf", "4", *QUIET, "--no-export"]
    train(pairs, tmp_path / "decayed", "--iters", "4", "--lr-decay-iters", "4", *options)
    last = load_checkpoint(tmp_path / "decayed" / "checkpoint.pt")["optimizers"]
    for name in ("G", "D"):  # the 4th (last) step ran at 1/5 of the paper's 2e-4
        assert last[name]["param_groups"][0]["lr"] == pytest.approx(2e-4 / 5)
    train(pairs, tmp_path / "constant", "--iters", "2", *options)
    assert (
        pix2pix.main(
            ["--out", str(tmp_path / "constant"), "--resume", "--iters", "3", "--lr-decay-iters", "1"]
        )
        == 0
    )
    resumed = load_checkpoint(tmp_path / "constant" / "checkpoint.pt")["optimizers"]
    assert resumed["G"]["param_groups"][0]["lr"] == pytest.approx(2e-4 / 2)
