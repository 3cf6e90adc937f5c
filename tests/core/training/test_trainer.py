import threading

import pytest
import torch

from vae_explorer.core.config import ConfigError, TrainConfig
from vae_explorer.core.data import ImageSet
from vae_explorer.core.evaluation import evaluate_terms
from vae_explorer.core.models import registry
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig
from vae_explorer.core.training.control import TrainingControl
from vae_explorer.core.training.trainer import (
    BatchStats,
    EpochStats,
    Trainer,
    TrainingDiverged,
    WeightsPosition,
)

SMALL = MLPVAEConfig(hidden_sizes=(64,), latent_dim=2)


def make_trainer(small_sets, control=None, **overrides):
    train, test = small_sets
    config = TrainConfig(**{"epochs": 1, "batch_size": 100, "device": "cpu", "seed": 3, **overrides})
    return Trainer(registry.build("mlp_vae", SMALL, seed=config.seed), train, test, config, control)


def test_a_short_run_lowers_the_test_loss(small_sets):
    trainer = make_trainer(small_sets, epochs=3)
    before = evaluate_terms(trainer.model, small_sets[1])
    events = list(trainer.run())
    epochs = [e for e in events if isinstance(e, EpochStats)]
    batches = [e for e in events if isinstance(e, BatchStats)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert len(batches) == 3 * 30 and batches[-1].batch == 30 == batches[-1].batches_per_epoch
    test = epochs[-1].test
    assert test["loss"] < before["loss"] - 20
    assert test["loss"] == pytest.approx(test["reconstruction"] + test["kl"])
    assert trainer.position == WeightsPosition(90, 30)


def test_training_uses_torch_adam_and_the_cosine_schedule_reaches_zero(small_sets):
    trainer = make_trainer(small_sets, epochs=2, lr_schedule="cosine")
    assert isinstance(trainer.optimizer, torch.optim.Adam)
    list(trainer.run())
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_cancel_stops_within_one_batch_and_knows_where_the_weights_are(small_sets):
    control = TrainingControl()
    trainer = make_trainer(small_sets, control, epochs=5)
    seen = 0
    for event in trainer.run():
        if isinstance(event, BatchStats):
            seen += 1
            if seen == 37:
                control.cancel()
    assert seen == 37
    assert len(trainer.history) == 1
    assert trainer.position.epochs_completed == 1 and trainer.position.batch == 7
    assert "epoch 2, after batch 7 of 30" in trainer.position.describe()


def test_same_seed_gives_same_weights(small_sets):
    a, b = make_trainer(small_sets), make_trainer(small_sets)
    list(a.run())
    list(b.run())
    for (name, pa), pb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(pa, pb), name
    c = make_trainer(small_sets, seed=4)
    list(c.run())
    assert not torch.equal(a.model.to_mu.weight, c.model.to_mu.weight)


def test_pause_holds_the_trainer_until_resume(small_sets):
    control = TrainingControl()
    trainer = make_trainer(small_sets, control)
    run = trainer.run()
    next(run)
    control.pause()
    got = []
    thread = threading.Thread(target=lambda: got.append(next(run)))
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive() and got == []  # waiting, no batch done
    control.resume()
    thread.join(timeout=10)
    assert not thread.is_alive() and isinstance(got[0], BatchStats) and got[0].batch == 2
    assert control.paused_seconds >= 0.4
    run.close()


def test_nan_loss_stops_with_a_clear_error_and_keeps_finite_weights(small_sets):
    trainer = make_trainer(small_sets, learning_rate=1e12, epochs=3)
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        list(trainer.run())
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_threads_are_set_for_the_run_and_given_back(small_sets):
    before = torch.get_num_threads()
    trainer = make_trainer(small_sets, num_threads=2)
    seen = []
    for event in trainer.run():
        seen.append(torch.get_num_threads())
        if len(seen) == 3:
            break
    trainer_run_closed = torch.get_num_threads()
    assert seen == [2, 2, 2]
    assert trainer_run_closed == before


def test_images_of_the_wrong_shape_are_refused_in_one_line(small_sets):
    train, test = small_sets
    wrong = ImageSet(torch.zeros(10, 100), torch.zeros(10, dtype=torch.int64), "toy", "train", (10, 10))
    model = registry.build("mlp_vae", SMALL)
    with pytest.raises(ConfigError, match=r"toy train images are 10x10 pixels but the model takes 28x28"):
        Trainer(model, wrong, test, TrainConfig(epochs=1, device="cpu"))
