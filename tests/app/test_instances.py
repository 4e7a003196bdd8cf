"""Objects (instances) in the label mode: the instance and select tools, the object-style panel with
a tiny pix2pixHD model, instance maps reaching the models, and projects that keep both."""

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from app.canvas import CanvasView, Tool
from app.document import Document
from app.instance_panel import features_from_json, features_to_json
from app.main_window import MainWindow
from app.project import ProjectError, load_project, save_project
from app.settings_dialog import Preferences
from engine.labels import get_label_set
from engine.models.semantics import instance_edges
from tests.conftest import REPO
from tests.factories import make_tiny_spade
from tests.factories_pix2pixhd import make_tiny_pix2pixhd

ARTIFACTS = REPO / "tests" / "artifacts"
WINDOW, DOOR, FACADE = 3, 4, 2  # facades: window and door are things, facade is stuff
BANK = {
    WINDOW: np.array([[0.9, -0.8, 0.7], [-0.9, 0.8, -0.6], [0.1, 0.2, -0.9]], np.float32),
    DOOR: np.array([[0.5, 0.5, 0.5], [-0.5, -0.5, -0.5]], np.float32),
}


# ----- the canvas -----


@pytest.fixture
def canvas(qtbot):
    view = CanvasView(Document.blank(get_label_set("facades"), 64, 96))
    view.resize(400, 300)
    qtbot.addWidget(view)
    view.show()
    view.set_zoom(2.0)
    view.centerOn(48, 32)
    return view


def rect(view, x0, y0, x1, y1, label_id):
    view.set_tool(Tool.RECTANGLE)
    view.current_id = label_id
    view.press(QPointF(x0 + 0.5, y0 + 0.5))
    view.release(QPointF(x1 + 0.5, y1 + 0.5))


def click(view, tool, x, y):
    view.set_tool(tool)
    view.press(QPointF(x + 0.5, y + 0.5))
    view.release(QPointF(x + 0.5, y + 0.5))


def test_instance_tool_gives_each_thing_stroke_a_new_id_and_stuff_keeps_its_class_id(canvas):
    canvas.instance_mode = True
    rect(canvas, 5, 5, 14, 14, WINDOW)
    rect(canvas, 15, 5, 24, 14, WINDOW)  # touching the first window
    rect(canvas, 40, 5, 50, 14, FACADE)
    canvas.set_tool(Tool.BRUSH)
    canvas.set_brush_size(3)
    canvas.current_id = WINDOW
    canvas.press(QPointF(60.5, 40.5))
    canvas.drag(QPointF(70.5, 40.5))
    canvas.release(QPointF(70.5, 40.5))
    instances, labels = canvas.document.instances, canvas.document.labels
    assert (instances[5:15, 5:15] == 3000).all() and (instances[5:15, 15:25] == 3001).all()
    assert (instances[40, 60:71] == 3002).all()
    assert (instances[5:15, 40:51] == FACADE).all()
    assert np.array_equal(labels[instances == 3001], np.full(100, WINDOW))
    assert canvas.selected_instance == 3002  # the newest object is selected
    canvas.instance_mode = False
    rect(canvas, 80, 5, 90, 14, WINDOW)
    assert (instances[5:15, 80:91] == WINDOW).all()  # tool off: one group id per class


def test_eraser_writes_the_background_stuff_id(canvas):
    canvas.instance_mode = True
    rect(canvas, 5, 5, 20, 20, WINDOW)
    canvas.set_brush_size(1)
    click(canvas, Tool.ERASER, 10, 10)
    background = canvas.document.label_set.background_id
    assert canvas.document.labels[10, 10] == background and canvas.document.instances[10, 10] == background


