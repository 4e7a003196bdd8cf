"""The Colorize tab: hints land on the pixel clicked at any zoom, every edit is undoable, the tiny
colorization model sees the hints (output near a hint changes), suggestions, reference, files, state."""

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QWheelEvent

from app.modes import colorize
from app.modes.colorize import PHOTO_LAYER, ColorizeWorkspace
from engine.colorization import GLOBAL_HINT_SIZE, Hint
from tests.conftest import REPO
from tests.factories_colorization import make_tiny_colorization

ARTIFACTS = REPO / "tests" / "artifacts"
H, W = 80, 96


def grey_photo() -> np.ndarray:
    """A grey test photo with structure everywhere (a ramp plus rings), so no window is flat."""
    yy, xx = np.mgrid[0:H, 0:W]
    rings = 40 * np.sin(np.hypot(yy - 40, xx - 48) / 4)
    return np.clip(60 + 1.4 * xx + rings, 0, 255).astype(np.uint8)


def colour_photo() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return np.stack([xx * 2.5, yy * 3.0, 255 - xx * 2], axis=-1).clip(0, 255).astype(np.uint8)


def make_workspace(qtbot, tmp_path, monkeypatch, models=()) -> ColorizeWorkspace:
    """``models``: (name, global hint channels) of tiny models to install; the first loads."""
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    for name, channels in models:
        make_tiny_colorization(tmp_path / "home" / "models" / name, name=name, global_hint_channels=channels)
    ws = ColorizeWorkspace(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(ws)
    errors = []
    monkeypatch.setattr(ws, "show_error", lambda title, text: errors.append((title, text)))
    ws.errors = errors
    ws.resize(1300, 620)
    ws.show()
    ws.activate()
    if models:
        qtbot.waitUntil(lambda: ws.model is not None, timeout=20000)
    return ws


def open_grey(ws: ColorizeWorkspace, tmp_path, image: np.ndarray | None = None) -> np.ndarray:
    image = grey_photo() if image is None else image
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)
    assert ws.open_photo(path)
    return image


@pytest.fixture
def workspace(qtbot, tmp_path, monkeypatch):
    """No model installed: hints, undo and files only."""
    ws = make_workspace(qtbot, tmp_path, monkeypatch)
    open_grey(ws, tmp_path)
    yield ws
    ws.shutdown()


@pytest.fixture
def live(qtbot, tmp_path, monkeypatch):
    """The tiny colorization model (64x64 working grid, no global hints) on the grey test photo."""
    ws = make_workspace(qtbot, tmp_path, monkeypatch, [("tiny-colorization", 0)])
    open_grey(ws, tmp_path)
    yield ws
    ws.shutdown()


def settled(qtbot, ws: ColorizeWorkspace) -> np.ndarray:
    """Wait until the output is exactly the model's colorization of the current photo and hints."""
    expected = ws.model.colorize(ws.photo, ws.hints.hints, ws.global_hint)
    qtbot.waitUntil(lambda: ws.result is not None and np.array_equal(ws.result, expected), timeout=20000)
    return expected


def colors(suggestions: list) -> list:
    return [rgb for rgb, _ in suggestions]


def view_pos(ws: ColorizeWorkspace, x: float, y: float) -> QPoint:
    return ws.canvas.mapFromScene(QPointF(x, y))


def click(qtbot, ws: ColorizeWorkspace, pos: QPoint, button=Qt.MouseButton.LeftButton) -> None:
    qtbot.mouseClick(ws.canvas.viewport(), button, pos=pos)


