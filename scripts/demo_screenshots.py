"""Screenshots of the Impute and Draw tabs, from the real app driven by mouse events.

    QT_QPA_PLATFORM=offscreen python scripts/demo_screenshots.py [--out docs/screenshots]

Writes impute-tab.png (a 3 with its middle rows erased, halfway through the
grid posterior, heat map on the map), impute-done.png (the finished run)
and draw-tab.png (a hand-drawn 7 with its posterior ellipses).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

SEVEN = [[(70, 60), (140, 60), (210, 60)], [(210, 60), (180, 130), (150, 200), (130, 250)]]


def settle(app: QApplication, rounds: int = 5) -> None:
    for _ in range(rounds):
        app.processEvents()
        QTest.qWait(20)


def stroke(canvas, points) -> None:
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[0]))
    for point in points[1:]:
        QTest.mouseMove(canvas, QPoint(*point))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--image", type=int, default=18, help="test image to erase (18 is a 3)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from vae_explorer.qt.app import build_main_window
    from vae_explorer.qt.imputation_panel import METHOD_GRID
    from vae_explorer.qt.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    settings = QSettings(str(Path(tempfile.mkdtemp(prefix="vae-explorer-shots-")) / "settings.ini"),
                         QSettings.Format.IniFormat)
    window, _warnings = build_main_window(args.checkpoint, None, "cpu", settings=settings)
    window.resize(1400, 900)
    window.show()
    settle(app)

    panel = window.imputation_panel
    window.tool_tabs.setCurrentWidget(panel)
    panel.choose_image(args.image)
    QTest.mouseClick(panel.preset_buttons["Middle rows"], Qt.MouseButton.LeftButton)
    panel.set_method(METHOD_GRID)
    QTest.mouseClick(panel.impute_button, Qt.MouseButton.LeftButton)
    panel.run_to_end()
    QTest.mouseClick(panel.zoom_button, Qt.MouseButton.LeftButton)  # the posterior is small at full view
    QTest.mouseClick(panel.impute_button, Qt.MouseButton.LeftButton)
    panel.timer.stop()  # step by hand so the picture is taken at a known point of the run
    while panel._steps is not None and not panel.status_label.text().startswith("Grid posterior: observed rows 0–9"):
        panel._on_tick()
    settle(app)
    window.grab().save(str(out / "impute-tab.png"))
    panel.run_to_end()
    settle(app)
    window.grab().save(str(out / "impute-done.png"))

    drawing = window.drawing_panel
    window.tool_tabs.setCurrentWidget(drawing)
    window.latent_view.auto_range()  # back from the imputation close-up to the whole map
    for points in SEVEN:
        stroke(drawing.canvas, points)
    settle(app)
    window.grab().save(str(out / "draw-tab.png"))

    window.close()
    settle(app, 2)
    for name in ("impute-tab.png", "impute-done.png", "draw-tab.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
