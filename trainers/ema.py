"""Exponential moving average of generator weights, the weights that get exported.

The averaged networks are plain inference networks (the engine's classes): the training networks'
states are first mapped to inference form by the recipe (e.g. spectral norm folded), so the
average is over the weights the app will actually run.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn


class EMA:
    """``avg = avg + (1 - d) * (current - avg)`` for floating-point parameters and buffers (BatchNorm
    running statistics included); integer buffers are copied. ``d = min(decay, (1 + t) / (10 + t))``
    at step t, so short runs are not dominated by the random initialisation."""

    def __init__(self, networks: Mapping[str, nn.Module], decay: float = 0.999):
        self.networks = dict(networks)
        self.decay = decay
        for net in self.networks.values():
            net.requires_grad_(False).eval()

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, states: Mapping[str, Mapping[str, Tensor]], step: int) -> None:
        weight = 1 - self.decay_at(step)
        for name, net in self.networks.items():
            source = states[name]
            averaged, current, copied = [], [], []
            for key, value in net.state_dict(keep_vars=True).items():
                new = source[key].detach()
                if value.is_floating_point():
                    averaged.append(value.data)
                    current.append(new.to(value.dtype))
                else:
                    copied.append((value.data, new))
            if averaged:
                torch._foreach_lerp_(averaged, current, weight)
            for target, new in copied:
                target.copy_(new)

    def state_dict(self) -> dict[str, dict[str, Tensor]]:
        return {
            name: {k: v.detach().cpu() for k, v in net.state_dict().items()}
            for name, net in self.networks.items()
        }

    def load_state_dict(self, state: Mapping[str, Mapping[str, Tensor]]) -> None:
        for name, net in self.networks.items():
            net.load_state_dict(state[name])
