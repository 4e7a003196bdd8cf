"""The main window: canvas, palette, live output, model picker, files."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QSplitter,
    QTabWidget,
    QUndoView,
    QWidget,
)

from app.canvas import CanvasView, Tool
from app.document import Document
from app.help_dialogs import (
    CANVAS_GESTURES,
    HelpText,
    about_html,
    action_keys,
    add_model_item,
    model_card_html,
    shortcuts_html,
)
from app.instance_panel import InstancePanel, ObjectStyleEdit, features_from_json, features_to_json
from app.model_choice import offered_models, remember_model, starting_model
from app.modes.base import EXAMPLES, ModeWorkspace, ask_save_or_discard
from app.modes.colorize import ColorizeWorkspace
from app.modes.inpaint import InpaintWorkspace
from app.modes.sketch import SketchWorkspace
from app.new_canvas import NewCanvasDialog
from app.palette import PaletteWidget
from app.photo_view import PhotoView
from app.project import (
    PROJECT_SUFFIX,
    Project,
    discard_recovery,
    load_project,
    recovery_path,
    save_project,
    write_recovery,
)
from app.qt_images import qimage_of, rgb_of
from app.recent_files import RecentFiles
from app.settings_dialog import Preferences, SettingsDialog
from app.style_picker import StylePicker
from app.synthesis_job import SynthesisState, synthesis_job
from app.worker import EngineClient
from app.zoom_view import ZoomPanView
from engine import SynthpaintError
from engine.checkpoints import read_card
from engine.labels import IMAGE_SUFFIXES, get_label_set, read_label_image, remap_by_name, write_label_image
from engine.registry import list_models
from engine.session import SynthesisModel

TOOL_KEYS = {
    Tool.BRUSH: "B",
    Tool.ERASER: "E",
    Tool.FILL: "G",
    Tool.LINE: "L",
    Tool.RECTANGLE: "R",
    Tool.ELLIPSE: "O",
    Tool.LASSO: "A",
    Tool.EYEDROPPER: "I",
    Tool.SELECT: "S",
}
AUTOSAVE_MS = 60_000
MODES = (SketchWorkspace, InpaintWorkspace, ColorizeWorkspace)
LABEL_KINDS = ("spade", "pix2pixhd")  # the models the Labels tab runs
LABEL_GESTURES = (("Shift + stroke", "with Instances on: add to the selected object, not a new one"),)


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, model: str | None = None):
        super().__init__()
        self.settings = settings or QSettings("synthpaint", "synthpaint")
        self.session_id = uuid.uuid4().hex[:8]
        self.project_path: Path | None = None
        self.model: SynthesisModel | None = None
        self.last_stamp_shown = 0
        self.preferences = Preferences.read(self.settings)
        self.live = self.preferences.live_update
        self.setAcceptDrops(True)

        label_set = get_label_set(self.preferences.default_label_set)
        self.document = Document.blank(label_set, 256, 256)
        self.canvas = CanvasView(self.document)
        self.photo = PhotoView()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.photo)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(splitter, "Labels")
        self.undo_group = QUndoGroup(self)
        self.undo_group.addStack(self.document.undo_stack)
        self.modes: list[ModeWorkspace] = [mode(self.settings) for mode in MODES]
        for mode in self.modes:
            mode.live = self.live  # the Live Update preference holds for every tab
            mode.save_project = self.save
            self.tabs.addTab(mode, mode.title)
            self.undo_group.addStack(mode.undo_stack)
            mode.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
            mode.undo_stack.cleanChanged.connect(self._update_title)
        self.undo_group.setActiveStack(self.document.undo_stack)
        self.setCentralWidget(self.tabs)

        self.palette = PaletteWidget(label_set)
        self.palette.classSelected.connect(self._on_class_selected)
        self.canvas.current_id = self.palette.current_id()
        self.canvas.picked.connect(self.palette.select)
        self.label_docks = [self._add_dock("Classes", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)]
        self._add_dock("History", QUndoView(self.undo_group), Qt.DockWidgetArea.LeftDockWidgetArea)
        self.styles = StylePicker(self.settings, lambda: self.photo.photo)
        self.styles.styleChanged.connect(self._on_style_changed)
        self.label_docks.append(self._add_dock("Style", self.styles, Qt.DockWidgetArea.RightDockWidgetArea))
        self.features: dict[int, np.ndarray] = {}  # instance id -> pix2pixHD feature code (its look)
        self.instance_panel = InstancePanel()
        self.instance_panel.featureChosen.connect(self._on_feature_chosen)
        self.instance_dock = self._add_dock(
            "Object style", self.instance_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.instance_dock.setVisible(False)  # shown for models that take per-object codes
        self.canvas.instanceSelected.connect(self._on_instance_selected)

        self.engine = EngineClient(self)
        self.synthesis = SynthesisState()
        self.engine.worker.modelLoaded.connect(self._on_model_loaded)
        self.engine.worker.modelFailed.connect(self._on_model_failed)
        self.engine.worker.synthesized.connect(self._on_synthesized)
        self.engine.worker.synthesisFailed.connect(self._on_synthesis_failed)
        self.engine.worker.busyChanged.connect(self.photo.set_busy)

        self.status_class = QLabel()
        self.status_timing = QLabel()
        self.statusBar().addWidget(self.status_class, 1)
        self.statusBar().addPermanentWidget(self.status_timing)
        self.canvas.hovered.connect(self._on_hover)
        self.document.changed.connect(self._on_document_changed)
        self.document.replaced.connect(self.features.clear)  # codes belong to the old map's objects
        self.document.replaced.connect(self._on_document_changed)
        self.document.undo_stack.cleanChanged.connect(self._update_title)

        self._build_tools()
        self._update_instance_dock()
        self._build_menus()
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.autosave = QTimer(self)
        self.autosave.timeout.connect(self.write_recovery)
        self.autosave.start(AUTOSAVE_MS)
        self._update_title()
        self.resize(1280, 760)
        self._populate_models(model)

    # ----- construction -----
    def _add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _on_tab_changed(self, index: int) -> None:
        """Each tab is a mode with its own tools, undo history and model; the label docks follow tab 0."""
        mode = self.tabs.widget(index)
        labels = index == 0
        for dock in self.label_docks:
            dock.setVisible(labels)
        self._update_instance_dock()
        self.tools_bar.setVisible(labels)
        for label_tab_status in (self.status_class, self.status_timing):  # mode tabs show their own time
            label_tab_status.setVisible(labels)
        self.undo_group.setActiveStack(self.document.undo_stack if labels else mode.undo_stack)
        if not labels:
            if hasattr(mode, "set_reference"):  # the sketch mode can trace over the label painting
                mode.set_reference(self.document.label_set.to_colors(self.document.labels))
            mode.activate()

    def is_modified(self) -> bool:
        return bool(self.modified_tabs())

    def modified_tabs(self) -> list[str]:
        """The titles of the tabs with unsaved changes, in tab order."""
        stacks = [self.document.undo_stack, *(mode.undo_stack for mode in self.modes)]
        return [self.tabs.tabText(i) for i, stack in enumerate(stacks) if not stack.isClean()]

    def _build_tools(self) -> None:
        bar = self.addToolBar("Tools")
        self.tools_bar = bar
        bar.setObjectName("Tools")
        group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool, key in TOOL_KEYS.items():
            action = QAction(tool.value, self, checkable=True)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(f"{tool.value} ({key})")
            action.triggered.connect(lambda _=False, t=tool: self.canvas.set_tool(t))
            group.addAction(action)
            bar.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions[Tool.BRUSH].setChecked(True)
        self.tool_actions[Tool.SELECT].setText("Select")  # short: the bar is full
        self.instances_action = QAction("Instances", self, checkable=True)
        self.instances_action.setShortcut(QKeySequence("N"))
        self.instances_action.setToolTip(
            "Instances (N): each stroke, shape or fill of an object class (window, door, car…) paints a "
            "new object; hold Shift to add to the selected object instead"
        )
        self.instances_action.toggled.connect(self._on_instances_toggled)
        bar.addAction(self.instances_action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Size "))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, 256)
        self.size_slider.setValue(self.canvas.brush_size)
        self.size_slider.setFixedWidth(140)
        self.size_slider.valueChanged.connect(self.canvas.set_brush_size)
        self.canvas.brushSizeChanged.connect(self.size_slider.setValue)
        bar.addWidget(self.size_slider)
        bar.addSeparator()
        self.opacity_label = QLabel(" Label opacity ")
        bar.addWidget(self.opacity_label)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setFixedWidth(100)
        self.opacity_slider.setToolTip("How strongly the label map covers the output in overlay layout")
        self.opacity_slider.valueChanged.connect(lambda _v: self._update_overlay())
        bar.addWidget(self.opacity_slider)
        bar.addSeparator()
        bar.addWidget(QLabel(" Model "))
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(220)
        self.model_combo.activated.connect(self._on_model_chosen)
        bar.addWidget(self.model_combo)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        labels_tab = self._in_labels_tab
        self._action(file_menu, "&New…", labels_tab(self.new_canvas), QKeySequence.StandardKey.New)
        self._action(file_menu, "&Open Project…", self.open_project_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &Label Map…", labels_tab(self.open_label_map_dialog), "Ctrl+Shift+O")
        self.recent = RecentFiles(self.settings, labels_tab(self.open_path), self)
        file_menu.addMenu(self.recent.menu)
        self.open_style_action = self._action(
            file_menu, "Open Photo as &Style…", labels_tab(self.styles.add_image_dialog)
        )
        self._action(file_menu, "Open &Model Folder…", self.open_model_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs)
        self._action(file_menu, "&Export Photo…", self.export_current_photo_dialog, "Ctrl+E")
        self._action(file_menu, "Export Label Map…", self.export_labels_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "Se&ttings…", self.settings_dialog, QKeySequence.StandardKey.Preferences)
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addActions([undo, redo])
        edit_menu.addSeparator()
        self._action(edit_menu, "&Copy Photo", self.copy_current_photo, QKeySequence.StandardKey.Copy)
        self._action(edit_menu, "&Paste Image", self.paste_image, QKeySequence.StandardKey.Paste)

        view_menu = self.menuBar().addMenu("&View")
        zoom = self.current_canvas
        self._action(view_menu, "Zoom &In", lambda: zoom().set_zoom(zoom().zoom * 1.25), "Ctrl++")
        self._action(view_menu, "Zoom &Out", lambda: zoom().set_zoom(zoom().zoom / 1.25), "Ctrl+-")
        self._action(view_menu, "&Fit to Window", lambda: zoom().fit_to_window(), "Ctrl+0")
        self._action(view_menu, "&Actual Size (100 %)", lambda: zoom().set_zoom(1.0), "Ctrl+1")
        self.live_action = self._action(view_menu, "&Live Update", self._toggle_live, "F5")
        self.live_action.setCheckable(True)
        self.live_action.setChecked(self.live)
        view_menu.addSeparator()
        self.overlay_action = self._action(view_menu, "Labels &Over Output", self._update_overlay, "F6")
        self.overlay_action.setCheckable(True)
        self.overlay_action.setToolTip("Show the label map over the output (else side by side)")
        self._update_overlay()

        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "About This &Model…", self.show_model_card)
        self._action(help_menu, "&Keys and Mouse…", self.show_keys, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&About synthpaint…", self.show_about)

    def _in_labels_tab(self, slot: Callable[..., object]) -> Callable[..., None]:
        """``slot`` acting on the label painting, after bringing its tab to the front to show it."""

        def run(*args: object) -> None:
            self.tabs.setCurrentIndex(0)
            slot(*args)

        return run

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        return action

    # ----- models -----
    def _populate_models(self, preferred: str | None) -> None:
        self.model_combo.clear()
        # the other kinds belong to the mode tabs
        offered = [
            (folder, card) for folder, card in offered_models(self.settings) if card.kind in LABEL_KINDS
        ]
        for folder, card in offered:
            add_model_item(self.model_combo, card, folder)
        start = starting_model(self.settings, "Labels", offered)
        if preferred:
            self.load_model(preferred)
        elif start is not None:
            self.load_model(str(start))
        else:
            self.photo.set_message(
                "No label-to-photo model is installed yet.\nUse File → Open Model Folder… to load one "
                "(trained with python -m trainers, or converted with python -m engine import-official)."
            )

    def _on_model_chosen(self, index: int) -> None:
        self.load_model(self.model_combo.itemData(index))

    def load_model(self, name_or_path: str) -> None:
        self.photo.set_message(f"Loading {Path(name_or_path).name}…")
        self.engine.load_model(name_or_path, str(self.settings.value("device", "auto")))

    def open_model_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open model folder")
        if folder:
            self.open_model_folder(Path(folder))

    def open_model_folder(self, folder: Path) -> bool:
        """Load a model folder in the tab of its kind and bring that tab to the front."""
        try:
            kind = read_card(folder).kind
        except SynthpaintError as exc:
            self.show_error("This model cannot be opened", str(exc))
            return False
        mode = next((m for m in self.modes if kind in m.kinds), None)
        if mode is None:  # a label-to-photo model (or an unknown kind, which the loader explains)
            self.tabs.setCurrentIndex(0)
            self.load_model(str(folder))
        else:
            self.tabs.setCurrentWidget(mode)
            mode.load_model(str(folder))
        return True

    def _on_model_loaded(self, model: SynthesisModel) -> None:
        if model.kind not in LABEL_KINDS:
            tab = next((m.title for m in self.modes if model.kind in m.kinds), None)
            where = f"; open it in the {tab} tab" if tab else ""
            self.show_error(
                "Another kind of model",
                f"'{model.card.name}' is a {model.kind} model, not a label-to-photo one{where}.",
            )
            return
        self.model = model
        remember_model(self.settings, "Labels", model.folder)
        self.synthesis = SynthesisState()  # style codes belong to the model that made them
        if self.model_combo.findText(model.card.name) < 0:
            add_model_item(self.model_combo, model.card, model.folder)
        self.model_combo.setCurrentText(model.card.name)
        if model.label_set.to_dict() != self.document.label_set.to_dict():
            self._adopt_label_set(model)
        if model.kind == "pix2pixhd":  # no style images: the seed picks each object's look from the bank
            self.styles.set_model_capabilities(True, None, style_images=False)
        else:
            self.styles.set_model_capabilities(model.has_random_styles, model.style_fallback)
        self.open_style_action.setEnabled(self.styles.takes_style_images)
        self.instance_panel.set_model(model if model.kind == "pix2pixhd" else None)
        self._show_selected_instance()
        self._update_instance_dock()
        self.photo.set_message("")
        self.request_synthesis()

    def _adopt_label_set(self, model: SynthesisModel) -> None:
        """The model paints with other classes: remap the painting by class name, or start anew.

        Asks unless the canvas is blank: an opened or pasted painting has no undo history either."""
        target = model.label_set
        if not (self.document.labels != self.document.label_set.background_id).any():
            h, w = self.document.size
            self.document.replace(target, np.full((h, w), target.background_id, np.int32))
        else:
            answer = QMessageBox.question(
                self,
                "Another label set",
                f"The model '{model.card.name}' uses the {target.title} classes. Remap your painting "
                "by class name (classes it lacks become background), or start a new canvas?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            )
            labels = (
                remap_by_name(self.document.labels, self.document.label_set, target)
                if answer == QMessageBox.StandardButton.Yes
                else np.full(self.document.size, target.background_id, np.int32)
            )
            self.document.replace(target, labels)
        self.palette.set_label_set(target)
        self.canvas.current_id = self.palette.current_id()

    def _on_model_failed(self, message: str) -> None:
        self.photo.set_message(f"The model could not be loaded:\n{message}")

    # ----- synthesis -----
    def current_canvas(self) -> ZoomPanView:
        """The canvas of the tab in front: what the View menu's zoom acts on."""
        mode = self.tabs.currentWidget()
        return mode.canvas if isinstance(mode, ModeWorkspace) else self.canvas

    # ----- help -----
    def _show_help(self, title: str, text: str) -> None:
        self.help_window = HelpText(title, text, self)
        self.help_window.show()

    def show_model_card(self) -> None:
        """Help > About This Model: the card of the model of the tab in front."""
        mode = self.tabs.currentWidget()
        model = mode.model if isinstance(mode, ModeWorkspace) else self.model
        if model is None:
            self.show_error(
                "No model", f"No model is loaded in the {self.tabs.tabText(self.tabs.currentIndex())} tab."
            )
            return
        self._show_help(f"About {model.card.name}", model_card_html(model.card, model.folder))

    def show_keys(self) -> None:
        """Help > Keys and Mouse: the tab in front's tool keys and gestures, then the menus' keys."""
        mode = self.tabs.currentWidget()
        if isinstance(mode, ModeWorkspace):
            actions = [*mode.toolbar.actions(), *mode.options_bar.actions(), *mode.actions()]
            gestures = mode.gestures
        else:
            actions, gestures = self.tools_bar.actions(), LABEL_GESTURES
        menus = [action for menu in self.menuBar().actions() for action in menu.menu().actions()]
        sections = [
            (
                f"{self.tabs.tabText(self.tabs.currentIndex())} tab",
                [*action_keys(actions), *gestures, *CANVAS_GESTURES],
            ),
            ("Everywhere", action_keys(menus)),
        ]
        self._show_help("Keys and mouse", shortcuts_html(sections))

    def show_about(self) -> None:
        self._show_help("About synthpaint", about_html([card for _, card in list_models()]))

    def export_current_photo_dialog(self) -> None:
        """File > Export Photo exports the picture of the tab in front."""
        mode = self.tabs.currentWidget()
        if isinstance(mode, ModeWorkspace):
            mode.export_result_dialog()
        else:
            self.export_photo_dialog()

    def copy_current_photo(self) -> bool:
        """Edit > Copy Photo: the picture of the tab in front to the clipboard, to paste elsewhere."""
        mode = self.tabs.currentWidget()
        photo = mode.result_photo() if isinstance(mode, ModeWorkspace) else self.photo.photo
        if photo is None:
            self.statusBar().showMessage("Nothing to copy yet: there is no picture in this tab", 10_000)
            return False
        QGuiApplication.clipboard().setImage(qimage_of(photo))
        self.statusBar().showMessage(f"Copied the {photo.shape[1]}×{photo.shape[0]} picture", 10_000)
        return True

    def paste_image(self) -> bool:
        """Edit > Paste Image: a copied picture (a screenshot, a photo from a browser) opens in the
        tab in front as a dropped file would: the sketch, the photo to erase in or to colorize, and
        in the Labels tab a copied label painting or else a style image."""
        mode = self.tabs.currentWidget()
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.statusBar().showMessage("There is no image on the clipboard", 10_000)
            return False
        if isinstance(mode, ModeWorkspace):
            return mode.open_image(rgb_of(image), "the pasted image")
        return self._paste_in_labels(rgb_of(image))

    def _paste_in_labels(self, image: np.ndarray) -> bool:
        """A picture whose colours are all the label set's is a label painting (copied from another
        window or exported); any other picture steers the look as a style image."""
        try:
            labels = self.document.label_set.from_colors(image, source="the pasted image")
        except SynthpaintError:
            labels = None
        if labels is not None:
            if not self.maybe_discard():
                return False
            self._start_painting(labels)
            self.document.undo_stack.resetClean()  # not on disk yet: closing asks to save it
            return True
        note = f", and the pasted image is not a {self.document.label_set.name} label painting"
        if not self._takes_style_images(note):
            return False
        self.styles.add_picture(image, "pasted")
        return True

    def _toggle_live(self) -> None:
        """Live update is one switch for every tab: off, nothing runs until it is back on."""
        self.live = self.live_action.isChecked()
        if self.live:
            self.request_synthesis()
        for mode in self.modes:
            mode.live = self.live
            if self.live:
                mode.request()

    def _on_document_changed(self, *_args) -> None:
        self._update_title()
        if self.live:
            self.request_synthesis()

    def request_synthesis(self) -> int | None:
        if self.model is None:
            return None
        style = self.styles.choice()
        features = self.model_features()
        job = synthesis_job(
            self.synthesis,
            self.document.labels,
            instances=self.document.instances,
            style=style,
            features=features,
            resolution=self.preferences.resolution or None,
        )
        if self.instance_panel.wants_previews():
            job = self.instance_panel.with_previews(
                job, self.document.labels, self.document.instances, features or {}, style.seed
            )
        return self.engine.submit(job)

    def model_features(self) -> dict[int, np.ndarray] | None:
        """The chosen object codes the loaded model can take (None: it takes none)."""
        if self.model is None or self.model.kind != "pix2pixhd" or not self.model.feat_num:
            return None
        return {i: code for i, code in self.features.items() if code.shape == (self.model.feat_num,)}

    # ----- objects (instances) -----
    def _on_instances_toggled(self, on: bool) -> None:
        self.canvas.instance_mode = on

    def _update_instance_dock(self) -> None:
        """The object-style dock belongs to the label tab with a pix2pixHD model."""
        takes_codes = self.model is not None and self.model.kind == "pix2pixhd"
        self.instance_dock.setVisible(takes_codes and self.tabs.currentIndex() == 0)
        self.tool_actions[Tool.SELECT].setToolTip(
            "Select object (S): click an object to choose its look"
            if takes_codes
            else "Select object (S): click an object to outline it; with Instances on, Shift-strokes add "
            "to it (this model gives objects no looks of their own: a pix2pixHD model does)"
        )

    def _on_instance_selected(self, instance_id: int | None) -> None:
        self._show_selected_instance()
        if self.instance_panel.wants_previews():
            self.request_synthesis()

    def _show_selected_instance(self) -> None:
        instance_id = self.canvas.selected_instance
        class_id = None if instance_id is None else self.document.instance_class(instance_id)
        label_class = None if class_id is None else self.document.label_set.by_id(class_id)
        self.instance_panel.show_instance(instance_id, label_class, self.features.get(instance_id))

    def _on_feature_chosen(self, instance_id: int, code: np.ndarray | None) -> None:
        self.document.undo_stack.push(
            ObjectStyleEdit(self.features, instance_id, code, self._on_features_changed)
        )

    def _on_features_changed(self) -> None:
        self._show_selected_instance()
        if self.live:
            self.request_synthesis()

    def _update_overlay(self) -> None:
        """Side by side (default), or the label map over the output at the chosen opacity."""
        overlay = self.overlay_action.isChecked()
        self.photo.setVisible(not overlay)
        self.opacity_label.setEnabled(overlay)
        self.opacity_slider.setEnabled(overlay)
        photo = self.photo.photo if overlay else None
        self.canvas.set_overlay(photo, self.opacity_slider.value() / 100)

    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.preferences, self)
        if dialog.exec():
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, preferences: Preferences) -> None:
        """Store and apply new settings: another device reloads the model, the rest applies at once."""
        old, self.preferences = self.preferences, preferences
        preferences.write(self.settings)
        self.live_action.setChecked(preferences.live_update)
        self._toggle_live()
        if preferences.device != old.device and self.model is not None:
            self.load_model(str(self.model_combo.currentData() or self.model.card.name))
        elif preferences.resolution != old.resolution:
            self.request_synthesis()

    def _on_style_changed(self) -> None:
        if self.live:
            self.request_synthesis()

    def _on_synthesized(self, stamp: int, photo: np.ndarray, ms: float) -> None:
        if stamp < self.last_stamp_shown:
            return  # an older request finished late: never overwrite a newer picture
        self.last_stamp_shown = stamp
        self.photo.set_photo(photo)
        self.status_timing.setText(f"{ms:.0f} ms")
        self._update_overlay()

    def _on_synthesis_failed(self, stamp: int, message: str) -> None:
        self.photo.set_message(message)

    # ----- palette / status -----
    def _on_class_selected(self, label_id: int) -> None:
        self.canvas.current_id = label_id

    def _on_hover(self, label_id: int | None) -> None:
        if label_id is None:
            self.status_class.clear()
        else:
            self.status_class.setText(f"{self.document.label_set.by_id(label_id).name}  (id {label_id})")

    # ----- files -----
    def maybe_discard(self) -> bool:
        """Ask before throwing away unsaved work; True when it is fine to go on."""
        tabs = self.modified_tabs()
        if not tabs:
            return True
        question = f"Save the changes in the {' and '.join(tabs)} tab{'s' if len(tabs) > 1 else ''} first?"
        return ask_save_or_discard(self, question, self.save)

    def new_canvas(self) -> None:
        if not self.maybe_discard():
            return
        dialog = NewCanvasDialog(self.document.label_set, self)
        if dialog.exec():
            label_set, (h, w) = dialog.result_label_set(), dialog.result_size()
            self.document.replace(label_set, np.full((h, w), label_set.background_id, np.int32))
            self.palette.set_label_set(label_set)
            self.canvas.current_id = self.palette.current_id()
            self.project_path = None
            self._update_title()

    def open_label_map_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open label map", "", "Label maps (*.png);;All files (*)")
        if path and self.maybe_discard():
            self.open_label_map(Path(path))

    def open_label_map(self, path: Path) -> bool:
        try:
            labels = read_label_image(path, self.document.label_set)
        except SynthpaintError as exc:
            self.show_error("This label map cannot be opened", str(exc))
            return False
        self._start_painting(labels)
        self.recent.add(path)
        return True

    def _start_painting(self, labels: np.ndarray) -> None:
        """An opened or pasted painting replaces the canvas; it belongs to no project yet."""
        self.document.replace(self.document.label_set, labels)
        self.project_path = None
        self._update_title()

    def _takes_style_images(self, note: str = "") -> bool:
        """False, after saying so, when the model has no use for a style image (pix2pixHD)."""
        if self.styles.takes_style_images:
            return True
        name = self.model.card.name if self.model is not None else "This model"
        self.show_error("No style image", f"'{name}' takes no style image{note}.")
        return False

    def show_example_on_first_start(self) -> bool:
        """The very first start opens a sample painting with a shipped style image selected, and each
        other tab's sample (a sketch, a photo to erase in, a grey photo), so every mode shows a
        picture at once."""
        if self.settings.value("first_start_done", False, type=bool):
            return False
        self.settings.setValue("first_start_done", True)
        for mode in self.modes:
            mode.show_example()
        examples = sorted(EXAMPLES.glob("facade_labels_*.png"))
        if not examples:
            return False
        try:
            labels = read_label_image(examples[0], get_label_set("facades"))
        except SynthpaintError:
            return False
        self.document.replace(get_label_set("facades"), labels)
        self.palette.set_label_set(self.document.label_set)
        self.canvas.current_id = self.palette.current_id()
        self.styles.select_shipped_style()
        return True

    def open_path(self, path: Path) -> bool:
        """Open a dropped or recent file by what it is: a project, a label map, or a photo as style."""
        path = Path(path)
        if path.suffix == PROJECT_SUFFIX or path.suffix.lower() == ".png":
            if not self.maybe_discard():
                return False
            if path.suffix == PROJECT_SUFFIX:
                return self.open_project(path)
            return self.open_label_map(path)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return self._takes_style_images() and self.styles.add_image(path)
        self.show_error("This file cannot be opened", f"{path.name} is not a project, label map or photo")
        return False

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_dropped(Path(url.toLocalFile()))
                event.acceptProposedAction()
                return

    def open_dropped(self, path: Path) -> bool:
        """A file dropped on the window opens in the tab in front: a photo dropped on the Inpaint tab
        is the photo to erase in, not a style for the label painting; a project opens everywhere."""
        mode = self.tabs.currentWidget()
        if path.suffix == PROJECT_SUFFIX or not isinstance(mode, ModeWorkspace):
            return self.open_path(path)
        return mode.open_file(path)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open project", "", f"synthpaint projects (*{PROJECT_SUFFIX})"
        )
        if path and self.maybe_discard():
            self.open_project(Path(path))

    def open_project(self, path: Path) -> bool:
        try:
            project = load_project(path)
            features = features_from_json(project.modes.get("labels", {}).get("features", {}), str(path))
        except SynthpaintError as exc:
            self.show_error("This project cannot be opened", str(exc))
            return False
        self.document.replace(project.label_set, project.labels, project.instances)
        self.features.update(features)  # after replace, which clears the old painting's codes
        self._on_features_changed()
        self.palette.set_label_set(project.label_set)
        self.canvas.current_id = self.palette.current_id()
        self.styles.restore(project.style, project.seed)
        for mode in self.modes:
            mode.restore(project.modes.get(mode.title.lower(), {}), project.layers)
            mode.undo_stack.clear()
        self.project_path = path
        self.recent.add(path)
        self._update_title()
        if project.model and (self.model is None or project.model != self.model.card.name):
            self.load_model(project.model)
        return True

    def current_project(self) -> Project:
        states = [mode.state() for mode in self.modes]
        modes = {mode.title.lower(): state for mode, (state, _) in zip(self.modes, states, strict=True)}
        present = set(np.unique(self.document.instances).tolist())
        features = {i: code for i, code in self.features.items() if i in present}  # not erased objects'
        if features:
            modes["labels"] = {"features": features_to_json(features)}
        return Project(
            label_set=self.document.label_set,
            labels=self.document.labels.copy(),
            instances=self.document.instances.copy(),
            model=None if self.model is None else self.model.card.name,
            style=self.styles.selected_path(),
            seed=self.styles.seed(),
            modes=modes,
            layers={name: image for _, layers in states for name, image in layers.items()},
        )

    def save(self) -> bool:
        if self.project_path is None:
            return self.save_as()
        return self.save_to(self.project_path)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project", "", f"synthpaint projects (*{PROJECT_SUFFIX})"
        )
        if not path:
            return False
        path = Path(path)
        if path.suffix != PROJECT_SUFFIX:
            path = path.with_name(path.name + PROJECT_SUFFIX)
        return self.save_to(path)

    def save_to(self, path: Path) -> bool:
        try:
            save_project(path, self.current_project())
        except (SynthpaintError, OSError) as exc:
            self.show_error("The project could not be saved", str(exc))
            return False
        self.project_path = path
        self.recent.add(path)
        for stack in self.undo_group.stacks():
            stack.setClean()
        self._update_title()
        return True

    def write_recovery(self) -> None:
        """Autosave to the recovery folder (offered again after a crash); silent unless it fails."""
        if not self.is_modified():
            return
        try:
            write_recovery(self.current_project(), self.project_path, self.session_id)
        except (SynthpaintError, OSError) as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}", 10_000)

    def export_photo_dialog(self) -> None:
        if self.photo.photo is None:
            self.show_error("Nothing to export", "There is no synthesized photo yet.")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export photo", "photo.png", "Images (*.png *.jpg *.jpeg)"
        )
        if path:
            self.export_photo(Path(path))

    def export_photo(self, path: Path) -> bool:
        try:
            Image.fromarray(self.photo.photo).save(path, quality=95)
        except (OSError, ValueError) as exc:
            self.show_error("The photo could not be exported", str(exc))
            return False
        return True

    def export_labels_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export label map", "labels.png", "Colour PNG (*.png);;Indexed PNG (ids) (*.png)"
        )
        if path:
            mode = "indexed" if chosen.startswith("Indexed") else "color"
            try:
                write_label_image(path, self.document.labels, self.document.label_set, mode=mode)
            except (SynthpaintError, OSError) as exc:
                self.show_error("The label map could not be exported", str(exc))

    def show_error(self, title: str, message: str) -> None:
        QMessageBox.warning(self, title, message)

    def _update_title(self, *_args) -> None:
        name = self.project_path.name if self.project_path else "Untitled"
        star = " *" if self.is_modified() else ""
        self.setWindowTitle(f"{name}{star} — synthpaint")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.maybe_discard():
            event.ignore()
            return
        self.autosave.stop()
        self.engine.shutdown()
        for mode in self.modes:
            mode.shutdown()
        discard_recovery(recovery_path(self.project_path, self.session_id))
        event.accept()
