"""The Qt binding itself must be sound: the app emits thousands of signals per painting session."""

import sys

from PySide6.QtCore import QObject, Signal


class Emitter(QObject):
    plain = Signal()
    flag = Signal(bool)
    payload = Signal(object)


def test_signal_emission_keeps_the_reference_counts_of_none_true_and_false():
    """PySide6 6.12.0 on Python 3.11 drops one reference per emission until the interpreter aborts."""
    emitter, received = Emitter(), []
    emitter.plain.connect(lambda: received.append(None))
    emitter.flag.connect(received.append)
    emitter.payload.connect(received.append)
    before = [sys.getrefcount(x) for x in (None, True, False)]
    for _ in range(200):
        emitter.plain.emit()
        emitter.flag.emit(True)
        emitter.flag.emit(False)
        emitter.payload.emit(None)
    received.clear()
    after = [sys.getrefcount(x) for x in (None, True, False)]
    assert all(abs(a - b) < 50 for a, b in zip(after, before, strict=True)), (before, after)