def wheel(ws: ColorizeWorkspace, pos: QPoint, steps: int) -> None:
    event = QWheelEvent(
        QPointF(pos),
        QPointF(ws.canvas.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    ws.canvas.wheelEvent(event)


def test_a_click_adds_a_hint_on_exactly_the_pixel_under_the_cursor_through_zoom_and_pan(qtbot, workspace):
    canvas = workspace.canvas
    canvas.set_zoom(3.7)
    canvas.centerOn(30, 25)
    at = QPoint(271, 303)
    expected = canvas.mapToScene(at)
    click(qtbot, workspace, at)
    hint = workspace.hints.hints[0]
    assert (hint.x, hint.y) == (np.floor(expected.x()), np.floor(expected.y()))

    # pan with the middle button: the same view position now lies over another pixel
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(200, 200))
    qtbot.mouseMove(viewport, QPoint(140, 160))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(140, 160))
    assert canvas.mapToScene(QPoint(271, 303)).x() > expected.x() + 10  # the pan moved the view
    at = QPoint(233, 322)
    expected = canvas.mapToScene(at)
    click(qtbot, workspace, at)
    hint = workspace.hints.hints[1]
    assert (hint.x, hint.y) == (np.floor(expected.x()), np.floor(expected.y()))
    assert 0 <= hint.x < W and 0 <= hint.y < H
    assert workspace.hints.selected == 1 and workspace.undo_stack.count() == 2
    # the marker sits on the centre of that pixel
    marker = canvas.markers[1]
    assert (marker.pos().x(), marker.pos().y()) == (hint.x + 0.5, hint.y + 0.5)
    # a click outside the photo adds nothing
    click(qtbot, workspace, view_pos(workspace, -5, -5))
    assert len(workspace.hints.hints) == 2


def test_drag_wheel_right_click_and_delete_are_each_one_undoable_step(qtbot, workspace):
    canvas = workspace.canvas
    canvas.set_zoom(2.0)
    canvas.centerOn(48, 40)
    workspace.add_hint(20, 30, (200, 40, 40), 3)
    workspace.add_hint(70, 50, (40, 40, 200), 3)
    history = [list(workspace.hints.hints)]

    # drag the first hint: live moves, one step at the end
    canvas.press(QPointF(20.5, 30.5))
    for x in (24.5, 30.2, 33.7):
        canvas.drag(QPointF(x, 36.9))
    canvas.release(QPointF(33.7, 36.9))
    assert workspace.hints.hints[0] == Hint(33.0, 36.0, (200, 40, 40), 3)
    history.append(list(workspace.hints.hints))

    # the wheel over a hint grows its patch (a spin is one step); elsewhere it still zooms
    zoom = canvas.zoom
    wheel(workspace, view_pos(workspace, 70.5, 50.5), 1)
    wheel(workspace, view_pos(workspace, 70.5, 50.5), 1)
    assert workspace.hints.hints[1].size == 5 and canvas.zoom == zoom
    assert workspace.size_spin.value() == 5
    wheel(workspace, view_pos(workspace, 50.5, 10.5), 1)
    assert canvas.zoom > zoom and len(workspace.hints.hints) == 2

    # the spin box resizes the selected hint too; consecutive resizes of a hint are one step
    workspace.size_spin.setValue(9)
    assert workspace.hints.hints[1].size == 9
    history.append(list(workspace.hints.hints))

    # recolour, then right-click removes the hint under the cursor, Delete the selected one
    workspace.set_selected_color((10, 220, 30))
    assert workspace.hints.hints[1].rgb == (10, 220, 30)
    history.append(list(workspace.hints.hints))
    click(qtbot, workspace, view_pos(workspace, 70.5, 50.5), Qt.MouseButton.RightButton)
    assert workspace.hints.hints == [history[-1][0]]
    history.append(list(workspace.hints.hints))
    canvas.press(QPointF(33.5, 36.5))
    canvas.release(QPointF(33.5, 36.5))
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert workspace.hints.hints == []
    history.append([])

    assert workspace.undo_stack.count() == 2 + len(history) - 1
    for state in reversed(history[:-1]):
        workspace.undo_stack.undo()
        assert workspace.hints.hints == state
        assert len(canvas.markers) == len(state)
    for state in history[1:]:
        workspace.undo_stack.redo()
        assert workspace.hints.hints == state


def test_a_hint_changes_the_output_near_it_and_hardly_anywhere_else(qtbot, live):
    before = settled(qtbot, live).astype(np.float64)
    live.add_hint(20, 30, (20, 60, 230), 5)
    after = settled(qtbot, live).astype(np.float64)
    change = np.abs(after - before).mean(axis=2)
    near, far = change[22:39, 12:29].mean(), change[55:, 65:].mean()
    assert near > 5 and near > 10 * far, (near, far)
    assert live.output.photo is not None and np.array_equal(live.output.photo, live.result)
    # undo takes the output back to the hint-free colorization
    live.undo_stack.undo()
    assert np.array_equal(settled(qtbot, live), before)


