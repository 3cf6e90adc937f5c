import torch

from vae_explorer.core.config import ModelConfig
from vae_explorer.core.model import VAE, build_model


def test_shapes_of_encoder_decoder_and_forward():
    config = ModelConfig(hidden_sizes=(32, 16), latent_dim=3)
    model = VAE(config)
    x = torch.rand(5, 784)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    assert model.decode(mu).shape == (5, 784)
    logits, mu2, logvar2 = model(x.reshape(5, 1, 28, 28))  # image-shaped input is flattened
    assert logits.shape == (5, 784)
    torch.testing.assert_close(mu2, mu)
    images = model.decode_images(torch.zeros(4, 3))
    assert images.shape == (4, 28, 28)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_reparameterization_lets_gradients_reach_mu_and_logvar():
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    (z**2).sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0


def test_reparameterized_samples_have_the_right_moments():
    mu = torch.full((200_000, 1), 1.5)
    logvar = torch.full((200_000, 1), torch.log(torch.tensor(0.25)).item())
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    assert abs(z.mean().item() - 1.5) < 0.01
    assert abs(z.std().item() - 0.5) < 0.01


def test_same_seed_builds_same_weights_and_leaves_global_rng_alone():
    config = ModelConfig(hidden_sizes=(16,))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(config, seed=4)
    after = torch.rand(1)
    b = build_model(config, seed=4)
    c = build_model(config, seed=5)
    assert torch.equal(before, after)  # building with a seed does not disturb the caller's RNG
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.to_mu.weight, c.to_mu.weight)