def test_fill_gives_the_clicked_object_one_new_instance_and_leaves_the_touching_one(canvas):
    canvas.instance_mode = True
    rect(canvas, 5, 5, 14, 14, WINDOW)
    rect(canvas, 15, 5, 24, 14, WINDOW)
    canvas.current_id = DOOR
    click(canvas, Tool.FILL, 20, 10)
    instances = canvas.document.instances
    assert (instances[5:15, 15:25] == 4000).all() and (canvas.document.labels[5:15, 15:25] == DOOR).all()
    assert (instances[5:15, 5:15] == 3000).all()
    canvas.current_id = WINDOW
    click(canvas, Tool.FILL, 80, 50)  # the background around them
    assert (instances == 3001).sum() == 64 * 96 - 200  # all the background, as one new window


def test_shift_adds_the_stroke_to_the_selected_object_of_the_same_class(qtbot, canvas):
    canvas.instance_mode = True
    rect(canvas, 5, 5, 14, 14, WINDOW)
    rect(canvas, 30, 5, 39, 14, WINDOW)
    click(canvas, Tool.SELECT, 8, 8)
    assert canvas.selected_instance == 3000
    canvas.set_tool(Tool.RECTANGLE)
    viewport = canvas.viewport()
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, shift, canvas.mapFromScene(QPointF(50.5, 30.5)))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, shift, canvas.mapFromScene(QPointF(58.5, 38.5)))
    assert canvas.document.instances[34, 54] == 3000  # one object in two parts
    canvas.current_id = DOOR  # another class cannot continue a window: a new door
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, shift, canvas.mapFromScene(QPointF(70.5, 30.5)))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, shift, canvas.mapFromScene(QPointF(75.5, 38.5)))
    assert canvas.document.instances[34, 72] == 4000
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(80.5, 30.5)))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(85.5, 38.5)))
    assert canvas.document.instances[34, 82] == 4001  # without Shift: a new object again


def test_undo_redo_restore_both_planes_exactly(canvas):
    canvas.instance_mode = True
    states = [(canvas.document.labels.copy(), canvas.document.instances.copy())]
    for x in (5, 12, 19):  # overlapping windows: the later ones cut into the earlier
        rect(canvas, x, 5, x + 10, 20, WINDOW)
        states.append((canvas.document.labels.copy(), canvas.document.instances.copy()))
    stack = canvas.document.undo_stack
    assert stack.count() == 3
    for labels, instances in reversed(states[:-1]):
        stack.undo()
        assert np.array_equal(canvas.document.labels, labels)
        assert np.array_equal(canvas.document.instances, instances)
    for labels, instances in states[1:]:
        stack.redo()
        assert np.array_equal(canvas.document.labels, labels)
        assert np.array_equal(canvas.document.instances, instances)


def test_select_tool_picks_the_object_under_the_cursor_and_outlines_it(qtbot, canvas):
    canvas.instance_mode = True
    rect(canvas, 5, 5, 14, 14, WINDOW)
    rect(canvas, 15, 5, 30, 20, WINDOW)
    chosen = []
    canvas.instanceSelected.connect(chosen.append)
    click(canvas, Tool.SELECT, 6, 6)
    click(canvas, Tool.SELECT, 20, 18)
    click(canvas, Tool.SELECT, 50, 50)
    assert chosen == [3000, 3001, canvas.document.label_set.background_id]
    click(canvas, Tool.SELECT, 22, 10)
    outline = canvas.selection_outline.path().boundingRect()
    assert (outline.left(), outline.top(), outline.right(), outline.bottom()) == (15.5, 5.5, 30.5, 20.5)
    assert canvas.selection_tint.isVisible() and canvas.selection_tint.pos() == QPointF(15, 5)
    assert canvas.selection_tint.pixmap().width() == 16
    rect(canvas, 25, 5, 40, 25, WINDOW)  # a new object covers part of the selected one: it is selected
    assert canvas.selected_instance == 3002
    canvas.document.undo_stack.undo()
    qtbot.waitUntil(lambda: canvas.selection_outline.path().isEmpty())  # 3002 is gone
    canvas.select_instance(None)
    assert not canvas.selection_tint.isVisible()
    click(canvas, Tool.SELECT, -5, 10)  # outside the canvas: nothing
    assert canvas.selected_instance is None


