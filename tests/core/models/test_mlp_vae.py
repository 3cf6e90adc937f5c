import math

import pytest
import torch

from vae_explorer.core.config import ConfigError
from vae_explorer.core.models import registry
from vae_explorer.core.models.mlp_vae import MLPVAE, MLPVAEConfig


def test_shapes_of_encode_decode_and_loss():
    model = registry.build("mlp_vae", MLPVAEConfig(hidden_sizes=(32, 16), latent_dim=3))
    x = torch.rand(5, 784)
    code = model.encode(x)
    assert code.mean.shape == code.logvar.shape == (5, 3)
    with torch.no_grad():
        images = model.decode(torch.zeros(4, 3))
    assert images.shape == (4, 28, 28)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    torch.testing.assert_close(model.encode(x.reshape(5, 28, 28)).mean, code.mean)  # images are flattened
    terms = model.loss(x, generator=torch.Generator().manual_seed(0))
    assert list(terms) == ["loss", "reconstruction", "kl"] == list(model.term_labels)
    assert model.has_posterior and model.has_likelihood


def test_image_shape_comes_from_the_config():
    model = registry.build("mlp_vae", MLPVAEConfig(hidden_sizes=(8,), image_shape=(12, 20)))
    assert model.decode(torch.zeros(2, 2)).shape == (2, 12, 20)
    assert model.encoder[0].in_features == 240


def test_loss_is_reconstruction_plus_beta_times_kl_in_nats_per_image():
    model = registry.build("mlp_vae", MLPVAEConfig(hidden_sizes=(16,), latent_dim=2), seed=0)
    x = torch.rand(8, 784)
    terms = model.loss(x, beta=4.0, generator=torch.Generator().manual_seed(1))
    assert terms["loss"].item() == pytest.approx(terms["reconstruction"].item() + 4 * terms["kl"].item(), rel=1e-6)
    # The same noise by hand: encode, z = mu + sigma * eps, decode, sum the pixel NLLs, average over images.
    code = model.encode(x)
    eps = torch.randn(code.mean.shape, generator=torch.Generator().manual_seed(1))
    z = code.mean + torch.exp(0.5 * code.logvar) * eps
    recon = model.likelihood(z).nll(x).mean()
    assert terms["reconstruction"].item() == pytest.approx(recon.item(), rel=1e-6)


def test_reparameterization_lets_gradients_reach_mu_and_logvar():
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    z = MLPVAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    (z**2).sum().backward()
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0


def test_reparameterized_samples_have_the_right_moments():
    mu = torch.full((200_000, 1), 1.5)
    logvar = torch.full((200_000, 1), math.log(0.25))
    z = MLPVAE.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    assert abs(z.mean().item() - 1.5) < 0.01
    assert abs(z.std().item() - 0.5) < 0.01


def test_same_seed_builds_same_weights_and_leaves_global_rng_alone():
    config = MLPVAEConfig(hidden_sizes=(16,))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = registry.build("mlp_vae", config, seed=4)
    after = torch.rand(1)
    b = registry.build("mlp_vae", config, seed=4)
    c = registry.build("mlp_vae", config, seed=5)
    assert torch.equal(before, after)  # building with a seed does not disturb the caller's RNG
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.to_mu.weight, c.to_mu.weight)


@pytest.mark.parametrize(
    "kwargs",
    [{"latent_dim": 0}, {"hidden_sizes": (10, -1)}, {"hidden_sizes": ()}, {"likelihood": "poisson"},
     {"gaussian_std": 0.0}, {"gaussian_std": float("nan")}, {"image_shape": (0, 10)},
     {"hidden_sizes": (4_000_000,)}, {"latent_dim": True}, {"latent_dim": 2.5}, {"latent_dim": "2"},
     {"hidden_sizes": ("512",)}, {"image_shape": (28,)}],
)
def test_bad_configs_are_refused_with_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        MLPVAEConfig(**kwargs)
