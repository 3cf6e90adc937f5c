"""The exact log p(x) of a 2-D model, and the gaps between it and the two ELBOs."""

import math

import pytest
import torch

from vae_explorer.core import gaps as g
from vae_explorer.core.evaluation import iwae_log_likelihood
from vae_explorer.core.models import registry


@torch.no_grad()
def brute_force_log_px(model, x, cells=400, extent=5.0) -> float:
    """log p(x) summed on one uniform grid over the whole prior (0.025 per cell): no cleverness."""
    z, area = g._cells(-extent, extent, -extent, extent, cells)
    joint = torch.cat([g._log_joint(g._decode(model, part), x, part) for part in z.split(50_000)])
    return float(torch.logsumexp(joint, dim=0)) + math.log(area)


@pytest.fixture(scope="module")
def model():
    from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint

    return load_checkpoint(default_checkpoint_path()).model.eval()


def test_the_adaptive_grid_gives_log_px_exactly(model, bundled_test_set, monkeypatch):
    x = bundled_test_set.images[4]
    exact = g.exact_posterior(model, x)
    assert exact.log_px == pytest.approx(brute_force_log_px(model, x, cells=400), abs=0.02)
    assert exact.covariance.diagonal().max() < 0.01  # a fully seen digit: far smaller than a coarse cell
    # Image 8's posterior is 0.026 wide, and the encoder's q misses it entirely (IWAE is 140 nats
    # low there); twice as many fine cells change the sum by less than a hundredth of a nat.
    eight = bundled_test_set.images[8]
    first = g.exact_posterior(model, eight).log_px
    monkeypatch.setattr(g, "FINE_CELLS", 2 * g.FINE_CELLS)
    assert g.exact_posterior(model, eight).log_px == pytest.approx(first, abs=0.01)


@torch.no_grad()
def test_log_px_agrees_with_a_5000_sample_importance_estimate(model, bundled_test_set):
    x = bundled_test_set.images[:10]
    exact = torch.tensor([g.exact_posterior(model, row).log_px for row in x])
    iwae = iwae_log_likelihood(model, x, 5000, torch.Generator().manual_seed(1), chunk=4).double()
    difference = exact - iwae
    # IWAE is a lower bound: where the encoder's q overlaps p(z|x) they agree closely, elsewhere
    # it falls short, never the grid (IWAE's own noise is a few tenths of a nat at k = 5000).
    assert difference.median().abs() < 0.1
    assert difference.min() > -0.5


def test_log_px_bounds_both_elbos_and_the_gaps_add_up(model, bundled_test_set):
    gaps = g.inference_gaps(model, bundled_test_set.images[:3], steps=60)
    assert (gaps.log_px >= gaps.elbo_best - 0.05).all()  # up to the ELBO estimate's noise
    assert (gaps.elbo_best >= gaps.elbo_encoder).all()
    torch.testing.assert_close(gaps.approximation + gaps.amortization, gaps.log_px - gaps.elbo_encoder)
    assert gaps.approximation.mean() < 1.0  # a 2-D posterior is close to Gaussian


def test_the_weights_are_left_as_they_were(model, bundled_test_set):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    g.inference_gaps(model, bundled_test_set.images[:2], steps=5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert flags == [p.requires_grad for p in model.parameters()]


def test_models_the_gaps_do_not_fit_are_refused_clearly():
    twenty = registry.build("vae", registry.get_kind("vae").Config(hidden_sizes=(8,), latent_dim=20))
    assert "2-D latent" in g.gaps_problem(twenty)
    autoencoder = registry.build("autoencoder", registry.get_kind("autoencoder").Config(hidden_sizes=(8,)))
    assert "posterior" in g.gaps_problem(autoencoder)
    with pytest.raises(ValueError, match="2-D latent"):
        g.inference_gaps(twenty, torch.rand(2, 784))
