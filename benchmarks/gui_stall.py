"""How long does the GUI event loop stall while the app trains a model?

Runs real training through the real TrainingPanel (full MNIST training split,
loaded by the worker from --data-dir or $VAE_EXPLORER_DATA) in an offscreen
QApplication. A 5 ms timer on the GUI thread records the gap between its
ticks; a gap much longer than 5 ms is time the window could not react.

Scenarios: the panel's default of one torch thread (core/training/threads.py)
against torch's default thread count (one per core), both with the training thread
at a lower OS priority (the panel's default); one thread at normal priority;
and the same again while a scatter plot like the latent map (one item per
digit) is panned and repainted 10 times a second on the GUI thread and
updated with the new latents after every epoch. Scenarios are interleaved
and repeated, and the gaps pooled, because other programs on a small machine
add noise. A first, small run measures the one-time cost of torch importing
its compiler stack on the first optimizer step of the process.

Targets (issue 3): p99 gap under 30 ms, max under 100 ms.

Usage:
    python benchmarks/gui_stall.py [--data-dir DIR] [--epochs 1] [--threads 1,0]
                                   [--repeats 2] [--scatter both|on|off] [--scatter-points 10000]

Do not set OMP_NUM_THREADS: the script sets torch's thread count itself.
(With PySide6 6.12.0 long runs with the scatter can abort with "deallocating
None", a PySide bug that 6.11 does not have; pin PySide6-Essentials below 6.12.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from vae_explorer.core.data import load_bundled_test_split, resolve_data_dir  # noqa: E402
from vae_explorer.qt.training_panel import TrainingPanel  # noqa: E402

TICK_MS = 5
TARGET_P99_MS = 30.0
TARGET_MAX_MS = 100.0


class TickRecorder:
    """A fast GUI-thread timer that records when each tick actually ran."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.stamps: list[int] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.stamps.append(self.clock.nsecsElapsed()))

    def start(self) -> None:
        self.stamps.clear()
        self.events: list[tuple[float, str]] = []
        self.clock.start()
        self.timer.start()

    def mark(self, what: str) -> None:
        """Note when something happened, to explain the longest gaps afterwards."""
        self.events.append((self.clock.nsecsElapsed() / 1e9, what))

    def stop(self) -> np.ndarray:
        self.timer.stop()
        return np.diff(np.asarray(self.stamps, dtype=np.float64)) / 1e6  # gaps in ms

    def worst(self, gaps: np.ndarray, count: int = 3) -> str:
        """The longest gaps, each with the last event before it."""
        parts = []
        for index in np.argsort(gaps)[::-1][:count]:
            ends_at = self.stamps[index + 1] / 1e9
            before = [what for when, what in self.events if when <= ends_at]
            parts.append(f"{gaps[index]:.0f} ms at {ends_at:.1f} s ({before[-1] if before else 'start'})")
        return "; ".join(parts)


class BusyScatter:
    """A latent-map stand-in: one scatter item per digit, panned and repainted every 100 ms."""

    def __init__(self, points: int, rng: np.random.Generator) -> None:
        self.widget = pg.PlotWidget()
        self.widget.resize(900, 700)
        self.labels = rng.integers(0, 10, points)
        self.items = []
        for digit in range(10):
            item = pg.ScatterPlotItem(size=3, pen=None, brush=pg.intColor(digit, 10), antialias=False)
            self.widget.addItem(item)
            self.items.append(item)
        self.set_points(rng.normal(size=(points, 2)))
        self.widget.show()
        self.repaint_ms: list[float] = []
        self.step = 0
        self.timer = QTimer()
        self.timer.setInterval(100)
        self.timer.timeout.connect(self.pan_and_repaint)

    def set_points(self, xy: np.ndarray) -> None:
        labels = self.labels[: len(xy)]
        xy = xy[: len(labels)]
        for digit, item in enumerate(self.items):
            chosen = xy[labels == digit]
            item.setData(x=chosen[:, 0], y=chosen[:, 1])

    def pan_and_repaint(self) -> None:
        self.step += 1
        shift = 0.2 * np.sin(self.step / 5)
        self.widget.setXRange(-3 + shift, 3 + shift, padding=0)
        started = time.perf_counter()
        self.widget.viewport().repaint()  # synchronous, like a real pan under the mouse
        self.repaint_ms.append((time.perf_counter() - started) * 1e3)


