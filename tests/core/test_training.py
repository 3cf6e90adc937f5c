import pytest
import torch

from vae_explorer.core.config import ModelConfig, TrainConfig
from vae_explorer.core.model import build_model
from vae_explorer.core.training import (
    BatchStats,
    EpochStats,
    Trainer,
    TrainingControl,
    TrainingDiverged,
    evaluate_elbo,
    summary_metrics,
)

SMALL = ModelConfig(hidden_sizes=(64,), latent_dim=2)


@pytest.fixture(scope="module")
def small_sets(mnist_train_set, bundled_test_set):
    return mnist_train_set.subset(3000), bundled_test_set.subset(1000)


def make_trainer(small_sets, control=None, **overrides):
    train, test = small_sets
    config = TrainConfig(**{"epochs": 1, "batch_size": 100, "device": "cpu", "seed": 3, **overrides})
    return Trainer(build_model(SMALL, seed=config.seed), train, test, config, control)


def test_a_short_run_lowers_the_test_loss(small_sets):
    trainer = make_trainer(small_sets, epochs=3)
    before = evaluate_elbo(trainer.model, small_sets[1])
    events = list(trainer.run())
    epochs = [e for e in events if isinstance(e, EpochStats)]
    batches = [e for e in events if isinstance(e, BatchStats)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert len(batches) == 3 * 30 and batches[-1].batch == 30 == batches[-1].batches_per_epoch
    assert epochs[-1].test.total < before.total - 20
    assert epochs[-1].test.total == pytest.approx(epochs[-1].test.reconstruction + epochs[-1].test.kl)


def test_cancel_stops_within_one_batch(small_sets):
    control = TrainingControl()
    trainer = make_trainer(small_sets, control, epochs=5)
    seen = 0
    for event in trainer.run():
        if isinstance(event, BatchStats):
            seen += 1
            if seen == 7:
                control.cancel()
    assert seen == 7
    assert trainer.history == []


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
    import threading

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


def test_nan_loss_stops_with_a_clear_error_and_keeps_finite_weights(small_sets):
    trainer = make_trainer(small_sets, learning_rate=1e12, epochs=3)
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        list(trainer.run())
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_summary_metrics_record_the_plain_elbo_whatever_the_runs_beta(small_sets):
    trainer = make_trainer(small_sets, beta=4.0)
    with pytest.raises(ValueError):
        summary_metrics(trainer)  # nothing to summarise yet
    list(trainer.run())
    metrics = summary_metrics(trainer)
    plain = evaluate_elbo(trainer.model, small_sets[1], beta=1.0, seed=0)
    assert metrics["test_loss"] == pytest.approx(plain.total)
    assert metrics["test_loss"] == pytest.approx(metrics["test_reconstruction"] + metrics["test_kl"])
    # The epoch's own figure weighs KL by the run's beta of 4, so it is larger.
    assert trainer.history[-1].test.total > metrics["test_loss"]
    assert metrics["epochs_completed"] == 1
    assert metrics["train_loss"] == trainer.history[-1].train.total
    assert "1,000" in metrics["evaluation"]


def test_the_manual_and_autograd_steps_train_to_the_same_weights(small_sets, monkeypatch):
    # Float32 sums in another order drift apart slowly; after one short epoch
    # the two paths must still agree closely.
    manual = make_trainer(small_sets)
    assert manual._manual_step is not None
    list(manual.run())
    monkeypatch.setattr("vae_explorer.core.training.supports", lambda model, device: False)
    automatic = make_trainer(small_sets)
    assert automatic._manual_step is None
    list(automatic.run())
    for name, weight in manual.model.state_dict().items():
        torch.testing.assert_close(weight, automatic.model.state_dict()[name], rtol=1e-3, atol=1e-3)
    assert manual.history[-1].test.total == pytest.approx(automatic.history[-1].test.total, abs=0.05)
