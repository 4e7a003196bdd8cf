"""``python -m trainers.export RUN_DIR -o MODEL_DIR``: the EMA weights as an engine model folder."""

import numpy as np
import pytest
import torch

from engine import load_model
from engine.checkpoints import read_card, read_weights
from tests.trainers.synthetic import folder_dataset
from trainers import export, spade
from trainers.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    data = folder_dataset(tmp_path_factory.mktemp("data"), 4, size=(40, 48))
    out = tmp_path_factory.mktemp("runs") / "facade-run"
    options = ["--format", "folder", "--labelset", "facades", "--size", "32", "--ngf", "4", "--ndf", "4"]
    options += ["--batch", "2", "--workers", "0", "--iters", "3", "--no-progress", "--no-tensorboard"]
    assert spade.main(["--data", str(data), "--out", str(out), *options, "--no-export"]) == 0
    return out


def test_export_writes_the_ema_generator_with_a_complete_card(run_dir, tmp_path, capsys):
    assert export.main([str(run_dir), "-o", str(tmp_path / "exported"), "--name", "my facades"]) == 0
    assert "wrote model" in capsys.readouterr().out
    checkpoint = load_checkpoint(run_dir / "checkpoint.pt")
    weights = read_weights(tmp_path / "exported")["G"]
    assert weights.keys() == checkpoint["ema"]["G"].keys()
    for key, value in weights.items():
        assert torch.equal(value, checkpoint["ema"]["G"][key]), key
    assert not any(k.endswith("weight_orig") for k in weights)  # spectral norm folded
    card = read_card(tmp_path / "exported")
    assert card.name == "my facades" and card.kind == "spade"
    assert card.training["steps"] == 3 and card.training["batch"] == 2 and card.training["processes"] == 1
    assert card.training["lr_g"] == 0.0001 and card.training["lr_d"] == 0.0004
    assert set(card.training["final_losses"]) == {"G/gan", "G/feat", "D/real", "D/fake"}
    assert "sample_l1" in card.metrics
    model = load_model(tmp_path / "exported", device="cpu")
    assert model.synthesize(np.full((8, 8), 3, np.int32)).shape == (8, 8, 3)


def test_export_of_something_that_is_no_run_fails_in_one_line(tmp_path, capsys):
    assert export.main([str(tmp_path), "-o", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path} is not a training run: it has no run.json\n"


def test_a_damaged_checkpoint_is_named(run_dir, tmp_path, capsys):
    damaged = tmp_path / "run"
    damaged.mkdir()
    (damaged / "run.json").write_bytes((run_dir / "run.json").read_bytes())
    (damaged / "checkpoint.pt").write_bytes((run_dir / "checkpoint.pt").read_bytes()[:1000])
    assert export.main([str(damaged), "-o", str(tmp_path / "m")]) == 2
    assert f"the training checkpoint {damaged / 'checkpoint.pt'} is damaged" in capsys.readouterr().err


def test_fp16_export_halves_the_file_and_gives_nearly_the_same_picture(run_dir, tmp_path):
    assert export.main([str(run_dir), "-o", str(tmp_path / "full")]) == 0
    assert export.main([str(run_dir), "-o", str(tmp_path / "half"), "--fp16"]) == 0
    full, half = (tmp_path / n / "model.safetensors" for n in ("full", "half"))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    stored = read_weights(tmp_path / "half")["G"].values()
    assert all(v.dtype == torch.float16 for v in stored if v.is_floating_point())
    labels = np.random.default_rng(0).integers(1, 13, (32, 32)).astype(np.int32)
    models = [load_model(tmp_path / n, device="cpu") for n in ("full", "half")]
    pictures = [model.synthesize(labels).astype(int) for model in models]
    assert np.abs(pictures[0] - pictures[1]).max() <= 3  # uint8 levels
