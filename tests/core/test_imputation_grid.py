"""The grid posterior refined onto a fine grid over its mass (core.imputation_grid's refined and
refining), against a brute-force very fine grid, core.gaps' exact posterior and the coarse grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
from vae_explorer.core.imputation import (
    MIDDLE_ROWS,
    REFINED_CELLS,
    LatentGrid,
    apply_mask,
    erased_mse,
    grid_posterior,
    grid_posterior_steps,
    observed_log_likelihood,
    preset_mask,
    refined,
    refining,
)

MIDDLE = MIDDLE_ROWS
SHAPE = (28, 28)


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(default_checkpoint_path()).model.eval()


@pytest.fixture(scope="module")
def digits(bundled_test_set):
    assert tuple(bundled_test_set.image_shape) == SHAPE
    return bundled_test_set.images[:40].numpy().reshape(-1, *SHAPE)


@pytest.fixture(scope="module")
def panel_grid(model):
    """The Impute tab's coarse grid: 100 x 100 cells over ±4, each 0.08 wide."""
    return LatentGrid(model, extent=4.0, resolution=100).build()


def moments(posterior) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of z under a grid posterior, per axis."""
    z = posterior.grid.z.numpy().astype(np.float64)
    p = posterior.probabilities.reshape(-1).astype(np.float64)
    mean = p @ z
    return mean, np.sqrt(p @ (z - mean) ** 2)


def test_a_narrow_posterior_is_refined_onto_a_fine_grid_that_agrees_with_the_exact_one(model, panel_grid, digits):
    from vae_explorer.core.gaps import exact_posterior

    image = digits[11]
    erased = np.zeros((28, 28), bool)
    erased[26:] = True  # two blank rows erased: the posterior is nearly the full one
    *_, coarse, fine = grid_posterior_steps(panel_grid, image, erased)
    assert fine.grid.resolution == REFINED_CELLS and fine.probabilities.shape == (REFINED_CELLS, REFINED_CELLS)
    # On the coarse grid the mass sits on a handful of cells; on the fine one it spreads over many.
    assert (coarse.probabilities > 1e-3 * coarse.probabilities.max()).sum() < 30
    assert (fine.probabilities > 1e-3 * fine.probabilities.max()).sum() > 300
    # The fine grid's moments match the exact posterior of the whole image (the erased rows are blank,
    # so they tell the model almost nothing), which core.gaps sums on its own adaptive grid.
    exact = exact_posterior(model, torch.as_tensor(np.where(erased, 0.0, image).reshape(-1)))
    mean, sd = moments(fine)
    exact_sd = np.sqrt(np.diag(exact.covariance.numpy()))
    np.testing.assert_allclose(mean, exact.mean.numpy(), atol=0.1 * exact_sd.min())
    np.testing.assert_allclose(sd, exact_sd, rtol=0.1)
    assert refined(fine) is fine or refined(fine).grid.resolution == REFINED_CELLS


def brute_force_moments(model, image: np.ndarray, centre: np.ndarray, half: float, cells: int):
    """Posterior mean and sd of z for a fully observed image, summed cell by cell over a square box
    with the model's own log_prob (not the grid's coefficient tables), and the mass on its border."""
    axis = centre[:, None] + half * ((np.arange(cells) + 0.5) / cells * 2 - 1)[None, :]
    ys, xs = np.meshgrid(axis[1], axis[0], indexing="ij")
    z = torch.as_tensor(np.stack([xs.reshape(-1), ys.reshape(-1)], axis=1), dtype=torch.float32)
    x = torch.as_tensor(image.reshape(1, -1))
    with torch.no_grad():
        log_joint = torch.cat([observed_log_likelihood(model.likelihood(part), x, torch.ones_like(x))
                               for part in z.split(4096)]).double()
    log_joint = log_joint - 0.5 * (z.double() ** 2).sum(dim=1)
    p = torch.softmax(log_joint, dim=0).numpy()
    zs = z.numpy().astype(np.float64)
    mean = p @ zs
    square = p.reshape(cells, cells)
    border = square[0].sum() + square[-1].sum() + square[:, 0].sum() + square[:, -1].sum()
    return mean, np.sqrt(p @ (zs - mean) ** 2), border


@pytest.mark.parametrize("index", [3, 11])
def test_with_every_row_observed_the_refined_grid_matches_a_brute_force_very_fine_grid(model, panel_grid,
                                                                                       digits, index):
    image, nothing_erased = digits[index], np.zeros(SHAPE, bool)
    coarse = grid_posterior(panel_grid, image, nothing_erased)
    fine = refined(coarse)
    coarse_mean, coarse_sd = moments(coarse)
    assert fine is not coarse and (coarse_sd < 3 * 0.08).all()  # narrower than three coarse cells
    # The reference: 200 x 200 cells of 0.005 over a box of its own, centred on the encoder's mean.
    with torch.no_grad():
        centre = model.encode(torch.as_tensor(image.reshape(1, -1))).mean[0].numpy().astype(np.float64)
    mean, sd, border = brute_force_moments(model, image, centre, half=0.5, cells=200)
    assert border < 1e-6 and sd.max() < 0.1  # the box holds all the mass, and its cells are < sd / 5
    fine_mean, fine_sd = moments(fine)
    np.testing.assert_allclose(fine_mean, mean, atol=0.01 * sd.min())  # agree to ~1e-5 in practice
    np.testing.assert_allclose(fine_sd, sd, rtol=0.01)
    # The coarse grid alone gets the spread badly wrong: that is what refining is for.
    assert np.abs(coarse_sd / sd - 1).max() > 0.1 or np.abs(coarse_mean - mean).max() > 0.1 * sd.min()


def test_refining_decodes_a_chunk_per_step_and_ends_where_refined_does(panel_grid, digits):
    coarse = grid_posterior(panel_grid, digits[5], preset_mask(MIDDLE, SHAPE))
    *progress, last = refining(coarse, chunk=1024)
    cells = REFINED_CELLS ** 2
    assert progress and all(isinstance(f, float) for f in progress)
    # One chunk per step, so a GUI timer tick stays short; the whole fine grid decoded (once or more,
    # if it had to widen).
    steps = np.diff([0.0, *progress])
    steps[steps < 0] = np.array(progress)[np.flatnonzero(steps < 0)]
    assert np.allclose(steps, 1024 / cells) and progress[-1] == 1.0
    direct = refined(coarse)
    assert last.grid.bounds == pytest.approx(direct.grid.bounds)
    np.testing.assert_allclose(last.probabilities, direct.probabilities, atol=1e-7)
    np.testing.assert_allclose(last.mean_image, direct.mean_image, atol=1e-6)
    # A wide posterior (nothing seen yet: the prior) needs no fine grid: it comes back as it is, at once.
    prior = next(grid_posterior_steps(panel_grid, digits[5], preset_mask(MIDDLE, SHAPE)))
    assert list(refining(prior)) == [prior]


def test_refining_keeps_the_imputations_quality(panel_grid, digits):
    """The fine grid fills in as well as the coarse one (each on its own within a few per cent), and
    still far better than the masked input, over 12 digits with rows 10-17 erased."""
    mask = preset_mask(MIDDLE, SHAPE)
    coarse_errors, fine_errors = [], []
    for image in digits[:12]:
        coarse = grid_posterior(panel_grid, image, mask)
        fine = refined(coarse)
        np.testing.assert_array_equal(fine.mean_image[~mask], image[~mask])  # observed pixels kept
        coarse_errors.append(erased_mse(coarse.mean_image, image, mask))
        fine_errors.append(erased_mse(fine.mean_image, image, mask))
    masked = np.mean([erased_mse(apply_mask(x, mask), x, mask) for x in digits[:12]])
    assert np.mean(fine_errors) < 1.03 * np.mean(coarse_errors)
    assert np.mean(fine_errors) < 0.6 * masked
