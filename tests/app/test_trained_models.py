"""Models exported by our trainers open in the app and render: the path a user takes after training.

Each trainer runs two tiny CPU iterations on synthetic data; the exported folder is installed in the
user's model directory and the app's tab for its kind picks it up and shows a result.
"""

import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QSettings
from PySide6.QtWidgets import QMessageBox

from tests.trainers.synthetic import write_pairs

QUIET = ["--workers", "0", "--no-progress", "--no-tensorboard", "--iters", "2", "--batch", "2"]
LABEL_DATA = ["--format", "folder", "--labelset", "facades", "--size", "32"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHPAINT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Discard)
    return tmp_path / "home" / "models"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def label_data(root):
    write_pairs(root / "images", root / "labels", 4)
    return root


def photo_folder(root, count=4):
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(root / f"p{i}.png")
    return root


def install(run, folder):
    """Put a run's exported model where the app finds installed models."""
    shutil.copytree(run / "model", folder)


def open_window(qtbot, settings, folder):
    from app.main_window import MainWindow

    window = MainWindow(settings=settings, model=str(folder))
    window.show()
    qtbot.waitUntil(lambda: window.model is not None and window.photo.photo is not None, timeout=30000)
    return window


@pytest.mark.parametrize(
    ("trainer", "options"),
    [
        ("spade", ["--ngf", "8", "--ndf", "8"]),
        ("pix2pixhd", ["--ngf", "4", "--ndf", "8", "--n-downsample-global", "2", "--n-blocks-global", "1"]),
    ],
)
def test_a_trained_label_model_paints_in_the_label_tab(qtbot, tmp_path, home, settings, trainer, options):
    import importlib

    module = importlib.import_module(f"trainers.{trainer}")
    data = label_data(tmp_path / "data")
    assert module.main(["--data", str(data), "--out", str(home / "run"), *LABEL_DATA, *options, *QUIET]) == 0
    window = open_window(qtbot, settings, home / "run" / "model")
    assert window.model.kind == trainer
    assert window.photo.photo.shape == (256, 256, 3)
    window.document.undo_stack.setClean()
    window.close()


def test_a_trained_sketch_model_draws_in_the_sketch_tab(qtbot, tmp_path, home, settings):
    from app.modes.sketch import SketchWorkspace
    from trainers import pix2pix

    data = photo_folder(tmp_path / "photos")
    options = ["--format", "edges", "--size", "32", "--ngf", "8", "--ndf", "8", *QUIET]
    assert pix2pix.main(["--data", str(data), "--out", str(tmp_path / "run"), *options]) == 0
    install(tmp_path / "run", home / "sketchy")
    tab = SketchWorkspace(settings)
    qtbot.addWidget(tab)
    try:
        tab.activate()
        qtbot.waitUntil(lambda: tab.model is not None and tab.output.photo is not None, timeout=30000)
        assert tab.model.kind == "pix2pix"
    finally:
        tab.shutdown()


def test_a_trained_colorization_model_colours_in_the_colorize_tab(qtbot, tmp_path, home, settings):
    from app.modes.colorize import ColorizeWorkspace
    from trainers import colorize

    data = photo_folder(tmp_path / "photos")
    options = ["--size", "32", "--width", "4", *QUIET]
    assert colorize.main(["--data", str(data), "--out", str(tmp_path / "run"), *options]) == 0
    install(tmp_path / "run", home / "colours")
    tab = ColorizeWorkspace(settings)
    qtbot.addWidget(tab)
    try:
        tab.activate()
        qtbot.waitUntil(lambda: tab.model is not None, timeout=30000)
        assert tab.open_photo(data / "p0.png")
        qtbot.waitUntil(lambda: tab.output.photo is not None, timeout=30000)
        assert tab.output.photo.shape == (40, 48, 3)
    finally:
        tab.shutdown()


def test_a_trained_inpainting_model_fills_in_the_inpaint_tab(qtbot, tmp_path, home, settings):
    from app.modes.inpaint import InpaintWorkspace
    from trainers import inpaint

    data = photo_folder(tmp_path / "photos")
    options = ["--size", "32", "--ngf", "8", "--n-blocks", "1", "--ndf", "8", *QUIET]
    assert inpaint.main(["--data", str(data), "--out", str(tmp_path / "run"), *options]) == 0
    install(tmp_path / "run", home / "filler")
    tab = InpaintWorkspace(settings)
    qtbot.addWidget(tab)
    try:
        tab.activate()
        qtbot.waitUntil(lambda: tab.model is not None, timeout=30000)
        assert tab.open_photo(data / "p0.png")
        tab.canvas.press(QPointF(10.5, 10.5))
        tab.canvas.drag(QPointF(30.5, 20.5))
        tab.canvas.release(QPointF(30.5, 20.5))
        hole = tab.document.mask > 0
        assert hole.any()
        qtbot.waitUntil(lambda: tab.fill_is_current(), timeout=30000)
        photo = np.asarray(Image.open(data / "p0.png"))
        result = tab.result_photo()
        assert np.array_equal(result[~hole], photo[~hole])
    finally:
        tab.shutdown()
