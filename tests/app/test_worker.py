"""The engine worker coalesces requests and never blocks the UI thread."""

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from app.worker import EngineClient, Job


class SlowModel:
    """Stands in for a slow network: records what it was asked to render."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.seen: list[int] = []
        self.thread: threading.Thread | None = None

    def synthesize(self, labels, instances=None, style=None, seed=None):
        self.thread = threading.current_thread()
        time.sleep(self.seconds)
        self.seen.append(int(labels[0, 0]))
        return np.full((*labels.shape, 3), labels[0, 0], np.uint8)


@pytest.fixture
def client(qtbot):
    client = EngineClient()
    yield client
    client.shutdown()


def test_burst_of_requests_runs_few_times_and_ends_with_the_newest(qtbot, client):
    model = SlowModel(0.05)
    client.worker.model = model
    results = []
    client.worker.synthesized.connect(lambda stamp, photo, ms: results.append((stamp, int(photo[0, 0, 0]))))
    labels = np.zeros((8, 8), np.int32)
    for value in range(1, 21):
        labels[0, 0] = value
        snapshot = labels.copy()
        client.submit(lambda m, snapshot=snapshot: m.synthesize(snapshot))
    qtbot.waitUntil(lambda: bool(results) and results[-1][1] == 20, timeout=5000)
    assert client.worker.runs < 20 / 2
    assert model.seen[-1] == 20
    stamps = [stamp for stamp, _ in results]
    assert stamps == sorted(stamps) and stamps[-1] == 20
    assert model.thread is not threading.main_thread()


def test_the_ui_thread_keeps_processing_events_while_the_model_runs(qtbot, client):
    client.worker.model = SlowModel(0.5)
    done = []
    client.worker.synthesized.connect(lambda *args: done.append(True))
    start = time.perf_counter()
    client.submit(lambda m: m.synthesize(np.zeros((4, 4), np.int32)))
    assert time.perf_counter() - start < 0.1  # submitting returns at once
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    timer.stop()
    assert len(ticks) >= 10  # the event loop ran timers the whole time


def test_a_failing_model_reports_a_message_instead_of_crashing(qtbot, client):
    class Broken:
        def synthesize(self, *args, **kwargs):
            raise ValueError("boom")

    client.worker.model = Broken()
    with qtbot.waitSignal(client.worker.synthesisFailed, timeout=5000) as blocker:
        client.submit(lambda m: m.synthesize(np.zeros((4, 4), np.int32)))
    assert "boom" in blocker.args[1]


def test_progressive_results_share_a_stamp_and_stop_when_a_newer_job_waits(qtbot, client):
    client.worker.model = object()
    results = []
    client.worker.synthesized.connect(lambda stamp, image, ms: results.append((stamp, int(image[0, 0, 0]))))

    def preview_then_full(_model):
        yield np.full((2, 2, 3), 1, np.uint8)
        yield np.full((2, 2, 3), 2, np.uint8)

    stamp = client.submit(preview_then_full)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=5000)
    assert results == [(stamp, 1), (stamp, 2)]

    def superseded(_model):
        client.worker.post(Job(999, lambda m: np.full((2, 2, 3), 9, np.uint8)))  # a newer request arrives
        yield np.full((2, 2, 3), 3, np.uint8)
        yield np.full((2, 2, 3), 4, np.uint8)

    client.submit(superseded)
    qtbot.waitUntil(lambda: results[-1][1] == 3, timeout=5000)
    client._wake.emit()
    qtbot.waitUntil(lambda: results[-1] == (999, 9), timeout=5000)
    assert 4 not in [value for _, value in results]
