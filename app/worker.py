"""Runs the engine off the UI thread: loads models and synthesizes, newest request first.

The UI posts requests at paint speed; only the newest pending synthesis runs (older ones are
dropped), and every result carries the stamp of its request so the UI can ignore stale ones.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine import SynthpaintError, load_model
from engine.session import SynthesisModel


@dataclass(frozen=True)
class StyleChoice:
    """What the model should use: an image, optionally blended with a second one, or a seed."""

    image: np.ndarray | None = None
    blend_with: np.ndarray | None = None
    blend: float = 0.0
    seed: int | None = None


@dataclass(frozen=True)
class SynthesisRequest:
    stamp: int
    labels: np.ndarray
    instances: np.ndarray | None = None
    style: StyleChoice | None = None


class EngineWorker(QObject):
    """Lives in its own thread; owns the loaded model. Talk to it through ``EngineClient``."""

    modelLoaded = Signal(object)  # SynthesisModel
    modelFailed = Signal(str)
    synthesized = Signal(int, object, float)  # stamp, uint8 HxWx3, milliseconds
    synthesisFailed = Signal(int, str)
    busyChanged = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.model: SynthesisModel | None = None
        self._lock = threading.Lock()
        self._pending: SynthesisRequest | None = None
        self.runs = 0  # how many syntheses actually ran (coalescing makes it far fewer than requests)
        self._codes: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(image) -> (image, style code)

    def post(self, request: SynthesisRequest) -> None:
        """Called from any thread: replace whatever synthesis is still waiting."""
        with self._lock:
            self._pending = request

    @Slot(str, str)
    def load(self, name_or_path: str, device: str) -> None:
        self.busyChanged.emit(True)
        try:
            self.model = load_model(name_or_path, device=device)
            self._codes.clear()
        except SynthpaintError as exc:
            self.modelFailed.emit(str(exc))
        except Exception as exc:  # a broken model must never take the app down
            self.modelFailed.emit(f"could not load {name_or_path}: {exc!r}")
        else:
            self.modelLoaded.emit(self.model)
        finally:
            self.busyChanged.emit(False)

    @Slot()
    def run_pending(self) -> None:
        with self._lock:
            request, self._pending = self._pending, None
        if request is None or self.model is None:
            return
        self.busyChanged.emit(True)
        start = time.perf_counter()
        try:
            style, seed = self._resolve_style(request.style)
            photo = self.model.synthesize(request.labels, request.instances, style, seed)
        except SynthpaintError as exc:
            self.synthesisFailed.emit(request.stamp, str(exc))
        except Exception as exc:
            self.synthesisFailed.emit(request.stamp, f"synthesis failed: {exc!r}")
        else:
            self.runs += 1
            self.synthesized.emit(request.stamp, photo, (time.perf_counter() - start) * 1000)
        finally:
            self.busyChanged.emit(False)

    def _resolve_style(self, choice: StyleChoice | None) -> tuple[np.ndarray | None, int | None]:
        """Image or seed as they are; a blend of two images as the blend of their style codes."""
        if choice is None or choice.image is None:
            return None, None if choice is None else choice.seed
        if choice.blend_with is None or choice.blend == 0:
            return choice.image, None
        a, b = self._code(choice.image), self._code(choice.blend_with)
        return (1 - choice.blend) * a + choice.blend * b, None

    def _code(self, image: np.ndarray) -> np.ndarray:
        cached = self._codes.get(id(image))
        if cached is None or cached[0] is not image:
            cached = (image, self.model.encode_style(image))
            self._codes[id(image)] = cached
        return cached[1]


class EngineClient(QObject):
    """UI-side handle: starts the worker thread and forwards requests to it without blocking."""

    _load = Signal(str, str)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("synthpaint-engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self._load.connect(self.worker.load)
        self._wake.connect(self.worker.run_pending)
        self.thread.start()
        self._stamp = 0

    def load_model(self, name_or_path: str, device: str = "auto") -> None:
        self._load.emit(str(name_or_path), device)

    def synthesize(
        self, labels: np.ndarray, instances: np.ndarray | None = None, style: StyleChoice | None = None
    ) -> int:
        """Queue a synthesis of a snapshot of ``labels``; returns its stamp."""
        self._stamp += 1
        snapshot = None if instances is None else instances.copy()
        self.worker.post(SynthesisRequest(self._stamp, labels.copy(), snapshot, style))
        self._wake.emit()
        return self._stamp

    def shutdown(self) -> None:
        self.thread.quit()
        self.thread.wait(5000)
