"""What a person watching a run sees: a progress bar with losses and it/s (or, without the bar, one
log line per logging step, for batch jobs), TensorBoard scalars and image grids, the same grids as
PNGs in ``samples/``, and ``problems.log`` for skipped files."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from tqdm import tqdm

from engine.session import tensor_to_uint8


def image_grid(columns: Sequence[Tensor], gap: int = 2) -> np.ndarray:
    """Columns of (N, 3, H, W) images in [-1, 1] -> one uint8 grid (rows = samples), white gaps."""
    n, _, h, w = columns[0].shape
    grid = np.full((n * h + (n - 1) * gap, len(columns) * w + (len(columns) - 1) * gap, 3), 255, np.uint8)
    for c, column in enumerate(columns):
        for r in range(n):
            grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = tensor_to_uint8(
                column[r : r + 1].detach().float().cpu()
            )
    return grid


class Monitor:
    """Progress, logs and samples of one run. Every method is a no-op unless ``enabled`` (rank 0)."""

    def __init__(
        self,
        run_dir: Path,
        total: int,
        initial: int,
        *,
        enabled: bool = True,
        tensorboard: bool = True,
        progress: bool = True,
    ):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.bar = None
        self.writer = None
        self._last_log = (initial, time.perf_counter())
        if not enabled:
            return
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
        if progress:
            self.bar = tqdm(total=total, initial=initial, unit="it", dynamic_ncols=True, file=sys.stderr)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imports TensorFlow's protos: only when used

            self.writer = SummaryWriter(str(self.run_dir / "tensorboard"))

    def advance(self, losses: Mapping[str, float] | None = None) -> None:
        """One iteration done; ``losses`` (when given) are shown beside the rate."""
        if self.bar is None:
            return
        self.bar.update(1)
        if losses:
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        """Log the values at ``step``; without a progress bar also print them with the rate since the
        previous call, so a run in the background shows how it goes."""
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(key, value, step)
        if self.enabled and self.bar is None:
            last_step, last_time = self._last_log
            now = time.perf_counter()
            shown = " ".join(f"{k}={v:.4g}" for k, v in values.items())
            if step > last_step:  # a second call at the same step (e.g. metrics) has no rate
                shown = f"{(step - last_step) / max(now - last_time, 1e-9):.2f} it/s {shown}"
                self._last_log = (step, now)
            print(f"step {step} {shown}", file=sys.stderr, flush=True)

    def samples(self, step: int, grid: np.ndarray) -> Path | None:
        """Write the grid to ``samples/step_NNNNNNN.png`` (and TensorBoard); returns the PNG path."""
        if not self.enabled:
            return None
        path = self.run_dir / "samples" / f"step_{step:07d}.png"
        Image.fromarray(grid).save(path)
        if self.writer is not None:
            self.writer.add_image("samples", torch.from_numpy(grid).permute(2, 0, 1), step)
        return path

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def problem(self, text: str) -> None:
        """A skipped file: shown once on the console and appended to ``problems.log``."""
        if not self.enabled:
            return
        self.message(f"skipped: {text}")
        with open(self.run_dir / "problems.log", "a", encoding="utf-8") as log:
            log.write(text + "\n")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
