"""How fast the explorer feels: start-up, hover, and map repaints at 10,000 and 70,000 points.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_latency.py [--runs 3] [--repaints 30]

1. Start-up: launches `python -m vae_explorer` as a real process (no arguments:
   shipped model, bundled test split) and reads the wall-clock time at which
   the map's viewport finished its first paint (codes from the numpy quick
   look), and when the torch model was in place (hover decoding works). Reported from just before the
   process is spawned. For scale it also times a bare `python -c "import torch"`
   under the same load, the floor no torch app can go below.
2. Hover: real mouse-move events sent to the map's viewport; time from the
   event to the decoded image being painted in the inspector.
3. Repaint: the whole map viewport redrawn after a pan or zoom step, with
   software rendering (Qt's raster engine offscreen, no OpenGL), at 10,000
   points (test split) and 70,000 (train + test when MNIST is on disk, else
   the test codes repeated with jitter), beside a single ScatterPlotItem with
   a brush per point for comparison.

Targets (issue 12): first map < 1 s, model ready < 2 s, no event-loop wait
above 100 ms from launch to ready, hover p99 < 5 ms, repaint median < 16 ms at
70,000 points.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]


def child_env() -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
                MKL_NUM_THREADS=os.environ.get("MKL_NUM_THREADS", "1"))


def time_startup(runs: int) -> tuple[list[float], list[float], list[float], list[str]]:
    """Seconds from spawning the process to the first painted map, to the model in place and to every tab
    attached, and the app's own report of the longest event-loop waits (ms@stage) in each run."""
    times, usable, ready, gaps = [], [], [], []
    for _ in range(runs):
        env = child_env()
        env["VAE_EXPLORER_REPORT_FIRST_PAINT"] = "1"
        start = time.time()
        result = subprocess.run([sys.executable, "-m", "vae_explorer"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300)
        stamps = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
        if result.returncode != 0 or "first-paint" not in stamps:
            raise SystemExit(f"the app did not start:\n{result.stderr[-2000:]}")
        times.append(float(stamps["first-paint"]) - start)
        usable.append(float(stamps["interactive"]) - start)
        ready.append(float(stamps["ready"]) - start)
        gaps.append(stamps.get("gaps", "?"))
    return times, usable, ready, gaps


def time_loading_phase() -> tuple[float, list[float], list[float]]:
    """While torch and the model load on the helper thread: GUI timer gaps and hover latency (numpy decoder).

    Must run before anything in this process has imported torch.
    """
    import threading

    import numpy as np
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from vae_explorer.qt import app as app_module

    assert "torch" not in sys.modules, "measure the loading phase before torch is imported"
    app = QApplication.instance() or QApplication([])
    window = app_module._quick_window(None, None)
    window.show()
    app.processEvents()
    # What the app's helper thread does at start-up: import torch, load the model, encode the split.
    loader = threading.Thread(target=lambda: app_module.load_session(None, None, "cpu"))
    ticks, hovers = [], []
    rng = np.random.default_rng(0)

    def tick() -> None:
        ticks.append(time.perf_counter())
        start = time.perf_counter()
        window.on_hover(rng.standard_normal(2).astype(np.float32))
        window.hover_panel.canvas.repaint()
        hovers.append((time.perf_counter() - start) * 1000)
        if not loader.is_alive():
            app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    start = time.perf_counter()
    loader.start()
    app.exec()
    loader.join()
    timer.stop()
    window.close()
    gaps = list(np.diff(ticks) * 1000)
    return time.perf_counter() - start, gaps, hovers


def time_bare_torch_import(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], env=child_env(), check=True)
        times.append(time.perf_counter() - start)
    return times


def summary(values_ms: list[float]) -> str:
    values = sorted(values_ms)
    def quantile(q: float) -> float:
        return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]

    return (f"median {statistics.median(values):6.2f} ms · p95 {quantile(0.95):6.2f} ms · p99 {quantile(0.99):6.2f} ms"
            f" · max {values[-1]:6.2f} ms")