def test_canvas_shades_the_border_between_two_touching_objects_of_one_class(canvas):
    canvas.instance_mode = True
    rect(canvas, 5, 5, 14, 14, WINDOW)
    rect(canvas, 15, 5, 24, 14, WINDOW)
    rect(canvas, 25, 5, 34, 14, FACADE)
    rgb = canvas.image_item.pixels
    window = canvas.document.label_set.to_colors(np.array([[WINDOW]]))[0, 0]
    assert (rgb[10, 14] != window).any() and (rgb[10, 15] != window).any()  # the shared border
    assert (rgb[10, 10] == window).all() and (rgb[10, 24] == window).all()  # class borders: plain
    canvas.document.undo_stack.undo()
    canvas.document.undo_stack.undo()
    assert (canvas.image_item.pixels[10, 14] == window).all()  # refreshed with the neighbours


# ----- the window with a pix2pixHD model -----


def make_window(qtbot, tmp_path, monkeypatch):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    errors = []
    monkeypatch.setattr(win, "show_error", lambda title, message: errors.append(message))
    win.errors = errors
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Discard)
    win.show()
    qtbot.waitUntil(lambda: win.model is not None and win.photo.photo is not None, timeout=20000)
    return win


@pytest.fixture
def hd_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    make_tiny_pix2pixhd(tmp_path / "home" / "models" / "tiny-hd", "facades", name="tiny-hd", bank=BANK)
    win = make_window(qtbot, tmp_path, monkeypatch)
    yield win
    win.document.undo_stack.setClean()
    win.close()


def paint_objects(win):
    """Two touching windows and a door, with the Instances action on (as a user would)."""
    win.instances_action.setChecked(True)
    rect(win.canvas, 20, 20, 79, 99, WINDOW)
    rect(win.canvas, 80, 20, 139, 99, WINDOW)
    rect(win.canvas, 100, 150, 159, 255, DOOR)


def select(win, qtbot, x, y):
    win.tool_actions[Tool.SELECT].trigger()
    click(win.canvas, Tool.SELECT, x, y)
    qtbot.waitUntil(lambda: not win.instance_panel.wants_previews(), timeout=20000)


def test_panel_shows_the_selected_objects_bank_codes_with_rendered_previews(qtbot, hd_window, tmp_path):
    win = hd_window
    assert win.instance_dock.isVisible()
    assert win.tool_actions[Tool.SELECT].toolTip().endswith("choose its look")
    assert not win.open_style_action.isEnabled()  # it takes no style image: nothing to open one for
    styles = win.styles.gallery.count()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / "brick.jpg")
    assert not win.open_dropped(tmp_path / "brick.jpg")
    assert "takes no style image" in win.errors[-1] and win.styles.gallery.count() == styles
    paint_objects(win)
    select(win, qtbot, 90, 50)
    panel = win.instance_panel
    assert panel.instance_id == 3001 and panel.label_class.name == "window"
    assert np.array_equal(panel.codes, BANK[WINDOW])
    assert panel.swatches.count() == 4  # automatic + three looks
    assert len(panel.previews) == 4 and all(p.shape == (80, 60, 3) for p in panel.previews)
    assert not np.array_equal(panel.previews[1], panel.previews[2])  # the codes look different
    assert not panel.swatches.item(1).icon().isNull()
    assert panel.current_index() == -1 and panel.swatches.currentRow() == 0  # automatic
    select(win, qtbot, 120, 200)
    assert panel.instance_id == 4000 and panel.swatches.count() == 3
    win.tabs.setCurrentIndex(1)
    assert not win.instance_dock.isVisible()  # the dock belongs to the label tab
    win.tabs.setCurrentIndex(0)
    assert win.instance_dock.isVisible()


