import pytest
import torch

from tests.core.models.kind_checks import assert_round_trip, digits
from vae_explorer.core.config import ConfigError, TrainConfig
from vae_explorer.core.models import registry
from vae_explorer.core.models.vae_gan import VAEGANConfig
from vae_explorer.core.training.trainer import EpochStats, Trainer

SMALL = VAEGANConfig(hidden_sizes=(32, 16), latent_dim=3, discriminator_width=16, adversarial_weight=2.0)


def small_model(seed=0, **changes):
    return registry.build("vae_gan", VAEGANConfig(**{**SMALL.__dict__, **changes}), seed=seed)


def grads(model, terms_to_sum, x, seed=0):
    """Every parameter's gradient (None where none arrived) of a sum of loss terms, on fixed noise."""
    model.zero_grad(set_to_none=True)
    terms = model.loss(x, beta=0.5, generator=torch.Generator().manual_seed(seed))
    terms_to_sum(terms).backward()
    return {name: None if p.grad is None else p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_each_player_gets_the_gradient_of_its_own_loss_only(architecture):
    model = small_model(architecture=architecture, image_shape=(14, 14))
    x = torch.rand(8, 196)
    weight = model.config.adversarial_weight
    total = grads(model, lambda t: t["loss"], x)
    critic = grads(model, lambda t: t["discriminator"], x)
    vae = grads(model, lambda t: t["reconstruction"] + 0.5 * t["kl"] + weight * t["adversarial"], x)
    adversarial_only = grads(model, lambda t: t["adversarial"], x)
    for name, grad in total.items():
        if name.startswith("discriminator."):
            torch.testing.assert_close(grad, critic[name], msg=name)
            assert vae[name] is None, name  # the decoder's terms never touch the discriminator
        else:
            torch.testing.assert_close(grad, vae[name], msg=name)
            assert critic[name] is None, name  # the discriminator's loss never touches the VAE
    # The adversarial term does reach the decoder (it is not simply cut off).
    decoder_grads = [g for n, g in adversarial_only.items() if not n.startswith("discriminator.") and g is not None]
    assert decoder_grads and sum(float(g.abs().sum()) for g in decoder_grads) > 0


def test_terms_shapes_and_capabilities():
    model = small_model()
    x = torch.rand(5, 28, 28)
    terms = model.loss(x, beta=2.0, generator=torch.Generator().manual_seed(0))
    assert list(terms) == list(model.term_labels) == ["loss", "reconstruction", "kl", "adversarial", "discriminator"]
    expected = terms["reconstruction"] + 2.0 * terms["kl"] + 2.0 * terms["adversarial"] + terms["discriminator"]
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    code = model.encode(x)
    assert code.mean.shape == code.logvar.shape == (5, 3)
    with torch.no_grad():
        images = model.decode(torch.zeros(4, 3))
    assert images.shape == (4, 28, 28) and 0 <= float(images.min()) and float(images.max()) <= 1
    assert model.has_posterior and model.has_likelihood and not model.has_codes
    assert model.likelihood_name == "Bernoulli" and "VAE-GAN" in model.describe()


def test_the_discriminator_loss_is_smoothed_cross_entropy():
    model = small_model(label_smoothing=0.2)
    real, fake = torch.rand(4, 784), torch.rand(6, 784)
    with torch.no_grad():
        p_real = torch.sigmoid(model.discriminator(real))
        p_fake = torch.sigmoid(model.discriminator(fake))
        by_hand = (-(0.8 * p_real.log() + 0.2 * (1 - p_real).log()).mean() - (1 - p_fake).log().mean())
        assert model.discriminator_loss(real, fake).item() == pytest.approx(by_hand.item(), rel=1e-5)
        assert model.adversarial(fake).item() == pytest.approx(-p_fake.log().mean().item(), rel=1e-5)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_trains_with_the_standard_trainer_and_lowers_its_loss(bundled_test_set, architecture):
    data = digits(bundled_test_set, 256)  # 14x14
    model = small_model(architecture=architecture, image_shape=(14, 14))
    config = TrainConfig(epochs=3, batch_size=32, learning_rate=3e-3, lr_schedule="constant", device="cpu", seed=0)
    epochs = [event for event in Trainer(model, data, None, config).run() if isinstance(event, EpochStats)]
    first, last = epochs[0].train, epochs[-1].train
    assert last["loss"] < 0.8 * first["loss"]  # the first epoch averages 95 to 135 nats per image
    assert last["reconstruction"] + last["kl"] < 0.8 * (first["reconstruction"] + first["kl"])
    assert all(0 < epoch.train["discriminator"] < 10 for epoch in epochs)


def test_saves_and_loads_with_equal_weights(tmp_path):
    assert_round_trip(small_model(seed=4, architecture="conv"), tmp_path)


@pytest.mark.parametrize("kwargs", [{"architecture": "rnn"}, {"hidden_sizes": ()}, {"latent_dim": 0},
                                    {"adversarial_weight": -1.0}, {"discriminator_width": 0},
                                    {"label_smoothing": 0.9}, {"architecture": "conv", "image_shape": (3, 28)},
                                    {"latent_dim": 2.5}])
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(ConfigError):
        VAEGANConfig(**kwargs)
