"""``python -m trainers.pack_photos``: a compact JPEG copy of photo folders, to take to a training
machine that cannot read the originals (a rented GPU, an upload limit).

    python -m trainers.pack_photos --data ../shared/datasets/photos/bsds500/train \\
        --data ../shared/datasets/photos/urban100 --max-side 384 --out .gpu/photos

Each photo is read as the trainers read it (upright by its EXIF orientation, transparency on white),
shrunk (never enlarged) to at most ``--max-side`` pixels and re-encoded as JPEG (grey ones as grey).
The copy keeps the folders below the roots' common parent (``bsds500/train/2092.jpg``), so the
BSDS500 layout of ``--format bsds`` survives, and drops the files named in ``--exclude`` lists,
as the trainers would. The 1,498 training photos of ``photos/`` (47 MB) become 30 MB at the
defaults (384 px, quality 85) and 26 MB at quality 80; the trainers crop 256 px from them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from engine.errors import InputImageError
from engine.labels import read_rgb_image
from trainers.photos import find_photos


@dataclass
class PackReport:
    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.written)


def common_parent(roots: Sequence[Path]) -> Path:
    """The folder the copy's paths are relative to: the roots' common parent, or the parent of a
    single root (so its own name stays in the copy)."""
    resolved = [root.resolve() for root in roots]
    parent = Path(os.path.commonpath(resolved))
    return parent.parent if parent in resolved else parent


def pack_photos(
    roots: Sequence[Path],
    out: Path,
    *,
    exclude: Sequence[Path] = (),
    max_side: int = 384,
    quality: int = 85,
) -> PackReport:
    """Write a shrunk JPEG of every photo under ``roots`` (minus ``exclude``) into ``out``."""
    index = find_photos(roots, exclude)
    base = common_parent(roots)
    report = PackReport(problems=list(index.problems))
    for photo in index.samples:
        target = out / photo.resolve().relative_to(base).with_suffix(".jpg")
        try:
            pixels = read_rgb_image(photo)  # as the trainers read it: upright, transparency flattened
        except InputImageError as exc:
            report.problems.append(f"{photo}: not copied ({exc})")
            continue
        grey = bool((pixels == pixels[..., :1]).all())
        image = Image.fromarray(pixels[..., 0] if grey else pixels)
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, "JPEG", quality=quality)
        report.written.append(target)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.pack_photos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, action="append", required=True, help="photo folder; repeatable")
    parser.add_argument(
        "--exclude", type=Path, action="append", default=[], help="list of file names to leave out"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder of the copy")
    parser.add_argument("--max-side", type=int, default=384, help="longest side in pixels (default: 384)")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality (default: 85)")
    parser.add_argument("--budget-mb", type=float, help="fail when the copy is larger than this many MB")
    args = parser.parse_args(argv)
    report = pack_photos(
        args.data, args.out, exclude=args.exclude, max_side=args.max_side, quality=args.quality
    )
    for problem in report.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    megabytes = report.total_bytes / 1e6
    print(f"{len(report.written)} photos, {megabytes:.1f} MB in {args.out}")
    if args.budget_mb is not None and megabytes > args.budget_mb:
        print(
            f"error: the copy is over its budget of {args.budget_mb} MB; lower --max-side or --quality",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
