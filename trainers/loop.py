"""The generic training loop: devices, processes, precision, optimisers, EMA, checkpoints, logging.

Exact resume: a checkpoint holds the networks, optimisers, EMA, gradient scaler, step, the data
position (epoch + batches done; the order is a function of the seed and epoch) and every RNG state
of every process, so a run resumed after a kill continues as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import random
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from engine.checkpoints import load_checked, read_weights
from engine.device import pick_device
from engine.errors import CheckpointError, SynthpaintError
from trainers.checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from trainers.data import collate
from trainers.distributed import (
    DistributedContext,
    barrier,
    gather_objects,
    init_distributed,
    synchronize_batch_norms,
)
from trainers.ema import EMA
from trainers.monitor import Monitor, image_grid
from trainers.recipe import Recipe
from trainers.rundir import CHECKPOINT_FILE, MODEL_DIR
from trainers.sampling import ResumableSampler

PROGRESS_EVERY = 10  # iterations between loss updates on the progress bar
MIN_STEPS_TO_ESTIMATE = 20  # iterations timed before a time limit shortens the run


class TrainingError(SynthpaintError):
    """A run cannot start or go on: a bad option, a run folder in the way, out of memory."""


@dataclass(frozen=True)
class TrainConfig:
    """Options of the loop (not of the model). ``batch`` is per process."""

    batch: int = 1
    iters: int | None = None
    epochs: int | None = None
    seed: int = 0
    workers: int = 2
    device: str = "auto"
    amp: bool | None = None  # None: on for CUDA
    channels_last: bool | None = None  # None: on for CUDA
    checkpoint_every: int = 1000
    sample_every: int = 500
    log_every: int = 50
    preview_samples: int = 4
    ema_decay: float = 0.999
    tensorboard: bool = True
    progress: bool = True
    export: bool = True
    init_from: str | None = None  # an exported model folder whose weights a new run starts from
    lr_decay_iters: int = (
        0  # the last N iterations lower the learning rates linearly to 0 (pix2pix's schedule)
    )
    lr_decay_share: float = 0.0  # or the last share of the run, for runs whose length a time limit sets
    time_limit_s: float | None = None  # stop (checkpoint, export) after this long; the length shrinks to fit

    def __post_init__(self) -> None:
        if (self.iters is None) == (self.epochs is None):
            raise TrainingError("give the length of training as exactly one of --iters or --epochs")
        for name in ("batch", "iters", "epochs", "checkpoint_every", "sample_every", "log_every"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise TrainingError(
                    f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}"
                )
        if self.lr_decay_iters < 0:
            raise TrainingError(f"--lr-decay-iters must be 0 or more, got {self.lr_decay_iters}")
        if not 0 <= self.lr_decay_share <= 1:
            raise TrainingError(f"--lr-decay-iters must be 0 to 100 %, got {self.lr_decay_share:.0%}")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise TrainingError(f"--time-limit must be more than 0 minutes, got {self.time_limit_s / 60:g}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        return cls(**data)


def hardware_description(device: torch.device, world_size: int) -> str:
    if device.type == "cuda":
        return f"{world_size} x {torch.cuda.get_device_name(device)}"
    cpu = platform.processor() or platform.machine()
    return f"{world_size} x CPU ({cpu}, {torch.get_num_threads()} threads)"


def to_device(batch: Mapping[str, Any], device: torch.device, channels_last: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, Tensor):
            value = value.to(device, non_blocking=True)
            if channels_last and value.dim() == 4 and value.is_floating_point():
                value = value.contiguous(memory_format=torch.channels_last)
        out[key] = value
    return out


@dataclass
class LoopState:
    """Counters saved in every checkpoint."""

    step: int = 0
    epoch: int = 0
    batches_done: int = 0
    images_seen: int = 0
    wall_time: float = 0.0
    losses: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    skipped: int = 0


def steps_within(limit_s: float, elapsed_s: float, steps_done: int, step: int, total: int) -> int:
    """The run's length under a time limit: ``total``, or fewer where the speed so far (``steps_done``
    in ``elapsed_s``) says the rest would not fit, so that a learning-rate decay still ends at 0."""
    left = limit_s - elapsed_s
    if left <= 0:
        return step
    if steps_done < MIN_STEPS_TO_ESTIMATE:
        return total
    return min(total, step + max(1, int(left * steps_done / elapsed_s)))


def learning_rate_factor(step: int, total: int, decay_iters: int) -> float:
    """1 until the last ``decay_iters`` of ``total`` iterations, then a linear fall that would reach 0
    one step after the last (so the last step still learns), as pix2pix and pix2pixHD schedule it."""
    remaining = total - step
    return 1.0 if remaining > decay_iters else remaining / (decay_iters + 1)


def build_optimizers(recipe: Recipe, networks: Mapping[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """The recipe's Adam optimisers over the parameters of the networks each one names."""
    optimizers = {}
    for name, spec in recipe.optimizers().items():
        params = [p for net in spec.networks for p in _network_part(networks, net).parameters()]
        optimizers[name] = torch.optim.Adam(params, lr=spec.lr, betas=spec.betas)
    return optimizers


