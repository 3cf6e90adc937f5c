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

--kind and --set NAME=VALUE choose the model the form trains (default: the
form's preselected kind, the MLP VAE). --compare-kinds instead alternates the
MLP VAE (the reference) with that model (by default the conv VAE) at one
thread, and prints each one's gaps and the ratio of the two: no kind may stall
the GUI more than the MLP VAE does. It trains on 30k images; the MLP VAE does
--reference-epochs (5) a run, so both runs last about as long (~20 s) and see
the same exposure to background load. --train-images N trains on the first N
images of the training split (read once, before the runs) instead of all of it.

Usage:
    python benchmarks/gui_stall.py [--data-dir DIR] [--epochs 1] [--threads 1,0]
                                   [--repeats 2] [--scatter both|on|off] [--scatter-points 10000]
                                   [--kind vae] [--set architecture=conv] [--train-images N]
    python benchmarks/gui_stall.py --compare-kinds [--kind KIND] [--set NAME=VALUE] [--repeats 2]

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
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDoubleSpinBox,  # noqa: E402
                               QLineEdit, QSpinBox)

from vae_explorer.core.data import load_bundled_test_split, load_dataset, resolve_data_dir  # noqa: E402
from vae_explorer.qt.training_panel import TrainingPanel  # noqa: E402

TICK_MS = 5
TARGET_P99_MS = 30.0
TARGET_MAX_MS = 100.0
REFERENCE = ("vae", (("architecture", "mlp"),))  # the MLP VAE: what --compare-kinds measures against
# At one thread on the 2-core box a conv VAE epoch of 30k images (with the per-epoch test pass and
# map re-encode) takes ~20 s, an MLP VAE epoch ~4 s: the MLP VAE trains 5 epochs per run, so the
# two runs last about as long and their longest gaps come from the same exposure.
COMPARE_TRAIN_IMAGES = 30_000
COMPARE_REFERENCE_EPOCHS = 5


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


