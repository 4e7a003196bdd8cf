"""How smooth the window stays while the engine works: the longest event-loop stall during painting.

A timer ticks every millisecond on the UI thread while a scripted user drags the brush across the
canvas (a segment every 16 ms) and a real SPADE network renders in the worker thread. The gap
between consecutive ticks is how long the UI could not react. Target: longest stall <= 16 ms.

    python benchmarks/ui_responsiveness.py [--seconds 5] [--ngf 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.checkpoints import ModelCard, save_model  # noqa: E402
from engine.labels import get_label_set  # noqa: E402
from engine.models.spade import SPADEConfig, SPADEGenerator  # noqa: E402


def write_model(folder: Path, ngf: int) -> Path:
    """A SPADE model (random weights, official SPADE norm) for the facades label set."""
    labels = get_label_set("facades")
    config = SPADEConfig(label_nc=labels.label_nc, ngf=ngf, crop_size=256, norm="spade")
    card = ModelCard(
        name="bench-spade",
        kind="spade",
        architecture=config.to_dict(),
        label_set=labels.to_dict(),
        native_size=config.native_size,
    )
    return save_model(folder, card, {"G": SPADEGenerator(config)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--ngf", type=int, default=16, help="generator width (64 = official size)")
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    from app.canvas import Tool
    from app.main_window import MainWindow

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SYNTHPAINT_HOME"] = tmp
        folder = write_model(Path(tmp) / "models" / "bench-spade", args.ngf)
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.load_model(str(folder))
        window.show()
        deadline = time.perf_counter() + 60
        while window.photo.photo is None and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.005)
        window.document.undo_stack.setClean()

        ticks: list[float] = []
        tick = QTimer()
        tick.timeout.connect(lambda: ticks.append(time.perf_counter()))
        tick.start(1)
        window.canvas.set_tool(Tool.BRUSH)
        window.canvas.current_id = 3
        results_before = window.engine.worker.runs
        start = time.perf_counter()
        window.canvas.press(QPointF(10, 10))
        t = 0.0
        while (now := time.perf_counter()) - start < args.seconds:
            if now - start >= t:  # one brush segment every 16 ms, like a mouse
                phase = t / args.seconds * 8 * np.pi
                window.canvas.drag(QPointF(128 + 100 * np.sin(phase), 128 + 100 * np.cos(1.3 * phase)))
                t += 0.016
            app.processEvents()
        window.canvas.release(QPointF(20, 20))
        tick.stop()
        runs = window.engine.worker.runs - results_before
        gaps = np.diff(ticks) * 1000
        print(f"SPADE ngf {args.ngf} at 256x256 in the worker thread, {args.seconds:.0f} s of brush strokes")
        print(f"  syntheses completed:   {runs} ({window.status_timing.text()} last)")
        print(f"  event-loop ticks:      {len(ticks)}")
        print(f"  longest stall:         {gaps.max():.1f} ms   (target <= 16 ms)")
        print(f"  99th percentile stall: {np.percentile(gaps, 99):.1f} ms")
        window.document.undo_stack.setClean()
        window.close()


if __name__ == "__main__":
    main()
