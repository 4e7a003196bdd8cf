"""``python -m trainers``: the list of what trains and measures models, one command per model;
``python -m trainers NAME ...`` runs ``python -m trainers.NAME ...``.

The summaries are the first sentences of the commands' own docstrings, read without importing
them (and torch), so the list answers at once and cannot drift from the modules."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

COMMANDS = (
    "spade",
    "pix2pixhd",
    "pix2pix",
    "inpaint",
    "colorize",
    "segmenter",
    "evaluate",
    "export",
    "pack_photos",
)


def summary(name: str) -> str:
    """What ``trainers.<name>`` does: its docstring's first paragraph, without the command prefix."""
    source = Path(__file__).with_name(f"{name}.py").read_text(encoding="utf-8")
    paragraph = (ast.get_docstring(ast.parse(source)) or "").split("\n\n")[0]
    return " ".join(paragraph.split()).split("``: ", 1)[-1].replace("``", "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        return importlib.import_module(f"trainers.{argv[0]}").main(argv[1:])
    print("usage: python -m trainers.NAME --help   (or python -m trainers NAME ...)\n")
    for name in COMMANDS:
        print(f"  {name:12} {summary(name)}")
    if argv and argv[0] not in ("-h", "--help"):
        print(f"\nerror: no trainer '{argv[0]}'", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
