"""Training checkpoints: RNG round trips, atomic writes, safe loading; the EMA they carry."""

import random

import numpy as np
import pytest
import torch

from engine.errors import CheckpointError
from trainers.checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from trainers.ema import EMA


def draws() -> tuple:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_state_survives_a_checkpoint_and_restores_every_generator(tmp_path):
    draws()
    save_checkpoint(tmp_path / "c.pt", {"rng": [capture_rng_state()]})
    expected = [draws() for _ in range(3)]
    restore_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"][0])
    assert [draws() for _ in range(3)] == expected


def test_checkpoints_are_replaced_atomically_and_load_only_tensors(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 1})
    save_checkpoint(path, {"step": 2})
    assert load_checkpoint(path)["step"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary files left

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"format": "synthpaint.training", "version": 1, "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="damaged or unsafe"):
        load_checkpoint(path)
    torch.save({"step": 3}, path)
    with pytest.raises(CheckpointError, match="is not a synthpaint training checkpoint"):
        load_checkpoint(path)


def test_ema_warms_up_then_averages_floats_and_copies_counters():
    net = torch.nn.BatchNorm2d(2)
    ema = EMA({"G": net}, decay=0.9)
    assert ema.decay_at(0) == pytest.approx(0.1) and ema.decay_at(1000) == 0.9
    current = {k: v.clone() for k, v in net.state_dict().items()}
    current["weight"] = torch.full((2,), 3.0)
    current["num_batches_tracked"] = torch.tensor(7)
    ema.update({"G": current}, step=0)  # decay 0.1: 0.9 of the way to the current weights
    torch.testing.assert_close(net.weight, torch.full((2,), 1 + 0.9 * 2))
    assert net.num_batches_tracked.item() == 7
    ema.update({"G": current}, step=10_000)
    torch.testing.assert_close(net.weight, torch.full((2,), 2.8 + 0.1 * 0.2))


def test_learning_rate_stays_constant_then_falls_linearly_over_the_decay_iterations():
    from trainers.loop import learning_rate_factor

    factors = [learning_rate_factor(step, 10, 4) for step in range(10)]
    assert factors[:6] == [1.0] * 6
    assert factors[6:] == pytest.approx([0.8, 0.6, 0.4, 0.2])  # the last step still learns
    assert [learning_rate_factor(step, 10, 0) for step in range(10)] == [1.0] * 10


def test_a_time_limit_shortens_the_run_to_the_steps_that_fit_at_the_speed_so_far():
    from trainers.loop import MIN_STEPS_TO_ESTIMATE, steps_within

    n = MIN_STEPS_TO_ESTIMATE
    # n steps took 10 s, 50 s are left: 5n more steps fit
    assert steps_within(60, 10, n, step=n, total=100 * n) == 6 * n
    assert steps_within(60, 10, n, step=n, total=3 * n) == 3 * n  # the configured length fits
    assert steps_within(60, 10, n - 1, step=n - 1, total=100 * n) == 100 * n  # too few steps timed yet
    assert steps_within(60, 61, n, step=n, total=100 * n) == n  # time is up: stop at this step
