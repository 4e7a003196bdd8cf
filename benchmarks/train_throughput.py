"""Images per second of a SPADE training iteration (G + D forward/backward, losses, both Adam steps),
with random weights and synthetic painting-like batches, on the CPU and a GPU if present.

    python benchmarks/train_throughput.py [--steps 3] [--batch 1 2] [--size 256] [--threads N] [--baseline]

Rows per device and precision (CPU fp32; CPU bf16 autocast where the CPU has native bf16
instructions; GPU fp32 and fp16 autocast): the compact CLADE configuration (the trainer's CPU
default: ngf 16, ndf 32, facades' 12 classes) and the official-size SPADE configuration
(COCO-Stuff: 182 classes + don't care + instance edges, ngf 64, ndf 64, two-scale PatchGAN with 4
layers, feature matching). Data loading is not
timed. ``--baseline`` also times the same networks driven like the official trainer: one-hot label
tensors convolved in every SPADE layer (densely) and fed to D concatenated to each photo, and a
second, gradient-free generator pass for D's step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.device import cpu_has_native_bf16  # noqa: E402
from engine.labels import get_label_set  # noqa: E402
from engine.models.blocks import SpatiallyAdaptiveNorm  # noqa: E402
from engine.models.spade import SPADEConfig  # noqa: E402
from trainers.loop import TrainingStep, build_optimizers  # noqa: E402
from trainers.losses import feature_matching_loss, hinge_d_loss, hinge_g_loss  # noqa: E402
from trainers.recipe import frozen  # noqa: E402
from trainers.spade import SPADERecipe, SPADETraining, generator_semantics  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_latency import one_hot_label_convs  # noqa: E402


@contextmanager
def official_computation():
    """One-hot label convs everywhere, and dense SPADE modulation even without gradients (the
    engine's boundary-sparse shortcut, which the official code lacks, would speed up D's G pass)."""
    threshold = SpatiallyAdaptiveNorm.sparse_threshold
    SpatiallyAdaptiveNorm.sparse_threshold = -1.0
    try:
        with one_hot_label_convs():
            yield
    finally:
        SpatiallyAdaptiveNorm.sparse_threshold = threshold


def recipe(name: str, size: int) -> SPADERecipe:
    if name == "compact CLADE":
        labels = get_label_set("facades")
        config = SPADEConfig(label_nc=12, ngf=16, norm="clade", crop_size=size)
        return SPADERecipe(config, labels, SPADETraining(ndf=32))
    labels = get_label_set("coco")
    config = SPADEConfig(label_nc=182, contain_dontcare=True, use_instance_edges=True, crop_size=size)
    return SPADERecipe(config, labels, SPADETraining(ndf=64))


def synthetic_batch(config: SPADEConfig, batch: int, size: int, device: torch.device, seed: int) -> dict:
    """A painting-like batch: 4x4 regions of random classes, instance ids = region index."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, config.num_classes, (batch, 1, 4, 4), generator=generator).float()
    labels = F.interpolate(coarse, size=(size, size), mode="nearest")[:, 0].long()
    regions = torch.arange(16).view(1, 1, 4, 4).float().expand(batch, 1, 4, 4)
    instances = F.interpolate(regions, size=(size, size), mode="nearest")[:, 0].long()
    image = torch.rand(batch, 3, size, size, generator=generator) * 2 - 1
    return {"labels": labels.to(device), "instances": instances.to(device), "image": image.to(device)}


def official_style_step(spade: SPADERecipe, batch: dict, ctx: TrainingStep) -> None:
    """The official trainer's order of work: G step (D on fake and real, both with input gradients),
    then D step after a fresh generator pass without gradients; D sees the label map per photo."""
    real = batch["image"]
    semantics = generator_semantics(batch, spade.generator)
    condition = semantics.one_hot()
    pair = condition.repeat(2, 1, 1, 1)
    discriminator = ctx.raw["D"]
    with ctx.autocast():
        fake = ctx.nets["G"](semantics)
        with frozen(discriminator):
            outputs = discriminator(torch.cat([fake, real]), pair)
            n = real.shape[0]
            fake_out = [[f[:n] for f in scale] for scale in outputs]
            real_out = [[f[n:] for f in scale] for scale in outputs]
            g_loss = hinge_g_loss([o[-1] for o in fake_out]) + 10 * feature_matching_loss(fake_out, real_out)
    ctx.optimize("G", g_loss)
    with ctx.autocast():
        with torch.no_grad():
            fake = ctx.nets["G"](generator_semantics(batch, spade.generator))
        outputs = discriminator(torch.cat([fake, real]), pair)
        d_real, d_fake = hinge_d_loss([o[-1][n:] for o in outputs], [o[-1][:n] for o in outputs])
    ctx.optimize("D", d_real + d_fake)


def images_per_second(
    name: str, size: int, batch: int, device: torch.device, amp: bool, steps: int, baseline: bool
) -> float:
    torch.manual_seed(0)
    spade = recipe(name, size)
    memory_format = torch.channels_last if device.type == "cuda" else torch.preserve_format
    networks = {
        k: v.to(device, memory_format=memory_format).train() for k, v in spade.build_networks().items()
    }
    ctx = TrainingStep(networks, build_optimizers(spade, networks), device, amp)
    times = []
    with official_computation() if baseline else nullcontext():
        for i in range(steps + 1):
            data = synthetic_batch(spade.generator, batch, size, device, seed=i)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            if baseline:
                official_style_step(spade, data, ctx)
            else:
                spade.train_step(data, ctx)
            ctx.finish()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i:  # the first iteration warms up (allocations, kernel choice)
                times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def precision(device: torch.device, amp: bool) -> str:
    if not amp:
        return "fp32"
    return "fp16 amp" if device.type == "cuda" else "bf16 amp"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=3, help="timed iterations per row (after 1 warm-up)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 2], help="batch sizes")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--configs", nargs="+", default=["compact CLADE", "official SPADE"])
    parser.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's choice)")
    parser.add_argument("--no-gpu", action="store_true", help="CPU only even where a GPU is present")
    parser.add_argument("--baseline", action="store_true", help="also time the official trainer's way")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    targets = [(torch.device("cpu"), False)]
    if cpu_has_native_bf16():
        targets.append((torch.device("cpu"), True))
    if torch.cuda.is_available() and not args.no_gpu:
        targets += [(torch.device("cuda"), False), (torch.device("cuda"), True)]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")
    )
    print(
        f"{'config':16} {'size':>5} {'batch':>5} {'device':>6} {'precision':>9} {'img/s':>8}"
        + (f" {'official-style img/s':>21} {'speed-up':>8}" if args.baseline else "")
    )
    for name in args.configs:
        for batch in args.batch:
            for device, amp in targets:
                ours = images_per_second(name, args.size, batch, device, amp, args.steps, False)
                row = f"{name:16} {args.size:>5} {batch:>5} {device.type:>6} {precision(device, amp):>9}"
                row += f" {ours:8.3f}"
                if args.baseline:
                    base = images_per_second(name, args.size, batch, device, amp, args.steps, True)
                    row += f" {base:21.3f} {ours / base:7.2f}x"
                print(row, flush=True)


if __name__ == "__main__":
    main()
