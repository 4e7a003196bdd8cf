"""Runs the engine off the UI thread: loads models and runs jobs on them, newest request first.

The UI posts jobs at paint speed; only the newest pending job runs (older ones are dropped), and
every result carries the stamp of its request so the UI can ignore stale ones. A job may yield
several images (a quick low-resolution preview, then the full one): each is shown as it comes,
and the rest is skipped as soon as a newer job is waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine import SynthpaintError, load_model

JobResult = np.ndarray | Iterator[np.ndarray]
JobFunction = Callable[[Any], JobResult]  # the loaded model -> an image, or images, best last


@dataclass(frozen=True)
class Job:
    stamp: int
    run: JobFunction


class EngineWorker(QObject):
    """Lives in its own thread; owns the loaded model. Talk to it through ``EngineClient``."""

    modelLoaded = Signal(object)  # the engine's model runtime
    modelFailed = Signal(str)
    synthesized = Signal(int, object, float)  # stamp, uint8 HxWx3, milliseconds
    synthesisFailed = Signal(int, str)
    busyChanged = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.model: Any = None
        self._lock = threading.Lock()
        self._pending: Job | None = None
        self.runs = 0  # how many jobs actually ran (coalescing makes it far fewer than requests)

    def post(self, job: Job) -> None:
        """Called from any thread: replace whatever job is still waiting."""
        with self._lock:
            self._pending = job

    def has_pending(self) -> bool:
        with self._lock:
            return self._pending is not None

    @Slot(str, str)
    def load(self, name_or_path: str, device: str) -> None:
        self.busyChanged.emit(True)
        try:
            self.model = load_model(name_or_path, device=device)
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
            job, self._pending = self._pending, None
        if job is None or self.model is None:
            return
        self.busyChanged.emit(True)
        start = time.perf_counter()
        try:
            result = job.run(self.model)
            images = [result] if isinstance(result, np.ndarray) else result
            for image in images:
                self.synthesized.emit(job.stamp, image, (time.perf_counter() - start) * 1000)
                if self.has_pending():
                    break  # a newer request supersedes the rest of this one
            self.runs += 1
        except SynthpaintError as exc:
            self.synthesisFailed.emit(job.stamp, str(exc))
        except Exception as exc:
            self.synthesisFailed.emit(job.stamp, f"the model failed: {exc!r}")
        finally:
            self.busyChanged.emit(False)


class EngineClient(QObject):
    """UI-side handle: starts the worker thread and forwards jobs to it without blocking."""

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

    def submit(self, run: JobFunction) -> int:
        """Queue ``run(model)`` (it must own snapshots of its inputs); returns the job's stamp."""
        self._stamp += 1
        self.worker.post(Job(self._stamp, run))
        self._wake.emit()
        return self._stamp

    def shutdown(self) -> None:
        self.thread.quit()
        self.thread.wait(5000)
