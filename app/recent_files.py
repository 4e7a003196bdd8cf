"""File → Open Recent: the last projects and label maps, remembered across runs in ``QSettings``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu, QWidget

MAX_RECENT = 8
KEY = "recent_files"


class RecentFiles:
    """Keeps the list newest first, without duplicates or files that have disappeared."""

    def __init__(self, settings: QSettings, open_path: Callable[[Path], object], parent: QWidget):
        self.settings = settings
        self.open_path = open_path
        self.menu = QMenu("Open &Recent", parent)
        self.menu.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def paths(self) -> list[Path]:
        stored = self.settings.value(KEY, [], type=list) or []
        return [Path(p) for p in stored if Path(p).is_file()]

    def add(self, path: Path) -> None:
        path = Path(path).resolve()
        paths = [path] + [p for p in self.paths() if p.resolve() != path]
        self.settings.setValue(KEY, [str(p) for p in paths[:MAX_RECENT]])
        self.rebuild()

    def rebuild(self) -> None:
        self.menu.clear()
        paths = self.paths()
        for path in paths:
            self.menu.addAction(path.name, lambda p=path: self.open_path(p)).setToolTip(str(path))
        self.menu.setEnabled(bool(paths))
