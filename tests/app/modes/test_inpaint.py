"""The Inpaint tab: exact erase tools and undo, the tiny LaMa sees the hole and only the hole changes,
accept-fill as one undo step, the guide pen, files and project state, a screenshot for review."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QSettings, Qt

from app import raster
from app.modes.inpaint import EraseTool, InpaintWorkspace
from app.project import MAX_CANVAS, Project, load_project, save_project
from engine.labels import get_label_set
from tests.conftest import DATASETS, REPO
from tests.factories_lama import make_tiny_lama

ARTIFACTS = REPO / "tests" / "artifacts"
H, W = 72, 96  # not a multiple of the network's 8: the padding path runs too


def make_photo(h: int = H, w: int = W) -> np.ndarray:
    """A textured gradient, so a fill can be told from what was there."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (h + w)], axis=-1)
    return np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


def make_workspace(qtbot, tmp_path, monkeypatch) -> InpaintWorkspace:
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    workspace = InpaintWorkspace(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(workspace)
    errors = []
    monkeypatch.setattr(workspace, "show_error", lambda title, text: errors.append((title, text)))
    workspace.errors = errors
    workspace.resize(1100, 500)
    workspace.show()
    return workspace


def open_photo(ws: InpaintWorkspace, tmp_path, photo: np.ndarray) -> None:
    Image.fromarray(photo).save(tmp_path / "photo.png")
    assert ws.open_photo(tmp_path / "photo.png")


@pytest.fixture
def workspace(qtbot, tmp_path, monkeypatch):
    """No model installed: the tools, undo and files only."""
    ws = make_workspace(qtbot, tmp_path, monkeypatch)
    open_photo(ws, tmp_path, make_photo())
    yield ws
    ws.shutdown()


def live_workspace(qtbot, tmp_path, monkeypatch, guide_channels: int = 0):
    make_tiny_lama(tmp_path / "home" / "models" / "tiny-lama", guide_channels=guide_channels)
    ws = make_workspace(qtbot, tmp_path, monkeypatch)
    open_photo(ws, tmp_path, make_photo())
    ws.activate()
    qtbot.waitUntil(lambda: ws.model is not None and ws.fill_is_current(), timeout=20000)
    return ws


@pytest.fixture
def live(qtbot, tmp_path, monkeypatch):
    """The tiny LaMa (no guide input) with a photo open and its first result on screen."""
    ws = live_workspace(qtbot, tmp_path, monkeypatch)
    yield ws
    ws.shutdown()


def stroke(ws: InpaintWorkspace, tool: EraseTool, points: list[tuple[float, float]], size: int = 9) -> None:
    ws.set_tool(tool)
    ws.canvas.set_brush_size(size)
    ws.canvas.press(QPointF(*points[0]))
    for x, y in points[1:]:
        ws.canvas.drag(QPointF(x, y))
    ws.canvas.release(QPointF(*points[-1]))


def settled(qtbot, ws: InpaintWorkspace) -> np.ndarray:
    """The result of the document as it is now, once the worker has shown it."""
    qtbot.waitUntil(ws.fill_is_current, timeout=20000)
    return ws.output.photo.copy()


def test_erasing_sends_the_hole_to_the_model_and_only_the_hole_changes(qtbot, live):
    photo = live.document.photo.copy()
    stroke(live, EraseTool.ERASE, [(20.5, 30.5), (60.5, 40.5)])
    shape, (oy, ox) = raster.stroke_mask((20.5, 30.5), (60.5, 40.5), 9)
    expected = np.zeros((H, W), bool)
    expected[oy : oy + shape.shape[0], ox : ox + shape.shape[1]] = shape
    assert np.array_equal(live.document.mask > 0, expected)
    assert set(np.unique(live.document.mask)) == {0, 255}

    shown = settled(qtbot, live)
    assert np.array_equal(shown, live.model.inpaint(photo, expected))
    assert np.array_equal(shown[~expected], photo[~expected])
    changed = np.any(shown != photo, axis=2)
    assert changed[expected].mean() > 0.9  # random weights do not reproduce the photo
    assert not live.errors


def test_a_soft_brush_regenerates_its_whole_footprint_and_blends_the_fill_in_at_the_rim(qtbot, live):
    photo = live.document.photo.copy()
    live.hardness_slider.setValue(30)
    stroke(live, EraseTool.ERASE, [(40.5, 36.5)], size=21)
    coverage = live.document.mask.copy()
    rim = (coverage > 0) & (coverage < 255)
    assert rim.sum() > 50 and (coverage == 255).sum() > 10
    fill = live.model.inpaint(photo, coverage > 0)  # the model sees the whole footprint as the hole
    shown = settled(qtbot, live).astype(float)
    alpha = coverage[..., None] / 255
    np.testing.assert_allclose(shown, photo + (fill.astype(float) - photo) * alpha, atol=0.51)
    assert np.array_equal(shown[coverage == 0], photo[coverage == 0])

    stroke(live, EraseTool.RESTORE, [(40.5, 36.5)], size=9)  # a soft un-erase lowers the coverage
    assert (live.document.mask <= coverage).all() and live.document.mask[36, 40] < coverage[36, 40]
    live.undo_stack.undo()
    assert np.array_equal(live.document.mask, coverage)


def test_an_empty_mask_shows_the_photo_unchanged_without_errors(qtbot, live):
    assert np.array_equal(live.output.photo, live.document.photo)
    assert live.timing.text() == ""  # no fill was computed, so no time to show
    stroke(live, EraseTool.ERASE, [(40.5, 30.5)], size=7)
    assert not np.array_equal(settled(qtbot, live), live.document.photo)
    assert live.timing.text().endswith(" ms")
    stroke(live, EraseTool.RESTORE, [(40.5, 30.5)], size=15)
    assert not live.document.mask.any()
    assert np.array_equal(settled(qtbot, live), live.document.photo)
    assert not live.errors and live.output.message == ""


def test_a_stroke_is_one_region_bounded_undo_step_and_undo_restores_photo_and_mask(workspace):
    photo = workspace.document.photo.copy()
    stroke(workspace, EraseTool.ERASE, [(10.5, 10.5), (30.5, 12.5), (50.5, 20.5)], size=5)
    erased = workspace.document.mask.copy()
    assert (erased > 0).sum() > 100
    assert workspace.undo_stack.count() == 1
    command = workspace.undo_stack.command(0)
    assert command.region == (8, 8, 23, 53) and command.before["mask"].shape == (15, 45)
    assert set(command.before) == {"mask"}  # a stroke never stores the photo
    workspace.undo_stack.undo()
    assert not workspace.document.mask.any()
    assert np.array_equal(workspace.document.photo, photo)
    workspace.undo_stack.redo()
    assert np.array_equal(workspace.document.mask, erased)


def test_rectangle_and_lasso_erasers_and_the_unerase_brush_set_exact_pixels(workspace):
    mask = workspace.document.mask
    stroke(workspace, EraseTool.RECTANGLE, [(10.5, 12.5), (20.5, 14.5), (29.5, 20.5)])
    assert (mask[12:21, 10:30] == 255).all() and (mask > 0).sum() == 9 * 20

    stroke(workspace, EraseTool.LASSO, [(50.5, 10.5), (70.5, 10.5), (70.5, 30.5), (50.5, 30.5)])
    assert (mask[10:31, 50:71] == 255).all() and (mask > 0).sum() == 9 * 20 + 21 * 21

    stroke(workspace, EraseTool.RESTORE, [(15.5, 16.5)], size=1)
    assert mask[16, 15] == 0 and (mask > 0).sum() == 9 * 20 + 21 * 21 - 1
    assert workspace.undo_stack.count() == 3
    for _ in range(3):
        workspace.undo_stack.undo()
    assert not mask.any()


def test_accept_fill_is_one_undo_step_that_restores_photo_and_mask_exactly(qtbot, live):
    original = live.document.photo.copy()
    stroke(live, EraseTool.RECTANGLE, [(30.5, 20.5), (55.5, 45.5)])
    hole = live.document.mask.copy()
    fill = settled(qtbot, live)
    steps = live.undo_stack.count()

    assert live.accept_fill()
    assert live.undo_stack.count() == steps + 1
    assert np.array_equal(live.document.photo, fill)
    assert not live.document.mask.any()
    assert np.array_equal(settled(qtbot, live), fill)  # empty mask: the new photo as it is

    live.undo_stack.undo()
    assert np.array_equal(live.document.photo, original)
    assert np.array_equal(live.document.mask, hole)
    live.undo_stack.redo()
    assert np.array_equal(live.document.photo, fill) and not live.document.mask.any()


def test_accept_waits_for_the_fill_of_the_current_mask(qtbot, live):
    assert not live.accept_fill()  # nothing erased
    stroke(live, EraseTool.ERASE, [(40.5, 30.5)])
    live.result = None  # as if the worker had not answered yet
    assert not live.accept_fill()
    assert live.undo_stack.count() == 1


def test_export_keeps_every_pixel_outside_the_hole(qtbot, live, tmp_path):
    photo = live.document.photo.copy()
    stroke(live, EraseTool.ERASE, [(20.5, 20.5), (70.5, 50.5)], size=11)
    hole = live.document.mask > 0
    fill = settled(qtbot, live)
    assert live.export(tmp_path / "out.png")
    exported = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    assert np.array_equal(exported[~hole], photo[~hole])
    assert np.array_equal(exported, fill)
    assert live.export(tmp_path / "out.jpg")
    assert Image.open(tmp_path / "out.jpg").format == "JPEG"
    assert not live.export(tmp_path / "no-such-folder" / "out.png")
    assert "no-such-folder" in live.errors[-1][1]


def test_guide_pen_is_disabled_with_a_reason_for_a_model_without_guide_input(live):
    action = live.tool_actions[EraseTool.GUIDE]
    assert not live.model.supports_guide
    assert not action.isEnabled()
    assert "tiny-lama" in action.toolTip() and "guide" in action.toolTip()


def test_guide_pen_switches_to_an_installed_guided_model(qtbot, tmp_path, monkeypatch):
    make_tiny_lama(
        tmp_path / "home" / "models" / "tiny-lama-guided", name="tiny-lama-guided", guide_channels=1
    )
    ws = live_workspace(qtbot, tmp_path, monkeypatch)
    try:
        action = ws.tool_actions[EraseTool.GUIDE]
        assert ws.model.card.name == "tiny-lama" and action.isEnabled()
        assert "tiny-lama-guided" in action.toolTip()
        action.trigger()
        qtbot.waitUntil(lambda: ws.model.supports_guide, timeout=20000)
        assert ws.model.card.name == "tiny-lama-guided" and ws.canvas.tool == EraseTool.GUIDE
        assert ws.model_combo.currentText() == "tiny-lama-guided"
        ws.load_model(str(tmp_path / "home" / "models" / "tiny-lama"))  # back to the unguided one
        qtbot.waitUntil(lambda: not ws.model.supports_guide, timeout=20000)
        assert ws.canvas.tool == EraseTool.ERASE and action.isEnabled()
    finally:
        ws.shutdown()


def test_guide_lines_inside_the_hole_steer_a_guided_model(qtbot, tmp_path, monkeypatch):
    ws = live_workspace(qtbot, tmp_path, monkeypatch, guide_channels=1)
    try:
        assert ws.tool_actions[EraseTool.GUIDE].isEnabled()
        photo = ws.document.photo.copy()
        stroke(ws, EraseTool.RECTANGLE, [(20.5, 15.5), (70.5, 55.5)])
        stroke(ws, EraseTool.GUIDE, [(25.5, 35.5), (65.5, 35.5)])
        guide = ws.document.guide
        assert set(np.unique(guide)) == {0, 255} and (guide[34:37, 25:66] == 255).all()
        shown = settled(qtbot, ws)
        hole = ws.document.mask > 0
        assert np.array_equal(shown, ws.model.inpaint(photo, hole, guide))
        assert not np.array_equal(shown, ws.model.inpaint(photo, hole))
    finally:
        ws.shutdown()


def test_a_corrupt_or_huge_photo_is_reported_and_nothing_changes(workspace, tmp_path):
    stroke(workspace, EraseTool.RECTANGLE, [(5.5, 5.5), (15.5, 15.5)])
    photo, mask = workspace.document.photo.copy(), workspace.document.mask.copy()
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert not workspace.open_photo(tmp_path / "broken.jpg")
    assert "broken.jpg" in workspace.errors[-1][1]
    Image.new("L", (MAX_CANVAS + 1, 1)).save(tmp_path / "strip.png")
    assert not workspace.open_photo(tmp_path / "strip.png")
    assert "too large" in workspace.errors[-1][0] and f"{MAX_CANVAS + 1}x1" in workspace.errors[-1][1]
    assert np.array_equal(workspace.document.photo, photo)
    assert np.array_equal(workspace.document.mask, mask)
    assert workspace.undo_stack.count() == 1


@pytest.mark.parametrize("answer", ["Cancel", "Discard", "Save"])
def test_opening_another_photo_asks_before_it_discards_the_erased_work(
    workspace, tmp_path, monkeypatch, answer
):
    from PySide6.QtWidgets import QMessageBox

    stroke(workspace, EraseTool.RECTANGLE, [(5.5, 5.5), (15.5, 15.5)])
    photo, mask = workspace.document.photo.copy(), workspace.document.mask.copy()
    saved = []
    workspace.save_project = lambda: saved.append(True) or True
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a: asked.append(a) or getattr(QMessageBox.StandardButton, answer)
    )
    other = make_photo(20, 30)
    Image.fromarray(other).save(tmp_path / "other.png")
    assert workspace.open_file(tmp_path / "other.png") == (answer != "Cancel")
    assert len(asked) == 1 and saved == ([True] if answer == "Save" else [])
    if answer == "Cancel":
        assert np.array_equal(workspace.document.photo, photo) and np.array_equal(
            workspace.document.mask, mask
        )
    else:
        assert np.array_equal(workspace.document.photo, other) and not workspace.document.mask.any()
        assert workspace.open_file(tmp_path / "other.png") and len(asked) == 1  # nothing unsaved: no question