def test_picking_a_code_changes_only_that_objects_input_features(qtbot, hd_window):
    win = hd_window
    paint_objects(win)
    select(win, qtbot, 90, 50)  # swatch previews at the tiny native size
    win.apply_preferences(Preferences(resolution=256))  # the network input is the canvas, pixel for pixel
    inputs = []
    feat_num = win.model.feat_num
    hook = win.model.generator.register_forward_pre_hook(
        lambda _m, args: inputs.append(args[0][:, -feat_num:].float().clone())
    )
    try:

        def render():  # the full-size input (a loaded machine also renders a half-size preview first)
            inputs.clear()
            win.request_synthesis()
            qtbot.waitUntil(lambda: any(x.shape[-1] == 256 for x in inputs), timeout=20000)
            return next(x for x in inputs if x.shape[-1] == 256)[0, :, :256, :256]

        before = render()
        automatic = win.model.instance_features([3001], {}, win.styles.seed())[3001]
        row = next(r for r, code in enumerate(BANK[WINDOW]) if not np.array_equal(code, automatic))
        win.instance_panel.pick(row)
        assert np.array_equal(win.features[3001], BANK[WINDOW][row])
        after = render()
    finally:
        hook.remove()
    mask = win.document.instances == 3001
    code = torch.from_numpy(BANK[WINDOW][row]).to(win.model.dtype).float()  # bf16 on some CPUs
    changed = (before != after).any(dim=0).numpy()
    assert np.array_equal(changed, mask)
    assert torch.equal(after[:, mask].T, code.expand(int(mask.sum()), 3))
    assert win.windowTitle().startswith("Untitled *")
    win.document.undo_stack.undo()  # choosing a look is an undo step
    assert 3001 not in win.features and win.instance_panel.current_index() == -1


def test_random_and_automatic_buttons(qtbot, hd_window):
    win = hd_window
    paint_objects(win)
    select(win, qtbot, 30, 30)
    panel = win.instance_panel
    for _ in range(5):
        previous = panel.current_index()
        panel.random_button.click()
        chosen = panel.current_index()
        assert chosen is not None and chosen >= 0 and chosen != previous
        assert np.array_equal(win.features[3000], BANK[WINDOW][chosen])
    assert set(win.features) == {3000}  # only this object
    panel.auto_button.click()
    assert win.features == {}


def test_project_round_trip_keeps_instances_and_codes(qtbot, hd_window, tmp_path):
    win = hd_window
    paint_objects(win)
    select(win, qtbot, 90, 50)
    win.instance_panel.pick(2)
    instances, labels = win.document.instances.copy(), win.document.labels.copy()
    path = tmp_path / "objects.synthpaint"
    assert win.save_to(path)
    project = load_project(path)
    assert np.array_equal(project.instances, instances)
    assert project.modes["labels"]["features"] == {"3001": pytest.approx(BANK[WINDOW][2].tolist())}
    win.canvas.instance_mode = False
    rect(win.canvas, 0, 0, 255, 255, FACADE)
    win.instance_panel.pick(0)
    win.document.undo_stack.setClean()
    assert win.open_project(path)
    assert np.array_equal(win.document.instances, instances) and np.array_equal(win.document.labels, labels)
    assert list(win.features) == [3001] and np.array_equal(win.features[3001], BANK[WINDOW][2])
    assert win.features[3001].dtype == np.float32


def test_a_damaged_object_style_is_reported_and_the_painting_is_kept(hd_window, tmp_path):
    win = hd_window
    project = win.current_project()
    project.modes["labels"] = {"features": {"3001": ["red"]}}
    path = tmp_path / "bad.synthpaint"
    save_project(path, project)
    paint_objects(win)
    painted = win.document.instances.copy()
    assert not win.open_project(path)
    assert "3001" in win.errors[-1] and "bad.synthpaint" in win.errors[-1]
    assert np.array_equal(win.document.instances, painted)


