"""``python -m trainers.pix2pix`` and ``python -m trainers.evaluate sketch`` on tiny synthetic pairs
(and the shared BSDS500 sample): an exported model the engine translates with, exact resume, the
options and the evaluation's numbers (the data formats: test_sketch_data.py; the discriminators'
receptive fields: test_discriminators.py)."""

import os
import signal
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
from tests.trainers.sketch_pairs import SIZE, square_pair, write_pairs
from tests.trainers.test_spade import assert_same_training_state
from trainers import evaluate, pix2pix
from trainers.checkpoint import load_checkpoint
from trainers.evaluation.metrics import psnr, ssim
from trainers.loop import Trainer
from trainers.rundir import read_run_file
from trainers.sketch_data import find_pairs

TINY = ["--size", "32", "--ngf", "8", "--ndf", "8", "--batch", "2", "--workers", "0"]
QUIET = ["--no-progress", "--no-tensorboard"]

pytestmark = pytest.mark.usefixtures("one_thread")


# --- training, export, resume ----------------------------------------------------------------------------


def train(data: Path, out: Path, *extra: str) -> None:
    assert pix2pix.main(["--data", str(data), "--format", "pairs", "--out", str(out), *TINY, *extra]) == 0


def test_training_exports_a_sketch_model_in_the_official_mode_the_engine_runs(pairs, tmp_path):
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
        "default_mode": "official",
    }  # fmt: skip
    assert "official test-time mode by default" in card.description and "seed" in card.description
    assert card.training["steps"] == 40 and card.training["lambda_l1"] == 100 and card.training["hardware"]
    assert card.training["betas"] == [0.5, 0.999] and card.training["d_receptive_field"] == 70
    assert card.training["sketches"]["format"] == "pairs" and "6 samples" in card.trained_on
    assert set(card.metrics) == {"sample_l1", "sample_l1_official"}

    model = load_model(run / "model", device="cpu")
    assert isinstance(model, SketchModel) and model.default_mode == "official"
    sketch, photo = square_pair(np.random.default_rng(7))
    out = model.translate(sketch, seed=1)
    assert out.shape == (*SIZE, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, model.translate(sketch, seed=1))  # a seed fixes the dropout noise
    assert np.abs(out.astype(float) - photo).mean() < np.abs(255.0 - photo).mean() / 2  # learnt the colours
    assert model.translate(sketch, "deterministic").shape == (*SIZE, 3)


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


def test_sigterm_stops_at_the_end_of_the_step_with_a_checkpoint_of_it(pairs, tmp_path, monkeypatch, capsys):
    """``kill`` (a scheduler's SIGTERM) mid-step: the step finishes and is checkpointed, so nothing is
    lost (the checkpoint interval is 1000); no model is exported from the unfinished run."""
    take_step = Trainer._train_step

    def step_then_signal(self, batch):
        losses = take_step(self, batch)
        if self.state.step == 2:  # the third step, counted from 0
            os.kill(os.getpid(), signal.SIGTERM)
        return losses

    monkeypatch.setattr(Trainer, "_train_step", step_then_signal)
    before = signal.getsignal(signal.SIGTERM)
    run = tmp_path / "run"
    options = ["--data", str(pairs), "--format", "pairs", "--out", str(run), *TINY, *QUIET]
    assert pix2pix.main([*options, "--iters", "10"]) == 130
    assert "stopped at step 3, checkpointed" in capsys.readouterr().err
    assert load_checkpoint(run / "checkpoint.pt")["loop"]["step"] == 3 and not (run / "model").exists()
    assert signal.getsignal(signal.SIGTERM) is before  # the run's handler is gone


