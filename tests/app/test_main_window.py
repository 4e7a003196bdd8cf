"""The whole window with a tiny real model: live output, files, recovery, a screenshot for review."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow
from app.project import list_recoveries
from tests.conftest import REPO
from tests.factories import make_tiny_spade

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    make_tiny_spade(tmp_path / "home" / "models" / "tiny-facades", "facades", name="tiny-facades")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    errors = []
    monkeypatch.setattr(win, "show_error", lambda title, message: errors.append(message))
    win.errors = errors
    # never block on a modal question (pytest-qt would close the window with unsaved changes)
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Discard)
    win.show()
    qtbot.waitUntil(lambda: win.model is not None and win.photo.photo is not None, timeout=20000)
    yield win
    win.document.undo_stack.setClean()  # no "save changes?" prompt on teardown
    win.close()


def paint_rect(win, x0, y0, x1, y1, label_id):
    from app.canvas import Tool

    win.canvas.set_tool(Tool.RECTANGLE)
    win.canvas.current_id = label_id
    win.canvas.press(QPointF(x0, y0))
    win.canvas.release(QPointF(x1, y1))


def test_painting_updates_the_output_pane(qtbot, window):
    first = window.photo.photo.copy()
    shown = window.last_stamp_shown
    paint_rect(window, 10, 10, 120, 120, 12)
    qtbot.waitUntil(lambda: window.last_stamp_shown > shown, timeout=20000)
    assert window.photo.photo.shape == (256, 256, 3)
    assert not np.array_equal(window.photo.photo, first)
    assert window.status_timing.text().endswith("ms")
    assert window.windowTitle().startswith("Untitled *")


def test_burst_of_strokes_coalesces_and_shows_the_newest_state(qtbot, window):
    runs_before = window.engine.worker.runs
    for i in range(20):
        paint_rect(window, 5 * i, 5 * i, 5 * i + 20, 5 * i + 20, 3 + i % 9)
    final = window.document.labels.copy()
    expected = window.model.synthesize(final)
    qtbot.waitUntil(lambda: np.array_equal(window.photo.photo, expected), timeout=30000)
    assert window.engine.worker.runs - runs_before < 20


def test_save_and_open_round_trip(qtbot, window, tmp_path):
    paint_rect(window, 30, 40, 90, 100, 4)
    painted = window.document.labels.copy()
    path = tmp_path / "house.synthpaint"
    assert window.save_to(path)
    assert window.windowTitle().startswith("house.synthpaint —")
    paint_rect(window, 0, 0, 255, 255, 2)
    window.document.undo_stack.setClean()
    assert window.open_project(path)
    assert np.array_equal(window.document.labels, painted)


def test_corrupt_project_shows_a_message_and_keeps_the_painting(window, tmp_path):
    paint_rect(window, 30, 40, 90, 100, 4)
    painted = window.document.labels.copy()
    bad = tmp_path / "broken.synthpaint"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert not window.open_project(bad)
    assert window.errors and "broken.synthpaint" in window.errors[-1]
    assert np.array_equal(window.document.labels, painted)


def test_unknown_colours_in_a_label_map_are_reported_and_nothing_changes(window, tmp_path):
    from PIL import Image

    before = window.document.labels.copy()
    Image.fromarray(np.full((16, 16, 3), (1, 2, 3), np.uint8)).save(tmp_path / "odd.png")
    assert not window.open_label_map(tmp_path / "odd.png")
    assert "#010203" in window.errors[-1]
    assert np.array_equal(window.document.labels, before)


def test_autosave_writes_a_recovery_file_that_restores_the_painting(window):
    paint_rect(window, 30, 40, 90, 100, 5)
    window.write_recovery()
    recoveries = list_recoveries()
    assert len(recoveries) == 1
    painted = window.document.labels.copy()
    paint_rect(window, 0, 0, 255, 255, 2)
    assert window.open_project(recoveries[0][0])
    assert np.array_equal(window.document.labels, painted)


def test_render_main_window_screenshot(qtbot, window):
    paint_rect(window, 0, 0, 255, 60, 1)
    paint_rect(window, 40, 100, 90, 160, 3)
    paint_rect(window, 150, 100, 200, 160, 3)
    paint_rect(window, 100, 190, 150, 255, 4)
    qtbot.waitUntil(
        lambda: np.array_equal(window.photo.photo, window.model.synthesize(window.document.labels)),
        timeout=20000,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "main_window.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 10_000


def test_overlay_layout_shows_the_output_under_the_labels(qtbot, window):
    assert window.photo.isVisible() and not window.canvas.photo_item.isVisible()  # side by side first
    window.overlay_action.trigger()
    assert not window.photo.isVisible()
    assert window.canvas.photo_item.isVisible()
    window.opacity_slider.setValue(30)
    assert window.canvas.image_item.opacity() == pytest.approx(0.3)
    window.overlay_action.trigger()
    assert window.photo.isVisible() and window.canvas.image_item.opacity() == 1.0


def test_style_and_seed_travel_with_the_project_and_recent_files_remember_it(qtbot, window, tmp_path):
    from PIL import Image

    style = tmp_path / "brick.jpg"
    Image.fromarray(np.full((32, 32, 3), (150, 60, 40), np.uint8)).save(style)
    assert window.open_dropped(style)  # a photo dropped on the Labels tab becomes the style
    assert window.styles.selected_path() == str(style)
    path = tmp_path / "styled.synthpaint"
    assert window.save_to(path)
    window.styles.gallery.setCurrentRow(0)
    assert window.open_project(path)
    assert window.styles.selected_path() == str(style)
    assert window.recent.paths()[0] == path.resolve()
    assert [a.text() for a in window.recent.menu.actions()][0] == "styled.synthpaint"


def test_output_resolution_setting_changes_the_working_size_not_the_picture_size(qtbot, window):
    from app.settings_dialog import Preferences

    shown = window.last_stamp_shown
    window.apply_preferences(Preferences(resolution=128))
    qtbot.waitUntil(lambda: window.last_stamp_shown > shown, timeout=20000)
    assert window.model.resolution == 128
    assert window.photo.photo.shape == (256, 256, 3)
    assert window.settings.value("resolution") in (128, "128")


def test_mode_tabs_have_their_own_tools_history_and_project_layers(qtbot, window, tmp_path):
    from app.modes.sketch import SketchWorkspace

    sketch_tab = next(mode for mode in window.modes if isinstance(mode, SketchWorkspace))
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Labels",
        "Sketch",
        "Inpaint",
        "Colorize",
    ]
    window.status_timing.setText("171 ms")
    window.tabs.setCurrentWidget(sketch_tab)
    assert not window.tools_bar.isVisible()  # label tools (and their shortcuts) belong to the label tab
    assert not window.status_timing.isVisible()  # the label painting's time, not this tab's
    assert window.undo_group.activeStack() is sketch_tab.undo_stack
    sketch_tab.canvas.press(QPointF(10.5, 10.5))
    sketch_tab.canvas.release(QPointF(40.5, 10.5))
    drawn = sketch_tab.sketch.copy()
    assert (drawn == 0).any()
    assert window.windowTitle().startswith("Untitled *")  # a sketch stroke is unsaved work too
    assert window.modified_tabs() == ["Sketch"]  # what the "save first?" question names
    path = tmp_path / "both.synthpaint"
    assert window.save_to(path)
    sketch_tab.clear_sketch()
    window.undo_group.activeStack().setClean()
    assert window.open_project(path)
    assert np.array_equal(sketch_tab.sketch, drawn)
    window.tabs.setCurrentIndex(0)
    assert window.tools_bar.isVisible() and window.undo_group.activeStack() is window.document.undo_stack
    assert window.status_timing.isVisible()


def test_the_first_start_opens_an_example_in_every_tab_once(qtbot, window):
    from app.modes.base import EXAMPLES
    from app.modes.colorize import ColorizeWorkspace
    from app.modes.inpaint import InpaintWorkspace
    from app.modes.sketch import SketchWorkspace
    from app.style_picker import SHIPPED_STYLES
    from engine.labels import read_label_image, read_rgb_image

    example = read_label_image(sorted(EXAMPLES.glob("facade_labels_*.png"))[0], window.document.label_set)
    assert window.show_example_on_first_start()
    assert np.array_equal(window.document.labels, example)
    tabs = {type(mode): mode for mode in window.modes}
    sketch_tab, inpaint_tab, colorize_tab = (
        tabs[k] for k in (SketchWorkspace, InpaintWorkspace, ColorizeWorkspace)
    )
    assert np.array_equal(sketch_tab.sketch, read_rgb_image(SketchWorkspace.example)[..., 0])
    assert np.array_equal(inpaint_tab.document.photo, read_rgb_image(InpaintWorkspace.example))
    assert not inpaint_tab.document.mask.any()  # the user erases; nothing is erased for them
    grey = read_rgb_image(ColorizeWorkspace.example)
    assert colorize_tab.photo.ndim == 2 and np.array_equal(colorize_tab.photo, grey[..., 0])  # a grey photo
    assert colorize_tab.hints.hints == []
    assert Path(window.styles.selected_path()).parent == SHIPPED_STYLES  # a look chosen, not "None"
    assert not window.is_modified()  # nothing of the user's to save yet
    assert not window.show_example_on_first_start()  # only the first time


def test_an_unreadable_example_leaves_its_tab_empty_and_the_first_start_goes_on(qtbot, window, tmp_path):
    from app.modes.inpaint import InpaintWorkspace

    (inpaint_tab,) = [mode for mode in window.modes if isinstance(mode, InpaintWorkspace)]
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    inpaint_tab.example = tmp_path / "broken.jpg"
    assert window.show_example_on_first_start()  # the label painting still opens
    assert not inpaint_tab.document.has_photo and window.errors == []


def test_the_labels_tab_offers_only_label_models_and_refuses_others_with_a_pointer(qtbot, window, tmp_path):
    from tests.factories_colorization import make_tiny_colorization

    folder = make_tiny_colorization(tmp_path / "home" / "models" / "colours")
    window._populate_models(None)
    names = [window.model_combo.itemText(i) for i in range(window.model_combo.count())]
    assert "tiny-facades" in names and not any("colori" in n for n in names)
    window.load_model(str(folder))
    qtbot.waitUntil(lambda: bool(window.errors) and "Colorize tab" in window.errors[-1], timeout=20000)
    assert window.model.card.name == "tiny-facades"  # the label model stays


def test_every_tab_shows_its_model_picker_at_the_default_window_size(qtbot, window):
    window.resize(1280, 760)  # the size a first start opens at
    for index, mode in enumerate(window.modes, start=1):
        window.tabs.setCurrentIndex(index)
        qtbot.waitUntil(
            lambda m=mode: m.model_combo.isVisible() and m.model_combo.width() >= 150, timeout=5000
        )


def test_no_control_of_any_tab_hides_in_an_overflow_menu_at_the_default_window_size(qtbot, window):
    window.resize(1280, 760)
    for index, mode in enumerate(window.modes, start=1):
        window.tabs.setCurrentIndex(index)
        qtbot.waitUntil(mode.model_combo.isVisible, timeout=5000)
        for bar in (mode.toolbar, mode.options_bar):
            for action in bar.actions():
                control = bar.widgetForAction(action)
                assert control.isVisible(), f"{mode.title}: '{action.text()}' {control} is in the overflow"


def test_a_file_dropped_on_a_mode_tab_opens_in_that_tab(qtbot, window, tmp_path):
    from PIL import Image

    from app.modes.inpaint import InpaintWorkspace

    inpaint_tab = next(mode for mode in window.modes if isinstance(mode, InpaintWorkspace))
    photo = np.random.default_rng(4).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "holiday.png")
    styles_before = window.styles.gallery.count()
    labels_before = window.document.labels.copy()
    window.tabs.setCurrentWidget(inpaint_tab)
    assert window.open_dropped(tmp_path / "holiday.png")
    assert np.array_equal(inpaint_tab.document.photo, photo)  # the photo to erase in
    assert window.styles.gallery.count() == styles_before  # not a style of the hidden Labels tab
    assert np.array_equal(window.document.labels, labels_before) and not window.errors


def test_a_model_folder_opens_in_the_tab_of_its_kind(qtbot, window, tmp_path):
    from app.modes.inpaint import InpaintWorkspace
    from tests.factories_lama import make_tiny_lama

    inpaint_tab = next(mode for mode in window.modes if isinstance(mode, InpaintWorkspace))
    make_tiny_lama(tmp_path / "home" / "models" / "tiny-lama")  # installed: the tab's own default
    folder = make_tiny_lama(tmp_path / "my-filler", name="my-filler")
    assert window.open_model_folder(folder)  # from the Labels tab, which cannot run it
    assert window.tabs.currentWidget() is inpaint_tab
    qtbot.waitUntil(lambda: inpaint_tab.model is not None and inpaint_tab.model.card.name == "my-filler")
    assert window.model.kind == "spade" and not window.errors  # the label model stays
    combo = inpaint_tab.model_combo
    assert combo.itemData(combo.currentIndex()) == str(folder)  # picking it again reloads that folder
    other = next(i for i in range(combo.count()) if combo.itemText(i) != "my-filler")
    combo.activated.emit(other)
    qtbot.waitUntil(lambda: inpaint_tab.model.card.name != "my-filler")
    combo.activated.emit(combo.findText("my-filler"))
    qtbot.waitUntil(lambda: inpaint_tab.model.card.name == "my-filler")
    assert not window.open_model_folder(tmp_path)  # no card: a message, nothing switches
    assert "not a synthpaint model" in window.errors[-1]

    window.settings.sync()  # the next run offers the opened folder and starts the tab with it
    later = MainWindow(settings=QSettings(window.settings.fileName(), QSettings.Format.IniFormat))
    try:
        later_tab = next(mode for mode in later.modes if isinstance(mode, InpaintWorkspace))
        later.tabs.setCurrentWidget(later_tab)
        assert later_tab.model_combo.findText("my-filler") >= 0
        qtbot.waitUntil(lambda: later_tab.model is not None, timeout=20000)
        assert later_tab.model.card.name == "my-filler"
    finally:
        later.close()


def test_label_painting_menu_actions_bring_the_labels_tab_to_the_front(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from engine.labels import write_label_image

    labels = np.full((32, 48), 2, np.int32)
    labels[8:20, 10:30] = 3
    write_label_image(tmp_path / "map.png", labels, window.document.label_set)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "map.png"), ""))
    window.tabs.setCurrentIndex(2)
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "Open &Label Map…")
    action.trigger()
    assert window.tabs.currentIndex() == 0  # where the opened map is seen
    assert np.array_equal(window.document.labels, labels)


def test_help_shows_the_card_of_the_model_in_front_and_the_keys_of_the_tab_in_front(qtbot, window):
    from app.modes.inpaint import InpaintWorkspace

    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    items = {a.text(): a for a in help_menu.actions()}
    items["About This &Model…"].trigger()
    shown = window.help_window.browser.toPlainText()
    assert window.help_window.isVisible() and window.model.card.name in shown
    assert "spade (labels facades)" in shown

    items["&Keys and Mouse…"].trigger()
    shown = window.help_window.browser.toPlainText()
    assert "Labels tab" in shown and "Shift + stroke" in shown and "Everywhere" in shown
    assert "Brush" in shown and "Ctrl+S" in shown

    inpaint_tab = next(mode for mode in window.modes if isinstance(mode, InpaintWorkspace))
    window.tabs.setCurrentWidget(inpaint_tab)
    items["&Keys and Mouse…"].trigger()
    shown = window.help_window.browser.toPlainText()
    assert "Inpaint tab" in shown and "Ctrl+Return" in shown and "Hold \\" in shown
    assert "Brush" not in shown  # the label tools' keys do not work here
    items["About This &Model…"].trigger()  # the tests install no inpainting model
    assert window.errors[-1] == "No model is loaded in the Inpaint tab."
    items["&About synthpaint…"].trigger()
    assert "synthpaint 0.1.0" in window.help_window.browser.toPlainText()


def test_copy_photo_puts_the_picture_of_the_tab_in_front_on_the_clipboard(qtbot, window):
    from PySide6.QtGui import QGuiApplication

    from app.modes.inpaint import InpaintWorkspace

    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    copy = next(a for a in edit_menu.actions() if a.text() == "&Copy Photo")
    copy.trigger()
    image = QGuiApplication.clipboard().image()
    h, w = window.photo.photo.shape[:2]
    assert (image.width(), image.height()) == (w, h)
    assert image.pixelColor(3, 5).getRgb()[:3] == tuple(int(v) for v in window.photo.photo[5, 3])
    inpaint_tab = next(mode for mode in window.modes if isinstance(mode, InpaintWorkspace))
    window.tabs.setCurrentWidget(inpaint_tab)
    inpaint_tab.document.replace(np.full((30, 40, 3), (10, 200, 30), np.uint8))  # nothing erased
    assert window.copy_current_photo()
    image = QGuiApplication.clipboard().image()
    assert (image.width(), image.height()) == (40, 30)
    assert image.pixelColor(0, 0).getRgb()[:3] == (10, 200, 30)


def test_paste_image_opens_the_copied_picture_in_the_mode_tab_in_front(qtbot, window):
    from PySide6.QtGui import QGuiApplication

    from app.modes.inpaint import InpaintWorkspace
    from app.qt_images import qimage_of

    screenshot = np.random.default_rng(6).integers(0, 255, (36, 52, 3), dtype=np.uint8)
    QGuiApplication.clipboard().setImage(qimage_of(screenshot))
    labels = window.document.labels.copy()
    styles = window.styles.gallery.count()
    assert window.paste_image()  # in the Labels tab a picture that is no label painting is a style image
    assert np.array_equal(window.document.labels, labels)
    assert window.styles.gallery.count() == styles + 1 and window.styles.gallery.currentRow() == styles
    assert np.array_equal(window.styles.images[-1], screenshot)

    painting = np.zeros((24, 32), np.int32) + window.document.label_set.ids[1]
    painting[5:15, 8:20] = window.document.label_set.ids[2]
    QGuiApplication.clipboard().setImage(qimage_of(window.document.label_set.to_colors(painting)))
    assert window.paste_image()  # a copied label painting replaces the painting
    assert np.array_equal(window.document.labels, painting) and window.is_modified()  # not saved anywhere
    assert window.styles.gallery.count() == styles + 1

    QGuiApplication.clipboard().setImage(qimage_of(screenshot))
    inpaint_tab = next(mode for mode in window.modes if isinstance(mode, InpaintWorkspace))
    window.tabs.setCurrentWidget(inpaint_tab)
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    next(a for a in edit_menu.actions() if a.text() == "&Paste Image").trigger()
    assert np.array_equal(inpaint_tab.document.photo, screenshot)  # the photo to erase in


def test_the_view_menu_and_export_act_on_the_tab_in_front(qtbot, window, monkeypatch):
    from app.modes.sketch import SketchWorkspace

    (sketch_tab,) = [mode for mode in window.modes if isinstance(mode, SketchWorkspace)]
    window.tabs.setCurrentIndex(window.modes.index(sketch_tab) + 1)
    labels_zoom, sketch_zoom = window.canvas.zoom, sketch_tab.canvas.zoom
    zoom_in = next(a for a in window.findChildren(QAction) if a.text() == "Zoom &In")
    zoom_in.trigger()
    assert sketch_tab.canvas.zoom == pytest.approx(sketch_zoom * 1.25)
    assert window.canvas.zoom == labels_zoom  # the hidden Labels canvas stays as it was
    exported = []
    monkeypatch.setattr(sketch_tab, "export_result_dialog", lambda: exported.append("sketch"))
    monkeypatch.setattr(window, "export_photo_dialog", lambda: exported.append("labels"))
    window.export_current_photo_dialog()
    window.tabs.setCurrentIndex(0)
    window.export_current_photo_dialog()
    assert exported == ["sketch", "labels"]


def test_live_update_off_holds_every_tab(qtbot, window, tmp_path):
    from app.modes.sketch import SketchWorkspace
    from tests.factories_pix2pix import make_tiny_pix2pix

    make_tiny_pix2pix(tmp_path / "home" / "models" / "tiny-sketch", name="tiny-sketch")
    (sketch_tab,) = [mode for mode in window.modes if isinstance(mode, SketchWorkspace)]
    window.tabs.setCurrentIndex(window.modes.index(sketch_tab) + 1)
    qtbot.waitUntil(lambda: sketch_tab.model is not None, timeout=20000)
    window.live_action.setChecked(False)
    window._toggle_live()
    assert all(not mode.live for mode in window.modes)
    assert sketch_tab.request() is None  # a loaded model, yet nothing is computed
    window.live_action.setChecked(True)
    window._toggle_live()
    assert all(mode.live for mode in window.modes) and sketch_tab.request() is not None


def test_a_model_of_another_label_set_asks_before_it_replaces_an_opened_painting(
    qtbot, window, tmp_path, monkeypatch
):
    from engine.labels import get_label_set, remap_by_name, write_label_image

    facades = window.document.label_set
    painting = np.full((48, 64), facades.ids[1], np.int32)
    painting[10:30, 20:40] = facades.ids[2]
    write_label_image(tmp_path / "mine.png", painting, facades)
    assert window.open_label_map(tmp_path / "mine.png")  # opened, not painted: no undo history
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **_k: asked.append(a) or QMessageBox.StandardButton.Yes
    )
    make_tiny_spade(tmp_path / "city", "cityscapes", name="tiny-city")
    window.load_model(str(tmp_path / "city"))
    qtbot.waitUntil(lambda: window.document.label_set.name == "cityscapes", timeout=20000)
    assert len(asked) == 1 and "Another label set" in asked[0]  # it used to wipe the painting silently
    remapped = remap_by_name(painting, facades, get_label_set("cityscapes"))
    assert np.array_equal(window.document.labels, remapped)
