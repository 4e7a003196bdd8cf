"""``python -m trainers.export RUN_DIR -o MODEL_DIR``: turn a run's latest checkpoint into an engine
model folder (safetensors + model card) that ``python -m engine synth`` and the app open directly.

The EMA weights are exported (``--fp16`` stores them at half precision, half the size; check the
model's metrics after such an export); the card records the label set, resolution, data, steps, hardware
and the last metrics. Training runs call this at their end too (into ``RUN_DIR/model``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from engine.checkpoints import save_model
from engine.errors import CheckpointError, SynthpaintError
from trainers.checkpoint import load_checkpoint
from trainers.recipe import load_recipe
from trainers.rundir import CHECKPOINT_FILE, data_folders, read_run_file


def data_summary(data: Mapping[str, Any]) -> str:
    """What a run trained on, from its ``run.json`` data: a paired dataset or photo folders."""
    if "roots" in data:
        excluded = f" minus those listed in {', '.join(data['exclude'])}" if data.get("exclude") else ""
        return f"{data['samples']} photos of {data_folders(data)}{excluded}"
    return f"{data['samples']} samples of {data['root']} (format {data['format']}, split {data['split']})"


def export_run(run_dir: str | Path, output: str | Path, name: str | None = None, fp16: bool = False) -> Path:
    """Write the EMA networks of ``run_dir``'s checkpoint as a model folder ``output``."""
    run_dir = Path(run_dir)
    run = read_run_file(run_dir)
    recipe = load_recipe(run["recipe"], run["recipe_config"])
    state = load_checkpoint(run_dir / CHECKPOINT_FILE)
    networks = recipe.inference_networks()
    try:
        for key, net in networks.items():
            net.load_state_dict(state["ema"][key])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"the checkpoint in {run_dir} does not fit its run.json ({exc})") from None
    loop, info, data, train = state["loop"], state["info"], run["data"], run["train"]
    batches = info["batch_per_process"] * info["processes"]
    card = recipe.model_card(
        name or Path(output).name,
        trained_on=data_summary(data),
        training={
            "recipe": run["recipe"],
            "steps": loop["step"],
            "epochs": round(loop["images_seen"] / max(1, data["samples"]), 2),
            "batch": batches,
            "processes": info["processes"],
            "wall_time_s": round(loop["wall_time"], 1),
            "hardware": info["hardware"],
            "mixed_precision": info["mixed_precision"],
            "torch": info["torch"],
            "ema_decay": train["ema_decay"],
            "seed": train["seed"],
            "final_losses": {k: round(v, 4) for k, v in loop["losses"].items()},
            "skipped_files": loop["skipped"],
        },
        metrics={k: round(v, 4) for k, v in loop["metrics"].items()},
    )
    tensors = {**networks, **recipe.exported_tensors(run_dir, loop["step"])}
    return save_model(output, card, tensors, torch.float16 if fp16 else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainers.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a training run folder (holds run.json and checkpoint.pt)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="model folder to write")
    parser.add_argument("--name", help="model name shown in the app (default: the output folder's name)")
    parser.add_argument(
        "--fp16", action="store_true", help="store the weights at half precision (half the file size)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        folder = export_run(args.run_dir, args.output, args.name, args.fp16)
    except SynthpaintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote model {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
