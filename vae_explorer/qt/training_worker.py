"""The background side of training from the app.

TrainingWorker wraps core.training.Trainer for a Qt thread: it loads the data,
trains, and after every epoch re-encodes the displayed split with the current
weights. Everything it sends to the GUI is a copy (numbers, numpy arrays, a
frozen CPU copy of the model), so the GUI never touches tensors the trainer is
still changing. TrainingThread runs one worker in its own QThread.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal, SignalInstance

import vae_explorer
from vae_explorer.core.checkpoint import Checkpoint
from vae_explorer.core.config import ConfigError, ModelConfig, TrainConfig
from vae_explorer.core.data import (
    DataUnavailableError,
    ImageSet,
    load_bundled_test_split,
    load_mnist,
    resolve_data_dir,
)
from vae_explorer.core.devices import DeviceUnavailableError, resolve_device
from vae_explorer.core.model import VAE, build_model
from vae_explorer.core.session import encode_dataset, frozen_copy
from vae_explorer.core.training import (
    BatchStats,
    EpochStats,
    Trainer,
    TrainingControl,
    TrainingDiverged,
    summary_metrics,
)

log = logging.getLogger(__name__)


# At most this many progress signals per second: enough for a smooth bar and
# curve, few enough that the GUI event loop is never flooded.
DEFAULT_PROGRESS_INTERVAL_S = 0.05


@dataclass(frozen=True)
class TrainingRequest:
    """Everything one run needs; plain data, built on the GUI thread."""

    model_config: ModelConfig
    train_config: TrainConfig
    data_dir: str | None = None
    allow_download: bool = True
    # Given sets skip loading (tests, benchmarks). Otherwise the training split is
    # loaded from data_dir and the test split is the bundled one.
    train_set: ImageSet | None = None
    test_set: ImageSet | None = None
    # The split re-encoded after every epoch for the map; None means the test split.
    display_set: ImageSet | None = None


@dataclass(frozen=True)
class TrainingProgress:
    """A throttled progress report: losses are means over the batches since the last one."""

    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    loss: float  # nats per image
    reconstruction: float
    kl: float
    elapsed: float  # seconds, pauses included
    eta: float | None  # seconds left, pauses excluded from the rate

    @property
    def position(self) -> float:
        """Where training stands, in epochs (1.5 = half way through the second epoch)."""
        return self.epoch - 1 + self.batch / self.batches_per_epoch

    @property
    def fraction(self) -> float:
        return self.position / self.epochs


@dataclass(frozen=True)
class TrainingSnapshot:
    """The model after one epoch, with the displayed split encoded by it."""

    model: VAE  # frozen CPU copy, safe to use on the GUI thread
    latent_mu: np.ndarray  # (N, latent_dim) posterior means of the display data
    latent_logvar: np.ndarray  # (N, latent_dim)
    stats: EpochStats


class TimedControl(TrainingControl):
    """TrainingControl that also measures time spent paused, so the ETA ignores it."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._paused_at: float | None = None
        self._paused_total = 0.0

    def pause(self) -> None:
        with self._lock:
            if self._paused_at is None:
                self._paused_at = time.perf_counter()
            super().pause()

    def resume(self) -> None:
        with self._lock:
            self._close_pause()
            super().resume()

    def cancel(self) -> None:
        with self._lock:
            self._close_pause()
            super().cancel()

    def _close_pause(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.perf_counter() - self._paused_at
            self._paused_at = None

    @property
    def paused_seconds(self) -> float:
        with self._lock:
            current = time.perf_counter() - self._paused_at if self._paused_at is not None else 0.0
            return self._paused_total + current


def describe_failure(exc: BaseException, device: str) -> str:
    """A message for the user: what went wrong, and what to try."""
    unchanged = "The previous model is still loaded."
    if isinstance(exc, TrainingDiverged):
        where = str(exc).split(";")[0]
        return (
            f"Training diverged: {where}. Try a smaller learning rate (for example 1e-3). "
            f"{unchanged}"
        )
    out_of_memory = isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )
    if out_of_memory:
        return (
            f"Training ran out of memory on {device}. Try a smaller batch size or smaller "
            f"hidden layers{', or train on the CPU' if device != 'cpu' else ''}. {unchanged}"
        )
    if isinstance(exc, DataUnavailableError):
        return f"The training data is not available. {exc}\n{unchanged}"
    if isinstance(exc, (DeviceUnavailableError, ConfigError)):
        return f"Cannot start training: {exc}. {unchanged}"
    return f"Training failed: {type(exc).__name__}: {exc}. {unchanged}"


@dataclass
class _BatchAverager:
    """Sums per-batch losses between two progress reports."""

    count: int = 0
    sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])

    def add(self, stats: BatchStats) -> None:
        self.count += 1
        for i, value in enumerate((stats.loss, stats.reconstruction, stats.kl)):
            self.sums[i] += value

    def take(self) -> tuple[float, float, float]:
        means = tuple(s / max(self.count, 1) for s in self.sums)
        self.count, self.sums = 0, [0.0, 0.0, 0.0]
        return means  # type: ignore[return-value]


