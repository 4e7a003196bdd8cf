"""What every image mode of the window shares: a model picker, an engine thread, the output pane.

A mode (sketch, inpaint, colorize) is a tab of the main window. Subclasses add their canvas to
``body`` and their tools to ``toolbar``, and say what to compute in ``make_job``; this class runs
it on the mode's own engine thread, newest request first, and shows the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.help_dialogs import Gestures, add_model_item
from app.model_choice import offered_models, remember_model, starting_model
from app.photo_view import PhotoView
from app.qt_images import IMAGE_FILTER
from app.worker import EngineClient, JobFunction
from app.zoom_view import ZoomPanView
from engine.checkpoints import ModelCard
from engine.errors import SynthpaintError
from engine.labels import read_rgb_image
from engine.registry import ASSETS

EXAMPLES = ASSETS / "examples"  # the samples a first start opens (SOURCES.md there)


def ask_save_or_discard(parent: QWidget, question: str, save: Callable[[], bool] | None) -> bool:
    """Save (when ``save`` is given), Discard or Cancel; True when it is fine to go on."""
    buttons = QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
    if save is not None:
        buttons |= QMessageBox.StandardButton.Save
    answer = QMessageBox.question(parent, "Unsaved changes", question, buttons)
    if answer == QMessageBox.StandardButton.Save:
        return save()
    return answer == QMessageBox.StandardButton.Discard


class ModeWorkspace(QWidget):
    """Base of the mode tabs. ``kinds``: the engine model kinds this mode runs, preferred first."""

    title = "Mode"
    kinds: tuple[str, ...] = ()
    example: Path | None = None  # what the first start opens in this tab
    gestures: Gestures = ()  # keys and mouse gestures beyond the actions' shortcuts, for Help
    canvas: ZoomPanView  # where the user edits (each tab makes its own); the View menu zooms it
    message = Signal(str)  # a line for the status bar
    resultShown = Signal()

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.model: Any = None
        self.live = True
        # the window's File > Save, offered when opening a file would discard this tab's changes
        self.save_project: Callable[[], bool] | None = None
        self.last_stamp_shown = 0
        self.last_ms: float | None = None
        self.undo_stack = QUndoStack(self)
        self.engine = EngineClient(self)
        self.engine.worker.modelLoaded.connect(self._on_model_loaded)
        self.engine.worker.modelFailed.connect(self._on_model_failed)
        self.engine.worker.synthesized.connect(self._on_result)
        self.engine.worker.synthesisFailed.connect(self._on_failed)

        self.toolbar = QToolBar(self.title)
        self.output = PhotoView()
        self.engine.worker.busyChanged.connect(self.output.set_busy)
        self.body = QSplitter(Qt.Orientation.Horizontal)
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(200)
        self.model_combo.activated.connect(lambda index: self.load_model(self.model_combo.itemData(index)))
        self.timing = QLabel()
        # the model picker has its own bar beside the tools, so a narrow window folds the tools
        # into the toolbar's overflow menu but always shows which model paints
        self.model_bar = QToolBar("Model")
        # a second row for the tools' settings and the generation options, so that at the default
        # window size no control hides in an overflow menu; tabs with few controls leave it empty
        self.options_bar = QToolBar(f"{self.title} options")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(0)
        top.addWidget(self.toolbar, 1)
        top.addWidget(self.model_bar)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)  # the result does not run into the window's edge
        layout.addLayout(top)
        layout.addWidget(self.options_bar)
        layout.addWidget(self.body, 1)
        self._started = False

    def add_tool_actions(
        self, keys: Mapping[Enum, str], tips: Mapping[Enum, str], choose: Callable[[Any], None]
    ) -> dict[Any, QAction]:
        """One checkable toolbar action per tool (exclusive), with its shortcut key working wherever
        the focus is inside this tab; triggering one calls ``choose(tool)``. The first is checked."""
        group = QActionGroup(self)
        actions = {}
        for tool, key in keys.items():
            action = QAction(tool.value, self, checkable=True)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(f"{tips[tool]} ({key})")
            action.triggered.connect(lambda _=False, t=tool: choose(t))
            group.addAction(action)
            self.toolbar.addAction(action)
            self.addAction(action)
            actions[tool] = action
        next(iter(actions.values())).setChecked(True)
        return actions

    def show_example(self) -> bool:
        """Open ``example`` as this tab's starting point: no undo step, nothing to save. False when
        the tab has none or it cannot be read (a first start must not fail on it)."""
        if self.example is None:
            return False
        try:
            image = read_rgb_image(self.example)
        except SynthpaintError:
            return False
        self.start_from_example(image)
        return True

    def start_from_example(self, image: np.ndarray) -> None:
        """Put the example image (uint8 RGB) in place; tabs with an ``example`` say how."""
        raise NotImplementedError

    def open_file(self, path: Path) -> bool:
        """Open a file the user chose or dropped on this tab as its new starting point (False: not
        opened; a bad file is reported)."""
        path = Path(path)
        try:
            image = read_rgb_image(path)
        except SynthpaintError as exc:
            self.show_error(f"{path.name} cannot be opened", str(exc))
            return False
        return self.open_image(image, path.name)

    def open_image(self, image: np.ndarray, name: str) -> bool:
        """Start from ``image`` (uint8 RGB from a file or the clipboard, called ``name`` in messages),
        asking first where that would discard unsaved work."""
        raise NotImplementedError

    def ask_image(self, title: str) -> Path | None:
        """An image file the user picks in an open dialog (None: cancelled)."""
        path, _ = QFileDialog.getOpenFileName(self, title, "", IMAGE_FILTER)
        return Path(path) if path else None

    def maybe_discard(self) -> bool:
        """Ask before a new file replaces this tab's unsaved work, which its history cannot bring
        back; True when it is fine to go on."""
        if self.undo_stack.isClean():
            return True
        question = f"Save the project with your changes in the {self.title} tab first?"
        return ask_save_or_discard(self, question, self.save_project)

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    def result_photo(self) -> np.ndarray | None:
        """The tab's picture, as File > Export Photo writes it and Edit > Copy Photo copies it (None:
        none yet)."""
        return self.output.photo

    def export_result_dialog(self) -> None:
        """Ask where to write the tab's picture and write it (File > Export Photo)."""
        raise NotImplementedError

    # ----- models -----
    def offered_models(self) -> list[tuple[Path, ModelCard]]:
        """(folder, card) of the models of this mode's kinds the picker offers (installed, then opened
        folders), preferred kind first."""
        found = [(folder, card) for folder, card in offered_models(self.settings) if card.kind in self.kinds]
        found.sort(key=lambda item: self.kinds.index(item[1].kind))
        return found

    def activate(self) -> None:
        """Called when the tab is first shown: fill the model picker and load the default model."""
        if self._started:
            return
        self._started = True
        self.options_bar.setVisible(bool(self.options_bar.actions()))
        self.model_bar.addWidget(QLabel(" Model "))
        self.model_bar.addWidget(self.model_combo)
        self.model_bar.addWidget(self.timing)
        offered = self.offered_models()
        for folder, card in offered:
            add_model_item(self.model_combo, card, folder)
        start = starting_model(self.settings, self.title, offered)
        if start is not None:
            self.load_model(str(start))
        else:
            kinds = " or ".join(self.kinds)
            self.output.set_message(
                f"No {kinds} model is installed.\nTrain one with python -m trainers, or convert an "
                "official release with python -m engine import-official, then open its folder."
            )

    def load_model(self, name_or_path: str) -> None:
        self.output.set_message(f"Loading {Path(name_or_path).name}…")
        self.engine.load_model(name_or_path, str(self.settings.value("device", "auto")))

    def _on_model_loaded(self, model: Any) -> None:
        if model.kind not in self.kinds:
            self.output.set_message(
                f"'{model.card.name}' is a {model.kind} model; this mode needs {' or '.join(self.kinds)}"
            )
            return
        self.model = model
        remember_model(self.settings, self.title, model.folder)
        if self.model_combo.findText(model.card.name) < 0:
            add_model_item(self.model_combo, model.card, model.folder)
        self.model_combo.setCurrentText(model.card.name)
        self.output.set_message("")
        self.on_model_loaded(model)
        self.request()

    def _on_model_failed(self, message: str) -> None:
        self.output.set_message(f"The model could not be loaded:\n{message}")

    # ----- jobs -----
    def request(self) -> int | None:
        """Ask for a new result of the current state (coalesced; returns the job's stamp)."""
        if self.model is None or not self.live:
            return None
        job = self.make_job()
        return None if job is None else self.engine.submit(job)

    def _on_result(self, stamp: int, image: np.ndarray, ms: float) -> None:
        if stamp < self.last_stamp_shown:
            return  # an older request finished late: never overwrite a newer picture
        self.last_stamp_shown = stamp
        self.last_ms = ms
        self.output.set_photo(image)
        self.timing.setText(f"  {ms:.0f} ms")
        self.on_result(image)
        self.resultShown.emit()

    def _on_failed(self, _stamp: int, message: str) -> None:
        self.output.set_message(message)
        self.message.emit(message)

    def shutdown(self) -> None:
        self.engine.shutdown()

    # ----- for subclasses -----
    def make_job(self) -> JobFunction | None:
        """The computation for the current state, on snapshots of it (None: nothing to compute)."""
        return None

    def on_model_loaded(self, model: Any) -> None:
        """A model of this mode was loaded (e.g. enable tools it supports)."""

    def on_result(self, image: np.ndarray) -> None:
        """A new result is on screen."""

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """This mode's part of a project: JSON-able settings and uint8 image layers by name."""
        return {}, {}

    def restore(self, state: dict[str, Any], layers: dict[str, np.ndarray]) -> None:
        """Reopen what ``state`` saved (layers missing from an older project are simply absent)."""


class PhotoWorkspace(ModeWorkspace):
    """A tab that works on one photo (Inpaint, Colorize): opening a photo checks its size, asks
    before it discards unsaved work, and starts over on it. Subclasses say what fits and how to start."""

    open_title = "Open photo"

    def open_photo_dialog(self) -> None:
        if path := self.ask_image(self.open_title):
            self.open_file(path)

    def open_image(self, image: np.ndarray, name: str) -> bool:
        return self._fits(image, name) and self.maybe_discard() and self._start_on(image, name)

    def open_photo(self, path: str | Path) -> bool:
        """Start on the photo at ``path`` without asking; a bad file is reported and nothing changes."""
        path = Path(path)
        try:
            photo = read_rgb_image(path)
        except SynthpaintError as exc:
            self.show_error("This photo cannot be opened", str(exc))
            return False
        return self._fits(photo, f"the photo {path}") and self._start_on(photo, path.name)

    def _fits(self, photo: np.ndarray, name: str) -> bool:
        """Whether this tab can take ``photo``; says why not (``name`` names it in the message)."""
        raise NotImplementedError

    def _start_on(self, photo: np.ndarray, name: str) -> bool:
        raise NotImplementedError
