"""Training from the app: core's training run, throttled for the GUI, on a lower priority.

gui_training_events() runs on the worker thread (inside a GeneratorThread).
It passes the run's events through, except the per-batch statistics, which it
folds into at most ~20 TrainingProgress reports a second: enough for a smooth
bar and curve, few enough that the event loop is never flooded.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.events import BatchStats, Started
from vae_explorer.core.training.run import TrainingRequest, run_training

DEFAULT_PROGRESS_INTERVAL_S = 0.05
# Niceness added to the training thread: the GUI thread then wins the CPU whenever
# it has work, and training still gets all the time the GUI leaves idle.
TRAINING_NICENESS = 10


@dataclass(frozen=True)
class TrainingProgress:
    """A throttled progress report: the terms are means over the batches since the last one."""

    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    terms: dict[str, float]  # nats per image; "loss" is the objective
    elapsed: float  # seconds, pauses included
    eta: float | None  # seconds left, pauses excluded from the rate

    @property
    def loss(self) -> float:
        return self.terms["loss"]

    @property
    def position(self) -> float:
        """Where training stands, in epochs (1.5 = half way through the second epoch)."""
        return self.epoch - 1 + self.batch / self.batches_per_epoch

    @property
    def fraction(self) -> float:
        return self.position / self.epochs


class _Averager:
    """Sums per-batch terms between two progress reports."""

    def __init__(self) -> None:
        self.count, self.sums = 0, {}

    def add(self, terms: dict[str, float]) -> None:
        self.count += 1
        for name, value in terms.items():
            self.sums[name] = self.sums.get(name, 0.0) + value

    def take(self) -> dict[str, float]:
        means = {name: total / max(self.count, 1) for name, total in self.sums.items()}
        self.count, self.sums = 0, {}
        return means


def lower_this_threads_priority(increment: int = TRAINING_NICENESS) -> bool:
    """Make the calling thread nicer (Linux: niceness is per thread and inherited by
    the threads it starts, such as torch's OpenMP workers). False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except OSError:
        return False
    return True


def gui_training_events(
    request: TrainingRequest,
    control: TrainingControl,
    progress_interval_s: float = DEFAULT_PROGRESS_INTERVAL_S,
    lower_priority: bool = True,
) -> Iterator[object]:
    """The run's events for the GUI, with BatchStats folded into TrainingProgress."""
    if lower_priority:
        lower_this_threads_priority()
    averager = _Averager()
    last_report = -math.inf  # the first batch reports at once
    epochs = request.train_config.epochs
    # The batches' clock starts at Started; a pause while the data loaded is not in it.
    paused_before_start = 0.0
    for event in run_training(request, control):
        if not isinstance(event, BatchStats):
            if isinstance(event, Started):
                paused_before_start = control.paused_seconds
            yield event
            continue
        averager.add(event.terms)
        now = time.perf_counter()
        if now - last_report >= progress_interval_s or event.batch == event.batches_per_epoch:
            last_report = now
            done = (event.epoch - 1) * event.batches_per_epoch + event.batch
            total = epochs * event.batches_per_epoch
            active = max(event.elapsed - (control.paused_seconds - paused_before_start), 0.0)
            eta = active / done * (total - done) if done else None
            yield TrainingProgress(event.epoch, epochs, event.batch, event.batches_per_epoch,
                                   averager.take(), event.elapsed, eta)


__all__ = ["DEFAULT_PROGRESS_INTERVAL_S", "Started", "TrainingProgress", "TrainingRequest",
           "gui_training_events", "lower_this_threads_priority"]
