"""Milliseconds per synthesis for SPADE configurations (random weights), on the CPU and a GPU if present.

    python benchmarks/engine_latency.py [--repeats 5] [--threads N] [--baseline] [--model NAME ...]

Rows: official-size SPADE (COCO release architecture) at 256² and 512², a compact CLADE model at
256². ``--baseline`` also times a straightforward implementation of the paper (one-hot input
tensors, resized per layer and convolved), the reference our lookup-based label convs replace.
``--model`` times installed models instead, end to end as the app calls them: label-to-photo
models ``synthesize`` a painted map at their native size (with a style image when they have an
encoder), inpainting models fill a hole in a 481x321 photo, sketch models translate a drawing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from engine import load_model  # noqa: E402
from engine.device import cpu_has_native_bf16  # noqa: E402
from engine.models.blocks import LabelConv3x3  # noqa: E402
from engine.models.semantics import SemanticMap, instance_edges  # noqa: E402
from engine.models.spade import SPADEConfig, SPADEGenerator  # noqa: E402

CONFIGS = {
    "official SPADE (COCO)": SPADEConfig(label_nc=182, contain_dontcare=True, use_instance_edges=True),
    "compact CLADE ngf 16": SPADEConfig(label_nc=12, use_instance_edges=True, ngf=16, norm="clade"),
    "compact CLADE ngf 32": SPADEConfig(label_nc=12, use_instance_edges=True, ngf=32, norm="clade"),
}
RUNS = [
    ("official SPADE (COCO)", 256),
    ("official SPADE (COCO)", 512),
    ("compact CLADE ngf 16", 256),
    ("compact CLADE ngf 32", 256),
]


@contextmanager
def one_hot_label_convs():
    """Swap in the textbook computation: a dense conv over the resized one-hot tensor."""
    original = LabelConv3x3.forward

    def dense(self: LabelConv3x3, semantics: SemanticMap) -> torch.Tensor:
        return F.conv2d(semantics.one_hot().to(self.weight.dtype), self.weight, self.bias, padding=1)

    LabelConv3x3.forward = dense
    try:
        yield
    finally:
        LabelConv3x3.forward = original


def random_semantics(config: SPADEConfig, size: int, device: torch.device, dtype: torch.dtype) -> SemanticMap:
    """A painting-like map: a 4x4 grid of random classes (regions of size/4), with instance edges."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.randint(0, config.label_nc, (1, 1, 4, 4), generator=generator).float()
    labels = F.interpolate(coarse, size=(size, size), mode="nearest")[:, 0].long()
    edges = instance_edges(labels).to(device, dtype) if config.use_instance_edges else None
    return SemanticMap(labels.to(device), config.num_classes, edges)


def time_ms(
    generator: SPADEGenerator,
    config: SPADEConfig,
    size: int,
    device: torch.device,
    dtype: torch.dtype,
    repeats: int,
) -> float:
    """Median wall time of a whole synthesis call (fresh label map each time, as when painting)."""
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            semantics = random_semantics(config, size, device, dtype)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            generator(semantics)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 2:  # two warm-up calls
                times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_installed_model(name: str, repeats: int) -> None:
    """Median ms of one call as the app makes it while the user paints: label-to-photo models
    ``synthesize`` a fresh map at native size (style encoded once where the model takes one);
    inpainting models ``inpaint`` a 481x321 photo (BSDS500's size) with a fresh hole of about a
    fifth of it; sketch (pix2pix) models ``translate`` a fresh drawing at native size in their
    default mode."""
    model = load_model(name, device="cpu")
    rng = np.random.default_rng(0)
    if model.card.kind == "lama":
        h, w = 321, 481
        photo = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)

        def call(i: int) -> None:
            hole = np.zeros((h, w), bool)
            hole[40 + i : 200 + i, 100 + 2 * i : 300 + 2 * i] = True
            model.inpaint(photo, hole)

        what = "inpaint"
    elif model.card.kind == "pix2pix":
        h, w = model.native_size

        def call(i: int) -> None:
            sketch = np.full((h, w), 255, np.uint8)
            sketch[8 + i :: 16] = 0  # lines that move with every call, as a pen stroke does
            sketch[:, 8 + i :: 24] = 0
            model.translate(sketch)

        what = "translate"
    else:
        h, w = model.native_size
        ids = np.array([c.id for c in model.label_set.classes], np.int32)
        extra = {}  # pix2pixHD models take no style; their instances get bank looks
        if getattr(model, "has_style_encoder", False):
            extra["style"] = model.encode_style(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))

        def call(i: int) -> None:
            labels = ids[rng.integers(0, len(ids), (4, 4))].repeat(h // 4, axis=0).repeat(w // 4, axis=1)
            model.synthesize(labels, **extra)

        what = "synthesize"
    times = []
    for i in range(repeats + 2):
        start = time.perf_counter()
        call(i)
        if i >= 2:
            times.append((time.perf_counter() - start) * 1000)
    print(f"{name:24} {h}x{w} cpu float32 {statistics.median(times):9.1f} ms per {what}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's choice)")
    parser.add_argument("--baseline", action="store_true", help="also time the one-hot reference")
    parser.add_argument("--model", action="append", help="time this installed model instead (repeatable)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
        for name in args.model:
            time_installed_model(name, args.repeats)
        return
    targets = [(torch.device("cpu"), torch.float32)]
    if cpu_has_native_bf16():
        targets.append((torch.device("cpu"), torch.bfloat16))
    if torch.cuda.is_available():
        targets += [(torch.device("cuda"), torch.float32), (torch.device("cuda"), torch.float16)]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        + (f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")
    )
    print(
        f"{'model':24} {'size':>5} {'device':>6} {'dtype':>9} {'ms':>9}"
        + (f" {'one-hot ms':>11} {'speed-up':>8}" if args.baseline else "")
    )
    for name, size in RUNS:
        config = CONFIGS[name]
        for device, dtype in targets:
            torch.manual_seed(0)
            generator = SPADEGenerator(config).to(device, dtype).eval()
            ms = time_ms(generator, config, size, device, dtype, args.repeats)
            row = f"{name:24} {size:>5} {device.type:>6} {str(dtype)[6:]:>9} {ms:9.1f}"
            if args.baseline:
                with one_hot_label_convs():
                    base = time_ms(generator, config, size, device, dtype, args.repeats)
                row += f" {base:11.1f} {base / ms:7.2f}x"
            print(row, flush=True)


if __name__ == "__main__":
    main()
