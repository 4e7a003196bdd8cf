"""A modal dialog nobody answers must fail the test that opened it, not hang the suite.

Offscreen, ``QMessageBox.warning`` or a file dialog runs a nested event loop until someone clicks, so
an unexpected one (an error message, a late "save changes?" on close) would stop CI until its time
limit. Every modal entry point is replaced for the whole session by one that records what would
have been shown and answers "no"; a test that expects a dialog patches it itself, as before.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QDialog, QFileDialog, QMessageBox

UNANSWERED: list[str] = []


def _unanswered(name: str, answer):
    def dialog(*args, **_kwargs):
        texts = [str(arg) for arg in args if isinstance(arg, str)]
        UNANSWERED.append(f"{name}({', '.join(texts)})")
        return answer() if callable(answer) else answer

    return dialog


MODAL_ENTRY_POINTS = [
    (QMessageBox, "question", QMessageBox.StandardButton.Discard),
    (QMessageBox, "warning", QMessageBox.StandardButton.Ok),
    (QMessageBox, "critical", QMessageBox.StandardButton.Ok),
    (QMessageBox, "information", QMessageBox.StandardButton.Ok),
    (QDialog, "exec", 0),
    (QFileDialog, "getOpenFileName", ("", "")),
    (QFileDialog, "getSaveFileName", ("", "")),
    (QFileDialog, "getExistingDirectory", ""),
    (QColorDialog, "getColor", QColor),  # an invalid colour: cancelled
]


@pytest.fixture(scope="session", autouse=True)
def no_blocking_dialogs():
    patch = pytest.MonkeyPatch()
    for owner, name, answer in MODAL_ENTRY_POINTS:
        patch.setattr(owner, name, staticmethod(_unanswered(f"{owner.__name__}.{name}", answer)))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def fail_on_unanswered_dialogs(no_blocking_dialogs):
    UNANSWERED.clear()
    yield
    shown, UNANSWERED[:] = list(UNANSWERED), []
    assert not shown, f"a modal dialog would have blocked the app waiting for a click: {shown}"
