import math

import pytest
import torch
import torch.nn.functional as F

from vae_explorer.core.config import ModelConfig
from vae_explorer.core.losses import (
    bernoulli_nll_pixels,
    gaussian_log_density,
    iwae_log_likelihood,
    kl_to_standard_normal,
    log_sigmoid,
    negative_elbo,
    reconstruction_nll,
)
from vae_explorer.core.model import build_model


def test_analytic_kl_matches_a_monte_carlo_estimate():
    mu = torch.tensor([[0.7, -1.2, 0.1]])
    logvar = torch.tensor([[-0.5, 0.3, -2.0]])
    g = torch.Generator().manual_seed(0)
    z = mu + torch.exp(0.5 * logvar) * torch.randn((400_000, 3), generator=g)
    log_q = gaussian_log_density(z, mu, logvar)
    log_p = gaussian_log_density(z, torch.zeros(3), torch.zeros(3))
    monte_carlo = (log_q - log_p).mean().item()
    analytic = kl_to_standard_normal(mu, logvar).item()
    assert analytic == pytest.approx(monte_carlo, abs=0.01)


def test_kl_is_zero_for_the_prior_itself():
    assert kl_to_standard_normal(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max().item() == 0.0


def test_bernoulli_loss_matches_a_hand_computation_on_a_tiny_input():
    config = ModelConfig(input_dim=4, hidden_sizes=(3,), latent_dim=1, image_shape=(2, 2))
    logits = torch.tensor([[0.0, 2.0, -1.0, 3.0]])
    x = torch.tensor([[0.0, 1.0, 0.5, 1.0]])
    mu, logvar = torch.tensor([[0.5]]), torch.tensor([[-1.0]])
    expected_recon = 0.0
    for logit, target in zip(logits[0].tolist(), x[0].tolist()):
        p = 1 / (1 + math.exp(-logit))
        expected_recon -= target * math.log(p) + (1 - target) * math.log(1 - p)
    expected_kl = 0.5 * (0.5**2 + math.exp(-1.0) - 1 - (-1.0))
    total, recon, kl = negative_elbo(logits, x, mu, logvar, config, beta=1.0)
    assert recon.item() == pytest.approx(expected_recon, rel=1e-6)
    assert kl.item() == pytest.approx(expected_kl, rel=1e-6)
    assert total.item() == pytest.approx(expected_recon + expected_kl, rel=1e-6)
    total_beta, _, _ = negative_elbo(logits, x, mu, logvar, config, beta=4.0)
    assert total_beta.item() == pytest.approx(expected_recon + 4 * expected_kl, rel=1e-6)


def test_gaussian_loss_matches_a_hand_computation():
    config = ModelConfig(input_dim=4, hidden_sizes=(3,), latent_dim=1, image_shape=(2, 2),
                         likelihood="gaussian", gaussian_std=0.5)
    logits = torch.tensor([[0.0, 1.0, -1.0, 2.0]])
    x = torch.tensor([[0.2, 0.9, 0.1, 0.6]])
    means = torch.sigmoid(logits)[0].tolist()
    expected = sum(
        0.5 * ((m - t) / 0.5) ** 2 + math.log(0.5) + 0.5 * math.log(2 * math.pi)
        for m, t in zip(means, x[0].tolist())
    )
    assert reconstruction_nll(logits, x, config).item() == pytest.approx(expected, rel=1e-6)


def test_iwae_bound_tightens_with_more_samples_and_sits_above_the_elbo():
    config = ModelConfig(hidden_sizes=(32,), latent_dim=2)
    model = build_model(config, seed=0).eval()
    x = (torch.rand(64, 784, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    with torch.no_grad():
        logits, mu, logvar = model(x, torch.Generator().manual_seed(2))
        elbo = -negative_elbo(logits, x, mu, logvar, config)[0].item() / 64
        ll_1 = iwae_log_likelihood(model, x, k=1, generator=torch.Generator().manual_seed(3)).mean().item()
        ll_50 = iwae_log_likelihood(model, x, k=50, generator=torch.Generator().manual_seed(3)).mean().item()
    assert ll_1 == pytest.approx(elbo, abs=2.0)  # k=1 is the ELBO itself, up to sampling noise
    assert ll_50 > ll_1


def test_fast_bernoulli_terms_match_torch_values_and_gradients():
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(6, 784, generator=g) * 8).requires_grad_()
    x = torch.rand(6, 784, generator=g).requires_grad_()
    row_weights = torch.arange(1.0, 7.0)
    config = ModelConfig()
    ours = reconstruction_nll(logits, x, config)
    (ours * row_weights).sum().backward()
    ours_grads = logits.grad.clone(), x.grad.clone()
    logits.grad = x.grad = None
    theirs = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
    (theirs * row_weights).sum().backward()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(ours_grads[0], logits.grad)
    torch.testing.assert_close(ours_grads[1], x.grad)
    big = torch.tensor([-40.0, -17.0, 0.0, 17.0, 40.0], dtype=torch.float64)
    assert torch.allclose(log_sigmoid(big), F.logsigmoid(big), atol=1e-7)
    pixels = bernoulli_nll_pixels(big, torch.tensor(0.25, dtype=torch.float64))  # broadcasts
    assert torch.allclose(pixels, F.binary_cross_entropy_with_logits(big, torch.full_like(big, 0.25),
                                                                     reduction="none"), atol=1e-7)