class TrainingWorker(QObject):
    """Runs one training request; call run() on the thread that should do the work.

    Exactly one of finished / failed / cancelled is emitted, as the last signal.
    """

    status = Signal(str)  # what the worker is doing now ("Loading training data")
    progress = Signal(object)  # TrainingProgress, throttled
    epochSnapshot = Signal(object)  # TrainingSnapshot, once per epoch
    finished = Signal(object)  # Checkpoint
    failed = Signal(str)  # a message for the user
    cancelled = Signal()

    def __init__(
        self,
        request: TrainingRequest,
        control: TimedControl | None = None,
        progress_interval_s: float = DEFAULT_PROGRESS_INTERVAL_S,
    ):
        super().__init__()
        self.request = request
        self.control = control or TimedControl()
        self.progress_interval_s = progress_interval_s
        # Set by the GUI when it stops waiting for this worker: say nothing more.
        self.abandoned = False

    def _send(self, signal: SignalInstance, *args: object) -> None:
        if not self.abandoned:
            signal.emit(*args)

    def run(self) -> None:
        # Trainer.run() sets torch's thread count for the run and restores it itself.
        device = self.request.train_config.device
        try:
            device = str(resolve_device(device))
            checkpoint = self._train(device)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            if not isinstance(exc, (TrainingDiverged, DataUnavailableError)):
                log.exception("training failed")
            self._send(self.failed, describe_failure(exc, device))
            return
        if checkpoint is None:
            self._send(self.cancelled)
        else:
            self._send(self.finished, checkpoint)

    def _train(self, device: str) -> Checkpoint | None:
        request, control = self.request, self.control
        config = request.train_config
        train_set = request.train_set
        if train_set is None:
            root = resolve_data_dir(request.data_dir)
            self._send(self.status, f"Loading the MNIST training split from {root}")
            train_set = load_mnist(root, "train", download=request.allow_download)
        test_set = request.test_set if request.test_set is not None else load_bundled_test_split()
        display_set = request.display_set if request.display_set is not None else test_set
        if control.cancelled:
            return None

        model = build_model(request.model_config, seed=config.seed)
        trainer = Trainer(model, train_set, test_set, config, control)
        threads = f", {torch.get_num_threads()} CPU thread(s)" if device == "cpu" else ""
        self._send(self.status, f"Training on {len(train_set):,} images on {device}{threads}")

        averager = _BatchAverager()
        last_report = -math.inf  # the first batch reports at once
        total_batches = config.epochs * trainer.batches_per_epoch
        for item in trainer.run():
            if isinstance(item, BatchStats):
                averager.add(item)
                now = time.perf_counter()
                if now - last_report >= self.progress_interval_s or item.batch == item.batches_per_epoch:
                    last_report = now
                    report = self._progress(item, averager, config.epochs, total_batches)
                    self._send(self.progress, report)
            elif not control.cancelled:
                self._send(self.epochSnapshot, self._snapshot(trainer.model, display_set, item))
        if control.cancelled or len(trainer.history) < config.epochs:
            return None
        return self._checkpoint(trainer, len(train_set), device)

    def _progress(
        self, item: BatchStats, averager: _BatchAverager, epochs: int, total_batches: int
    ) -> TrainingProgress:
        loss, reconstruction, kl = averager.take()
        done = (item.epoch - 1) * item.batches_per_epoch + item.batch
        active = max(item.elapsed - self.control.paused_seconds, 0.0)
        eta = active / done * (total_batches - done) if done else None
        return TrainingProgress(
            item.epoch, epochs, item.batch, item.batches_per_epoch,
            loss, reconstruction, kl, item.elapsed, eta,
        )

    @staticmethod
    @torch.no_grad()
    def _snapshot(model: VAE, display_set: ImageSet, stats: EpochStats) -> TrainingSnapshot:
        # Encode with the live model on its own device (the trainer is suspended at
        # its yield, so the weights hold still), then hand over copies only.
        was_training = model.training
        model.eval()
        mu, logvar = encode_dataset(model, display_set.images)
        model.train(was_training)
        return TrainingSnapshot(frozen_copy(model), mu.copy(), logvar.copy(), stats)

    def _checkpoint(self, trainer: Trainer, train_images: int, device: str) -> Checkpoint:
        final = trainer.history[-1]
        metrics = summary_metrics(trainer)
        provenance = {
            "source": "vae-explorer app (training panel)",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "device": device,
            "train_images": train_images,
            "seconds": round(final.elapsed, 2),
            "seed": self.request.train_config.seed,
            "vae_explorer": vae_explorer.__version__,
            "torch": torch.__version__,
        }
        return Checkpoint(
            model=frozen_copy(trainer.model),
            train_config=self.request.train_config,
            metrics=metrics,
            dataset=self.request.train_config.dataset,
            provenance=provenance,
        )


# Niceness added to the training thread: the GUI thread then wins the CPU whenever
# it has work, and training still gets all the time the GUI leaves idle.
TRAINING_NICENESS = 10


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


class TrainingThread(QThread):
    """A QThread whose whole life is one TrainingWorker.run(); no event loop needed."""

    def __init__(self, worker: TrainingWorker, lower_priority: bool = True):
        super().__init__()
        self.setObjectName("vae-training")
        self.worker = worker
        self.lower_priority = lower_priority

    def start_training(self) -> None:
        # Qt's LowPriority is what macOS and Windows honour; Linux gets a niceness in run().
        priority = QThread.Priority.LowPriority if self.lower_priority else QThread.Priority.InheritPriority
        self.start(priority)

    def run(self) -> None:
        if self.lower_priority:
            lower_this_threads_priority()
        self.worker.run()