def describe(scenario: tuple, args: argparse.Namespace, default_threads: int) -> str:
    threads, nice, with_scatter = scenario
    label = "training" + (f" + {args.scatter_points // 1000}k-pt scatter" if with_scatter else "")
    thread_label = (str(threads) if threads else f"default={default_threads}") + (
        ", nice" if nice else ", no nice")
    return f"{label} | {thread_label}"


def summarise(gaps: np.ndarray) -> dict[str, float]:
    return {
        "ticks": float(len(gaps)),
        "p50": float(np.percentile(gaps, 50)),
        "p99": float(np.percentile(gaps, 99)),
        "max": float(gaps.max()),
        "over_30": float((gaps > 30).mean() * 100),
    }


def wait_for(app: QApplication, seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def measure_idle(app: QApplication, recorder: TickRecorder, seconds: float) -> np.ndarray:
    recorder.start()
    wait_for(app, seconds)
    return recorder.stop()


def measure_training(
    app: QApplication, args: argparse.Namespace, threads: int, nice: bool,
    scatter: BusyScatter | None, display_set, train_set=None, form_seconds: float = 0.5,
) -> tuple[np.ndarray, float, str, str]:
    panel = TrainingPanel(data_dir=args.data_dir, allow_download=False)
    panel.lower_thread_priority = nice
    panel.set_training_data(train_set)
    panel.resize(420, 980)
    panel.set_display_data(display_set)
    panel.hidden_edit.setText(args.hidden)
    panel.epochs_spin.setValue(args.epochs)
    panel.batch_spin.setValue(args.batch_size)
    # The panel's 0 means its own one-thread default, so torch's default is asked for by count.
    panel.threads_spin.setValue(threads or args.torch_default_threads)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    panel.show()
    wait_for(app, form_seconds)  # the form is on screen, and read, before the user clicks Start

    outcome: list[str] = []
    loop = QEventLoop()
    recorder = TickRecorder()
    panel.trainingFinished.connect(lambda _: (outcome.append("finished"), loop.quit()))
    panel.trainingFailed.connect(lambda m: (outcome.append(f"failed: {m}"), loop.quit()))
    first_progress: list[bool] = []

    def on_progress(_progress) -> None:
        if not first_progress:
            first_progress.append(True)
            recorder.mark("training (data loaded)")

    panel.trainingProgress.connect(on_progress)
    panel.epochSnapshot.connect(lambda snap: recorder.mark(f"epoch {snap.stats.epoch} snapshot"))
    if scatter is not None:
        panel.epochSnapshot.connect(lambda snap: scatter.set_points(snap.latent_mean))
        scatter.timer.start()

    recorder.start()
    recorder.mark("start clicked, loading data")
    started = time.perf_counter()
    if not panel.start():
        raise SystemExit(f"the panel refused to start: {panel.error_label.text()}")
    loop.exec()
    seconds = time.perf_counter() - started
    gaps = recorder.stop()
    if scatter is not None:
        scatter.timer.stop()
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    return gaps, seconds, outcome[0] if outcome else "?", recorder.worst(gaps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="torchvision-layout MNIST folder")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", default="512,256")
    parser.add_argument("--threads", default="1,0", help="torch threads to compare; 0 = torch default")
    parser.add_argument("--scatter", choices=("both", "on", "off"), default="both")
    parser.add_argument("--compare-priority", action=argparse.BooleanOptionalAction, default=True,
                        help="also run 1 thread without lowering the training thread's priority")
    parser.add_argument("--scatter-points", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=2, help="runs per scenario, interleaved")
    parser.add_argument("--form-seconds", type=float, default=0.5,
                        help="before the first run: seconds the form is shown before Start")
    parser.add_argument("--first-run-only", action="store_true", help="measure idle and the first run, then stop")
    args = parser.parse_args()

    if "OMP_NUM_THREADS" in os.environ:
        print(f"note: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} is set; torch's default "
              "thread count then follows it, so the 'torch default' rows are not the real default.")
    root = resolve_data_dir(args.data_dir)
    args.data_dir = str(root)
    app = QApplication.instance() or QApplication(sys.argv)
    display_set = load_bundled_test_split()
    default_threads = args.torch_default_threads = torch.get_num_threads()
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__} default threads "
          f"{default_threads}, Qt platform {app.platformName()}")
    print(f"run: full MNIST training split from {root}, {args.epochs} epoch(s), hidden "
          f"{args.hidden}, batch {args.batch_size}, re-encoding {len(display_set):,} test images "
          f"per epoch; timer every {TICK_MS} ms; gaps in ms (ideal {TICK_MS})")

    thread_counts = [int(t) for t in args.threads.split(",")]
    recorder = TickRecorder()
    idle = summarise(measure_idle(app, recorder, args.idle_seconds))
    rows = [("idle, no training", "-", idle, 0.0, "")]
    # The first run in a process pays one-off costs (oneDNN kernel generation for
    # each new shape, first allocations). Measure it once, on a small set, so the
    # scenarios below compare warm runs.
    gaps, seconds, _, worst = measure_training(
        app, args, thread_counts[0], True, None, display_set, display_set.subset(2000), args.form_seconds)
    rows.append((f"first run (2k imgs, form {args.form_seconds:g} s)", f"{thread_counts[0]}, nice",
                 summarise(gaps), seconds, f"longest: {worst}"))

    scatter_modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.scatter]
    scenarios = []  # (torch threads, lower the training thread's priority, scatter)
    for with_scatter in () if args.first_run_only else scatter_modes:
        scenarios += [(threads, True, with_scatter) for threads in thread_counts]
        if args.compare_priority and not with_scatter:
            scenarios.append((thread_counts[0], False, False))
    rng = np.random.default_rng(0)
    scatter = None
    worst_lines = []
    pooled: dict[tuple, list[np.ndarray]] = {}
    per_run: dict[tuple, list[str]] = {}
    seconds_taken: dict[tuple, list[float]] = {}
    # Repeats interleave the scenarios, so a burst of load from elsewhere hits them alike.
    for repeat in range(args.repeats):
        for scenario in scenarios:
            threads, nice, with_scatter = scenario
            if with_scatter and scatter is None:
                scatter = BusyScatter(args.scatter_points, rng)
                wait_for(app, 0.5)
                scatter.timer.start()
                idle_scatter = summarise(measure_idle(app, recorder, args.idle_seconds))
                scatter.timer.stop()
                rows.append((f"idle + {args.scatter_points // 1000}k-pt scatter", "-", idle_scatter,
                             0.0, f"scatter repaint median {np.median(scatter.repaint_ms):.1f} ms"))
                scatter.repaint_ms.clear()
            gaps, seconds, outcome, worst = measure_training(
                app, args, threads, nice, scatter if with_scatter else None, display_set)
            if outcome != "finished":
                raise SystemExit(f"training did not finish: {outcome}")
            pooled.setdefault(scenario, []).append(gaps)
            per_run.setdefault(scenario, []).append(f"{np.percentile(gaps, 99):.0f}/{gaps.max():.0f}")
            seconds_taken.setdefault(scenario, []).append(seconds)
            worst_lines.append(f"run {repeat + 1}, {describe(scenario, args, default_threads)}: {worst}")
    for scenario in scenarios:
        threads, nice, with_scatter = scenario
        label, thread_label = describe(scenario, args, default_threads).split(" | ")
        note = "p99/max per run: " + ", ".join(per_run[scenario])
        if with_scatter and scatter.repaint_ms:
            note += f"; scatter repaint median {np.median(scatter.repaint_ms):.1f} ms"
        rows.append((label, thread_label, summarise(np.concatenate(pooled[scenario])),
                     float(np.mean(seconds_taken[scenario])), note))
    if scatter is not None:
        scatter.widget.close()

    print()
    print(f"pooled over {args.repeats} run(s) per scenario; 'run s' is the mean wall time of one run")
    print(f"{'scenario':<28} {'threads':<20} {'ticks':>7} {'p50':>7} {'p99':>7} {'max':>8} "
          f"{'>30ms %':>8} {'run s':>7}")
    for label, threads, stats, seconds, note in rows:
        print(f"{label:<28} {threads:<20} {stats['ticks']:>7.0f} {stats['p50']:>7.1f} "
              f"{stats['p99']:>7.1f} {stats['max']:>8.1f} {stats['over_30']:>8.2f} {seconds:>7.1f}"
              + (f"  {note}" if note else ""))
    print("\nlongest gaps (with the last event before each):")
    for line in worst_lines:
        print(f"  {line}")
    print()
    for label, threads, stats, _, _ in rows:
        if label.startswith(("idle", "first run")):
            continue
        ok = stats["p99"] < TARGET_P99_MS and stats["max"] < TARGET_MAX_MS
        print(f"{'PASS' if ok else 'MISS'}  {label}, threads {threads}: p99 {stats['p99']:.1f} ms "
              f"(target < {TARGET_P99_MS:.0f}), max {stats['max']:.1f} ms (target < {TARGET_MAX_MS:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