def test_a_new_hint_takes_the_top_suggestion_and_suggestions_recolour_it(qtbot, live):
    settled(qtbot, live)
    live.add_hint(60, 20, (1, 2, 3), 3)
    live.canvas.press(QPointF(30.5, 50.5))  # a click on empty space: no colour given
    live.canvas.release(QPointF(30.5, 50.5))
    others = [live.hints.hints[0]]
    expected = live.model.suggest_colors(live.photo, (30.0, 50.0), 8, others)
    qtbot.waitUntil(lambda: colors(live.suggestions) == colors(expected), timeout=20000)
    assert len(live.suggestion_buttons) == 8
    assert np.allclose([p for _, p in live.suggestions], [p for _, p in expected], atol=1e-6)
    qtbot.waitUntil(lambda: live.hints.hints[1].rgb == expected[0][0], timeout=20000)
    assert live.undo_stack.count() == 2  # the first colour is part of the add step
    settled(qtbot, live)

    live.suggestion_buttons[2].click()
    assert live.hints.hints[1].rgb == expected[2][0]
    assert live.recent_colors[0] == expected[2][0] and len(live.recent_buttons) == 1
    assert live.undo_stack.count() == 3
    live.undo_stack.undo()
    assert live.hints.hints[1].rgb == expected[0][0]
    live.undo_stack.undo()
    live.undo_stack.redo()
    assert live.hints.hints[1] == Hint(30.0, 50.0, expected[0][0], 3)

    # selecting the other hint shows its own suggestions (given the second hint)
    live.canvas.press(QPointF(60.5, 20.5))
    live.canvas.release(QPointF(60.5, 20.5))
    first = live.model.suggest_colors(live.photo, (60.0, 20.0), 8, [live.hints.hints[1]])
    qtbot.waitUntil(lambda: colors(live.suggestions) == colors(first), timeout=20000)
    assert live.hints.hints[0].rgb == (1, 2, 3)  # an existing hint keeps its colour


def test_reference_image_needs_a_model_with_global_hints(qtbot, tmp_path, monkeypatch):
    ws = make_workspace(qtbot, tmp_path, monkeypatch, [("a-plain", 0), ("b-global", GLOBAL_HINT_SIZE)])
    try:
        open_grey(ws, tmp_path)
        if ws.model.card.name != "a-plain":
            ws.load_model(str(tmp_path / "home" / "models" / "a-plain"))
            qtbot.waitUntil(lambda: ws.model.card.name == "a-plain", timeout=20000)
        assert not ws.reference_button.isEnabled()
        assert "no global hints" in ws.reference_button.toolTip()

        ws.load_model(str(tmp_path / "home" / "models" / "b-global"))
        qtbot.waitUntil(lambda: ws.model.card.name == "b-global", timeout=20000)
        assert ws.reference_button.isEnabled() and not ws.clear_reference_button.isEnabled()
        ws.add_hint(40, 40, (250, 200, 20), 3)
        plain = settled(qtbot, ws)
        reference = tmp_path / "reference.png"
        Image.fromarray(np.full((32, 48, 3), (30, 140, 40), np.uint8)).save(reference)
        assert ws.set_reference_image(reference)
        assert ws.clear_reference_button.isEnabled() and ws.global_hint.shape == (GLOBAL_HINT_SIZE,)
        guided = settled(qtbot, ws)
        assert (guided != plain).any(axis=2).mean() > 0.1  # the tiny net's global branch is weak
        ws.clear_reference()
        assert ws.global_hint is None and np.array_equal(settled(qtbot, ws), plain)
        bad = tmp_path / "bad.jpg"
        bad.write_bytes(b"\xff\xd8 truncated")
        assert not ws.set_reference_image(bad) and "bad.jpg" in ws.errors[-1][1]
    finally:
        ws.shutdown()


