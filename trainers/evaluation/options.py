"""Command-line options every evaluation task shares."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.device import PRECISIONS


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_run_options(parser: argparse.ArgumentParser, networks: str = "the model") -> None:
    """--limit, --device, --precision and --json, as the pair-based tasks (labels, sketch) take them."""
    parser.add_argument("--limit", type=positive, help="evaluate only the first N pairs (default: all)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, mps")
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help=f"precision of {networks} (default: fp32)"
    )
    parser.add_argument("--json", type=Path, help="also write the scores to this JSON file (for model cards)")


def write_report(path: Path, report: dict) -> None:
    """The scores of ``--json`` (for model cards), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
