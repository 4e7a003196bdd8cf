"""Start the synthpaint app: ``python main.py [--model NAME|PATH] [project.synthpaint | labels.png]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synthpaint", description="Paint pictures with neural networks.")
    parser.add_argument("file", nargs="?", type=Path, help="a .synthpaint project or a label map PNG to open")
    parser.add_argument("--model", help="model name or folder to start with")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.main_window import MainWindow
    from app.project import PROJECT_SUFFIX, discard_recovery, list_recoveries

    app = QApplication(sys.argv[:1])
    app.setApplicationName("synthpaint")
    app.setOrganizationName("synthpaint")
    window = MainWindow(model=args.model)
    window.show()
    recoveries = list_recoveries()
    if args.file is not None:
        if args.file.suffix == PROJECT_SUFFIX:
            window.open_project(args.file)
        else:
            window.open_label_map(args.file)
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