def test_holding_compare_shows_the_original_photo(qtbot, live):
    stroke(live, EraseTool.ERASE, [(40.5, 30.5), (60.5, 30.5)], size=13)
    fill = settled(qtbot, live)
    qtbot.keyPress(live.canvas, Qt.Key.Key_Backslash)
    assert np.array_equal(live.output.photo, live.document.photo)
    qtbot.keyRelease(live.canvas, Qt.Key.Key_Backslash)
    assert np.array_equal(live.output.photo, fill)
    live.compare_button.pressed.emit()
    assert np.array_equal(live.output.photo, live.document.photo)
    live.compare_button.released.emit()
    assert np.array_equal(live.output.photo, fill)


def test_state_round_trips_through_a_project_file(qtbot, workspace, tmp_path, monkeypatch):
    stroke(workspace, EraseTool.RECTANGLE, [(5.5, 5.5), (25.5, 25.5)])
    workspace.hardness_slider.setValue(40)
    stroke(workspace, EraseTool.ERASE, [(60.5, 40.5)], size=15)  # a soft rim survives the file
    workspace.document.guide[10, 5:20] = 255
    workspace.canvas.set_brush_size(23)
    settings, layers = workspace.state()
    assert set(layers) == {"inpaint_photo", "inpaint_mask", "inpaint_guide"}
    labels = np.zeros((8, 8), np.int32) + 1
    save_project(
        tmp_path / "p.synthpaint",
        Project(get_label_set("facades"), labels, modes={"inpaint": settings}, layers=layers),
    )
    project = load_project(tmp_path / "p.synthpaint")

    other = make_workspace(qtbot, tmp_path, monkeypatch)
    other.restore(project.modes["inpaint"], project.layers)
    assert other.canvas.brush_size == 23 and other.canvas.brush_hardness == 0.4
    assert 0 < workspace.document.mask[40, 54] < 255
    for name in ("photo", "mask", "guide"):
        assert np.array_equal(other.document.layer(name), workspace.document.layer(name))
    other.shutdown()


def test_render_inpaint_mode_screenshot(qtbot, tmp_path, monkeypatch):
    make_tiny_lama(tmp_path / "home" / "models" / "tiny-lama")
    ws = make_workspace(qtbot, tmp_path, monkeypatch)
    try:
        real = DATASETS / "photos" / "set14" / "img_001_SRF_2_HR.jpg"
        if real.exists():
            assert ws.open_photo(real)
        else:
            open_photo(ws, tmp_path, make_photo(256, 320))
        ws.activate()
        qtbot.waitUntil(lambda: ws.model is not None, timeout=20000)
        h, w = ws.document.mask.shape
        stroke(ws, EraseTool.ERASE, [(w * 0.3, h * 0.4), (w * 0.55, h * 0.5)], size=max(8, w // 12))
        stroke(ws, EraseTool.RECTANGLE, [(w * 0.65, h * 0.15), (w * 0.85, h * 0.35)])
        settled(qtbot, ws)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / "inpaint_mode.png"
        assert ws.grab().save(str(path))
        assert path.stat().st_size > 10_000
    finally:
        ws.shutdown()
