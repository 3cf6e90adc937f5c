"""Holes in the latent space: the aggregate posterior against the prior."""

from __future__ import annotations

import time

import numpy as np
import pytest

from vae_explorer.core import latent_holes as lh
from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.resources import shipped_checkpoints_folder
from vae_explorer.core.session import ExplorerSession


def test_the_aggregate_posterior_integrates_to_one():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(3000, 2)) * [1.5, 0.7]
    sigma = rng.uniform(0.05, 0.4, size=(3000, 2))
    holes = lh.find_holes(mu, sigma, cells=200)
    assert holes.mass == pytest.approx(1.0, abs=0.01)
    assert 0.0 < holes.overlap < 1.0
    assert lh.find_holes(rng.normal(size=(20000, 2)), np.full((20000, 2), 0.1)).overlap > 0.9  # codes like N(0, I)
    kde = lh.find_holes(mu, None, cells=200)  # a deterministic code: Scott's kernel
    assert kde.mass == pytest.approx(1.0, abs=0.01) and kde.bandwidth is not None
    # The grid and the exact evaluation agree at cell centres.
    xmin, xmax, ymin, ymax = holes.extent
    centre = np.array([[xmin + (xmax - xmin) * 100.5 / 200, ymin + (ymax - ymin) * 80.5 / 200]])
    assert lh.aggregate_density_at(mu, sigma, centre)[0] == pytest.approx(holes.density[80, 100], rel=1e-9)


def test_codes_that_avoid_a_region_leave_a_hole_there_and_samples_in_it_are_marked():
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(20000, 2))
    mu = mu[(mu[:, 0] < 0) | (mu[:, 1] < 0)]  # nothing in the upper-right quadrant
    sigma = np.full_like(mu, 0.05)
    holes = lh.find_holes(mu, sigma)
    xmin, xmax, ymin, ymax = holes.extent
    column = lambda x: int((x - xmin) / (xmax - xmin) * lh.CELLS)  # noqa: E731
    row = lambda y: int((y - ymin) / (ymax - ymin) * lh.CELLS)  # noqa: E731
    assert holes.holes[row(1.0), column(1.0)] and not holes.holes[row(-1.0), column(-1.0)]
    assert 0.15 < holes.prior_mass_in_holes < 0.25  # about a quarter of the prior's mass
    marked = lh.samples_in_holes(mu, sigma, np.array([[1.0, 1.0], [-1.0, -1.0], [3.5, 3.5]]))
    assert marked.tolist() == [True, False, False]  # the last is outside the prior's 95% disc


@pytest.fixture(scope="module")
def shipped_codes(bundled_test_set):
    folder = shipped_checkpoints_folder()
    return {name: ExplorerSession.create(load_checkpoint(folder / f"{name}.safetensors"), bundled_test_set)
            for name in ("mnist-2d", "mnist-ae-2d")}


def test_the_autoencoder_leaves_more_of_the_prior_in_holes_than_the_vae(shipped_codes, capsys):
    vae, ae = shipped_codes["mnist-2d"], shipped_codes["mnist-ae-2d"]
    start = time.perf_counter()
    vae_holes = lh.find_holes(vae.latent_mu, np.exp(0.5 * vae.latent_logvar))
    seconds = time.perf_counter() - start
    ae_holes = lh.find_holes(ae.latent_mu, None)
    vae_inside, ae_inside = lh.share_inside_prior(vae.latent_mu), lh.share_inside_prior(ae.latent_mu)
    print_overlap = f"; overlap with the prior: VAE {vae_holes.overlap:.2f}, autoencoder {ae_holes.overlap:.2f}"
    with capsys.disabled():
        print(f"\nprior mass in holes: VAE {vae_holes.prior_mass_in_holes:.3f}, autoencoder "
              f"{ae_holes.prior_mass_in_holes:.3f}; codes in the prior's 95% disc: VAE {vae_inside:.2f}, "
              f"autoencoder {ae_inside:.2f}{print_overlap}; 10,000 codes on {lh.CELLS}² cells in "
              f"{seconds * 1000:.0f} ms")
    # The VAE's codes follow its prior; between its narrow posteriors some of the prior is left bare.
    assert 0.85 < vae_inside < 1.0 and 0.01 < vae_holes.prior_mass_in_holes < 0.3
    # The autoencoder's codes ignore the prior: they spread far past it, so N(0, I) covers only the
    # crowded middle of its map, where every class meets (no hole, but no particular digit either).
    assert ae_inside < 0.5 * vae_inside
    # Without any threshold: the autoencoder's codes cover much less of the prior than the VAE's.
    assert ae_holes.overlap < vae_holes.overlap - 0.15


def test_bad_codes_are_refused_with_a_message():
    with pytest.raises(ValueError, match="two 2-D codes"):
        lh.find_holes(np.zeros((5, 3)), None)
