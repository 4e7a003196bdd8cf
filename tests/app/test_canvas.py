"""Painting with the mouse changes exactly the expected pixels; undo/redo restore them byte for byte."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.canvas import CanvasView, Tool
from app.document import Document
from engine.labels import get_label_set


@pytest.fixture
def canvas(qtbot):
    document = Document.blank(get_label_set("facades"), 64, 96)
    view = CanvasView(document)
    view.resize(400, 300)
    qtbot.addWidget(view)
    view.show()
    view.set_zoom(2.0)
    view.centerOn(48, 32)
    view.current_id = 3
    return view


def to_view(view: CanvasView, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def drag(qtbot, view, points):
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=to_view(view, *points[0]))
    for x, y in points[1:]:
        qtbot.mouseMove(viewport, to_view(view, x, y))
        # QTest.mouseMove sends no buttons; drive the tool directly like a held button would
        view.drag(QPointF(x, y))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=to_view(view, *points[-1]))


def test_brush_click_paints_a_round_dab_of_the_selected_id_only(qtbot, canvas):
    canvas.set_brush_size(5)
    before = canvas.document.labels.copy()
    drag(qtbot, canvas, [(20.5, 30.5)])
    changed = canvas.document.labels != before
    assert canvas.document.labels[30, 20] == 3
    assert set(np.unique(canvas.document.labels[changed])) == {3}
    ys, xs = np.nonzero(changed)
    assert ys.min() >= 28 and ys.max() <= 32 and xs.min() >= 18 and xs.max() <= 22


def test_a_stroke_is_one_undo_step_and_undo_redo_are_exact(qtbot, canvas):
    original = canvas.document.labels.copy()
    canvas.set_brush_size(3)
    drag(qtbot, canvas, [(10.5, 10.5), (30.5, 12.5), (50.5, 20.5)])
    painted = canvas.document.labels.copy()
    assert (painted != original).sum() > 40
    assert canvas.document.undo_stack.count() == 1
    canvas.document.undo_stack.undo()
    assert np.array_equal(canvas.document.labels, original)
    canvas.document.undo_stack.redo()
    assert np.array_equal(canvas.document.labels, painted)


def test_undo_step_stores_only_the_changed_region(qtbot, canvas):
    canvas.set_brush_size(1)
    drag(qtbot, canvas, [(5.5, 5.5)])
    command = canvas.document.undo_stack.command(0)
    assert command.before.shape == (1, 1) and command.region == (5, 5, 6, 6)


def test_fill_rectangle_line_and_eyedropper(qtbot, canvas):
    labels = canvas.document.labels
    canvas.set_tool(Tool.RECTANGLE)
    drag(qtbot, canvas, [(10.5, 10.5), (19.5, 14.5)])
    assert (labels[10:15, 10:20] == 3).all() and (labels == 3).sum() == 50
    canvas.current_id = 7
    canvas.set_tool(Tool.FILL)
    drag(qtbot, canvas, [(12.5, 12.5)])
    assert (labels[10:15, 10:20] == 7).all() and (labels == 7).sum() == 50
    canvas.set_tool(Tool.LINE)
    canvas.set_brush_size(1)
    canvas.current_id = 4
    drag(qtbot, canvas, [(0.5, 40.5), (20.5, 40.5)])
    assert (labels[40, 0:21] == 4).all() and (labels == 4).sum() == 21
    picked = []
    canvas.picked.connect(picked.append)
    canvas.set_tool(Tool.EYEDROPPER)
    drag(qtbot, canvas, [(15.5, 12.5)])
    assert picked == [7]
    assert canvas.document.undo_stack.count() == 3


def test_eraser_paints_the_background_class(qtbot, canvas):
    canvas.set_tool(Tool.RECTANGLE)
    drag(qtbot, canvas, [(0.5, 0.5), (30.5, 30.5)])
    canvas.set_tool(Tool.ERASER)
    canvas.set_brush_size(1)
    drag(qtbot, canvas, [(5.5, 5.5)])
    assert canvas.document.labels[5, 5] == get_label_set("facades").background_id


def test_wheel_zoom_and_bracket_keys_change_view_and_brush(qtbot, canvas):
    zoom = canvas.zoom
    canvas.set_zoom(zoom * 1.15)
    assert canvas.zoom == pytest.approx(zoom * 1.15)
    size = canvas.brush_size
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.brush_size > size


def test_scroll_bars_show_only_when_zoomed_in_not_while_the_painting_fits(qtbot, canvas):
    bars = (canvas.horizontalScrollBar(), canvas.verticalScrollBar())
    canvas.set_zoom(8.0)  # 768x512 in a 400x300 view: bars to scroll with
    qtbot.waitUntil(lambda: all(bar.isVisible() for bar in bars))
    canvas.fit_to_window()
    qtbot.waitUntil(lambda: not any(bar.isVisible() for bar in bars))
    canvas.set_zoom(canvas.zoom * 1.15)
    qtbot.waitUntil(lambda: all(bar.isVisible() for bar in bars))  # pan margin beyond the edges