def test_state_round_trips_through_json(qtbot, tmp_path, monkeypatch, workspace):
    workspace.add_hint(5, 6, (255, 0, 0), 1)
    workspace.add_hint(90, 70, (0, 128, 255), 9)
    vector = np.linspace(0, 1, GLOBAL_HINT_SIZE, dtype=np.float32)
    workspace.global_hint = vector
    workspace.set_show_grey(True)
    state, layers = workspace.state()
    assert state["hints"][1] == {"x": 90, "y": 70, "color": "#0080ff", "size": 9}
    assert set(layers) == {PHOTO_LAYER} and layers[PHOTO_LAYER].shape == (H, W)

    other = make_workspace(qtbot, tmp_path, monkeypatch)
    try:
        other.restore(json.loads(json.dumps(state)), {k: v.copy() for k, v in layers.items()})
        assert other.hints.hints == workspace.hints.hints
        assert np.array_equal(other.photo, workspace.photo)
        assert np.array_equal(other.global_hint, vector)
        assert other.show_grey and other.grey_action.isChecked()
        assert other.undo_stack.count() == 0 and other.errors == []
        # a damaged hint is reported; the photo and the readable hints still open
        state["hints"].insert(0, {"x": 500, "y": 1, "color": "#ffffff", "size": 3})
        other.restore(state, layers)
        assert other.hints.hints == workspace.hints.hints
        assert "outside the 96x80 photo" in other.errors[-1][1]
    finally:
        other.shutdown()


def test_a_corrupt_or_oversized_photo_is_reported_and_the_hints_stay(workspace, tmp_path, monkeypatch):
    workspace.add_hint(10, 10, (255, 0, 0), 3)
    photo, hints = workspace.photo.copy(), list(workspace.hints.hints)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    assert not workspace.open_photo(broken)
    assert "broken.png" in workspace.errors[-1][1]
    monkeypatch.setattr(colorize, "MAX_PHOTO_PIXELS", 1000)
    big = tmp_path / "big.png"
    Image.fromarray(grey_photo()).save(big)
    assert not workspace.open_photo(big)
    assert "96x80" in workspace.errors[-1][1]
    assert np.array_equal(workspace.photo, photo) and workspace.hints.hints == hints
    assert workspace.undo_stack.count() == 1


def test_opening_another_photo_keeps_the_hints_unless_the_user_discards_them(
    workspace, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    workspace.add_hint(10, 10, (255, 0, 0), 3)
    hints = list(workspace.hints.hints)
    Image.fromarray(grey_photo()).save(tmp_path / "next.png")
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Cancel)
    assert not workspace.open_file(tmp_path / "next.png")
    assert workspace.hints.hints == hints  # the user's hints are still there
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)
    assert workspace.open_file(tmp_path / "next.png") and workspace.hints.hints == []


def test_a_colour_photo_is_shown_grey_and_seeds_hint_colours(qtbot, tmp_path, monkeypatch):
    ws = make_workspace(qtbot, tmp_path, monkeypatch, [("tiny-colorization", 0)])
    try:
        rgb = colour_photo()
        open_grey(ws, tmp_path, rgb)
        assert ws.photo.shape == (H, W, 3) and ws.grey.shape == (H, W)
        shown = ws.canvas.image_item.pixmap().toImage()
        assert shown.isGrayscale() and (shown.width(), shown.height()) == (W, H)
        ws.add_hint(12, 34)
        assert ws.hints.hints[0].rgb == tuple(int(c) for c in rgb[34, 12])
        result = settled(qtbot, ws)
        # the grey view shows the input's lightness; the colour view the result
        ws.grey_action.setChecked(True)
        assert np.array_equal(ws.output.photo, np.repeat(ws.grey[..., None], 3, axis=2))
        ws.grey_action.setChecked(False)
        assert np.array_equal(ws.output.photo, result)
        path = tmp_path / "out.png"
        assert ws.export_result(path)
        assert np.array_equal(np.asarray(Image.open(path)), result)
    finally:
        ws.shutdown()


def test_export_without_a_result_is_reported(workspace, tmp_path):
    assert not workspace.export_result(tmp_path / "x.png")
    assert workspace.errors[-1][0] == "Nothing to export" and not (tmp_path / "x.png").exists()


def test_render_colorize_mode_screenshot(qtbot, live):
    live.add_hint(20, 20, (230, 60, 40), 5)
    live.add_hint(70, 25, (40, 110, 230), 5)
    live.add_hint(48, 65, (60, 200, 80), 7)
    for rgb in [(230, 60, 40), (40, 110, 230), (60, 200, 80)]:
        live.set_selected_color(rgb)
    live.canvas.fit_to_window()
    settled(qtbot, live)
    qtbot.waitUntil(lambda: len(live.suggestion_buttons) == 8 and not live.output.busy, timeout=20000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "colorize_mode.png"
    assert live.grab().save(str(path))
    assert path.stat().st_size > 10_000
