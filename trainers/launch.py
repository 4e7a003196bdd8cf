"""Command-line options every trainer shares (data, length, run folder, devices, logging) and the
start of a run: a fresh run from the options, or ``--resume`` from the run's ``run.json``."""

from __future__ import annotations

import argparse
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from engine.errors import SynthpaintError
from engine.labels import LabelSet
from trainers.augment import Augmentation
from trainers.data import FORMATS, PairedDataset, dataset_label_set, find_samples
from trainers.distributed import shutdown_distributed
from trainers.loop import TrainConfig, Trainer, TrainingError, default_workers
from trainers.recipe import PairedRecipe, Recipe, load_recipe
from trainers.rundir import CHECKPOINT_FILE, data_folders, read_run_file, write_run_file


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--data", type=Path, help="dataset folder (required unless --resume)")
    group.add_argument(
        "--format",
        choices=list(FORMATS),
        default="folder",
        help="layout of --data: "
        + "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())
        + " (default: folder)",
    )
    group.add_argument(
        "--split", default="train", help="which split of the layout to train on (default: train)"
    )
    group.add_argument(
        "--labelset",
        help="label set: a built-in name (coco, ade20k, cityscapes, facades) or a label set JSON file; "
        "default: the format's own (required for --format folder)",
    )
    group.add_argument(
        "--zoom",
        type=float,
        default=1.25,
        help="random zoom of up to this factor before the random crop (default: 1.25; 1 = crop only)",
    )
    group.add_argument("--no-flip", action="store_true", help="no random horizontal flips")


def add_loop_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run")
    group.add_argument(
        "--out", type=Path, required=True, help="run folder: checkpoints, samples, logs, model"
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out exactly where its last checkpoint left it, with the options saved in "
        "its run.json (only --iters/--epochs, --lr-decay-iters and --time-limit may change, e.g. to train "
        "longer and end with a decay, and --no-progress/--no-tensorboard/--no-export; other options are "
        "refused: --init RUN/model starts a new run from its weights with new ones)",
    )
    length = group.add_mutually_exclusive_group()
    length.add_argument("--iters", type=int, help="train for this many iterations (batches)")
    length.add_argument("--epochs", type=int, help="train for this many passes over the data (default: 50)")
    group.add_argument(
        "--lr-decay-iters",
        type=decay_length,
        help="over the last N iterations (or the last P%% of the run, e.g. 50%%, which also suits runs that "
        "--time-limit ends) the learning rates fall linearly to 0, as in pix2pix and pix2pixHD; default: 0, "
        "constant rates",
    )
    group.add_argument(
        "--time-limit",
        type=float,
        metavar="MINUTES",
        help="stop after this many minutes of training with a checkpoint and the export; the run's length "
        "shrinks to the iterations that fit at the speed so far, so --lr-decay-iters still ends at 0",
    )
    group.add_argument(
        "--batch", type=int, help="images per process and iteration (default: 1 on a CPU, 4 on a GPU)"
    )
    group.add_argument(
        "--seed", type=int, default=0, help="seed of weights, data order and augmentation (default: 0)"
    )
    group.add_argument(
        "--workers", type=int, default=default_workers(), help="data-loading processes (default: %(default)s)"
    )
    group.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, mps")
    group.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        help="mixed precision: fp16 on GPUs, bf16 on CPUs (about 2x faster for official-size SPADE on CPUs "
        "with AVX512-BF16 or AMX); default: on for CUDA only",
    )
    group.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        help="channels-last memory layout (default: on for CUDA only, where it speeds up convolutions)",
    )
    group.add_argument(
        "--checkpoint-every",
        type=int,
        default=1000,
        help="iterations between checkpoints (default: %(default)s)",
    )
    group.add_argument(
        "--sample-every", type=int, default=500, help="iterations between sample grids (default: %(default)s)"
    )
    group.add_argument(
        "--log-every",
        type=int,
        default=50,
        help="iterations between TensorBoard scalars (default: %(default)s)",
    )
    group.add_argument(
        "--ema-decay",
        type=float,
        default=0.999,
        help="EMA decay of the exported weights (default: %(default)s)",
    )
    group.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    group.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in batch jobs)")
    group.add_argument("--no-export", action="store_true", help="do not export RUN_DIR/model at the end")
    group.add_argument(
        "--init",
        type=Path,
        help="start a new run from the weights of an exported model folder (same architecture options), "
        "e.g. to keep training a committed model in a later session or to fine-tune it on your data",
    )


