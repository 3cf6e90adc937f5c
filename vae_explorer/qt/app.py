"""Starting the desktop app: QApplication, model, data, main window.

The default path (no arguments) opens the shipped checkpoint and the bundled
test split with no dialogs and no network. Anything that goes wrong with a
file the user named ends in a message and a fallback, never a traceback.

Start-up happens in two steps so the map shows before torch has loaded:
core.quickstart computes the posterior means in numpy and the window paints
them; right after that first paint, torch is imported, the real session
(frozen torch model, exact codes) is built and the window comes fully alive.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

# Set by benchmarks/gui_latency.py: print wall-clock times of the start-up steps, then quit.
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

    from vae_explorer.core.data import expected_layout, find_raw_files

    root = Path(data_dir).expanduser()
    if find_raw_files(root, "train") is not None:
        return str(root)
    warnings.append(f"MNIST is not in {root}, so the map shows the bundled test split only.\n"
                    f"Expected files:\n{expected_layout(root)}")
    return None


def load_session(checkpoint: str | None, data_dir: str | None, device: str):
    """The torch half of start-up: (session, test split, checked data_dir, device, warnings)."""
    from vae_explorer.core.data import load_bundled_test_split
    from vae_explorer.core.session import ExplorerSession

    warnings: list[str] = []
    loaded = _load_checkpoint_or_default(checkpoint, warnings)
    device = _check_device(device, warnings)
    data_dir = _check_data_dir(data_dir, warnings)
    test_split = load_bundled_test_split()
    return ExplorerSession.create(loaded, test_split), test_split, data_dir, device, warnings


class _FirstPaintProbe(QObject):
    """Calls back once the map's viewport has painted for the first time."""

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
    """Load model and data and build the window in one step (not shown); returns (window, warnings)."""
    from vae_explorer.qt.main_window import MainWindow

    session, test_split, data_dir, device, warnings = load_session(checkpoint, data_dir, device)
    window = MainWindow(session, data_dir=data_dir, device=device, settings=settings, test_split=test_split)
    if with_training:
        attach_training(window)
        attach_demo_panels(window)
    return window, warnings


def attach_training(window) -> None:
    from vae_explorer.qt.training_panel import TrainingPanel

    panel = TrainingPanel(window.data_dir)
    index = panel.device_combo.findData(window.device)  # --device preselects where training runs
    if index >= 0:
        panel.device_combo.setCurrentIndex(index)
    window.attach_training_panel(panel)
    from vae_explorer.qt import replay_link

    replay_link.attach(window)  # beside the Training tab: the run's maps, epoch by epoch


def attach_demo_panels(window) -> None:
    for step in demo_panel_steps(window):
        step()


def demo_panel_steps(window) -> list:
    """Attaching the demo tabs, one callable per tab group (start-up runs them in separate event-loop turns)."""
    from vae_explorer.qt import gaps_link, kind_panels, maths_link
    from vae_explorer.qt.demo_panels import attach

    return [lambda: attach(window), lambda: kind_panels.attach(window),
            lambda: maths_link.attach(window),  # after the Draw tab, whose drawings it explains too
            lambda: gaps_link.attach(window)]


def _quick_window(checkpoint: str | None, data_dir: str | None):
    """A window in its loading state painted from numpy codes, or None when that is not possible."""
    from vae_explorer.core.quickstart import quick_look
    from vae_explorer.core.resources import shipped_checkpoint_path
    from vae_explorer.qt.main_window import MainWindow

    quick = quick_look(checkpoint or shipped_checkpoint_path())
    if quick is None:
        return None
    return MainWindow(None, data_dir=data_dir, quick_look=quick)


class _GapRecorder:
    """For the start-up benchmark: the longest waits of the GUI event loop, by start-up stage."""

    INTERVAL_MS = 5

    def __init__(self):
        self.stage = self._last_stage = "launch"
        self.longest: list[tuple[float, str]] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest.append((1000 * (now - self._last), self._last_stage))  # the stage the wait began in
        self.longest = sorted(self.longest, reverse=True)[:5]
        self._last, self._last_stage = now, self.stage

    def report(self) -> None:
        self._tick()  # the wait up to now counts too
        self._timer.stop()
        print("gaps " + ";".join(f"{ms:.0f}@{stage}" for ms, stage in self.longest), flush=True)