def _network_part(networks: Mapping[str, nn.Module], name: str) -> nn.Module:
    """A network by name, or one of its submodules by a dotted path (``"G.model1_1"``)."""
    network, _, path = name.partition(".")
    return networks[network].get_submodule(path) if path else networks[network]


class TrainingStep:
    """The ``StepContext`` a recipe's ``train_step`` receives: networks (``nets``, which the Trainer
    wraps for multi-process training; ``raw`` never wrapped), optimisers and mixed precision (fp16
    with a gradient scaler on GPUs, bf16 on CPUs). ``finish`` ends an iteration."""

    def __init__(
        self,
        networks: Mapping[str, nn.Module],
        optimizers: Mapping[str, torch.optim.Optimizer],
        device: torch.device,
        amp: bool,
    ):
        self.step = 0
        self.device = device
        self.amp = amp
        self.raw = dict(networks)
        self.nets = dict(networks)
        self.optimizers = dict(optimizers)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")

    def autocast(self, enabled: bool = True) -> contextlib.AbstractContextManager[None]:
        """Mixed precision where the run has it on; ``enabled=False`` keeps a pass in fp32."""
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype, enabled=self.amp and enabled)

    def optimize(self, name: str, loss: Tensor) -> None:
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)

    def finish(self) -> None:
        """After all of an iteration's optimiser steps: adapt the loss scale."""
        self.scaler.update()
        self.step += 1


class StopAtCheckpoint(Exception):
    """Raised at a step boundary after a requested stop has been checkpointed."""