def parse_settings(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    settings = []
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise SystemExit(f"--set takes NAME=VALUE, for example architecture=conv; got {pair!r}")
        settings.append((name.strip(), value.strip()))
    return tuple(settings)


def variant_name(kind: str, settings: tuple[tuple[str, str], ...]) -> str:
    return kind + "".join(f" {name}={value}" for name, value in settings)


def fill_form(panel: TrainingPanel, kind: str, settings: tuple[tuple[str, str], ...]) -> None:
    """Pick the kind and set its fields through the form's own editors, as a user would."""
    form = panel.form_box
    if not form.set_kind(kind):
        offered = [form.kind_combo.itemData(i) for i in range(form.kind_combo.count())]
        raise SystemExit(f"the form offers no kind {kind!r}; it offers {', '.join(offered)}")
    for name, value in settings:
        widget = form.field_widget(name)
        if widget is None:
            raise SystemExit(f"kind {kind!r} has no field {name!r}; its fields: {', '.join(form.fields.names())}")
        if isinstance(widget, QComboBox):
            values = [str(widget.itemData(i)) for i in range(widget.count())]
            if value not in values:
                raise SystemExit(f"{name} is one of {', '.join(values)}; got {value!r}")
            widget.setCurrentIndex(values.index(value))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(value.lower() in ("1", "true", "yes", "on"))
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            number = (int if isinstance(widget, QSpinBox) else float)(value)
            widget.setValue(number)
            if widget.value() != number:  # a spin box clamps silently
                raise SystemExit(f"{name} goes from {widget.minimum()} to {widget.maximum()}; got {value}")
        elif isinstance(widget, QLineEdit):
            widget.setText(value)
        else:
            raise SystemExit(f"this script cannot set {name} (a {type(widget).__name__})")


def measure_training(
    app: QApplication, args: argparse.Namespace, threads: int, nice: bool,
    scatter: BusyScatter | None, display_set, train_set=None, form_seconds: float = 0.5,
    variant: tuple[str, tuple] | None = None, epochs: int | None = None,
) -> tuple[np.ndarray, float, str, str]:
    panel = TrainingPanel(data_dir=args.data_dir, allow_download=False)
    panel.lower_thread_priority = nice
    panel.set_training_data(train_set if train_set is not None else args.train_set)
    panel.resize(420, 980)
    panel.set_display_data(display_set)
    kind, settings = variant or (args.kind, args.settings)
    panel.form_box.set_kind(kind)  # first, so --hidden lands in this kind's fields
    if panel.hidden_edit is not None:
        panel.hidden_edit.setText(args.hidden)
    fill_form(panel, kind, settings)  # after --hidden, so --set hidden_sizes=... wins
    panel.epochs_spin.setValue(epochs or args.epochs)
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


def compare_kinds(app: QApplication, args: argparse.Namespace, display_set) -> None:
    """The MLP VAE against another model, alternated at one thread count, no scatter."""
    settings = args.settings
    if args.kind == "vae" and "architecture" not in dict(settings):
        settings = (*settings, ("architecture", "conv"))
    variants = [REFERENCE, (args.kind, settings)]
    names = [variant_name(*variant) for variant in variants]
    if names[0] == names[1]:
        raise SystemExit("--compare-kinds needs a model other than the MLP VAE (--kind, --set)")
    threads = int(args.threads.split(",")[0])
    epochs = [args.reference_epochs, args.epochs]
    print(f"compare: {names[0]} (reference, {epochs[0]} epoch(s) a run) against {names[1]} "
          f"({epochs[1]} epoch(s) a run), {threads} thread(s), training thread niced, alternated, "
          f"{args.repeats} run(s) each")
    # Each kind's first run pays its one-off costs (torch's imports, oneDNN kernels for its
    # shapes); it is reported on its own, so the pooled runs compare warm training.
    first_rows = []
    for index, variant in enumerate(variants):
        gaps, seconds, outcome, worst = measure_training(
            app, args, threads, True, None, display_set, display_set.subset(2000),
            args.form_seconds, variant, epochs=1)
        first_rows.append((f"first run, {names[index]} (2k imgs)", summarise(gaps), seconds, f"longest: {worst}"))
    pooled: list[list[np.ndarray]] = [[], []]
    per_run: list[list[str]] = [[], []]
    seconds_taken: list[list[float]] = [[], []]
    worst_lines = []
    for repeat in range(args.repeats):
        for index, variant in enumerate(variants):
            gaps, seconds, outcome, worst = measure_training(
                app, args, threads, True, None, display_set, variant=variant, epochs=epochs[index])
            if outcome != "finished":
                raise SystemExit(f"training {names[index]} did not finish: {outcome}")
            pooled[index].append(gaps)
            per_run[index].append(f"{np.percentile(gaps, 99):.0f}/{gaps.max():.0f}")
            seconds_taken[index].append(seconds)
            worst_lines.append(f"run {repeat + 1}, {names[index]}: {worst}")
            print(f"  run {repeat + 1}, {names[index]}: p99 {np.percentile(gaps, 99):.1f} ms, "
                  f"max {gaps.max():.1f} ms, {seconds:.1f} s", flush=True)

    stats = [summarise(np.concatenate(runs)) for runs in pooled]
    print()
    print(f"pooled over {args.repeats} run(s) per model; 'run s' is the mean wall time of one run")
    print(f"{'model':<44} {'ticks':>7} {'p50':>7} {'p99':>7} {'max':>8} {'>30ms %':>8} {'run s':>7}")
    rows = first_rows + [(names[i], stats[i], float(np.mean(seconds_taken[i])),
                          "p99/max per run: " + ", ".join(per_run[i])) for i in range(2)]
    for label, row, seconds, note in rows:
        print(f"{label:<44} {row['ticks']:>7.0f} {row['p50']:>7.1f} {row['p99']:>7.1f} {row['max']:>8.1f} "
              f"{row['over_30']:>8.2f} {seconds:>7.1f}  {note}")
    ratio_p99 = stats[1]["p99"] / stats[0]["p99"]
    ratio_max = stats[1]["max"] / stats[0]["max"]
    print(f"\nratio {names[1]} / {names[0]}: p99 {ratio_p99:.2f}, max {ratio_max:.2f}")
    print("\nlongest gaps (with the last event before each):")
    for line in worst_lines:
        print(f"  {line}")
    print()
    for name, row in zip(names, stats):
        ok = row["p99"] < TARGET_P99_MS and row["max"] < TARGET_MAX_MS
        print(f"{'PASS' if ok else 'MISS'}  {name}: p99 {row['p99']:.1f} ms (target < {TARGET_P99_MS:.0f}), "
              f"max {row['max']:.1f} ms (target < {TARGET_MAX_MS:.0f})")
    worse = ratio_p99 > 1 or ratio_max > 1
    print(f"{'MORE' if worse else 'OK  '}  {names[1]} stalls {'more than' if worse else 'no more than'} "
          f"the MLP VAE (p99 x{ratio_p99:.2f}, max x{ratio_max:.2f}); compare with the runs' own spread above")


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
    parser.add_argument("--kind", default="vae", help="the model kind the form trains (its registered name)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="set one of the kind's form fields before Start (repeatable)")
    parser.add_argument("--train-images", type=int, default=None,
                        help=f"train on the first N training images (default: all; {COMPARE_TRAIN_IMAGES:,} "
                             "with --compare-kinds)")
    parser.add_argument("--compare-kinds", action="store_true",
                        help="alternate the MLP VAE with --kind/--set (default: the conv VAE) and compare")
    parser.add_argument("--reference-epochs", type=int, default=COMPARE_REFERENCE_EPOCHS,
                        help="with --compare-kinds: the MLP VAE's epochs per run (the other model: --epochs)")
    args = parser.parse_args()
    args.settings = parse_settings(args.settings)
    if args.compare_kinds and args.train_images is None:
        args.train_images = COMPARE_TRAIN_IMAGES

    if "OMP_NUM_THREADS" in os.environ:
        print(f"note: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} is set; torch's default "
              "thread count then follows it, so the 'torch default' rows are not the real default.")
    root = resolve_data_dir(args.data_dir)
    args.data_dir = str(root)
    app = QApplication.instance() or QApplication(sys.argv)
    display_set = load_bundled_test_split()
    default_threads = args.torch_default_threads = torch.get_num_threads()
    # Without --train-images the worker loads the split itself, inside each measured run.
    args.train_set = None
    split = "full MNIST training split"
    if args.train_images is not None:
        args.train_set = load_dataset("mnist", root, "train", download=False).subset(args.train_images)
        split = f"first {len(args.train_set):,} images of the MNIST training split"
    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__} default threads "
          f"{default_threads}, Qt platform {app.platformName()}")
    print(f"run: {split} from {root}, {args.epochs} epoch(s), hidden "
          f"{args.hidden}, batch {args.batch_size}, re-encoding {len(display_set):,} test images "
          f"per epoch; timer every {TICK_MS} ms; gaps in ms (ideal {TICK_MS})")
    if args.compare_kinds:
        compare_kinds(app, args, display_set)
        return 0
    print(f"model: {variant_name(args.kind, args.settings)}")

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