def decay_length(text: str) -> tuple[int, float]:
    """``--lr-decay-iters``: ``N`` iterations -> (N, 0.0); ``P%`` of the run -> (0, P / 100)."""
    try:
        return (0, float(text[:-1]) / 100) if text.endswith("%") else (int(text), 0.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of iterations or a percentage, got {text!r}"
        ) from None


def on_gpu(args: argparse.Namespace) -> bool:
    """Whether --device resolves to CUDA: device-dependent defaults (sizes, batch) follow it."""
    import torch

    return args.device.startswith("cuda") or (args.device == "auto" and torch.cuda.is_available())


def train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        batch=args.batch or (4 if on_gpu(args) else 1),
        iters=args.iters,
        epochs=args.epochs if args.epochs is not None or args.iters is not None else 50,
        seed=args.seed,
        workers=args.workers,
        device=args.device,
        amp=args.amp,
        channels_last=args.channels_last,
        checkpoint_every=args.checkpoint_every,
        sample_every=args.sample_every,
        log_every=args.log_every,
        ema_decay=args.ema_decay,
        tensorboard=not args.no_tensorboard,
        progress=not args.no_progress,
        export=not args.no_export,
        init_from=None if args.init is None else str(Path(args.init).resolve()),
        **decay_options(args),
        time_limit_s=time_limit_seconds(args),
    )


def decay_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--lr-decay-iters`` as TrainConfig fields (no decay when it is not given)."""
    iters, share = args.lr_decay_iters or (0, 0.0)
    return {"lr_decay_iters": iters, "lr_decay_share": share}


def time_limit_seconds(args: argparse.Namespace) -> float | None:
    return None if args.time_limit is None else args.time_limit * 60


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


RecipeFactory = Callable[[argparse.Namespace, LabelSet, bool], PairedRecipe]


class DataSource(ABC):
    """Where a kind of trainer gets its data: the options recorded in ``run.json``, the scan of the
    files, the recipe of a new run and the datasets. ``PairedSource`` (photos + label maps) is the
    default; photo-only trainers use ``trainers.photos.PhotoSource``."""

    @abstractmethod
    def describe(self, args: argparse.Namespace) -> dict[str, Any]:
        """The data options of a new run, as saved in ``run.json`` (JSON-able)."""

    @abstractmethod
    def scan(self, data: Mapping[str, Any]) -> Any:
        """Find the samples; the result has ``samples`` (a list) and ``problems`` (messages)."""

    @abstractmethod
    def new_recipe(self, args: argparse.Namespace, index: Any, make_recipe: Callable[..., Recipe]) -> Recipe:
        """The recipe of a new run, from the options and what the scan found."""

    @abstractmethod
    def datasets(
        self, index: Any, recipe: Recipe, data: Mapping[str, Any], seed: int
    ) -> tuple[Dataset, Dataset]:
        """(training dataset, fixed preview dataset without augmentation)."""


class PairedSource(DataSource):
    """Photos with label maps (and instance maps) in one of ``trainers.data.FORMATS``."""

    def describe(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "root": str(Path(args.data).resolve()),
            "format": args.format,
            "split": args.split,
            "zoom": args.zoom,
            "flip": not args.no_flip,
        }

    def scan(self, data: Mapping[str, Any]) -> Any:
        return find_samples(data["root"], data["format"], data["split"])

    def new_recipe(self, args: argparse.Namespace, index: Any, make_recipe: Callable[..., Recipe]) -> Recipe:
        label_set = dataset_label_set(args.format, args.labelset)
        return make_recipe(args, label_set, any(s.instance is not None for s in index.samples))

    def datasets(
        self, index: Any, recipe: Recipe, data: Mapping[str, Any], seed: int
    ) -> tuple[Dataset, Dataset]:
        size, label_set = recipe.image_size, recipe.label_set
        augmentation = Augmentation(size, zoom=(1.0, max(1.0, data["zoom"])), flip=data["flip"])
        dataset = PairedDataset(index.samples, label_set, augmentation, seed=seed)
        preview = PairedDataset(index.samples, label_set, augmentation, seed=seed, augment=False)
        return dataset, preview


# flags a resumed run honours (TrainConfig field each turns off), and all it may be given with
RUN_TIME_FLAGS = {"no_progress": "progress", "no_tensorboard": "tensorboard", "no_export": "export"}
RESUME_OPTIONS = frozenset(
    {"out", "resume", "iters", "epochs", "lr_decay_iters", "time_limit", "device", *RUN_TIME_FLAGS}
)


def refuse_ignored_resume_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A resumed run rebuilds itself from its run.json, so an option given beside ``--resume`` that
    would change the recipe, data or loop would silently do nothing: name it instead."""
    given = [
        action.option_strings[0]
        for action in parser._actions
        if action.dest not in RESUME_OPTIONS
        and action.option_strings
        and action.default is not argparse.SUPPRESS
        and getattr(args, action.dest, action.default) != action.default
    ]
    if given:
        raise TrainingError(
            f"--resume continues {args.out} with the options in its run.json; {', '.join(given)} cannot "
            f"change there (start a new run with --init {args.out}/model to train on with new options)"
        )