class StopRequests:
    """SIGTERM (a scheduler's or ``kill``'s) or Ctrl-C asks a one-process run to stop at the end of
    the current step, where a checkpoint makes the stop lose nothing; a second signal stops at once.
    Distributed runs keep the default handlers: their processes could not agree on the step."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, enabled: bool):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if self.enabled:
            self._previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


class Trainer:
    """Runs ``recipe`` on ``dataset`` into ``run_dir``. Started by ``torchrun``, it trains on every
    process (DDP; only rank 0 writes); alone, on one device.

    ``dataset``/``preview``: map-style datasets addressed by ``(index, epoch)`` that return dicts of
    tensors plus ``index`` and ``problems`` (see ``trainers.data.PairedDataset``), batched by ``collate``.
    """

    def __init__(
        self,
        recipe: Recipe,
        dataset: Dataset,
        preview: Dataset,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        resume: bool = False,
    ):
        self.recipe = recipe
        self.dataset = dataset
        self.preview = preview
        self.config = config
        self.run_dir = Path(run_dir)
        self.resume = resume

    # --- setup -----------------------------------------------------------------------------------------

    def _setup(self) -> None:
        config = self.config
        device = pick_device(config.device)
        self.dist: DistributedContext = init_distributed(device.type)
        if device.type == "cuda":
            device = torch.device("cuda", self.dist.local_rank if self.dist.enabled else (device.index or 0))
            torch.backends.cudnn.benchmark = True
        self.device = device
        self.amp = config.amp if config.amp is not None else device.type == "cuda"
        self.channels_last = (
            config.channels_last if config.channels_last is not None else device.type == "cuda"
        )

        torch.manual_seed(config.seed)  # identical initial weights on every process
        self.networks: dict[str, nn.Module] = self.recipe.build_networks()
        if config.init_from and not self.resume:
            self._initialize_from(Path(config.init_from))
        seed = config.seed + self.dist.rank
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        for name, net in self.networks.items():
            if self.dist.enabled:
                net = synchronize_batch_norms(net, device.type)
            self.networks[name] = net.to(device, memory_format=memory_format).train()

        self.optimizers = build_optimizers(self.recipe, self.networks)
        self.base_lrs = {k: [g["lr"] for g in opt.param_groups] for k, opt in self.optimizers.items()}
        inference = {
            k: v.to(device, memory_format=memory_format) for k, v in self.recipe.inference_networks().items()
        }
        self.ema = EMA(inference, self.config.ema_decay)
        self.state = LoopState()
        self.context = TrainingStep(self.networks, self.optimizers, device, self.amp)
        if self.resume:
            self._load(self.run_dir / CHECKPOINT_FILE)
        else:
            self.ema.load_state_dict(self._inference_states())
        if self.dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            for name, net in self.networks.items():
                if any(p.requires_grad for p in net.parameters()):
                    self.context.nets[name] = DistributedDataParallel(net, device_ids=ids)

    def _initialize_from(self, folder: Path) -> None:
        """Start from an exported model's weights: to continue training in a later session from a
        committed model, or to fine-tune a model on other data. Optimisers and D start afresh."""
        weights = read_weights(folder)
        used = [name for name in weights if name in self.networks]
        if not used:
            raise TrainingError(
                f"the model {folder} holds none of this run's networks ({', '.join(self.networks)})"
            )
        for name in used:
            fresh = load_checked(
                self.networks[name],
                self.recipe.starting_state(name, weights[name]),
                f"--init {folder} ({name})",
                "give the same architecture options as that model's card; networks trained with "
                "spectral norm cannot start from its folded weights",
                new_parts_ok=True,
            )
            if fresh and self.dist.is_main:
                print(f"--init: {name}'s new parts start fresh: {', '.join(fresh)}", flush=True)

    def _inference_states(self) -> dict[str, dict[str, Tensor]]:
        return {name: self.recipe.inference_state(name, self.networks[name]) for name in self.ema.networks}

    def _loader(self) -> tuple[DataLoader, ResumableSampler]:
        if len(self.dataset) < self.config.batch * self.dist.world_size:
            raise TrainingError(
                f"the dataset has {len(self.dataset)} samples, fewer than one batch "
                f"({self.config.batch} x {self.dist.world_size} processes)"
            )
        sampler = ResumableSampler(
            self.dataset,
            self.config.batch,
            num_replicas=self.dist.world_size,
            rank=self.dist.rank,
            seed=self.config.seed,
        )
        loader = DataLoader(
            self.dataset,
            batch_size=self.config.batch,
            sampler=sampler,
            num_workers=self.config.workers,
            collate_fn=collate,
            drop_last=True,
            pin_memory=self.device.type == "cuda",
            generator=torch.Generator(),  # keeps the global RNG out of the data order
        )
        return loader, sampler

    # --- checkpoints -----------------------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        state = load_checkpoint(path)
        try:
            for name, net in self.networks.items():
                net.load_state_dict(state["networks"][name])
            for name, optimizer in self.optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
            self.ema.load_state_dict(state["ema"])
            if state["scaler"]:  # empty when written without fp16 (a CPU run continued on a GPU)
                self.context.scaler.load_state_dict(state["scaler"])
            self.state = LoopState(**state["loop"])
            rng = state["rng"]
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"the checkpoint {path} does not fit this run's networks ({exc})") from None
        if len(rng) != self.dist.world_size:
            raise TrainingError(
                f"{path} was written by {len(rng)} processes; resume it with the same number of processes"
            )
        restore_rng_state(rng[self.dist.rank])

    def _save(self, path: Path) -> None:
        """Collective: every process contributes its RNG state; rank 0 writes."""
        rng = gather_objects(capture_rng_state(), self.dist)
        skipped = sum(gather_objects(self.state.skipped, self.dist))
        if self.dist.is_main:
            state = asdict(self.state)
            state["skipped"] = skipped
            save_checkpoint(
                path,
                {
                    "kind": self.recipe.kind,
                    "loop": state,
                    "networks": {k: _cpu_state(v) for k, v in self.networks.items()},
                    "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
                    "ema": self.ema.state_dict(),
                    "scaler": self.context.scaler.state_dict(),
                    "rng": rng,
                    "info": {
                        "processes": self.dist.world_size,
                        "batch_per_process": self.config.batch,
                        "hardware": hardware_description(self.device, self.dist.world_size),
                        "mixed_precision": self.amp,
                        "torch": str(torch.__version__),
                    },
                },
            )
        barrier(self.dist)

    # --- the loop --------------------------------------------------------------------------------------

    def _batches(self, loader: DataLoader, sampler: ResumableSampler) -> Iterator[dict[str, Any]]:
        """Batches from the saved position on, epoch after epoch."""
        while True:
            if self.state.batches_done >= sampler.batches_per_epoch:
                self.state.epoch += 1
                self.state.batches_done = 0
            sampler.set_position(self.state.epoch, self.state.batches_done)
            yield from loader

    def _preview_batch(self) -> dict[str, Any]:
        count = min(self.config.preview_samples, len(self.preview))
        return to_device(
            collate([self.preview[(i, 0)] for i in range(count)]), self.device, self.channels_last
        )

    @torch.no_grad()
    def _preview(self, monitor: Monitor, batch: Mapping[str, Any]) -> None:
        """Samples and metrics of the EMA networks on the fixed batch (no RNG is consumed)."""
        grid = image_grid(self.recipe.visualize(batch, self.ema.networks))
        metrics = self.recipe.metrics(batch, self.ema.networks)
        self.state.metrics = metrics
        monitor.samples(self.state.step, grid)
        monitor.scalars(self.state.step, {f"metrics/{k}": v for k, v in metrics.items()})

    def _schedule_learning_rates(self, total: int) -> None:
        decay = self.config.lr_decay_iters or round(self.config.lr_decay_share * total)
        factor = learning_rate_factor(self.state.step, total, decay)
        for name, optimizer in self.optimizers.items():
            for group, base in zip(optimizer.param_groups, self.base_lrs[name], strict=True):
                group["lr"] = base * factor

    def total_steps(self, batches_per_epoch: int) -> int:
        return self.config.iters if self.config.iters is not None else self.config.epochs * batches_per_epoch

    def run(self) -> LoopState:
        """Train to the configured length, checkpointing on the way; export the EMA model at the end."""
        self._setup()
        loader, sampler = self._loader()
        total = self.total_steps(sampler.batches_per_epoch)
        monitor = Monitor(
            self.run_dir,
            total,
            self.state.step,
            enabled=self.dist.is_main,
            tensorboard=self.config.tensorboard,
            progress=self.config.progress,
        )
        preview = self._preview_batch() if self.dist.is_main else None
        sums: dict[str, Tensor] = {}
        count = 0
        stop = StopRequests(enabled=not self.dist.enabled)
        try:
            stop.install()
            if self.state.step >= total:
                monitor.message(f"the run is already at step {self.state.step} of {total}")
            started = time.perf_counter()
            began, first_step, configured = started, self.state.step, total
            batches = self._batches(loader, sampler)
            while self.state.step < total:
                batch = next(batches)
                for problem in batch.pop("problems"):
                    self.state.skipped += 1
                    monitor.problem(problem)
                    if not self.dist.is_main:
                        print(f"rank {self.dist.rank} skipped: {problem}", flush=True)
                batch = to_device(batch, self.device, self.channels_last)
                self._schedule_learning_rates(total)
                self.context.step = self.state.step
                losses = self._train_step(batch)
                self.context.finish()
                self.ema.update(self._inference_states(), self.state.step)
                self.state.step += 1
                self.state.batches_done += 1
                self.state.images_seen += self.config.batch * self.dist.world_size
                if self.config.time_limit_s is not None:
                    total = self._agreed_length(began, first_step, configured)
                for key, value in losses.items():
                    sums[key] = sums.get(key, 0) + value.detach().float()
                count += 1
                step = self.state.step
                log_now = step % self.config.log_every == 0 or step == total
                shown = None
                if log_now or step % PROGRESS_EVERY == 0:
                    shown = {k: float(v) / count for k, v in sums.items()}  # waits for the GPU
                    self.state.losses = shown
                if log_now:
                    broken = sorted(k for k, v in shown.items() if not math.isfinite(v))
                    if broken:
                        raise TrainingError(
                            f"the losses {', '.join(broken)} are not finite at step {step}: training "
                            "diverged. Resume from the last checkpoint with lower learning rates or --no-amp"
                        )
                    monitor.scalars(step, {f"loss/{k}": v for k, v in shown.items()})
                    sums, count = {}, 0
                monitor.advance(shown)
                if preview is not None and (step % self.config.sample_every == 0 or step == total):
                    self._preview(monitor, preview)
                if step % self.config.checkpoint_every == 0 or step == total or stop.requested:
                    self.state.wall_time += time.perf_counter() - started
                    started = time.perf_counter()
                    self._save(self.run_dir / CHECKPOINT_FILE)
                if stop.requested:
                    raise StopAtCheckpoint
        except StopAtCheckpoint:
            monitor.message(f"stopped at step {self.state.step}, checkpointed; --resume continues there")
            raise KeyboardInterrupt from None
        except KeyboardInterrupt:
            saved = self.run_dir / CHECKPOINT_FILE
            where = "from the last checkpoint" if saved.exists() else "nowhere: no checkpoint was written yet"
            monitor.message(f"interrupted at step {self.state.step}; --resume continues {where}")
            raise
        except torch.cuda.OutOfMemoryError:
            raise TrainingError(
                f"out of GPU memory at batch {self.config.batch}; lower --batch or --size"
            ) from None
        finally:
            stop.restore()
            monitor.close()
        if self.config.export and self.dist.is_main:
            from trainers.export import export_run

            folder = export_run(self.run_dir, self.run_dir / MODEL_DIR, name=self.run_dir.resolve().name)
            monitor.message(f"exported the model to {folder}")
        barrier(self.dist)
        return self.state

    def _agreed_length(self, began: float, first_step: int, total: int) -> int:
        """The run's length under the time limit, the same on every process (rank 0's estimate)."""
        step = self.state.step
        length = steps_within(
            self.config.time_limit_s, time.perf_counter() - began, step - first_step, step, total
        )
        if self.dist.world_size > 1:
            agreed = torch.tensor([length], device=self.device)
            torch.distributed.broadcast(agreed, src=0)
            length = int(agreed.item())
        return length

    def _train_step(self, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        try:
            return self.recipe.train_step(batch, self.context)
        except RuntimeError as exc:
            message = str(exc).lower()
            if "out of memory" in message or "can't allocate memory" in message:
                raise TrainingError(
                    f"out of memory at batch {self.config.batch} on {self.device}; lower --batch or --size"
                ) from None
            raise


def _cpu_state(net: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu() for k, v in net.state_dict().items()}


def default_workers() -> int:
    """Data-loading processes: a few, leaving cores for the training process itself."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))