def run_app(checkpoint: str | None = None, data_dir: str | None = None, device: str = "auto") -> int:
    """Open the explorer and run the event loop; returns the exit code."""
    from vae_explorer.qt.platform_check import display_problem_message, missing_display_packages
    from vae_explorer.qt.theme import apply_dark_theme

    missing = [] if QApplication.instance() else missing_display_packages()
    if missing:
        print(display_problem_message(missing), file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("vae-explorer")
    app.setOrganizationName("vae-explorer")
    apply_dark_theme(app)
    report = bool(os.environ.get(FIRST_PAINT_ENV))

    gaps = _GapRecorder() if report else None

    def stamp(name: str) -> None:
        if report:
            print(f"{name} {time.time():.6f}", flush=True)
            gaps.stage = name

    window = _quick_window(checkpoint, data_dir)
    warnings: list[str] = []
    if window is None:  # no quick look: load everything first, then show
        window, warnings = build_main_window(checkpoint, data_dir, device, with_training=False)

    def after_first_paint() -> None:
        stamp("first-paint")
        if report:
            print(f"torch-at-first-paint {'torch' in sys.modules}", flush=True)
        if not window.loading:  # loaded before it was shown (no quick look): the tabs are still to come
            stamp("interactive")
            in_turns([lambda: attach_training(window), *demo_panel_steps(window), finish])
            return
        # torch is imported and the model loaded on a helper thread (core only, no Qt), so the map can
        # already be panned and zoomed meanwhile; a timer on this thread notices when it is done (the GUI
        # never joins and waits). What is left touches widgets and runs here, one step per event-loop turn.
        loaded: list = []

        def load() -> None:
            try:
                loaded.append(load_session(checkpoint, data_dir, device))
            except Exception as exc:  # noqa: BLE001 - e.g. a damaged installation: said on the GUI thread
                loaded.append(exc)

        preload = threading.Thread(target=load, name="vae-explorer-preload", daemon=True)
        helpers.append(preload)
        preload.start()
        poll = QTimer(window)
        poll.setInterval(25)

        def check() -> None:
            if preload.is_alive():
                return
            poll.stop()
            preload.join()
            if isinstance(loaded[0], Exception):
                give_up(loaded[0])
                return
            session, test_split, checked_dir, checked_device, more = loaded[0]
            warnings.extend(more)

            def come_alive() -> None:
                window.device = checked_device
                window.set_data_dir(checked_dir)
                window.finish_loading(session, test_split)
                stamp("interactive")

            in_turns([come_alive, lambda: attach_training(window), *demo_panel_steps(window), finish])

        poll.timeout.connect(check)
        poll.start()

    def in_turns(steps: list) -> None:
        """Run steps one per event-loop turn, so input and paints get through between them."""
        if steps:
            try:
                steps[0]()
            except Exception as exc:  # noqa: BLE001 - say so, never hang half-built
                give_up(exc)
                return
            QTimer.singleShot(0, lambda: in_turns(steps[1:]))

    def give_up(exc: Exception) -> None:
        message = f"vae-explorer could not load its model: {type(exc).__name__}: {exc}"
        print(message, file=sys.stderr, flush=True)
        if not report:
            QMessageBox.critical(window, "vae-explorer", message + "\n\nReinstalling vae-explorer may help.")
        app.exit(2)

    def finish() -> None:
        stamp("ready")
        if report:
            # Start-up must not pay for torchvision (it is only needed to read the training split).
            print(f"modules torchvision={'torchvision' in sys.modules}", flush=True)
            gaps.report()
            window.close()
            app.quit()
            return
        for message in warnings:
            QMessageBox.warning(window, "vae-explorer", message)

    helpers: list[threading.Thread] = []
    _FirstPaintProbe(window.latent_view.plot_widget.viewport(), after_first_paint)
    window.show()
    code = app.exec()
    for thread in helpers:  # closed while torch was still loading: let the import end before exiting
        thread.join()
    return code
