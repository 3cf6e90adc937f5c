"""Run the real app offscreen, drive it with mouse events, and save screenshots.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots]

Writes main-window.png (hover, pinned point, a picked digit with its
posterior ellipses, an interpolation path), manifold-overlay.png,
samples.png and training-tab.png; with --data-dir, also
train-and-test-70k.png (all 70,000 MNIST images on the map).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def settle(app: QApplication, rounds: int = 5) -> None:
    for _ in range(rounds):
        app.processEvents()
        QTest.qWait(30)


def move_to(window, x: float, y: float) -> None:
    viewport = window.latent_view.plot_widget.viewport()
    pos = QPointF(window.latent_view.map_to_viewport(x, y))
    event = QMouseEvent(QEvent.Type.MouseMove, pos, viewport.mapToGlobal(pos), Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def click_at(window, x: float, y: float, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    viewport = window.latent_view.plot_widget.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, modifiers, window.latent_view.map_to_viewport(x, y))


def shoot_training(app: QApplication, window, panel, path: Path) -> None:
    """A real run on 10,000 training images, grabbed after its third of five epochs, then cancelled."""
    from vae_explorer.core.data import load_mnist

    panel.set_training_data(load_mnist(window.data_dir, "train", download=False).subset(10_000))
    panel.epochs_spin.setValue(5)
    grabbed = []

    def on_snapshot(snapshot) -> None:
        if snapshot.stats.epoch == 3 and not grabbed:
            settle(app)
            window.grab().save(str(path))
            grabbed.append(True)
            panel.cancel()

    panel.epochSnapshot.connect(on_snapshot)
    panel.start()
    deadline = time.monotonic() + 120
    while panel.is_running() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    panel.epochSnapshot.disconnect(on_snapshot)
    settle(app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--data-dir", default=None,
                        help="MNIST folder: also save the map of all 70,000 training and test images")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from vae_explorer.qt.app import build_main_window
    from vae_explorer.qt.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    settings_dir = tempfile.mkdtemp(prefix="vae-explorer-shots-")
    settings = QSettings(str(Path(settings_dir) / "settings.ini"), QSettings.Format.IniFormat)
    window, _warnings = build_main_window(args.checkpoint, args.data_dir, "cpu", settings=settings)
    window.resize(1400, 900)
    window.show()
    settle(app)

    session = window.session
    mu = session.latent_mu
    # A well-separated digit to click: the test image whose mean is nearest the centre of the 0s.
    zeros = np.flatnonzero(session.labels == 0)
    centre = np.median(mu[zeros], axis=0)
    picked = zeros[np.argmin(np.linalg.norm(mu[zeros] - centre, axis=1))]
    click_at(window, *mu[picked])
    ones = np.flatnonzero(session.labels == 1)
    seven = np.flatnonzero(session.labels == 7)
    start = np.median(mu[ones], axis=0)
    end = np.median(mu[seven], axis=0)
    window.latent_view.set_class_visible(5, True)
    click_at(window, *start, modifiers=Qt.KeyboardModifier.ShiftModifier)
    click_at(window, *end, modifiers=Qt.KeyboardModifier.ShiftModifier)
    # Pin an empty-ish spot between clusters, then hover somewhere else.
    (xmin, xmax, ymin, ymax) = window.latent_view.visible_rect()
    pin = np.array([xmin + 0.8 * (xmax - xmin), ymin + 0.85 * (ymax - ymin)])
    click_at(window, *pin)
    move_to(window, *(0.5 * (start + end)))
    settle(app)
    window.grab().save(str(out / "main-window.png"))

    window.clear_marks()
    window.manifold_check.setChecked(True)
    window.tool_tabs.setCurrentWidget(window.manifold_panel)
    settle(app)
    window.grab().save(str(out / "manifold-overlay.png"))

    window.manifold_check.setChecked(False)
    window.tool_tabs.setCurrentWidget(window.sampling_panel)
    settle(app)
    window.grab().save(str(out / "samples.png"))

    if window.training_panel is not None:
        panel = window.training_panel
        window.tool_tabs.setCurrentWidget(panel)
        settle(app)
        if window.data_dir:
            shoot_training(app, window, panel, out / "training-tab.png")
        else:
            window.grab().save(str(out / "training-tab.png"))

    if window.data_dir and window.show_split("train+test"):
        window.tool_tabs.setCurrentWidget(window.manifold_panel)
        zeros = np.flatnonzero(window.session.labels == 0)
        click_at(window, *window.session.latent_mu[zeros[0]])
        settle(app)
        window.grab().save(str(out / "train-and-test-70k.png"))

    window.close()
    settle(app, 2)
    for png in sorted(out.glob("*.png")):
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
