import math

import pytest
import torch
import torch.nn.functional as F

from vae_explorer.core.models.likelihoods import (
    BernoulliPixels,
    FixedGaussianPixels,
    LearnedGaussianPixels,
    bernoulli_log_prob,
    gaussian_log_density,
    kl_to_standard_normal,
)


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


def test_bernoulli_nll_matches_a_hand_computation_on_a_tiny_input():
    logits = torch.tensor([[0.0, 2.0, -1.0, 3.0]])
    x = torch.tensor([[0.0, 1.0, 0.5, 1.0]])
    expected = 0.0
    for logit, target in zip(logits[0].tolist(), x[0].tolist()):
        p = 1 / (1 + math.exp(-logit))
        expected -= target * math.log(p) + (1 - target) * math.log(1 - p)
    assert BernoulliPixels(logits).nll(x).item() == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(BernoulliPixels(logits).mean, torch.sigmoid(logits))


def test_gaussian_nll_matches_a_hand_computation():
    logits = torch.tensor([[0.0, 1.0, -1.0, 2.0]])
    x = torch.tensor([[0.2, 0.9, 0.1, 0.6]])
    means = torch.sigmoid(logits)[0].tolist()
    expected = sum(
        0.5 * ((m - t) / 0.5) ** 2 + math.log(0.5) + 0.5 * math.log(2 * math.pi)
        for m, t in zip(means, x[0].tolist())
    )
    assert FixedGaussianPixels(logits, 0.5).nll(x).item() == pytest.approx(expected, rel=1e-6)


def test_cheap_bernoulli_formula_matches_torch_in_value_and_gradient():
    # Plain differentiable torch: autograd's gradient must equal the one of torch's own BCE.
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(6, 784, generator=g) * 8).requires_grad_()
    x = torch.rand(6, 784, generator=g).requires_grad_()
    weights = torch.arange(1.0, 7.0)
    ours = -bernoulli_log_prob(logits, x).sum(dim=1)
    (ours * weights).sum().backward()
    ours_grads = logits.grad.clone(), x.grad.clone()
    logits.grad = x.grad = None
    theirs = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
    (theirs * weights).sum().backward()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(ours_grads[0], logits.grad)
    torch.testing.assert_close(ours_grads[1], x.grad)
    big = torch.tensor([-40.0, -17.0, 0.0, 17.0, 40.0], dtype=torch.float64)
    expected = -F.binary_cross_entropy_with_logits(big, torch.full_like(big, 0.25), reduction="none")
    assert torch.allclose(bernoulli_log_prob(big, torch.tensor(0.25, dtype=torch.float64)), expected, atol=1e-7)


def test_learned_gaussian_nll_matches_a_hand_computation_with_a_std_per_pixel():
    logits = torch.tensor([[0.0, 1.0, -1.0, 2.0]])
    x = torch.tensor([[0.2, 0.9, 0.1, 0.6]])
    stds = [0.1, 0.5, 1.0, 0.05]
    means = torch.sigmoid(logits)[0].tolist()
    expected = sum(
        0.5 * ((m - t) / s) ** 2 + math.log(s) + 0.5 * math.log(2 * math.pi)
        for m, t, s in zip(means, x[0].tolist(), stds)
    )
    likelihood = LearnedGaussianPixels(logits, torch.tensor(stds))
    assert likelihood.nll(x).item() == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(likelihood.mean, torch.sigmoid(logits))


def test_a_learned_std_shared_by_all_pixels_is_the_fixed_gaussian():
    logits = torch.randn(3, 20, generator=torch.Generator().manual_seed(0))
    x = torch.rand(3, 20, generator=torch.Generator().manual_seed(1))
    learned, fixed = LearnedGaussianPixels(logits, torch.tensor([0.3])), FixedGaussianPixels(logits, 0.3)
    torch.testing.assert_close(learned.log_prob(x), fixed.log_prob(x))
    ours, theirs = learned.quadratic_log_prob(), fixed.quadratic_log_prob()
    for a, b in ((ours.at_zero, theirs.at_zero), (ours.at_one, theirs.at_one), (ours.curvature, theirs.curvature)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("std_shape", [(1,), (30,)])
def test_learned_gaussian_quadratic_form_reproduces_log_prob(std_shape):
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(4, 30, generator=g) * 3
    std = 0.05 + torch.rand(std_shape, generator=g)
    x = torch.rand(4, 30, generator=g)
    x[:, :3] = torch.tensor([0.0, 1.0, 0.5])
    likelihood = LearnedGaussianPixels(logits, std)
    terms = likelihood.quadratic_log_prob()
    assert terms.curvature.shape == (1, 30)  # one row: the std does not depend on z
    torch.testing.assert_close(terms.curvature, (-0.5 / std.pow(2)).expand(1, 30))
    torch.testing.assert_close(terms(x), likelihood.log_prob(x), rtol=1e-5, atol=1e-4)


def test_learned_gaussian_samples_have_its_mean_and_std_and_its_std_gets_a_gradient():
    logits = torch.tensor([[0.0, 2.0]]).expand(100_000, 2)
    raw = torch.tensor([0.0, -1.0], requires_grad=True)
    std = 0.01 + F.softplus(raw)
    likelihood = LearnedGaussianPixels(logits, std)
    draws = likelihood.sample(torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws.mean(0), torch.sigmoid(logits[0]), atol=0.01, rtol=0)
    torch.testing.assert_close(draws.std(0), std.detach(), atol=0.01, rtol=0)
    likelihood.nll(torch.full((100_000, 2), 0.9)).sum().backward()
    assert raw.grad.abs().min() > 0
