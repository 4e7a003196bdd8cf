"""Regenerate the full-size fixtures' weights by the fixture README's "recipe v1"."""

from __future__ import annotations

import numpy as np
import torch

NORM_MODULES = ("BatchNorm2d", "SyncBatchNorm", "SynchronizedBatchNorm2d", "InstanceNorm2d")


def recipe_state_dict(entries: list[dict], seed: int, gain: float = 1.0) -> dict[str, torch.Tensor]:
    """Weights for manifest ``state_dict`` entries (official order), as the fixture generator made them."""
    state: dict[str, torch.Tensor] = {}
    for k, entry in enumerate(entries):
        key, shape, module = entry["key"], tuple(entry["shape"]), entry["module"]
        rng = np.random.default_rng([seed, k])
        name = key.rsplit(".", 1)[-1]
        if name == "num_batches_tracked":
            state[key] = torch.tensor(0, dtype=torch.int64)
            continue
        if name == "running_mean":
            value = 0.1 * rng.standard_normal(shape)
        elif name == "running_var":
            value = 0.5 + rng.random(shape)
        elif name in ("weight", "weight_orig") and len(shape) >= 2:
            fan_in = (
                shape[0] * shape[2] * shape[3] if module == "ConvTranspose2d" else int(np.prod(shape[1:]))
            )
            value = gain * rng.standard_normal(shape) / np.sqrt(fan_in)
        elif name == "weight_u":
            value = rng.standard_normal(shape)
        elif name == "weight_v":
            continue  # derived from weight_orig and u below
        elif name == "weight" and module in NORM_MODULES:
            value = 1 + 0.1 * rng.standard_normal(shape)
        else:
            value = 0.1 * rng.standard_normal(shape)
        state[key] = torch.from_numpy(np.asarray(value, dtype=np.float64).astype(np.float32))
    for key in [k for k in state if k.endswith(".weight_u")]:
        prefix = key[: -len("weight_u")]
        w = state[prefix + "weight_orig"].double().numpy()
        wm = w.reshape(w.shape[0], -1)
        u0 = _normalize(state[key].double().numpy())
        v = _normalize(wm.T @ u0)
        u = _normalize(wm @ v)
        state[key] = torch.from_numpy(u.astype(np.float32))
        state[prefix + "weight_v"] = torch.from_numpy(v.astype(np.float32))
    return state


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / max(float(np.linalg.norm(x)), 1e-12)