def test_feature_json_is_exact_and_rejects_damage():
    codes = {3001: np.array([0.1, -1e-7, 3.4e38], np.float32)}
    back = features_from_json(features_to_json(codes), "x")
    assert back.keys() == codes.keys() and np.array_equal(back[3001], codes[3001])
    for bad in ([], {"a": [1.0]}, {"1": []}, {"1": [True]}, {"1": [1e39]}, {"1": "1.0"}):
        with pytest.raises(ProjectError):
            features_from_json(bad, "x")


def test_render_object_style_screenshot(qtbot, hd_window):
    win = hd_window
    rect(win.canvas, 0, 0, 255, 255, FACADE)
    paint_objects(win)
    select(win, qtbot, 90, 50)
    win.instance_panel.pick(1)
    qtbot.waitUntil(lambda: not win.engine.worker.has_pending(), timeout=20000)
    qtbot.wait(200)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "object_style.png"
    assert win.grab().save(str(path))
    assert path.stat().st_size > 10_000


# ----- a SPADE model with instance edges -----


def test_the_instance_map_reaches_a_spade_model_with_instance_edges(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    make_tiny_spade(tmp_path / "home" / "models" / "tiny-edges", "facades", name="tiny-edges", instances=True)
    win = make_window(qtbot, tmp_path, monkeypatch)
    try:
        assert win.model.uses_instances and not win.instance_dock.isVisible()
        assert "no looks of their own" in win.tool_actions[Tool.SELECT].toolTip()  # it promises no looks
        win.apply_preferences(Preferences(resolution=256))
        win.instances_action.setChecked(True)
        rect(win.canvas, 20, 20, 79, 99, WINDOW)
        rect(win.canvas, 80, 20, 139, 99, WINDOW)  # touching: one window-coloured block
        labels, instances = win.document.labels.copy(), win.document.instances.copy()
        edges = instance_edges(torch.from_numpy(instances.astype(np.int64))[None])[0, 0]
        assert edges[50, 79] == 1 and edges[50, 80] == 1  # an edge between the two windows
        assert instance_edges(torch.from_numpy(labels.astype(np.int64))[None])[0, 0, 50, 79] == 0
        expected = win.model.synthesize(labels, instances)
        assert not np.array_equal(expected, win.model.synthesize(labels))  # the edge changes the photo
        qtbot.waitUntil(lambda: np.array_equal(win.photo.photo, expected), timeout=20000)
    finally:
        win.document.undo_stack.setClean()
        win.close()


def test_continuing_needs_an_object_of_the_painted_class_even_after_it_was_undone(canvas):
    canvas.instance_mode = True
    rect(canvas, 5, 5, 14, 14, DOOR)
    assert canvas.selected_instance == 4000
    canvas.document.undo_stack.undo()  # the door is gone, its id stays selected
    canvas.continue_selected = True
    rect(canvas, 20, 5, 30, 14, WINDOW)
    assert canvas.document.instances[10, 25] == 3000  # not door 4000
    rect(canvas, 40, 5, 50, 14, WINDOW)
    assert canvas.document.instances[10, 45] == 3000  # continued the new (selected) window


def test_a_pix2pixhd_model_greys_out_the_style_images_it_cannot_use(qtbot, hd_window, tmp_path):
    styles = hd_window.styles
    assert not styles.gallery.isEnabled() and not styles.add_button.isEnabled()
    assert not styles.blend_box.isEnabled() and not styles.output_button.isEnabled()
    assert styles.random_button.isEnabled() and styles.seed_box.isEnabled()  # the seed picks the looks
    assert "no style image" in styles.note.text()
    make_tiny_spade(tmp_path / "home" / "models" / "tiny-spade", "facades", name="tiny-spade")
    hd_window.load_model(str(tmp_path / "home" / "models" / "tiny-spade"))
    qtbot.waitUntil(lambda: hd_window.model.card.name == "tiny-spade", timeout=20000)
    assert styles.gallery.isEnabled() and styles.add_button.isEnabled() and styles.blend_box.isEnabled()
    assert "no style image" not in styles.note.text()
