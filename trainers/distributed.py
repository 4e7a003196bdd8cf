"""Multi-process training as ``torchrun`` starts it: gloo on CPUs, NCCL on GPUs, rank 0 writes.

Batch norm: a generator normalised with each process's own batch statistics would train
differently from one process with the combined batch, so its batch norms are synchronised.
``nn.SyncBatchNorm`` only runs on GPUs; on CPUs ``AllReduceBatchNorm2d`` does the same with a
differentiable all-reduce (sums, then centred sums: the same two-pass statistics as one process).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_type: str) -> DistributedContext:
    """Join the process group described by torchrun's environment (WORLD_SIZE, RANK, MASTER_ADDR...)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend, rank=rank, world_size=world_size)
    return DistributedContext(rank, world_size, local_rank)


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def gather_objects(value: Any, context: DistributedContext) -> list[Any]:
    """Every rank's ``value`` (e.g. RNG states), in rank order, on every rank."""
    if not context.enabled:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


class _SumOverProcesses(torch.autograd.Function):
    """Sum of a tensor over all processes; the gradient of every input is the summed gradient."""

    @staticmethod
    def forward(ctx, tensor: Tensor) -> Tensor:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
        return tensor

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def sum_over_processes(tensor: Tensor) -> Tensor:
    """Differentiable all-reduce (sum), on any device the process group's backend supports."""
    return _SumOverProcesses.apply(tensor)


class AllReduceBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics cover the batches of all processes (any device).

    Same parameters and buffers as ``nn.BatchNorm2d`` (so state dicts are interchangeable); outside
    a process group, or in eval mode, it is exactly ``nn.BatchNorm2d``.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not (
            self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        ):
            return super().forward(x)
        count = torch.tensor([x.numel() // x.shape[1]], dtype=torch.float32, device=x.device)
        dist.all_reduce(count)
        mean = sum_over_processes(x.float().sum((0, 2, 3))) / count
        centred = x.float() - mean.view(1, -1, 1, 1)
        var = sum_over_processes(centred.square().sum((0, 2, 3))) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1 / float(self.num_batches_tracked)
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        out = centred * torch.rsqrt(var + self.eps).view(1, -1, 1, 1)
        if self.affine:
            out = out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return out.to(x.dtype)


def synchronize_batch_norms(module: nn.Module, device_type: str) -> nn.Module:
    """Swap every ``nn.BatchNorm2d`` for a synchronised one (SyncBatchNorm on GPUs), keeping its state."""
    if device_type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            synced = AllReduceBatchNorm2d(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats
            ).to(next(iter(child.buffers()), torch.empty(0)).device)
            synced.load_state_dict(child.state_dict())
            setattr(module, name, synced)
        else:
            synchronize_batch_norms(child, device_type)
    return module
