"""gui_training_events driven synchronously: the generator iterated on the test thread, real training."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np
import pytest
import torch

from vae_explorer.core.config import TrainConfig
from vae_explorer.core.evaluation import evaluate_terms
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig
from vae_explorer.core.session import encode_dataset
from vae_explorer.core.training import trainer as core_trainer
from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.events import (
    BatchStats,
    Cancelled,
    Diverged,
    EpochDone,
    Failed,
    Finished,
    Started,
    Status,
)
from vae_explorer.qt.training_worker import (
    TRAINING_NICENESS,
    TrainingProgress,
    TrainingRequest,
    gui_training_events,
    lower_this_threads_priority,
)

SMALL_MODEL = MLPVAEConfig(hidden_sizes=(32, 16))


# Stricter than conftest's grace-period check: nothing here may leave a QThread behind.
pytestmark = pytest.mark.usefixtures("no_qthread_running_at_all")


@pytest.fixture
def request_factory(bundled_test_set):
    def make(data: bool = True, **changes) -> TrainingRequest:
        request_fields = {k: changes.pop(k) for k in ("data_dir", "allow_download") if k in changes}
        train = TrainConfig(**{"epochs": 2, "batch_size": 100, "device": "cpu",
                               "num_threads": 1, **changes})
        sets = dict(train_set=bundled_test_set.subset(2000), test_set=bundled_test_set.subset(500),
                    display_set=bundled_test_set.subset(300)) if data else {}
        return TrainingRequest("mlp_vae", SMALL_MODEL, train, **sets, **request_fields)

    return make


def run_all(request, control=None, interval=0.0) -> list[object]:
    # lower_priority=False: a niceness raised on the test thread would stay for every later test.
    return list(gui_training_events(request, control or TrainingControl(), interval, lower_priority=False))


def of_type(events, kind) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_a_run_reports_progress_snapshots_and_a_checkpoint(request_factory):
    request = request_factory()
    events = run_all(request, interval=0.0)

    assert isinstance(events[0], Started) and events[0].threads == 1
    assert isinstance(events[-1], Finished)
    assert not of_type(events, BatchStats)  # every batch was folded into a report
    progress = of_type(events, TrainingProgress)
    # Interval 0 means one report per batch: 2 epochs x 20 batches.
    assert len(progress) == 40
    assert [(p.epoch, p.batch) for p in progress[:2]] == [(1, 1), (1, 2)]
    assert progress[-1].fraction == pytest.approx(1.0)
    assert all(p.eta is not None and p.eta >= 0 for p in progress)
    assert progress[-1].eta == 0
    assert set(progress[0].terms) == {"loss", "reconstruction", "kl"}
    assert progress[0].loss == progress[0].terms["loss"]
    # With one batch per report, each report is that batch's own figures.
    assert progress[0].loss == pytest.approx(progress[0].terms["reconstruction"] + progress[0].terms["kl"])

    snapshots = of_type(events, EpochDone)
    assert [s.stats.epoch for s in snapshots] == [1, 2]
    # Each snapshot comes right after its epoch's last report.
    assert events.index(snapshots[0]) == events.index(progress[19]) + 1
    for snapshot in snapshots:
        assert snapshot.latent_mean.shape == (300, 2)
        assert snapshot.latent_logvar.shape == (300, 2)
        assert np.isfinite(snapshot.latent_mean).all()
        assert next(snapshot.model.parameters()).device.type == "cpu"
        assert not any(p.requires_grad for p in snapshot.model.parameters())
        # The latents are exactly what the snapshot's own weights give.
        mean, logvar = encode_dataset(snapshot.model, request.display_set.images)
        np.testing.assert_allclose(snapshot.latent_mean, mean, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(snapshot.latent_logvar, logvar, rtol=1e-5, atol=1e-5)

    # The first snapshot is a copy: later training did not change it.
    first, second = (dict(s.model.state_dict()) for s in snapshots)
    assert any(not torch.equal(first[k], second[k]) for k in first)

    checkpoint = events[-1].checkpoint
    assert events[-1].saved_to is None  # no output asked for: the model stays in memory
    assert checkpoint.train_config == request.train_config
    assert checkpoint.model.config == SMALL_MODEL
    # The recorded test figure is the plain loss as `evaluate` recomputes it (beta 1, seed 0).
    recomputed = evaluate_terms(checkpoint.model, request.test_set, beta=1.0, seed=0)
    assert checkpoint.metrics["test_loss"] == pytest.approx(recomputed["loss"], rel=1e-5)
    assert checkpoint.metrics["test_kl"] == pytest.approx(recomputed["kl"], rel=1e-5)
    assert checkpoint.metrics["train_loss"] == pytest.approx(snapshots[-1].stats.train["loss"])
    assert checkpoint.metrics["epochs_completed"] == 2
    assert checkpoint.provenance["train_images"] == 2000
    final_weights = checkpoint.model.state_dict()
    assert all(torch.equal(final_weights[k], second[k]) for k in final_weights)


def test_progress_is_throttled_to_the_first_batch_and_epoch_ends(request_factory):
    events = run_all(request_factory(), interval=3600.0)
    progress = of_type(events, TrainingProgress)
    snapshots = of_type(events, EpochDone)
    # The first batch reports at once; after that only the last batch of each epoch.
    assert [(p.epoch, p.batch) for p in progress] == [(1, 1), (1, 20), (2, 20)]
    # A report carries the mean over the batches since the previous one: all of epoch 2.
    epoch_two = snapshots[1].stats.train
    assert progress[2].loss == pytest.approx(epoch_two["loss"], rel=1e-5)
    assert progress[2].terms["kl"] == pytest.approx(epoch_two["kl"], rel=1e-5)
    assert progress[2].terms["reconstruction"] == pytest.approx(epoch_two["reconstruction"], rel=1e-5)


def test_the_default_interval_reports_at_most_twenty_times_a_second(request_factory):
    started = time.perf_counter()
    events = list(gui_training_events(request_factory(), TrainingControl(), lower_priority=False))
    seconds = time.perf_counter() - started
    progress = of_type(events, TrainingProgress)
    # 40 batches, but never more reports than the 50 ms spacing allows (plus the forced epoch ends).
    assert [(p.epoch, p.batch) for p in progress][0] == (1, 1)
    assert (1, 20) in [(p.epoch, p.batch) for p in progress] and progress[-1].batch == 20
    assert len(progress) <= seconds / 0.05 + 3


def test_eta_leaves_out_the_time_spent_paused(request_factory):
    control = TrainingControl()
    events = gui_training_events(request_factory(epochs=1), control, 0.0, lower_priority=False)
    progress = []
    for event in events:
        if isinstance(event, TrainingProgress):
            progress.append(event)
            if len(progress) == 1:
                control.pause()  # the next batch waits until the timer resumes it
                threading.Timer(0.5, control.resume).start()
    second = progress[1]
    paused = control.paused_seconds
    assert paused >= 0.45 and second.elapsed >= paused  # elapsed counts the pause...
    done, total = 2, 20
    # ...the ETA does not: it is the active time per batch times the batches left.
    assert second.eta == pytest.approx((second.elapsed - paused) / done * (total - done), rel=1e-6)
    with_pause = second.elapsed / done * (total - done)
    assert second.eta < 0.5 * with_pause


def test_a_pause_while_the_data_loads_does_not_shrink_the_eta(request_factory, tiny_mnist_dir):
    control = TrainingControl()
    request = request_factory(data=False, data_dir=str(tiny_mnist_dir), allow_download=False, epochs=1)
    events = []
    for event in gui_training_events(request, control, 0.0, lower_priority=False):
        events.append(event)
        if isinstance(event, Status):  # yielded before the files are read: the user presses Pause
            control.pause()
            time.sleep(0.4)
            control.resume()
    assert isinstance(events[0], Status) and str(tiny_mnist_dir) in events[0].message
    assert isinstance(events[-1], Finished)
    progress = of_type(events, TrainingProgress)
    # Training itself never waited, so the ETA is the plain active time per batch times those left.
    for report in progress[:-1]:
        done = report.batch
        assert report.eta == pytest.approx(report.elapsed / done * (20 - done), rel=1e-6)
        assert report.eta > 0


def test_cancel_before_the_first_batch_reports_cancelled_only(request_factory):
    control = TrainingControl()
    control.cancel()
    events = run_all(request_factory(), control)
    assert len(events) == 1 and isinstance(events[0], Cancelled)
    assert "before it started" in events[0].message and events[0].checkpoint is None


def test_cancel_mid_run_reports_cancelled_with_the_weights_reached(request_factory):
    control = TrainingControl()
    events = []
    for event in gui_training_events(request_factory(), control, 0.0, lower_priority=False):
        events.append(event)
        if isinstance(event, TrainingProgress) and event.batch == 5:
            control.cancel()
    assert isinstance(events[-1], Cancelled)
    assert [(p.epoch, p.batch) for p in of_type(events, TrainingProgress)][-1] == (1, 5)
    assert not of_type(events, Finished) and not of_type(events, EpochDone)
    assert "after batch 5 of 20" in events[-1].message


def test_nan_loss_becomes_diverged_with_a_clear_message(request_factory):
    events = run_all(request_factory(learning_rate=1e6))
    assert isinstance(events[-1], Diverged)
    message = events[-1].message
    assert "loss became nan" in message and "smaller learning rate" in message
    assert not of_type(events, Finished)


def test_missing_data_fails_as_a_user_error_naming_the_files(request_factory, tmp_path):
    events = run_all(request_factory(data=False, data_dir=str(tmp_path), allow_download=False))
    assert [type(e) for e in events] == [Status, Failed]
    failed = events[-1]
    assert failed.user_error
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in failed.message


def raising(error: BaseException):
    """A stand-in for Trainer.run that fails at its first step."""
    def run(self):
        raise error
        yield  # pragma: no cover - makes this a generator like Trainer.run

    return run


def test_running_out_of_memory_becomes_a_failure(request_factory, monkeypatch):
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
    monkeypatch.setattr(core_trainer.Trainer, "run", raising(oom))
    events = run_all(request_factory())
    assert isinstance(events[-1], Failed) and not events[-1].user_error
    assert "ran out of memory" in events[-1].message and "smaller batch size" in events[-1].message


def test_any_other_error_leaves_the_generator(request_factory, monkeypatch):
    # A bug, not a failure the user can cause: GeneratorThread reports it as a crash.
    monkeypatch.setattr(core_trainer.Trainer, "run", raising(ValueError("boom")))
    with pytest.raises(ValueError, match="boom"):
        run_all(request_factory())


@pytest.mark.parametrize("outcome, changes", [(Finished, {}), (Diverged, {"learning_rate": 1e6})])
def test_torch_thread_count_is_the_runs_then_restored(request_factory, outcome, changes):
    before = torch.get_num_threads()
    wanted = 3  # differs from the run's 1 thread on any machine, so a leak shows
    try:
        torch.set_num_threads(wanted)
        during = []
        events = []
        for event in gui_training_events(request_factory(epochs=1, num_threads=1, **changes),
                                         TrainingControl(), 0.0, lower_priority=False):
            events.append(event)
            if isinstance(event, TrainingProgress):
                during.append(torch.get_num_threads())
        assert isinstance(events[-1], outcome)
        assert during and set(during) == {1}
        assert torch.get_num_threads() == wanted
    finally:
        torch.set_num_threads(before)


def test_torch_thread_count_is_restored_after_a_run_that_raises(request_factory, monkeypatch):
    original_run = core_trainer.Trainer.run

    def fail_midway(self):
        for count, item in enumerate(original_run(self)):
            if count == 3:
                raise ValueError("boom")
            yield item

    monkeypatch.setattr(core_trainer.Trainer, "run", fail_midway)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        with pytest.raises(ValueError):
            run_all(request_factory(num_threads=1))
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is a Linux feature")
def test_training_runs_at_a_lower_priority_on_its_own_thread_only(request_factory):
    seen = {}

    def train() -> None:
        tid = threading.get_native_id()
        seen["before"] = os.getpriority(os.PRIO_PROCESS, tid)
        events = gui_training_events(request_factory(epochs=1), TrainingControl(), 0.0, lower_priority=True)
        for event in events:
            if isinstance(event, TrainingProgress) and "during" not in seen:
                seen["during"] = os.getpriority(os.PRIO_PROCESS, tid)
        seen["last"] = type(event)

    main_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=train)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert seen["last"] is Finished
    assert seen["during"] == min(seen["before"] + TRAINING_NICENESS, 19)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is a Linux feature")
def test_lower_this_threads_priority_raises_the_niceness_by_the_increment():
    result = {}

    def lower() -> None:
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        result["ok"] = lower_this_threads_priority(3)
        result["change"] = os.getpriority(os.PRIO_PROCESS, tid) - before

    worker = threading.Thread(target=lower)
    worker.start()
    worker.join()
    assert result == {"ok": True, "change": 3}
