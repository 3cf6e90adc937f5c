"""TrainingWorker driven synchronously: run() on the test thread, signals collected."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt, QThread

from vae_explorer.core import training as core_training
from vae_explorer.core.config import ModelConfig, TrainConfig
from vae_explorer.core.session import encode_dataset
from vae_explorer.core.training import evaluate_elbo
from vae_explorer.qt import training_worker
from vae_explorer.qt.training_worker import (
    TimedControl,
    TrainingRequest,
    TrainingThread,
    TrainingWorker,
    describe_failure,
)

SMALL_MODEL = ModelConfig(hidden_sizes=(32, 16))


# Stricter than conftest's grace-period check: training joins its thread before it reports.
pytestmark = pytest.mark.usefixtures("no_qthread_running_at_all")


@pytest.fixture
def request_factory(bundled_test_set):
    def make(**train_changes) -> TrainingRequest:
        train = TrainConfig(**{"epochs": 2, "batch_size": 100, "device": "cpu",
                               "num_threads": 1, **train_changes})
        return TrainingRequest(
            model_config=SMALL_MODEL,
            train_config=train,
            train_set=bundled_test_set.subset(2000),
            test_set=bundled_test_set.subset(500),
            display_set=bundled_test_set.subset(300),
        )

    return make


class Recorder:
    """Connects to every worker signal and keeps what arrives, in order."""

    def __init__(self, worker: TrainingWorker):
        self.events: list[tuple[str, object]] = []
        for name in ("status", "progress", "epochSnapshot", "finished", "failed"):
            getattr(worker, name).connect(lambda value, name=name: self.events.append((name, value)))
        worker.cancelled.connect(lambda: self.events.append(("cancelled", None)))

    def values(self, name: str) -> list:
        return [value for kind, value in self.events if kind == name]

    @property
    def last(self) -> str:
        return self.events[-1][0]


def test_run_reports_progress_snapshots_and_a_checkpoint(request_factory):
    request = request_factory()
    worker = TrainingWorker(request, progress_interval_s=0.0)
    recorder = Recorder(worker)
    worker.run()

    assert recorder.last == "finished"
    progress = recorder.values("progress")
    # Interval 0 means one report per batch: 2 epochs x 20 batches.
    assert len(progress) == 40
    assert [(p.epoch, p.batch) for p in progress[:2]] == [(1, 1), (1, 2)]
    assert progress[-1].fraction == pytest.approx(1.0)
    assert all(p.eta is not None and p.eta >= 0 for p in progress)

    snapshots = recorder.values("epochSnapshot")
    assert [s.stats.epoch for s in snapshots] == [1, 2]
    for snapshot in snapshots:
        assert snapshot.latent_mu.shape == (300, 2)
        assert snapshot.latent_logvar.shape == (300, 2)
        assert np.isfinite(snapshot.latent_mu).all()
        assert next(snapshot.model.parameters()).device.type == "cpu"
        assert not any(p.requires_grad for p in snapshot.model.parameters())
        # The latents are exactly what the snapshot's own weights give.
        mu, _ = encode_dataset(snapshot.model, request.display_set.images)
        np.testing.assert_allclose(snapshot.latent_mu, mu, rtol=1e-5, atol=1e-5)

    # The first snapshot is a copy: later training did not change it.
    first, second = (dict(s.model.state_dict()) for s in snapshots)
    assert any(not torch.equal(first[k], second[k]) for k in first)

    checkpoint = recorder.values("finished")[0]
    assert checkpoint.train_config == request.train_config
    assert checkpoint.model.config == SMALL_MODEL
    # The recorded test figure is the plain ELBO as `evaluate` recomputes it (beta 1, seed 0).
    recomputed = evaluate_elbo(checkpoint.model, request.test_set, beta=1.0, seed=0)
    assert checkpoint.metrics["test_loss"] == pytest.approx(recomputed.total, rel=1e-5)
    assert checkpoint.metrics["test_kl"] == pytest.approx(recomputed.kl, rel=1e-5)
    assert checkpoint.metrics["train_loss"] == pytest.approx(snapshots[-1].stats.train.total)
    assert checkpoint.metrics["epochs_completed"] == 2
    assert checkpoint.provenance["train_images"] == 2000
    final_weights = checkpoint.model.state_dict()
    assert all(torch.equal(final_weights[k], second[k]) for k in final_weights)


def test_progress_is_throttled_to_the_first_batch_and_epoch_ends(request_factory):
    worker = TrainingWorker(request_factory(), progress_interval_s=3600.0)
    recorder = Recorder(worker)
    worker.run()
    progress = recorder.values("progress")
    snapshots = recorder.values("epochSnapshot")
    # The first batch reports at once; after that only the last batch of each epoch.
    assert [(p.epoch, p.batch) for p in progress] == [(1, 1), (1, 20), (2, 20)]
    # A report carries the mean over the batches since the previous one: all of epoch 2.
    epoch_two = snapshots[1].stats.train
    assert progress[2].loss == pytest.approx(epoch_two.total, rel=1e-5)
    assert progress[2].kl == pytest.approx(epoch_two.kl, rel=1e-5)


def test_cancel_before_the_first_batch_emits_cancelled_only(request_factory):
    control = TimedControl()
    control.cancel()
    worker = TrainingWorker(request_factory(), control)
    recorder = Recorder(worker)
    worker.run()
    assert recorder.last == "cancelled"
    assert not recorder.values("progress") and not recorder.values("finished")


def test_nan_loss_becomes_a_failure_message(request_factory):
    worker = TrainingWorker(request_factory(learning_rate=1e6))
    recorder = Recorder(worker)
    worker.run()
    assert recorder.last == "failed"
    message = recorder.values("failed")[0]
    assert "diverged" in message and "nan" in message
    assert "smaller learning rate" in message
    assert not recorder.values("finished")


@pytest.mark.parametrize(
    "error, expected",
    [
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), "ran out of memory"),
        (MemoryError(), "ran out of memory"),
        (ValueError("boom"), "Training failed: ValueError: boom"),
    ],
)
def test_errors_inside_training_become_failure_messages(request_factory, monkeypatch, error, expected):
    def explode(self):
        raise error
        yield  # pragma: no cover - makes this a generator like Trainer.run

    monkeypatch.setattr(training_worker.Trainer, "run", explode)
    worker = TrainingWorker(request_factory())
    recorder = Recorder(worker)
    worker.run()
    assert recorder.last == "failed"
    message = recorder.values("failed")[0]
    assert expected in message
    assert "previous model is still loaded" in message


def test_describe_failure_suggests_the_cpu_after_gpu_out_of_memory():
    message = describe_failure(torch.cuda.OutOfMemoryError("CUDA out of memory"), "cuda")
    assert "smaller batch size" in message and "train on the CPU" in message
    diverged = core_training.TrainingDiverged("the loss became inf at epoch 3, batch 7; kept")
    assert "the loss became inf at epoch 3, batch 7" in describe_failure(diverged, "cpu")


@pytest.mark.parametrize("outcome, changes", [("finished", {}), ("failed", {"learning_rate": 1e6})])
def test_torch_thread_count_is_restored_after_a_run(request_factory, outcome, changes):
    before = torch.get_num_threads()
    wanted = 3  # differs from the run's 1 thread on any machine, so a leak shows
    try:
        torch.set_num_threads(wanted)
        worker = TrainingWorker(request_factory(epochs=1, num_threads=1, **changes))
        recorder = Recorder(worker)
        worker.run()
        assert recorder.last == outcome
        assert torch.get_num_threads() == wanted
    finally:
        torch.set_num_threads(before)


def test_timed_control_excludes_pauses_from_active_time():
    control = TimedControl()
    control.pause()
    time.sleep(0.05)
    assert control.paused
    control.resume()
    paused = control.paused_seconds
    assert 0.04 <= paused < 1.0
    time.sleep(0.02)
    assert control.paused_seconds == paused  # not paused any more: no growth


def test_training_thread_runs_the_worker_off_the_calling_thread(request_factory, qtbot):
    worker = TrainingWorker(request_factory(epochs=1))
    thread = TrainingThread(worker)
    seen_thread_names = []
    # A direct connection runs the slot on the emitting thread, so it sees the worker's.
    worker.status.connect(
        lambda _: seen_thread_names.append(QThread.currentThread().objectName()),
        type=Qt.ConnectionType.DirectConnection,
    )
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        thread.start()
    assert thread.wait(5000)
    assert seen_thread_names and set(seen_thread_names) == {"vae-training"}