def start_run(
    args: argparse.Namespace, make_recipe: Callable[..., Recipe], source: DataSource | None = None
) -> Trainer:
    """The Trainer for ``args``: a new run (recipe from ``source.new_recipe(args, scan, make_recipe)``;
    for the default paired data ``make_recipe(args, label_set, dataset_has_instance_maps)``), or the
    run in ``--out`` continued. Scan problems (photos without labels...) are reported, not fatal."""
    source = source or PairedSource()
    run_dir = Path(args.out)
    if args.resume:
        run = read_run_file(run_dir)
        recipe = load_recipe(run["recipe"], run["recipe_config"])
        train = dict(run["train"])
        if args.iters is not None or args.epochs is not None:
            train.update(iters=args.iters, epochs=args.epochs)
        if args.lr_decay_iters is not None:
            train.update(decay_options(args))
        train.update(time_limit_s=time_limit_seconds(args))
        if args.device != "auto":  # move the run, e.g. started on a CPU, continued on a GPU
            train["device"] = args.device
        for flag, field in RUN_TIME_FLAGS.items():
            if getattr(args, flag):
                train[field] = False
        try:
            config = TrainConfig.from_dict(train)
        except TypeError as exc:
            raise TrainingError(
                f"{run_dir}/run.json holds options this version does not know ({exc})"
            ) from None
        data = run["data"]
    else:
        if (run_dir / CHECKPOINT_FILE).exists():
            raise TrainingError(
                f"{run_dir} already holds a run: pass --resume to continue it, or another --out"
            )
        if args.data is None:
            raise TrainingError("--data is required for a new run")
        config = train_config(args)
        data = source.describe(args)
    index = source.scan(data)
    if not args.resume:
        recipe = source.new_recipe(args, index, make_recipe)
        data["samples"] = len(index.samples)
    elif len(index.samples) != data["samples"]:
        print(
            f"warning: {data_folders(data)} now holds {len(index.samples)} samples, not {data['samples']}: "
            "the data order after the resume differs from the interrupted run's",
            file=sys.stderr,
        )
    if _is_main_process():
        for problem in index.problems:
            print(f"skipped: {problem}", file=sys.stderr)
        run_dir.mkdir(parents=True, exist_ok=True)
        write_run_file(run_dir, recipe.module, recipe.to_dict(), config.to_dict(), data)
    dataset, preview = source.datasets(index, recipe, data, config.seed)
    return Trainer(recipe, dataset, preview, config, run_dir, resume=args.resume)


def main_for(
    parser: argparse.ArgumentParser,
    make_recipe: Callable[..., Recipe],
    argv: list[str] | None = None,
    source: DataSource | None = None,
) -> int:
    """Parse, train, report user errors in one line (exit status 2)."""
    args = parser.parse_args(argv)
    try:
        if args.resume:
            refuse_ignored_resume_options(parser, args)
        start_run(args, make_recipe, source).run()
    except SynthpaintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        shutdown_distributed()
    return 0