def test_resume_refuses_options_its_run_file_would_override(pairs, tmp_path, capsys):
    """A recipe option beside --resume would silently do nothing (the run rebuilds itself from its
    run.json): it is named and nothing trains; run-time flags such as --no-progress are honoured."""
    run = tmp_path / "run"
    train(pairs, run, "--iters", "2", "--ngf", "4", "--ndf", "4", "--no-export")
    argv = ["--out", str(run), "--resume", "--iters", "3"]
    assert pix2pix.main([*argv, "--lambda-l1", "5", "--batch", "1"]) == 2
    error = capsys.readouterr().err
    assert "--lambda-l1, --batch cannot change" in error and f"--init {run}/model" in error
    assert load_checkpoint(run / "checkpoint.pt")["loop"]["step"] == 2
    assert pix2pix.main([*argv, *QUIET, "--device", "cpu"]) == 0  # a run may move to another device
    assert load_checkpoint(run / "checkpoint.pt")["loop"]["step"] == 3
    assert read_run_file(run)["train"]["progress"] is False
    assert read_run_file(run)["train"]["device"] == "cpu"


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
        (["--exclude", "skip.txt"], "format pairs reads one dataset folder"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(pairs, tmp_path, capsys, options, message):
    argv = ["--data", str(pairs), "--out", str(tmp_path / "run"), *TINY, *options, "--iters", "1", *QUIET]
    assert pix2pix.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_format_edges_trains_on_several_photo_folders_minus_the_exclude_lists(pairs, tmp_path):
    more = write_pairs(tmp_path / "more", 2, seed=5) / "B"
    skip = tmp_path / "skip.txt"
    skip.write_text("s001.png\n")  # one photo of each folder has that name
    run = tmp_path / "run"
    argv = ["--data", str(pairs / "B"), "--data", str(more), "--exclude", str(skip), "--format", "edges"]
    assert pix2pix.main([*argv, "--out", str(run), *TINY, "--iters", "1", *QUIET]) == 0
    card = read_card(run / "model")
    assert card.trained_on.startswith("6 photos of ") and str(more.resolve()) in card.trained_on
    assert f"minus those listed in {skip.resolve()}" in card.trained_on
    assert card.training["sketches"]["format"] == "edges"


# --- evaluation ------------------------------------------------------------------------------------------


def printed_rows(text: str) -> list[list[float]]:
    return [[float(v) for v in line.split()[-4:]] for line in text.splitlines()[2:4]]


def test_evaluate_sketch_prints_the_scores_of_the_model_and_the_baseline(pairs, tmp_path, capsys):
    model_dir = make_tiny_pix2pix(tmp_path / "tiny", input_nc=1, default_mode="deterministic")
    argv = ["sketch", "--model", str(model_dir), "--data", str(pairs), "--format", "pairs"]
    assert evaluate.main([*argv, "--device", "cpu", "--json", str(tmp_path / "scores.json")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"sketch -> photo on 6 pairs of {pairs} (format pairs, split test)"
    assert "PSNR (dB)   SSIM    L1  lines F1" in out and "'tiny-pix2pix' (deterministic)" in out
    (model_psnr, model_ssim, _, model_lines), (base_psnr, base_ssim, _, base_lines) = printed_rows(out)
    assert base_lines == 0 and 0 <= model_lines <= 1  # a flat image follows no line
    assert "lines F1 of the real photos (the ceiling for these sketches): " in out

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
    for psnr_db, ssim_value, l1_value, lines in printed_rows(out):
        assert 0 < psnr_db < 40 and -1 < ssim_value < 1 and 0 < l1_value < 255 and 0 <= lines <= 1


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


def test_a_run_out_of_time_stops_early_with_a_checkpoint_and_an_export(pairs, tmp_path):
    run = tmp_path / "timed"
    train(pairs, run, "--iters", "100000", "--time-limit", "0.001", "--ngf", "4", "--ndf", "4", *QUIET)
    steps = load_checkpoint(run / "checkpoint.pt")["loop"]["step"]
    assert 1 <= steps < 100000
    assert read_card(run / "model").training["steps"] == steps


def test_lr_decay_can_be_a_share_of_a_run_whose_length_a_time_limit_sets(pairs, tmp_path):
    run = tmp_path / "share"
    train(
        pairs,
        run,
        "--iters",
        "4",
        "--lr-decay-iters",
        "50%",
        "--ngf",
        "4",
        "--ndf",
        "4",
        *QUIET,
        "--no-export",
    )
    last = load_checkpoint(run / "checkpoint.pt")["optimizers"]
    assert last["G"]["param_groups"][0]["lr"] == pytest.approx(2e-4 / 3)  # the last of 2 decayed steps
    with pytest.raises(SystemExit):
        train(pairs, tmp_path / "bad", "--iters", "4", "--lr-decay-iters", "half")
