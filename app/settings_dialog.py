"""Preferences kept in ``QSettings``: device, output resolution, live update, default label set."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from engine.labels import builtin_label_sets

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Preferences:
    device: str = "auto"
    resolution: int = 0  # short side the network runs at; 0 = the model's native size
    live_update: bool = True
    default_label_set: str = "facades"

    @classmethod
    def read(cls, settings: QSettings) -> Preferences:
        default = cls()
        device = str(settings.value("device", default.device))
        label_set = str(settings.value("default_label_set", default.default_label_set))
        return cls(
            device=device if device in DEVICES else default.device,
            resolution=int(settings.value("resolution", default.resolution)),
            live_update=str(settings.value("live_update", default.live_update)).lower() == "true",
            default_label_set=label_set if label_set in builtin_label_sets() else default.default_label_set,
        )

    def write(self, settings: QSettings) -> None:
        settings.setValue("device", self.device)
        settings.setValue("resolution", self.resolution)
        settings.setValue("live_update", self.live_update)
        settings.setValue("default_label_set", self.default_label_set)


class SettingsDialog(QDialog):
    def __init__(self, preferences: Preferences, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.device = QComboBox()
        self.device.addItems(["auto (GPU if available)", "CPU", "CUDA GPU", "Apple GPU (MPS)"])
        self.device.setCurrentIndex(DEVICES.index(preferences.device))
        self.resolution = QSpinBox()
        self.resolution.setRange(0, 2048)
        self.resolution.setSingleStep(64)
        self.resolution.setSpecialValueText("model's native size")
        self.resolution.setSuffix(" px")
        self.resolution.setValue(preferences.resolution)
        self.live = QCheckBox("Update the output while painting")
        self.live.setChecked(preferences.live_update)
        self.label_set = QComboBox()
        for name, label_set in builtin_label_sets().items():
            self.label_set.addItem(label_set.title, name)
        self.label_set.setCurrentIndex(max(0, self.label_set.findData(preferences.default_label_set)))
        ok_cancel = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok_cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Device", self.device)
        form.addRow("Output resolution (short side)", self.resolution)
        form.addRow("", self.live)
        form.addRow("Label set for new canvases", self.label_set)
        form.addRow(buttons)

    def preferences(self) -> Preferences:
        return Preferences(
            device=DEVICES[self.device.currentIndex()],
            resolution=self.resolution.value(),
            live_update=self.live.isChecked(),
            default_label_set=str(self.label_set.currentData()),
        )
