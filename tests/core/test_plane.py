"""Planes through the latent space: a map point stands for one full z, and back again."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_explorer.core import plane as planes
from vae_explorer.core.checkpoint import Checkpoint
from vae_explorer.core.models import registry
from vae_explorer.core.session import ExplorerSession


def random_orthonormal(dim: int, rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((dim, 2)))
    return q.T.astype(np.float32)


def test_identity_plane_is_the_map_as_it_was():
    square = planes.identity(2)
    z = np.array([[0.5, -1.25], [3.0, 2.0]], np.float32)
    np.testing.assert_array_equal(square.project(z), z)
    np.testing.assert_array_equal(square.to_latent(z), z)
    line = planes.identity(1)  # a 1-D latent lies on the z1 axis, z2 = 0
    np.testing.assert_array_equal(line.project(np.array([[0.5], [-1.0]])), [[0.5, 0.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(line.to_latent(np.array([[0.5, 7.0]])), [[0.5]])
    np.testing.assert_allclose(line.project_covariance(sigma=np.array([0.3])), [[0.09, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="1-D and 2-D"):
        planes.identity(3)


def test_a_plane_point_goes_to_its_latent_and_back():
    rng = np.random.default_rng(0)
    origin = rng.standard_normal(6).astype(np.float32)
    tilted = planes.LatentPlane(origin, random_orthonormal(6, rng), "tilted")
    points = rng.standard_normal((50, 2)).astype(np.float32)
    np.testing.assert_allclose(tilted.project(tilted.to_latent(points)), points, atol=1e-5)
    # Off the plane, project drops exactly the part orthogonal to it.
    z = rng.standard_normal((20, 6)).astype(np.float32)
    residual = z - tilted.to_latent(tilted.project(z))
    np.testing.assert_allclose(residual @ tilted.axes.T, 0.0, atol=1e-5)
    assert tilted.project(z[0]).shape == (2,)


def test_along_axes_keeps_the_other_coordinates_at_the_origin():
    origin = np.arange(1, 6, dtype=np.float32)  # z = (1, 2, 3, 4, 5)
    plane = planes.along_axes(5, 2, 4, origin, others="from point #7")
    latent = plane.to_latent(np.array([[0.5, -0.25]]))[0]
    np.testing.assert_array_equal(latent, [1.0, 2.0, 0.5, 4.0, -0.25])
    np.testing.assert_array_equal(plane.project(origin), [3.0, 5.0])  # map coordinates are z3 and z5
    assert plane.description == "plane z3 × z5, others from point #7"
    assert "z₃" in plane.axis_labels[0] and "z₅" in plane.axis_labels[1]
    assert "others at 0" in planes.along_axes(5, 0, 1).description
    with pytest.raises(ValueError, match="different"):
        planes.along_axes(5, 1, 1)
    with pytest.raises(ValueError, match="between 1 and 5"):
        planes.along_axes(5, 0, 5)


def test_axes_must_be_orthonormal_and_shaped_for_the_origin():
    with pytest.raises(ValueError, match="orthonormal"):
        planes.LatentPlane(np.zeros(3), np.array([[1.0, 0, 0], [1.0, 1.0, 0]]), "bad")
    with pytest.raises(ValueError, match="shape"):
        planes.LatentPlane(np.zeros(3), np.eye(2), "bad")
    plane = planes.along_axes(3, 0, 1)
    with pytest.raises(ValueError):  # frozen arrays: a plane cannot be changed in place
        plane.origin[0] = 1.0


def test_principal_plane_is_orthonormal_and_captures_the_most_variance():
    rng = np.random.default_rng(1)
    basis = random_orthonormal(8, rng)
    scales = np.array([3.0, 1.5] + [0.3] * 6)
    # Variance 9 and 2.25 along two hidden directions, 0.09 elsewhere, centred away from 0.
    q, _ = np.linalg.qr(np.concatenate([basis.T, rng.standard_normal((8, 6))], axis=1))
    codes = (rng.standard_normal((30_000, 8)) * scales) @ q.T + 2.0
    plane = planes.principal(codes)
    np.testing.assert_allclose(plane.axes @ plane.axes.T, np.eye(2), atol=1e-5)
    np.testing.assert_allclose(plane.origin, codes[np.linspace(0, 29_999, 10_000).astype(int)].mean(0), atol=1e-5)
    # The plane found is the hidden one (up to rotation inside it).
    overlap = np.linalg.svd(plane.axes @ q[:, :2])[1]
    np.testing.assert_allclose(overlap, 1.0, atol=0.02)
    centred = codes - codes.mean(0)
    captured = ((centred @ plane.axes.T) ** 2).sum()
    for _ in range(20):
        other = random_orthonormal(8, rng)
        assert captured >= ((centred @ other.T) ** 2).sum()
    assert plane.description.startswith("principal components 1-2")
    assert "PC₁" in plane.axis_labels[0]


def test_principal_plane_ignores_broken_rows_and_refuses_too_little_data():
    rng = np.random.default_rng(2)
    codes = rng.standard_normal((100, 4))
    codes[5] = np.nan
    plane = planes.principal(codes)
    assert np.isfinite(plane.origin).all()
    with pytest.raises(ValueError, match="at least 2 encoded points"):
        planes.principal(np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        planes.principal(np.zeros((10, 1)))


def test_projected_covariance_matches_samples_seen_through_the_plane():
    rng = np.random.default_rng(3)
    plane = planes.LatentPlane(rng.standard_normal(5), random_orthonormal(5, rng), "tilted")
    logvar = rng.uniform(-2.0, 1.0, 5)
    cov = plane.project_covariance(logvar=logvar)
    np.testing.assert_allclose(cov, plane.project_covariance(sigma=np.exp(0.5 * logvar)))
    samples = rng.standard_normal((200_000, 5)) * np.exp(0.5 * logvar)
    np.testing.assert_allclose(np.cov(plane.project(samples.astype(np.float32)).T), cov, atol=0.02)
    assert abs(cov[0, 1]) > 1e-3  # a tilted plane gives a rotated ellipse
    along = planes.along_axes(5, 1, 3).project_covariance(logvar=logvar)
    np.testing.assert_allclose(along, np.diag(np.exp(logvar[[1, 3]])), rtol=1e-6)
    with pytest.raises(ValueError, match="exactly one"):
        plane.project_covariance()


def test_covariance_ellipse_lies_on_the_k_sigma_contour():
    mu = np.array([0.5, -1.0])
    cov = np.array([[2.0, 0.8], [0.8, 0.6]])
    inverse = np.linalg.inv(cov)
    for k in (1.0, 2.0):
        outline = planes.covariance_ellipse(mu, cov, k).astype(np.float64) - mu
        np.testing.assert_allclose(np.einsum("ij,jk,ik->i", outline, inverse, outline), k**2, rtol=1e-4)
    # A diagonal covariance reaches exactly mu +- k sigma along each axis.
    outline = planes.covariance_ellipse(mu, np.diag([0.04, 0.25]), 2.0)
    np.testing.assert_allclose(outline.min(0), mu - [0.4, 1.0], atol=1e-6)
    np.testing.assert_allclose(outline.max(0), mu + [0.4, 1.0], atol=1e-6)


def test_traversals_sweep_one_coordinate_and_keep_the_rest():
    z = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    values = np.linspace(-3, 3, 9)
    rows = planes.traversal(z, 2, values)
    assert rows.shape == (9, 4)
    np.testing.assert_allclose(rows[:, 2], values)
    np.testing.assert_array_equal(np.delete(rows, 2, axis=1), np.tile(np.delete(z, 2), (9, 1)))
    stacked = planes.traversals(z, [3, 0], values)
    np.testing.assert_array_equal(stacked[:9], planes.traversal(z, 3, values))
    np.testing.assert_array_equal(stacked[9:], planes.traversal(z, 0, values))
    with pytest.raises(ValueError, match="dimension 5"):
        planes.traversal(z, 4, values)


def test_decoding_a_plane_point_decodes_the_full_latent_it_stands_for(bundled_test_set):
    config = registry.get_kind("vae").Config(hidden_sizes=(16,), latent_dim=5)
    model = registry.build("vae", config, seed=0)
    session = ExplorerSession.create(Checkpoint(model=model), bundled_test_set.subset(300))
    for plane in (planes.along_axes(5, 2, 4, session.latent_mu[7]), planes.principal(session.latent_mu)):
        points = np.array([[0.3, -0.2], [1.0, 1.5]], np.float32)
        z = plane.to_latent(points)
        with torch.no_grad():
            direct = model.eval().decode(torch.as_tensor(z)).numpy()
        np.testing.assert_allclose(session.decode(plane.to_latent(points)), direct, atol=1e-6)
        np.testing.assert_allclose(plane.project(z), points, atol=1e-5)
    # The followed point itself lies on its along-axes plane: decoding its map point reconstructs it.
    plane = planes.along_axes(5, 2, 4, session.latent_mu[7])
    np.testing.assert_allclose(plane.to_latent(plane.project(session.latent_mu[7:8])), session.latent_mu[7:8],
                               atol=1e-6)


def test_coordinate_planes_project_exactly_even_past_float_range():
    codes = np.array([[np.inf, 2.0, 3.0], [1e30, -5.0, np.nan]], np.float32)
    np.testing.assert_array_equal(planes.along_axes(3, 1, 2).project(codes[:1]), [[2.0, 3.0]])
    np.testing.assert_array_equal(planes.identity(2).project(codes[:, :2]), codes[:, :2])


@pytest.mark.parametrize("rows, dim", [(500, 40), (30, 60)])
def test_principal_plane_matches_the_svd_of_the_centred_codes(rows, dim):
    rng = np.random.default_rng(3)
    codes = rng.standard_normal((rows, dim)) * np.linspace(5, 0.1, dim)  # distinct spreads: a unique answer
    plane = planes.principal(codes)
    centred = codes - codes.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    for axis, reference in zip(plane.axes, vt[:2]):
        assert abs(float(np.dot(axis, reference))) == pytest.approx(1.0, abs=1e-4)
    share = 100 * (singular[:2] ** 2).sum() / (singular**2).sum()
    assert f"({share:.0f}% of variance)" in plane.description
