"""Training faults for every model kind: a NaN loss, cancel at every phase (before the first batch,
mid-epoch, during the evaluation, during the save) and running out of memory, each ending in its one
event and message, with nothing half-written where the model was to go."""

from __future__ import annotations

import math

import pytest
import torch

from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.config import TrainConfig
from vae_explorer.core.models import registry
from vae_explorer.core.training import run as run_module
from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.events import BatchStats, Cancelled, Diverged, EpochDone, Failed, Finished
from vae_explorer.core.training.run import TrainingRequest, run_training

SMALL = {"vae": {"hidden_sizes": [32]}, "autoencoder": {"hidden_sizes": [32]},
         "denoising_autoencoder": {"hidden_sizes": [32]}, "conditional_vae": {"hidden_sizes": [32]},
         "vae_gan": {"hidden_sizes": [32], "discriminator_width": 16},
         "vq_vae": {"channels": 8, "codebook_size": 16, "embedding_dim": 4}}
KINDS = sorted(registry.kinds())


def test_every_kind_is_covered():
    assert set(SMALL) == set(KINDS)


def request(kind, small_sets, output, **train):
    train_set, test_set = small_sets
    config = TrainConfig(**{"epochs": 2, "batch_size": 100, "device": "cpu", "seed": 1, **train})
    return TrainingRequest(kind, registry.config_from_dict(kind, SMALL[kind]), config, train_set=train_set,
                           test_set=test_set, output=output, source="test")


def run_until(kind, small_sets, output, cancel_when=None, **train):
    """All events of a run; cancel_when(event) -> True cancels the run right after that event."""
    control = TrainingControl()
    events = []
    for event in run_training(request(kind, small_sets, output, **train), control):
        events.append(event)
        if cancel_when is not None and cancel_when(event):
            control.cancel()
    return events


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_before_the_first_batch_trains_nothing_and_writes_nothing(kind, small_sets, tmp_path):
    out = tmp_path / "model.safetensors"
    events = run_until(kind, small_sets, out, cancel_when=lambda e: not isinstance(e, (BatchStats, EpochDone)))
    assert isinstance(events[-1], Cancelled) and not any(isinstance(e, BatchStats) for e in events)
    assert not out.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_mid_epoch_keeps_the_weights_reached(kind, small_sets, tmp_path):
    out = tmp_path / "model.safetensors"
    events = run_until(kind, small_sets, out, cancel_when=lambda e: isinstance(e, BatchStats) and e.batch == 5)
    last = events[-1]
    assert isinstance(last, Cancelled) and not out.exists()
    assert "epoch 1, after batch 5" in load_checkpoint(last.saved_to).provenance["weights"]


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_during_the_evaluation_ends_after_it_with_the_full_epoch(kind, small_sets, tmp_path):
    out = tmp_path / "model.safetensors"
    # The last batch of epoch 1 is followed by the test-split evaluation; the cancel lands during it.
    events = run_until(kind, small_sets, out,
                       cancel_when=lambda e: isinstance(e, BatchStats) and e.batch == e.batches_per_epoch and e.epoch == 1)
    assert [e.stats.epoch for e in events if isinstance(e, EpochDone)] == [1]
    last = events[-1]
    assert isinstance(last, Cancelled) and not out.exists()
    assert load_checkpoint(last.saved_to).metrics["epochs_completed"] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_during_the_save_still_saves_the_finished_model_whole(kind, small_sets, tmp_path, monkeypatch):
    out = tmp_path / "model.safetensors"
    control = TrainingControl()
    real_save = run_module.save_with_fallback

    def cancel_then_save(checkpoint, path):
        control.cancel()  # the user presses Cancel while the file is being written
        return real_save(checkpoint, path)

    monkeypatch.setattr(run_module, "save_with_fallback", cancel_then_save)
    events = list(run_training(request(kind, small_sets, out), control))
    assert isinstance(events[-1], Finished) and events[-1].saved_to == out
    assert load_checkpoint(out).metrics["epochs_completed"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_nan_loss_ends_in_a_diverged_event_and_never_in_a_saved_nan_model(kind, small_sets, tmp_path,
                                                                           monkeypatch):
    model_class = registry.get_kind(kind)
    real_loss, calls = model_class.loss, {"n": 0}

    def loss_turning_nan(self, *args, **kwargs):
        terms = real_loss(self, *args, **kwargs)
        calls["n"] += 1
        if self.training and calls["n"] >= 4:
            terms = {name: value * math.nan for name, value in terms.items()}
        return terms

    monkeypatch.setattr(model_class, "loss", loss_turning_nan)
    out = tmp_path / "model.safetensors"
    events = run_until(kind, small_sets, out)
    last = events[-1]
    assert isinstance(last, Diverged) and "nan" in last.message.lower() and not out.exists()
    if last.saved_to is not None:
        assert all(torch.isfinite(p).all() for p in load_checkpoint(last.saved_to).model.parameters())


@pytest.mark.parametrize("kind", KINDS)
def test_running_out_of_memory_is_reported_as_such(kind, small_sets, tmp_path, monkeypatch):
    model_class = registry.get_kind(kind)

    def out_of_memory(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(model_class, "loss", out_of_memory)
    events = run_until(kind, small_sets, tmp_path / "model.safetensors")
    last = events[-1]
    assert isinstance(last, Failed) and "ran out of memory" in last.message and "smaller batch" in last.message
    assert "\n" not in last.message and "Traceback" not in last.message
