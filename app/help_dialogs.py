"""What the app tells about itself: the Help menu's windows (the card of the model in front, the
keys and mouse gestures of the tab in front, what synthpaint is) and the model pickers' entries. The
texts are made from the live cards and actions, so they cannot drift from what the app does."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from engine.checkpoints import ModelCard
from engine.registry import model_input

Gestures = Sequence[tuple[str, str]]  # (keys or mouse, what it does)

# what every zoomable canvas (zoom_view.ZoomPanView) does
CANVAS_GESTURES: Gestures = (
    ("Wheel", "zoom in or out"),
    ("Space + drag, or middle-drag", "pan"),
    ("[ and ]", "smaller and larger brush"),
)


def _escape(value: object) -> str:
    return html.escape(str(value))


def model_card_html(card: ModelCard, folder: Path | None) -> str:
    """What a user wants to know before trusting a model: what it takes, what it was trained on,
    for how long, and how well it measured (the card's own numbers and how they were measured)."""
    h, w = card.native_size
    rows = [("Kind", f"{card.kind} ({model_input(card)})"), ("Resolution", f"{w} × {h}")]
    if card.label_set:
        classes = len(card.label_set.get("classes", []))
        rows.append(
            ("Label set", f"{card.label_set.get('title') or card.label_set.get('name')} ({classes} classes)")
        )
    if card.trained_on:
        rows.append(("Trained on", card.trained_on))
    if card.training:
        rows.append(("Training", training_summary(card.training)))
    numbers = {k: v for k, v in card.metrics.items() if isinstance(v, int | float)}
    if numbers:
        rows.append(("Metrics", ", ".join(f"{k} {v}" for k, v in numbers.items())))
    if isinstance(card.metrics.get("evaluation"), str):
        rows.append(("Measured by", card.metrics["evaluation"]))
    if card.source:
        rows.append(("Made by", card.source))
    if card.license:
        rows.append(("License", card.license))
    if folder is not None:
        rows.append(("Folder", str(folder)))
    table = "".join(f"<tr><th align=left valign=top>{k}</th><td>{_escape(v)}</td></tr>" for k, v in rows)
    return (
        f"<h2>{_escape(card.name)}</h2><p>{_escape(card.description)}</p><table cellspacing=4>{table}</table>"
    )


def training_summary(training: dict) -> str:
    """Steps, batch sizes and photos seen, runs, wall time and hardware over the card's run and the
    runs it continued from (steps alone mislead when the batch changed between runs)."""
    runs = [training, *training.get("continued_from", [])]

    def total(key: str) -> float:
        return sum(r[key] for r in runs if isinstance(r.get(key), int | float))

    hardware = list(dict.fromkeys(r["hardware"] for r in runs if r.get("hardware")))
    count = sum(r.get("runs", 1) for r in runs)
    text = f"{total('steps'):,.0f} steps in {count} run{'s' if count > 1 else ''}"
    sized = [r for r in runs if isinstance(r.get("batch"), int) and isinstance(r.get("steps"), int)]
    if sized:
        batches = sorted({r["batch"] * r.get("processes", 1) for r in sized})
        batch = f"batch {batches[0]}" + (f" to {batches[-1]}" if len(batches) > 1 else "")
        seen = sum(r["steps"] * r["batch"] * r.get("processes", 1) for r in sized)
        text += f" ({batch}, {seen:,} images{'' if len(sized) == len(runs) else ' in the runs that say'})"
    if total("wall_time_s"):
        text += f", {total('wall_time_s') / 60:.0f} min"
    if not hardware:
        return text
    return text + " on " + (", ".join(hardware[:-1]) + " and " if len(hardware) > 1 else "") + hardware[-1]


def action_keys(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(shortcut, name) of each action that has a shortcut, once each, in the given order."""
    seen: set[str] = set()
    keys = []
    for action in actions:
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        name = action.text().replace("&", "").rstrip("…")
        if shortcut and (shortcut, name) not in keys and name not in seen:
            seen.add(name)
            keys.append((shortcut, name))
    return keys


def shortcuts_html(sections: Sequence[tuple[str, Gestures]]) -> str:
    """One table per section (e.g. the tab in front, everywhere)."""
    parts = []
    for title, rows in sections:
        table = "".join(f"<tr><td><b>{_escape(k)}</b></td><td>{_escape(v)}</td></tr>" for k, v in rows)
        parts.append(f"<h3>{_escape(title)}</h3><table cellspacing=4>{table}</table>")
    return "".join(parts)


def about_html(models: Sequence[ModelCard]) -> str:
    version = metadata.version("synthpaint")
    names = ", ".join(_escape(card.name) for card in models) or "none"
    return (
        f"<h2>synthpaint {version}</h2>"
        "<p>Paint pictures with neural networks: label maps (SPADE, pix2pixHD), sketches (pix2pix), "
        "inpainting by erasing (LaMa) and colorization with hints (Zhang et al. 2017). It runs on a CPU "
        "or a GPU, trains on your own data (<code>python -m trainers</code>) and opens the official "
        "research checkpoints (<code>python -m engine import-official</code>).</p>"
        f"<p>Installed models: {names}. Help → About This Model shows the card of the model in front: "
        "its data, training and measured quality.</p><p>MIT License.</p>"
    )


def add_model_item(combo: QComboBox, card: ModelCard, folder: Path | None) -> None:
    """A model picker entry: the card's name, its folder as data (to load it again) and, on hover,
    the card's first sentence (which of two facade models is the fast one?)."""
    combo.addItem(card.name, None if folder is None else str(folder))
    summary = card.description.split(". ")[0].rstrip(".")
    if summary:
        combo.setItemData(combo.count() - 1, f"{summary}.", Qt.ItemDataRole.ToolTipRole)


class HelpText(QDialog):
    """A resizable window of read-only rich text with a Close button (not modal: keep painting)."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(620, 480)
