"""Start the synthpaint app: ``python main.py [--model NAME|PATH] [PROJECT | LABEL_MAP.png | PHOTO]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synthpaint", description="Paint pictures with neural networks.")
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="a .synthpaint project, a label map PNG, or a photo to use as the style",
    )
    parser.add_argument("--model", help="model name or folder to start with")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.main_window import MainWindow
    from app.project import discard_recovery, list_recoveries

    app = QApplication(sys.argv[:1])
    app.setApplicationName("synthpaint")
    app.setOrganizationName("synthpaint")
    window = MainWindow(model=args.model)
    window.show()
    recoveries = list_recoveries()
    if args.file is not None:
        window.open_path(args.file)  # by what it is, as a file dropped on the window
    elif recoveries:
        path, _ = recoveries[0]
        answer = QMessageBox.question(
            window,
            "Recover your painting?",
            "synthpaint did not close properly last time. Restore the painting it saved automatically?",
        )
        if answer == QMessageBox.StandardButton.Yes and window.open_project(path):
            window.project_path = None
            window.document.undo_stack.resetClean()  # restored work counts as unsaved
        for path, _ in recoveries:
            discard_recovery(path)
    else:
        window.show_example_on_first_start()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
