"""The Sketch tab: exact aliased strokes, exact undo, the tiny pix2pix model sees the sketch, files, state."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QSettings, Qt

from app.modes.sketch import INK, MAX_SKETCH_SIDE, PAPER, SketchTool, SketchWorkspace, sketch_from_image
from tests.conftest import REPO
from tests.factories_pix2pix import make_tiny_pix2pix

ARTIFACTS = REPO / "tests" / "artifacts"


def make_workspace(qtbot, tmp_path, monkeypatch) -> SketchWorkspace:
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    workspace = SketchWorkspace(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(workspace)
    errors = []
    monkeypatch.setattr(workspace, "show_error", lambda title, text: errors.append((title, text)))
    workspace.errors = errors
    workspace.resize(1280, 600)
    workspace.show()
    return workspace


@pytest.fixture
def workspace(qtbot, tmp_path, monkeypatch):
    """No model installed: drawing and files only."""
    ws = make_workspace(qtbot, tmp_path, monkeypatch)
    yield ws
    ws.shutdown()


@pytest.fixture
def live(qtbot, tmp_path, monkeypatch):
    """A tiny pix2pix (native 64x64, one dropout level, default mode official), first result shown."""
    make_tiny_pix2pix(tmp_path / "home" / "models" / "tiny-sketch", name="tiny-sketch", num_downs=6)
    ws = make_workspace(qtbot, tmp_path, monkeypatch)
    ws.activate()
    qtbot.waitUntil(lambda: ws.model is not None and ws.output.photo is not None, timeout=20000)
    yield ws
    ws.shutdown()


def stroke(ws: SketchWorkspace, tool: SketchTool, width: int, points: list[tuple[float, float]]) -> None:
    ws.set_tool(tool)
    ws.set_line_width(width)
    ws.canvas.press(QPointF(*points[0]))
    for x, y in points[1:]:
        ws.canvas.drag(QPointF(x, y))
    ws.canvas.release(QPointF(*points[-1]))


def wait_for_settled_result(qtbot, ws: SketchWorkspace) -> np.ndarray:
    """The photo of the current sketch, once the worker has shown it (stale results are ignored)."""
    stamp = ws.request()
    qtbot.waitUntil(lambda: ws.last_stamp_shown >= stamp, timeout=20000)
    return ws.output.photo.copy()


def test_a_pen_stroke_paints_exactly_the_pixels_within_half_the_width_of_the_path(workspace):
    stroke(workspace, SketchTool.PEN, 3, [(20.5, 30.5), (30.5, 30.5), (40.5, 30.5)])
    # radius 1.5 around y = 30.5, x in [20.5, 40.5]: rows 29..31, and the round caps reach x 19 and 41
    # (the corner pixel centres (19.5, 29.5) lie sqrt(2) < 1.5 away; (18.5, 30.5) lies 2 away)
    expected = np.full((256, 256), PAPER, np.uint8)
    expected[29:32, 19:42] = INK
    assert np.array_equal(workspace.sketch, expected)
    assert workspace.undo_stack.count() == 1


def test_a_single_click_dabs_a_round_dot(workspace):
    stroke(workspace, SketchTool.PEN, 5, [(100.5, 100.5)])
    ys, xs = np.nonzero(workspace.sketch == INK)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (98, 102, 98, 102)
    assert len(ys) == 21  # 5x5 minus the 4 corners (2*sqrt(2) > 2.5)


def test_line_tool_draws_one_straight_segment_between_press_and_release(workspace):
    workspace.set_tool(SketchTool.LINE)
    workspace.set_line_width(1)
    workspace.canvas.press(QPointF(10.5, 10.5))
    workspace.canvas.drag(QPointF(200.5, 30.5))  # wandering in between only moves the preview
    assert (workspace.sketch == PAPER).all()
    assert workspace.canvas._preview is not None
    workspace.canvas.release(QPointF(50.5, 50.5))
    ys, xs = np.nonzero(workspace.sketch == INK)
    assert np.array_equal(np.sort(xs), np.arange(10, 51)) and np.array_equal(ys, xs)  # the diagonal only
    assert workspace.canvas._preview is None


def test_eraser_paints_paper(workspace):
    stroke(workspace, SketchTool.PEN, 9, [(20.5, 50.5), (120.5, 50.5)])
    stroke(workspace, SketchTool.ERASER, 1, [(70.5, 40.5), (70.5, 60.5)])
    assert (workspace.sketch[:, 70] == PAPER).all()
    assert (workspace.sketch[46:55, 69] == INK).all() and (workspace.sketch[46:55, 71] == INK).all()
    assert workspace.undo_stack.count() == 2


def test_undo_and_redo_are_byte_exact_and_store_only_the_changed_box(workspace):
    blank = workspace.sketch.copy()
    stroke(workspace, SketchTool.PEN, 4, [(10.5, 10.5), (60.5, 20.5), (90.5, 80.5)])
    first = workspace.sketch.copy()
    stroke(workspace, SketchTool.ERASER, 6, [(30.5, 5.5), (70.5, 40.5)])
    second = workspace.sketch.copy()
    assert not np.array_equal(first, second)
    edit = workspace.undo_stack.command(1)
    assert edit.before.shape == edit.after.shape and edit.before.size < 60 * 60
    workspace.undo_stack.undo()
    assert np.array_equal(workspace.sketch, first)
    workspace.undo_stack.undo()
    assert np.array_equal(workspace.sketch, blank)
    workspace.undo_stack.redo()
    workspace.undo_stack.redo()
    assert np.array_equal(workspace.sketch, second)


def test_new_and_clear_are_undoable(workspace):
    stroke(workspace, SketchTool.PEN, 4, [(10.5, 10.5), (60.5, 20.5)])
    drawn = workspace.sketch.copy()
    workspace.clear_sketch()
    assert (workspace.sketch == PAPER).all()
    workspace.new_sketch(512)
    assert workspace.sketch.shape == (512, 512) and (workspace.sketch == PAPER).all()
    assert workspace.canvas.image_item.pixels.shape == (512, 512, 3)
    workspace.undo_stack.undo()
    workspace.undo_stack.undo()
    assert np.array_equal(workspace.sketch, drawn)


def test_bracket_keys_and_slider_set_the_line_width(qtbot, workspace):
    workspace.set_line_width(8)
    assert workspace.width_slider.value() == 8
    qtbot.keyClick(workspace.canvas, Qt.Key.Key_BracketRight)
    assert workspace.line_width == 9 and workspace.width_slider.value() == 9
    workspace.width_slider.setValue(2)
    assert workspace.canvas.brush_size == 2


def test_reference_shows_under_the_strokes_and_is_not_sent_to_the_model(workspace):
    reference = np.zeros((128, 128, 3), np.uint8)
    reference[:] = (200, 40, 100)
    stroke(workspace, SketchTool.PEN, 3, [(20.5, 30.5), (40.5, 30.5)])
    workspace.set_reference(reference)  # half the sketch's size: stretched to cover it
    workspace.opacity_slider.setValue(40)
    shown = workspace.canvas.image_item.pixels
    paper = np.rint(255 * 0.6 + np.array([200, 40, 100]) * 0.4)
    assert np.array_equal(shown[200, 200], paper)
    assert np.array_equal(shown[30, 30], [0, 0, 0])  # ink stays black on top
    job_input = {}
    workspace.make_job()(type("Spy", (), {"translate": lambda self, s, **_k: job_input.setdefault("s", s)})())
    assert np.array_equal(job_input["s"], workspace.sketch)
    workspace.set_reference(None)
    assert np.array_equal(workspace.canvas.image_item.pixels[200, 200], [255, 255, 255])
    assert not workspace.opacity_slider.isEnabled()


def test_open_image_becomes_a_grey_sketch_scaled_to_at_most_1024(workspace, tmp_path):
    picture = np.full((600, 2048, 3), (255, 0, 0), np.uint8)
    Image.fromarray(picture).save(tmp_path / "wide.png")
    assert workspace.open_sketch(tmp_path / "wide.png")
    assert workspace.sketch.shape == (300, MAX_SKETCH_SIDE)
    assert (workspace.sketch == 76).all()  # ITU-R 601 luma of pure red
    workspace.undo_stack.undo()
    assert workspace.sketch.shape == (256, 256)


def test_trace_a_photo_makes_an_undoable_sketch_of_its_lines_once_a_model_says_how(qtbot, live, tmp_path):
    assert live.trace_action.isEnabled()
    photo = np.zeros((96, 128, 3), np.uint8)
    photo[20:70, 30:100] = 220
    Image.fromarray(photo).save(tmp_path / "box.png")
    before = live.sketch.copy()
    assert live.trace_photo(tmp_path / "box.png")
    assert np.array_equal(live.sketch, live.model.trace(photo)) and (live.sketch == INK).any()
    labels = np.full((32, 32, 3), (200, 40, 100), np.uint8)
    live.set_reference(labels)  # switching tabs hands over the label painting: the photo stays
    assert np.array_equal(live.canvas.reference, photo) and "traced photo" in live.opacity_slider.toolTip()
    live.clear_sketch()  # to redraw the photo by hand
    assert np.array_equal(live.canvas.reference, photo) and not (live.sketch == INK).any()

    settings, layers = live.state()  # a project keeps the photo under the traced sketch
    other = SketchWorkspace(QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(other)
    try:
        other.restore(settings, layers)
        assert np.array_equal(other.canvas.reference, photo)
    finally:
        other.shutdown()

    live.undo_stack.undo()
    live.undo_stack.undo()
    assert np.array_equal(live.sketch, before)
    assert np.array_equal(live.canvas.reference, labels)  # the photo went with its tracing
    assert "label map" in live.opacity_slider.toolTip()
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    assert not live.trace_photo(tmp_path / "broken.jpg")
    assert "broken.jpg" in live.errors[-1][1] and np.array_equal(live.sketch, before)


@pytest.mark.parametrize("answer", ["Yes", "No", "Cancel"])
def test_opening_a_photo_offers_to_trace_it_and_a_drawing_opens_without_a_question(
    qtbot, live, tmp_path, monkeypatch, answer
):
    from PySide6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a: asked.append(a) or getattr(QMessageBox.StandardButton, answer)
    )
    drawing = np.full((64, 64), PAPER, np.uint8)
    drawing[30:32, 5:60] = INK
    Image.fromarray(drawing).save(tmp_path / "drawing.png")
    assert live.open_file(tmp_path / "drawing.png") and not asked
    assert np.array_equal(live.sketch, drawing)
    photo = np.random.default_rng(5).integers(60, 200, (64, 64, 3), dtype=np.uint8)  # all mid-tones
    Image.fromarray(photo).save(tmp_path / "photo.png")
    assert live.open_file(tmp_path / "photo.png") == (answer != "Cancel") and len(asked) == 1
    expected = {"Yes": live.model.trace(photo), "No": sketch_from_image(photo), "Cancel": drawing}[answer]
    assert np.array_equal(live.sketch, expected)


def test_trace_waits_for_a_model(workspace):
    assert not workspace.trace_action.isEnabled()  # no model installed: nothing says how to draw


def test_a_corrupt_file_shows_a_message_and_keeps_the_sketch(workspace, tmp_path):
    stroke(workspace, SketchTool.PEN, 4, [(10.5, 10.5), (60.5, 20.5)])
    drawn = workspace.sketch.copy()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    assert not workspace.open_sketch(bad)
    assert workspace.errors and "broken.png" in workspace.errors[-1][1]
    assert np.array_equal(workspace.sketch, drawn)
    assert workspace.undo_stack.count() == 1


def test_export_sketch_round_trips_and_missing_output_is_reported(workspace, tmp_path):
    stroke(workspace, SketchTool.PEN, 4, [(10.5, 10.5), (60.5, 20.5)])
    assert workspace.export_sketch(tmp_path / "sketch.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "sketch.png")), workspace.sketch)
    assert not workspace.export_output(tmp_path / "photo.png")
    assert workspace.errors[-1][0] == "Nothing to export"


def test_the_model_receives_the_sketch_and_the_photo_follows_the_drawing(qtbot, live, tmp_path):
    assert live.mode == "official"  # the tiny model's default_mode
    assert live.seed_spin.isEnabled()
    blank_photo = wait_for_settled_result(qtbot, live)
    stroke(live, SketchTool.PEN, 40, [(30.5, 40.5), (220.5, 200.5)])
    photo = wait_for_settled_result(qtbot, live)
    assert photo.shape == (256, 256, 3)
    assert not np.array_equal(photo, blank_photo)
    assert np.array_equal(photo, live.model.translate(live.sketch, mode="official", seed=live.seed))
    live.set_mode("deterministic")
    assert not live.seed_spin.isEnabled()
    deterministic = wait_for_settled_result(qtbot, live)
    assert np.array_equal(deterministic, live.model.translate(live.sketch, mode="deterministic"))
    assert not np.array_equal(deterministic, photo)
    assert live.export_output(tmp_path / "photo.jpg")
    assert Image.open(tmp_path / "photo.jpg").format == "JPEG"


def test_a_new_seed_changes_the_official_photo(qtbot, live):
    live.set_seed(1)
    first = wait_for_settled_result(qtbot, live)
    live.set_seed(2)
    second = wait_for_settled_result(qtbot, live)
    assert not np.array_equal(first, second)
    live.new_seed()
    assert live.seed_spin.value() == live.seed


def test_a_model_without_dropout_offers_no_seed_since_none_changes_its_photo(qtbot, tmp_path, monkeypatch):
    make_tiny_pix2pix(tmp_path / "home" / "models" / "plain", name="plain", num_downs=6, use_dropout=False)
    ws = make_workspace(qtbot, tmp_path, monkeypatch)
    ws.activate()
    qtbot.waitUntil(lambda: ws.model is not None and ws.output.photo is not None, timeout=20000)
    assert ws.mode == "official" and not ws.model.seed_matters
    assert not ws.seed_spin.isEnabled() and not ws.new_seed_button.isEnabled()
    assert "without dropout" in ws.new_seed_button.toolTip()
    sketch = ws.sketch
    one, two = (ws.model.translate(sketch, mode="official", seed=s) for s in (1, 2))
    assert np.array_equal(one, two)  # what the disabled controls say
    ws.shutdown()


def test_state_round_trip(qtbot, workspace, tmp_path, monkeypatch):
    workspace.new_sketch(512)
    stroke(workspace, SketchTool.PEN, 7, [(10.5, 10.5), (400.5, 300.5)])
    workspace.set_mode("deterministic")
    workspace.set_seed(1234)
    settings, layers = workspace.state()
    assert settings == {"mode": "deterministic", "seed": 1234, "line_width": 7}
    assert set(layers) == {"sketch_lines"}

    other = make_workspace(qtbot, tmp_path, monkeypatch)
    try:
        other.restore(settings, layers)
        assert other.state()[0] == settings
        assert np.array_equal(other.sketch, workspace.sketch)
        assert other.undo_stack.count() == 0
    finally:
        other.shutdown()


def test_render_sketch_workspace_screenshot(qtbot, live):
    reference = np.zeros((256, 256, 3), np.uint8)
    reference[:128] = (0, 0, 255)
    reference[128:] = (0, 200, 0)
    live.set_reference(reference)
    stroke(live, SketchTool.PEN, 4, [(40.5, 200.5), (90.5, 60.5), (170.5, 60.5), (220.5, 200.5)])
    stroke(live, SketchTool.LINE, 4, [(40.5, 200.5), (220.5, 200.5)])
    wait_for_settled_result(qtbot, live)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "sketch_mode.png"
    assert live.grab().save(str(path))
    assert path.stat().st_size > 10_000


def test_a_restored_mode_wins_over_the_models_default(qtbot, tmp_path, monkeypatch):
    make_tiny_pix2pix(tmp_path / "home" / "models" / "tiny-sketch", name="tiny-sketch", num_downs=6)
    ws = make_workspace(qtbot, tmp_path, monkeypatch)
    try:
        ws.restore({"mode": "deterministic", "seed": 5}, {})
        ws.activate()
        qtbot.waitUntil(lambda: ws.output.photo is not None, timeout=20000)
        assert ws.model.default_mode == "official" and ws.mode == "deterministic"
        assert np.array_equal(ws.output.photo, ws.model.translate(ws.sketch, mode="deterministic"))
    finally:
        ws.shutdown()


def test_the_pen_takes_the_width_of_the_models_training_lines_unless_the_user_chose_one(
    qtbot, tmp_path, monkeypatch
):
    sketches = {"format": "edges", "edges": "canny", "edge_width": 2}
    folder = tmp_path / "home" / "models" / "tiny-sketch"
    make_tiny_pix2pix(folder, name="tiny-sketch", num_downs=6, training={"sketches": sketches})
    for user_width in (None, 7):
        ws = make_workspace(qtbot, tmp_path, monkeypatch)
        try:
            if user_width is not None:
                ws.width_slider.setValue(user_width)  # as a drag of the slider does
            ws.activate()
            qtbot.waitUntil(lambda ws=ws: ws.model is not None, timeout=20000)
            expected = 2 if user_width is None else user_width
            assert ws.line_width == expected and ws.width_slider.value() == expected
        finally:
            ws.shutdown()
