"""The File → New dialog: label set, size preset and aspect ratio."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QWidget

from engine.labels import LabelSet, builtin_label_sets

SIZES = (256, 512, 1024)
ASPECTS = {
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:2": (3, 2),
    "16:9": (16, 9),
    "3:4": (3, 4),
    "2:3": (2, 3),
    "9:16": (9, 16),
}


def canvas_size(short_side: int, aspect: tuple[int, int]) -> tuple[int, int]:
    """(height, width) with the given short side and width:height ratio, rounded to whole pixels."""
    w_ratio, h_ratio = aspect
    if w_ratio >= h_ratio:
        return short_side, round(short_side * w_ratio / h_ratio)
    return round(short_side * h_ratio / w_ratio), short_side


class NewCanvasDialog(QDialog):
    def __init__(self, label_set: LabelSet, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New canvas")
        self.label_sets = builtin_label_sets()
        if label_set.name not in self.label_sets:
            self.label_sets[label_set.name] = label_set
        self.label_set_box = QComboBox()
        for name, candidate in self.label_sets.items():
            self.label_set_box.addItem(candidate.title, name)
        self.label_set_box.setCurrentIndex(self.label_set_box.findData(label_set.name))
        self.size_box = QComboBox()
        for size in SIZES:
            self.size_box.addItem(f"{size} px", size)
        self.aspect_box = QComboBox()
        self.aspect_box.addItems(list(ASPECTS))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Classes", self.label_set_box)
        form.addRow("Short side", self.size_box)
        form.addRow("Aspect ratio", self.aspect_box)
        form.addRow(buttons)

    def result_label_set(self) -> LabelSet:
        return self.label_sets[self.label_set_box.currentData()]

    def result_size(self) -> tuple[int, int]:
        return canvas_size(self.size_box.currentData(), ASPECTS[self.aspect_box.currentText()])
