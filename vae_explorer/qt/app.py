"""Starting the desktop app: QApplication, model, data, main window.

The default path (no arguments) opens the shipped checkpoint and the bundled
test split with no dialogs and no network. Anything that goes wrong with a
file the user named ends in a message and a fallback, never a traceback.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

# Set by benchmarks/gui_latency.py: print the wall-clock time of the first painted map, then quit.
FIRST_PAINT_ENV = "VAE_EXPLORER_REPORT_FIRST_PAINT"


def _load_checkpoint_or_default(path: str | None, warnings: list[str]):
    from vae_explorer.core.checkpoint import CheckpointError, default_checkpoint_path, load_checkpoint

    if path:
        try:
            return load_checkpoint(path)
        except CheckpointError as exc:
            warnings.append(f"Could not open the checkpoint you asked for:\n{exc}\n\n"
                            "The shipped 2-D model is open instead.")
    return load_checkpoint(default_checkpoint_path())


def _check_device(device: str, warnings: list[str]) -> str:
    from vae_explorer.core.devices import DeviceUnavailableError, resolve_device

    try:
        return str(resolve_device(device or "auto"))
    except DeviceUnavailableError as exc:
        warnings.append(f"{exc}. Training will run on the CPU.")
        return "cpu"


def _check_data_dir(data_dir: str | None, warnings: list[str]) -> str | None:
    """Keep data_dir only if it holds the MNIST training files; otherwise say what is missing."""
    if not data_dir:
        return None
    from pathlib import Path

    from vae_explorer.core.data import RAW_FILES, expected_layout

    root = Path(data_dir).expanduser()
    raw = root / "MNIST" / "raw"
    if all((raw / n).exists() or (raw / f"{n}.gz").exists() for n in RAW_FILES["train"]):
        return str(root)
    warnings.append(f"MNIST is not in {root}, so the map shows the bundled test split only.\n"
                    f"Expected files:\n{expected_layout(root)}")
    return None


class _FirstPaintProbe(QObject):
    """Notes when the map's viewport first paints (with its points), for the start-up benchmark."""

    def __init__(self, viewport, on_painted):
        super().__init__(viewport)
        self._on_painted = on_painted
        viewport.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self._on_painted)  # runs once this paint has finished
        return False


def build_main_window(checkpoint: str | None = None, data_dir: str | None = None, device: str = "auto",
                      settings=None, with_training: bool = True):
    """Load model and data and build the window (not shown); returns (window, warnings).

    with_training=False leaves the training tab out; run_app adds it after the
    first paint so the map does not wait for the training form.
    """
    from vae_explorer.core.data import load_bundled_test_split
    from vae_explorer.core.session import ExplorerSession
    from vae_explorer.qt.main_window import MainWindow

    warnings: list[str] = []
    loaded = _load_checkpoint_or_default(checkpoint, warnings)
    device = _check_device(device, warnings)
    data_dir = _check_data_dir(data_dir, warnings)
    test_split = load_bundled_test_split()
    session = ExplorerSession.create(loaded, test_split)
    window = MainWindow(session, data_dir=data_dir, device=device, settings=settings, test_split=test_split)
    if with_training:
        attach_training(window)
        attach_demo_panels(window)
    return window, warnings


def attach_training(window) -> None:
    from vae_explorer.qt.training_panel import TrainingPanel

    window.attach_training_panel(TrainingPanel(window.data_dir))


def attach_demo_panels(window) -> None:
    from vae_explorer.qt.demo_panels import attach

    attach(window)


def run_app(checkpoint: str | None = None, data_dir: str | None = None, device: str = "auto") -> int:
    """Open the explorer and run the event loop; returns the exit code."""
    from vae_explorer.qt.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("vae-explorer")
    app.setOrganizationName("vae-explorer")
    apply_dark_theme(app)
    window, warnings = build_main_window(checkpoint, data_dir, device, with_training=False)
    report = bool(os.environ.get(FIRST_PAINT_ENV))

    def after_first_paint() -> None:
        if report:
            print(f"first-paint {time.time():.6f}", flush=True)
            # Start-up must not pay for torchvision (it is only needed to read the training split).
            print(f"modules torchvision={'torchvision' in sys.modules}", flush=True)
        attach_training(window)
        attach_demo_panels(window)
        if report:
            print(f"training-tab {time.time():.6f}", flush=True)
            window.close()
            app.quit()

    _FirstPaintProbe(window.latent_view.plot_widget.viewport(), after_first_paint)
    window.show()
    for message in warnings:
        # After show(), so the message sits over the window that is already usable.
        QTimer.singleShot(0, lambda m=message: QMessageBox.warning(window, "vae-explorer", m))
    return app.exec()
