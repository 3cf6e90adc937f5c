"""Latent-space geometry: grids, inverse-CDF manifold, paths, ellipses, nearest point, tiling, CSV."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
import torch

from vae_explorer.core import latent


def test_grid_points_are_cell_centres_in_reading_order():
    points = latent.grid_points(0.0, 4.0, -1.0, 1.0, cols=4, rows=2)
    assert points.shape == (8, 2)
    np.testing.assert_allclose(points[:4, 0], [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(points[:4, 1], 0.5)  # row 0 is the top row
    np.testing.assert_allclose(points[4:, 1], -0.5)
    with pytest.raises(ValueError):
        latent.grid_points(0, 1, 0, 1, 0, 3)


def test_gaussian_quantiles_match_the_inverse_normal_cdf():
    q = latent.gaussian_quantiles(7, tail=0.05)
    expected = [NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, 7)]
    np.testing.assert_allclose(q, expected, atol=1e-6)
    # torch's ndtri is an independent implementation of the same function.
    np.testing.assert_allclose(q, torch.special.ndtri(torch.linspace(0.05, 0.95, 7, dtype=torch.float64)).numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(q, -q[::-1], atol=1e-6)  # symmetric about 0
    assert latent.gaussian_quantiles(1).tolist() == [0.0]
    for bad in (0.0, 0.5):
        with pytest.raises(ValueError):
            latent.gaussian_quantiles(5, tail=bad)


def test_manifold_grid_has_equal_prior_mass_between_neighbours():
    grid = latent.manifold_grid(5, tail=0.1)
    assert grid.shape == (25, 2)
    cdf = np.array([NormalDist().cdf(float(v)) for v in np.unique(grid[:, 0])])
    np.testing.assert_allclose(np.diff(cdf), 0.2, atol=1e-6)
    assert grid[0, 1] > grid[-1, 1] and grid[0, 0] < grid[-1, 0]  # top-left to bottom-right


def test_linear_path_is_evenly_spaced_and_inclusive():
    path = latent.linear_path(np.array([0.0, 0.0]), np.array([3.0, -6.0]), 4)
    np.testing.assert_allclose(path, [[0, 0], [1, -2], [2, -4], [3, -6]])


def test_spherical_path_keeps_endpoints_and_interpolates_norm_and_angle():
    a, b = np.array([2.0, 0.0]), np.array([0.0, 4.0])
    path = latent.spherical_path(a, b, 5)
    np.testing.assert_allclose(path[0], a, atol=1e-6)
    np.testing.assert_allclose(path[-1], b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linspace(2, 4, 5), rtol=1e-5)
    angles = np.arctan2(path[:, 1], path[:, 0])
    np.testing.assert_allclose(angles, np.linspace(0, np.pi / 2, 5), atol=1e-5)
    # Degenerate cases fall back to a line instead of dividing by zero.
    np.testing.assert_allclose(latent.spherical_path(np.zeros(2), b, 3), latent.linear_path(np.zeros(2), b, 3))
    np.testing.assert_allclose(latent.spherical_path(a, 3 * a, 3), latent.linear_path(a, 3 * a, 3))
    with pytest.raises(ValueError):
        latent.interpolation_path(a, b, 5, "cubic")
    with pytest.raises(ValueError):
        latent.linear_path(a, b, 1)


def test_ellipse_points_lie_on_the_k_sigma_contour():
    mu, sigma = np.array([1.0, -2.0]), np.array([0.5, 0.1])
    for k in (1.0, 2.0):
        outline = latent.ellipse_points(mu, sigma, k, count=40)
        assert outline.shape == (41, 2)
        np.testing.assert_allclose(outline[0], outline[-1], atol=1e-6)  # closed
        radius2 = ((outline - mu) / sigma) ** 2
        np.testing.assert_allclose(radius2.sum(axis=1), k**2, rtol=1e-5)
        np.testing.assert_allclose(outline[:, 0].max(), mu[0] + k * sigma[0], rtol=1e-6)
    np.testing.assert_allclose(latent.sigma_from_logvar(np.log([0.25, 4.0])), [0.5, 2.0], rtol=1e-6)


def test_nearest_point_respects_radius_scale_and_mask():
    codes = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 10.0]], np.float32)
    assert latent.nearest_point(codes, [0.9, 0.1]) == 1
    assert latent.nearest_point(codes, [0.5, 5.0], max_distance=1.0) is None
    # With y measured in units of 10 (say, 10 data units per pixel), the far point is near.
    assert latent.nearest_point(codes, [0.0, 9.0], max_distance=0.5, scale=np.array([1.0, 10.0])) == 2
    assert latent.nearest_point(codes, [0.9, 0.0], mask=np.array([True, False, True])) == 0
    assert latent.nearest_point(codes, [0.0, 0.0], mask=np.zeros(3, bool)) is None
    assert latent.nearest_point(np.zeros((0, 2)), [0, 0]) is None


def test_tile_images_places_each_image_in_its_cell():
    images = np.arange(6 * 2 * 3, dtype=np.float32).reshape(6, 2, 3)
    tiled = latent.tile_images(images, rows=2, cols=3, padding=1, fill=-1)
    assert tiled.shape == (2 * 2 + 1, 3 * 3 + 2)
    np.testing.assert_array_equal(tiled[0:2, 0:3], images[0])
    np.testing.assert_array_equal(tiled[3:5, 8:11], images[5])
    assert (tiled[2] == -1).all()
    with pytest.raises(ValueError):
        latent.tile_images(images, 2, 2)


def test_prior_samples_are_seeded_standard_normal():
    a = latent.prior_samples(5000, 2, seed=3)
    np.testing.assert_array_equal(a, latent.prior_samples(5000, 2, seed=3))
    assert abs(a.mean()) < 0.05 and abs(a.std() - 1) < 0.05


def test_codes_csv_round_trips(tmp_path):
    mu = np.array([[0.123456, -1.5], [2.0, 3.25]], np.float32)
    labels = np.array([7, 2])
    path = latent.write_codes_csv(tmp_path / "codes.csv", mu, labels, logvar=np.zeros_like(mu), split="test")
    lines = path.read_text().splitlines()
    assert lines[0] == "index,split,label,z1,z2,logvar1,logvar2"
    assert lines[1].startswith("0,test,7,0.123456,-1.5")
    codes, read_labels = latent.read_codes_csv(path)
    np.testing.assert_allclose(codes, mu, rtol=1e-6)
    np.testing.assert_array_equal(read_labels, labels)


def test_kl_per_dimension_matches_a_hand_computation():
    mean = np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    logvar = np.array([[0.0, 0.0, np.log(4.0)], [0.0, 0.0, np.log(4.0)]])
    kl = latent.kl_per_dimension(mean, logvar)
    # dim 1: the prior itself; dim 2: mean +-1, unit variance -> 0.5 * 1; dim 3: sigma 2 -> 0.5 * (4 - 1 - log 4).
    np.testing.assert_allclose(kl, [0.0, 0.5, 0.5 * (3.0 - np.log(4.0))])
    # The same as torch's closed form summed over dimensions and averaged over images.
    rng = np.random.default_rng(0)
    mean, logvar = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    q = torch.distributions.Normal(torch.as_tensor(mean), torch.as_tensor(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(0.0, 1.0)
    expected = torch.distributions.kl_divergence(q, p).mean(dim=0).numpy()
    np.testing.assert_allclose(latent.kl_per_dimension(mean, logvar), expected, rtol=1e-10)
    assert latent.kl_per_dimension(np.zeros((0, 3)), np.zeros((0, 3))).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        latent.kl_per_dimension(np.zeros((2, 3)), np.zeros((2, 2)))
