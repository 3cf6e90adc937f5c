import os

import pytest
import torch

from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.config import TrainConfig
from vae_explorer.core.data import ImageSet
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig
from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.events import (
    BatchStats,
    Cancelled,
    Diverged,
    EpochDone,
    Failed,
    Finished,
    Started,
)
from vae_explorer.core.training.run import TrainingRequest, run_training

SMALL = MLPVAEConfig(hidden_sizes=(32,), latent_dim=2)


def request(small_sets, output=None, display=False, **train):
    train_set, test_set = small_sets
    config = TrainConfig(**{"epochs": 2, "batch_size": 100, "device": "cpu", "seed": 1, **train})
    return TrainingRequest("mlp_vae", SMALL, config, train_set=train_set, test_set=test_set,
                           display_set=test_set.subset(200) if display else None,
                           output=output, source="vae-explorer train (test)")


def test_a_run_streams_its_events_and_saves_a_checkpoint_with_its_recipe(small_sets, tmp_path):
    out = tmp_path / "model.safetensors"
    events = list(run_training(request(small_sets, out, display=True)))
    assert isinstance(events[0], Started) and events[0].batches_per_epoch == 30
    assert sum(isinstance(e, BatchStats) for e in events) == 60
    epochs = [e for e in events if isinstance(e, EpochDone)]
    assert [e.stats.epoch for e in epochs] == [1, 2]
    assert epochs[0].latent_mean.shape == (200, 2) and epochs[0].latent_logvar.shape == (200, 2)
    assert not any(p.requires_grad for p in epochs[0].model.parameters())  # a frozen copy
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.saved_to == out and finished.note == ""
    loaded = load_checkpoint(out)
    assert loaded.kind == "vae" and loaded.model_config == SMALL
    assert loaded.provenance["command"] == "vae-explorer train (test)"
    assert loaded.provenance["weights"] == "after 2 full epoch(s)"
    assert loaded.metrics["epochs_completed"] == 2
    assert loaded.metrics["test_loss"] == pytest.approx(
        loaded.metrics["test_reconstruction"] + loaded.metrics["test_kl"])


def test_an_output_that_is_a_folder_is_refused_before_any_training(small_sets, tmp_path):
    events = list(run_training(request(small_sets, tmp_path)))
    assert len(events) == 1 and isinstance(events[0], Failed) and events[0].user_error
    assert str(tmp_path) in events[0].message
    assert tmp_path.is_dir()


def test_cancel_mid_epoch_saves_a_partial_checkpoint_that_says_which_weights_it_holds(small_sets, tmp_path):
    out = tmp_path / "model.safetensors"
    control = TrainingControl()
    seen = 0
    events = []
    for event in run_training(request(small_sets, out, epochs=3), control):
        events.append(event)
        if isinstance(event, BatchStats):
            seen += 1
            if seen == 42:  # epoch 2, batch 12
                control.cancel()
    last = events[-1]
    assert isinstance(last, Cancelled)
    partial = tmp_path / "model.partial.safetensors"
    assert last.saved_to == partial and not out.exists()
    loaded = load_checkpoint(partial)
    assert loaded.provenance["stopped"] == "cancelled"
    assert "epoch 2, after batch 12 of 30" in loaded.provenance["weights"]
    assert loaded.metrics["epochs_completed"] == 1 and loaded.metrics["batches_into_epoch"] == 12
    assert str(partial) in last.message
    # The file holds the weights the run had reached, not those of the last full epoch.
    for name, weight in last.checkpoint.model.state_dict().items():
        torch.testing.assert_close(weight, loaded.model.state_dict()[name])


def test_divergence_ends_in_a_diverged_event_with_the_last_finite_weights_saved(small_sets, tmp_path):
    out = tmp_path / "model.safetensors"
    events = list(run_training(request(small_sets, out, learning_rate=1e12, epochs=3)))
    last = events[-1]
    assert isinstance(last, Diverged) and "smaller learning rate" in last.message
    if last.checkpoint is not None:
        assert last.saved_to == tmp_path / "model.partial.safetensors"
        assert all(torch.isfinite(p).all() for p in load_checkpoint(last.saved_to).model.parameters())
    assert not out.exists()


def test_data_that_does_not_fit_the_model_fails_in_one_line(small_sets):
    wrong = ImageSet(torch.zeros(20, 100), torch.zeros(20, dtype=torch.int64), "toy", "train", (10, 10))
    events = list(run_training(request((wrong, small_sets[1]))))
    assert len(events) == 1 and isinstance(events[0], Failed)
    assert "10x10" in events[0].message and "\n" not in events[0].message


def test_missing_training_data_is_a_clear_failure_not_a_traceback(tmp_path):
    config = TrainConfig(epochs=1, device="cpu")
    req = TrainingRequest("mlp_vae", SMALL, config, data_dir=str(tmp_path), allow_download=False)
    events = list(run_training(req))
    assert isinstance(events[-1], Failed) and events[-1].user_error
    assert "train-images-idx3-ubyte" in events[-1].message


def test_the_run_gives_back_the_callers_thread_count(small_sets):
    before = torch.get_num_threads()
    list(run_training(request(small_sets, epochs=1, num_threads=2)))
    assert torch.get_num_threads() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_refused_before_training(small_sets, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        events = list(run_training(request(small_sets, locked / "m.safetensors")))
    finally:
        locked.chmod(0o700)
    assert len(events) == 1 and isinstance(events[0], Failed)