def build_window():
    from PySide6.QtWidgets import QApplication

    from vae_explorer.qt.app import build_main_window
    from vae_explorer.qt.theme import apply_dark_theme

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    window, _ = build_main_window(with_training=False)
    window.resize(1400, 900)
    window.show()
    for _ in range(5):
        app.processEvents()
    return app, window


def time_hover(app, window, moves: int) -> list[float]:
    import numpy as np
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    view = window.latent_view
    viewport = view.plot_widget.viewport()
    canvas = window.hover_panel.canvas
    xmin, xmax, ymin, ymax = view.visible_rect()
    rng = np.random.default_rng(0)
    times = []
    for _ in range(moves):
        z = (rng.uniform(xmin, xmax), rng.uniform(ymin, ymax))
        local = QPointF(view.map_to_viewport(*z))
        event = QMouseEvent(QEvent.Type.MouseMove, local, local, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
        start = time.perf_counter()
        app.sendEvent(viewport, event)
        canvas.repaint()  # the decoded image on screen, not just computed
        times.append((time.perf_counter() - start) * 1000)
    return times


def time_repaints(app, window, datasets: dict, repaints: int, rounds: int = 4) -> dict:
    """Pan and zoom repaint times per data set, measured in interleaved rounds.

    Other processes share the cores; interleaving makes a busy spell hit every
    data set alike instead of whichever happened to run during it.
    """
    view = window.latent_view
    viewport = view.plot_widget.viewport()
    times = {name: ([], []) for name in datasets}
    for _ in range(rounds):
        for name, (codes, labels) in datasets.items():
            view.set_points(codes, labels)
            for _ in range(3):  # warm the symbol atlas
                viewport.repaint()
            pan, zoom = times[name]
            for step in range(max(1, repaints // rounds)):
                view.view_box.translateBy(x=0.02 * (-1) ** step, y=0.01)
                start = time.perf_counter()
                viewport.repaint()
                pan.append((time.perf_counter() - start) * 1000)
                view.view_box.scaleBy(s=(0.97, 0.97) if step % 2 == 0 else (1 / 0.97, 1 / 0.97))
                start = time.perf_counter()
                viewport.repaint()
                zoom.append((time.perf_counter() - start) * 1000)
    return times


def time_single_item_with_point_brushes(app, window, codes, labels, repaints: int) -> list[float]:
    """The naive alternative: one ScatterPlotItem, a brush per point."""
    import pyqtgraph as pg

    from vae_explorer.qt.latent_view import DIGIT_COLOURS

    view = window.latent_view
    view.set_points(codes[:0], labels[:0])
    brushes = [pg.mkBrush(*DIGIT_COLOURS[d], 200) for d in range(10)]
    item = pg.ScatterPlotItem(x=codes[:, 0], y=codes[:, 1], pen=None, size=3.5,
                              brush=[brushes[d] for d in labels], antialias=False)
    view.plot_item.addItem(item)
    viewport = view.plot_widget.viewport()
    for _ in range(3):
        viewport.repaint()
    times = []
    for step in range(repaints):
        view.view_box.translateBy(x=0.02 * (-1) ** step, y=0.01)
        start = time.perf_counter()
        viewport.repaint()
        times.append((time.perf_counter() - start) * 1000)
    view.plot_item.removeItem(item)
    return times


def seventy_thousand(session):
    """Codes and labels for train + test from real MNIST if present, else the test codes repeated with jitter."""
    import numpy as np

    from vae_explorer.core.data import load_mnist
    from vae_explorer.core.session import encode_dataset

    for root in (os.environ.get("VAE_EXPLORER_DATA"), str(REPO.parent / "shared" / "mnist")):
        if root and (Path(root) / "MNIST" / "raw").exists():
            train = load_mnist(root, "train", download=False)
            mu, _ = encode_dataset(session.model, train.images)
            return (np.concatenate([mu, session.latent_mu]), np.concatenate([train.labels.numpy(), session.labels]),
                    "real train + test")
    rng = np.random.default_rng(0)
    codes = np.concatenate([session.latent_mu + rng.normal(0, 0.05, session.latent_mu.shape) for _ in range(7)])
    return codes.astype(np.float32), np.tile(session.labels, 7), "test codes x7 with jitter"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start-up, hover and repaint timings of the explorer")
    parser.add_argument("--runs", type=int, default=3, help="start-up runs (each a fresh process)")
    parser.add_argument("--repaints", type=int, default=30, help="repaints per measurement")
    parser.add_argument("--moves", type=int, default=200, help="hover events")
    args = parser.parse_args(argv)

    print(f"machine: {os.cpu_count()} CPU(s), QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']} (software raster)")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    startup, usable, ready, start_gaps = time_startup(args.runs)
    torch_import = time_bare_torch_import(args.runs)
    print("\n1. process start -> first painted latent map (python -m vae_explorer, no arguments)")
    print("   runs: " + ", ".join(f"{t:.2f} s" for t in startup))
    print(f"   median {statistics.median(startup):.2f} s   (target < 1 s, ratio {statistics.median(startup) / 1:.2f})")
    print("   torch model in place (clicks; torch is imported after the first paint): "
          + ", ".join(f"{t:.2f} s" for t in usable) + f"; median {statistics.median(usable):.2f} s (target < 2 s)")
    print("   every tab attached (training, tools): "
          + ", ".join(f"{t:.2f} s" for t in ready) + f"; median {statistics.median(ready):.2f} s")
    print("   longest waits of the GUI event loop, launch to ready (ms@stage it began in; target < 100 ms):")
    for run in start_gaps:
        print(f"     {run}")
    print(f"   for scale, a bare `python -c 'import torch'`: median {statistics.median(torch_import):.2f} s")

    seconds, gaps, hovers = time_loading_phase()
    print(f"\n1b. while torch and the model load ({seconds:.2f} s on the helper thread), a 10 ms GUI timer and numpy hover:")
    print(f"   timer gaps: {summary(gaps)}")
    print(f"   hover decode + repaint: {summary(hovers)}")

    app, window = build_window()
    hover = time_hover(app, window, args.moves)
    print("\n2. hover: mouse-move event -> decoded image repainted in the inspector (target p99 < 5 ms)")
    print(f"   {summary(hover)}")
    from vae_explorer.core.resources import shipped_models

    for title, path in shipped_models():  # every kind, through File > Open
        window.files.open_checkpoint(path)
        for _ in range(5):
            app.processEvents()
        times = time_hover(app, window, args.moves)
        print(f"   {title}: {summary(times)}")
    window.files.open_checkpoint(shipped_models()[0][1])

    session = window.session
    print("\n3. map repaint after a pan / zoom step (whole viewport, pyqtgraph, software rendering)")
    codes, labels, source = seventy_thousand(session)
    datasets = {"10,000": (session.latent_mu, session.labels), f"{len(codes):,}": (codes, labels)}
    times = time_repaints(app, window, datasets, args.repaints)
    for name, (pan, zoom) in times.items():
        print(f"   {name:>6} points  pan : {summary(pan)}")
        print(f"   {name:>6} points  zoom: {summary(zoom)}")
    pan, zoom = times[f"{len(codes):,}"]
    print(f"   ({source}; target < 16 ms, median ratio at {len(codes):,}: {statistics.median(pan + zoom) / 16:.2f})")
    single = time_single_item_with_point_brushes(app, window, codes, labels, args.repaints)
    print(f"   {len(codes):,} points, one item with a brush per point (for comparison): {summary(single)}")
    window.close()
    print(f"\nload average after: {os.getloadavg()[0]:.2f} (other processes share these cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
