"""Soak: 10,000 hover events and 1,000 clicks on the map, 20 train-cancel cycles and 50 checkpoints opened in
a row, all through the real window; the window stays responsive and the process's memory grows by less
than 50 MB.

VAE_EXPLORER_SOAK_SCALE=K multiplies every count (benchmarks/README.md: the longer soak).
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from tests.qt.map_mouse import click, hover
from tests.qt.tiny_run import set_up_tiny_run
from vae_explorer.core.resources import shipped_models

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm"),
              pytest.mark.usefixtures("no_qthread_running_at_all")]
SCALE = int(os.environ.get("VAE_EXPLORER_SOAK_SCALE", "1"))
GROWTH_LIMIT_MB = 50
# Seconds to open at one thread: the VQ-VAE encodes its 10,000 images with convolutions (about 2.5 s),
# and the 20-D model fits a principal plane.
SLOW_TO_OPEN = {"mnist-vqvae", "mnist-20d"}


def resident_mb() -> float:
    """Resident memory once freed memory is handed back (glibc keeps freed blocks otherwise): what is live."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the figure includes the allocator's cache
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak(window, qtbot, data, hovers: int, clicks: int, cycles: int, opens: int) -> tuple[dict, dict]:
    """Run each load once: the longest single step of each (s), and the memory each added (MB)."""
    rng = np.random.default_rng(0)
    view = window.latent_view
    xmin, xmax, ymin, ymax = view.visible_rect()
    points = np.column_stack([rng.uniform(xmin, xmax, hovers), rng.uniform(ymin, ymax, hovers)])
    longest = {"hover": 0.0, "click": 0.0, "train-cancel": 0.0, "open": 0.0}
    added, before = {}, resident_mb()

    def account(name):
        nonlocal before
        now = resident_mb()
        added[name], before = now - before, now

    def timed(name, action):
        start = time.perf_counter()
        action()
        longest[name] = max(longest[name], time.perf_counter() - start)

    for number, point in enumerate(points):
        timed("hover", lambda p=point: hover(view, p))
        if number % 100 == 0:
            QApplication.processEvents()  # paints and timers get their turn, as between real moves
    account("hover")
    for point in points[:clicks]:
        timed("click", lambda p=point: (click(view, p), QApplication.processEvents()))
    account("click")
    panel = window.training_panel
    set_up_tiny_run(panel, data, display=False)
    for _ in range(cycles):
        def train_then_cancel():
            with qtbot.waitSignal(panel.trainingStarted, timeout=30_000):
                panel.start_button.click()
            with qtbot.waitSignal(panel.trainingCancelled, timeout=30_000):
                panel.cancel_button.click()
        timed("train-cancel", train_then_cancel)
    account("train-cancel")
    models = [path for _, path in shipped_models()]
    if not SCALE > 1:  # the minute-long test opens the quick ones; the longer soak every shipped model
        models = [path for path in models if path.stem not in SLOW_TO_OPEN]
    for number in range(opens):
        timed("open", lambda n=number: window.files.open_checkpoint(models[n % len(models)]))
        qtbot.wait(1)  # the event loop runs between opens, as between a user's: deferred deletes happen
    window.files.open_checkpoint(models[0])
    account("open")
    return longest, added


def test_the_window_stays_responsive_and_its_memory_flat_under_a_long_session(main_window, qtbot,
                                                                              bundled_test_set):
    from vae_explorer.qt.app import attach_training

    attach_training(main_window)
    # One round first: caches, lazily built widgets and torch's own pools settle before the baseline.
    soak(main_window, qtbot, bundled_test_set, hovers=300, clicks=30, cycles=1, opens=8)
    baseline = resident_mb()
    start = time.perf_counter()
    longest, added = soak(main_window, qtbot, bundled_test_set, hovers=10_000 * SCALE, clicks=1_000 * SCALE,
                   cycles=20 * SCALE, opens=50 * SCALE)
    seconds = time.perf_counter() - start
    growth = resident_mb() - baseline
    print(f"\nsoak x{SCALE}: {seconds:.1f} s, memory {baseline:.0f} MB -> +{growth:.1f} MB, longest steps "
          + ", ".join(f"{name} {1000 * value:.0f} ms" for name, value in longest.items())
          + "; memory added by " + ", ".join(f"{name} {value:+.1f} MB" for name, value in added.items()))
    assert growth < GROWTH_LIMIT_MB
    # Responsive: no single hover or click holds the GUI thread anywhere near a second, even on a busy box.
    assert longest["hover"] < 0.5 and longest["click"] < 0.5
    assert main_window.training_panel.start_button.isEnabled() and not main_window.training_panel.is_running()
