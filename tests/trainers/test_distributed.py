"""Multi-process training: two gloo processes on the CPU (torchrun) against one with both batches."""

import copy
import os
import subprocess
import sys

import torch

from tests.conftest import REPO
from tests.trainers.synthetic import folder_dataset
from trainers import spade
from trainers.checkpoint import load_checkpoint
from trainers.distributed import AllReduceBatchNorm2d, synchronize_batch_norms
from trainers.recipe import load_recipe
from trainers.rundir import read_run_file

OPTIONS = [
    "--format", "folder", "--labelset", "facades", "--size", "64", "--ngf", "8", "--ndf", "8",
    "--workers", "0", "--iters", "1", "--no-progress", "--no-tensorboard", "--no-export",
]  # fmt: skip


def test_all_reduce_batch_norm_is_batch_norm_outside_a_process_group():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4, affine=False))
    synced = synchronize_batch_norms(copy.deepcopy(model), "cpu")
    assert isinstance(synced[1], AllReduceBatchNorm2d)
    assert synced.state_dict().keys() == model.state_dict().keys()
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(synced(x), model(x))
    torch.testing.assert_close(synced[1].running_var, model[1].running_var)


def test_two_gloo_processes_train_like_one_process_with_the_combined_batch(tmp_path):
    """The generator's batch norms see the statistics of both processes' images (synchronised), D
    uses instance norm and the losses are batch means, so gradients averaged over 2 x batch 1 equal
    those of batch 2. Adam's first moment after one step with beta1 = 0 (TTUR) is the gradient.

    Weights are compared where the gradient is not round-off: Adam's first step moves every weight
    by lr * g / (|g| + eps), i.e. by +-lr even for gradients that are mathematically zero (biases
    before a batch norm, ~1e-9 here), whose sign is noise. (At 32 px the first layer is 1x1 and
    batch norm divides round-off by sqrt(eps), so the test runs at 64 px.)"""
    data = folder_dataset(tmp_path / "data", 6, size=(40, 48))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            "trainers.spade",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "ddp"),
            "--batch",
            "1",
            *OPTIONS,
        ],  # fmt: skip
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert spade.main(["--data", str(data), "--out", str(tmp_path / "one"), "--batch", "2", *OPTIONS]) == 0
    ddp = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")
    one = load_checkpoint(tmp_path / "one" / "checkpoint.pt")
    assert ddp["info"]["processes"] == 2 and len(ddp["rng"]) == 2
    assert ddp["loop"]["images_seen"] == one["loop"]["images_seen"] == 2

    run = read_run_file(tmp_path / "one")
    recipe = load_recipe(run["recipe"], run["recipe_config"])
    torch.manual_seed(0)  # as the trainer does before building the networks
    initial = recipe.build_networks()
    for name, optimizer in recipe.optimizers().items():
        (net,) = optimizer.networks
        names = [k for k, _ in initial[net].named_parameters()]
        grads_one = [s["exp_avg"] for s in one["optimizers"][name]["state"].values()]
        grads_ddp = [s["exp_avg"] for s in ddp["optimizers"][name]["state"].values()]
        scale = max(g.abs().max().item() for g in grads_one)
        for key, g_one, g_ddp in zip(names, grads_one, grads_ddp, strict=True):
            torch.testing.assert_close(
                g_ddp, g_one, atol=1e-5 * scale, rtol=0, msg=f"gradient of {net}.{key}"
            )
            significant = g_one.abs() > 1e-4 * scale  # 10x the tolerated gradient difference
            w_one, w_ddp = one["networks"][net][key], ddp["networks"][net][key]
            torch.testing.assert_close(w_ddp[significant], w_one[significant], atol=1e-6, rtol=0)
            moved = (w_one - initial[net].state_dict()[key])[significant].abs()
            assert moved.numel() == 0 or moved.min() > 0.5 * optimizer.lr  # it did take a step
    for key, value in one["networks"]["G"].items():
        if "running" in key:  # synchronised batch statistics
            torch.testing.assert_close(ddp["networks"]["G"][key], value, atol=1e-5, rtol=0, msg=key)
