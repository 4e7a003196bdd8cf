"""The style panel: a gallery of style images, random styles by seed, and a blend of two styles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.qt_images import IMAGE_FILTER, qimage_of
from app.synthesis_job import StyleChoice
from engine import SynthpaintError
from engine.labels import IMAGE_SUFFIXES, read_rgb_image
from engine.registry import ASSETS

SHIPPED_STYLES = ASSETS / "styles"
THUMB = 72


def thumbnail(image: np.ndarray) -> QIcon:
    return QIcon(QPixmap.fromImage(qimage_of(image)).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio))


class StylePicker(QWidget):
    """Emits ``styleChanged`` whenever the choice changes; read it with ``choice()``.

    ``current_output`` is a callable giving the latest synthesized photo (for "use output as style").
    """

    styleChanged = Signal()

    def __init__(self, settings: QSettings, current_output: Callable[[], np.ndarray | None], parent=None):
        super().__init__(parent)
        self.settings = settings
        self.current_output = current_output
        self.images: list[np.ndarray | None] = [None]
        self.paths: list[str | None] = [None]  # file of each gallery image (None: none, or an output)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMinimumHeight(2 * THUMB + 30)
        self.gallery.addItem(QListWidgetItem("None"))
        self.gallery.currentRowChanged.connect(self._emit)

        self.add_button = QPushButton("Add style image…")
        self.add_button.clicked.connect(self.add_image_dialog)
        self.output_button = QPushButton("Use current output")
        self.output_button.clicked.connect(self.use_current_output)
        self.random_button = QPushButton("Random style")
        self.random_button.clicked.connect(self.random_style)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(-1, 2**31 - 1)
        self.seed_box.setSpecialValueText("no seed")
        self.seed_box.setValue(-1)
        self.seed_box.valueChanged.connect(self._on_seed_edited)
        self.blend_box = QComboBox()
        self.blend_box.addItem("(no blend)")
        self.blend_box.currentIndexChanged.connect(self._emit)
        self.blend_slider = QSlider(Qt.Orientation.Horizontal)
        self.blend_slider.setRange(0, 100)
        self.blend_slider.valueChanged.connect(self._emit)
        self.note = QLabel()
        self.note.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.gallery)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.output_button)
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.random_button)
        row.addWidget(QLabel("Seed"))
        row.addWidget(self.seed_box)
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("Blend with"))
        row.addWidget(self.blend_box, 1)
        layout.addLayout(row)
        layout.addWidget(self.blend_slider)
        layout.addWidget(self.note)

        for path in sorted(p for p in SHIPPED_STYLES.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            self.add_image(path, remember=False)
        for path in self.settings.value("styles/user", [], type=list) or []:
            if Path(path).is_file():
                self.add_image(Path(path), remember=False)
        self.gallery.setCurrentRow(0)

    # ----- choices -----
    def choice(self) -> StyleChoice:
        seed = self.seed_box.value()
        row = max(self.gallery.currentRow(), 0)
        blend_row = self.blend_box.currentIndex()
        return StyleChoice(
            image=self.images[row],
            blend_with=self.images[blend_row] if blend_row > 0 else None,
            blend=self.blend_slider.value() / 100,
            seed=None if seed < 0 else seed,
        )

    def set_model_capabilities(
        self, random_styles: bool, fallback: str | None, style_images: bool = True
    ) -> None:
        """Seeds only mean something to models with a style encoder or 3D noise; say how others use
        style images. ``style_images`` False (pix2pixHD) greys out what picks or blends images."""
        self.random_button.setEnabled(random_styles)
        self.seed_box.setEnabled(random_styles)
        for widget in (self.gallery, self.add_button, self.output_button, self.blend_box, self.blend_slider):
            widget.setEnabled(style_images)
        if not style_images:
            self.note.setText(
                "This model takes no style image: the seed picks each object's look from its feature "
                "bank, and Select (S) restyles one object in the Object style panel."
            )
        else:
            self.note.setText("" if fallback is None else f"Styles are applied by {fallback}.")

    @property
    def takes_style_images(self) -> bool:
        """Whether the model steers by style images (False for pix2pixHD: see set_model_capabilities)."""
        return self.gallery.isEnabled()

    def selected_path(self) -> str | None:
        """The file of the selected style image (None: no style, or the output used as style)."""
        return self.paths[max(self.gallery.currentRow(), 0)]

    def seed(self) -> int | None:
        return None if self.seed_box.value() < 0 else self.seed_box.value()

    def restore(self, path: str | None, seed: int | None) -> None:
        """Select a project's style image (added to the gallery if new) and seed."""
        row = 0
        if path is not None:
            if path not in self.paths and not self.add_image(Path(path), remember=False):
                path = None
            row = self.paths.index(path) if path is not None else 0
        self.gallery.setCurrentRow(row)
        self.seed_box.setValue(-1 if seed is None else int(seed))

    def select_shipped_style(self) -> bool:
        """Select the first style image shipped in ``assets/styles`` (False when there is none)."""
        shipped = [row for row, path in enumerate(self.paths) if path and Path(path).parent == SHIPPED_STYLES]
        if shipped:
            self.gallery.setCurrentRow(shipped[0])
        return bool(shipped)

    # ----- actions -----
    def add_image(self, path: Path, remember: bool = True) -> bool:
        """Add a style image from a file; one the user adds now (``remember``) is also selected and
        offered again on later runs, while the startup's and a project's are neither."""
        try:
            image = read_rgb_image(path)
        except SynthpaintError as exc:
            QMessageBox.warning(self, "Style image", str(exc))
            return False
        self._append(image, Path(path).stem, str(path))
        if remember:
            user = [p for p in (self.settings.value("styles/user", [], type=list) or []) if p != str(path)]
            self.settings.setValue("styles/user", [*user, str(path)])
            self.gallery.setCurrentRow(self.gallery.count() - 1)
        return True

    def add_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add style image", "", IMAGE_FILTER)
        if path:
            self.add_image(Path(path))

    def use_current_output(self) -> None:
        photo = self.current_output()
        if photo is not None:
            self.add_picture(photo.copy(), "output")

    def add_picture(self, image: np.ndarray, name: str) -> None:
        """Use a picture that is no file (the output, a pasted image) as the style; not remembered."""
        self._append(image, name, None)
        self.gallery.setCurrentRow(self.gallery.count() - 1)

    def random_style(self) -> None:
        self.gallery.setCurrentRow(0)
        self.seed_box.setValue(int(np.random.default_rng().integers(0, 2**31 - 1)))

    def _append(self, image: np.ndarray, name: str, path: str | None) -> None:
        self.images.append(image)
        self.paths.append(path)
        self.gallery.addItem(QListWidgetItem(thumbnail(image), name))
        self.blend_box.addItem(thumbnail(image), name)

    def _on_seed_edited(self) -> None:
        if self.seed_box.value() >= 0 and self.gallery.currentRow() != 0:
            self.gallery.setCurrentRow(0)  # a seed replaces the style image
        self._emit()

    def _emit(self, *_args) -> None:
        self.styleChanged.emit()
