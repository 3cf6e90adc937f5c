"""Holes in a 2-D latent space: where the prior N(0, I) puts mass and the data's codes do not.

A VAE is sampled from its prior, but its decoder only learned the places where
encoded images land. The aggregate posterior q(z) = (1/N) Σ_n q(z|x_n), the
mixture of every image's posterior, says where those are. Where p(z) is large
and q(z) is small, a prior sample decodes to no image in particular.

- q(z) is evaluated on a grid as a product of per-axis Gaussians (each
  posterior is diagonal), so 10,000 components on 160 x 160 cells are one
  matrix product. A code without a posterior (a plain autoencoder's) gets a
  Gaussian kernel of Scott's bandwidth, n^(-1/6) times each axis' spread
  (the smaller of its standard deviation and its interquartile range / 1.349,
  so a few far-flung codes do not blur the dense middle).
- A hole is a cell inside the prior's 95% disc (|z| below 2.45, the
  chi-square quantile for 2 degrees of freedom) where q(z) is below a tenth
  of p(z).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIOR_RADIUS = float(np.sqrt(-2.0 * np.log(0.05)))  # the disc holding 95% of N(0, I) in 2-D: 2.448
HOLE_RATIO = 0.1  # q(z) below this share of p(z) is a hole
CELLS = 160
CHUNK = 4096  # mixture components per matrix product, to bound the memory of a large split


@dataclass(frozen=True)
class HoleMap:
    density: np.ndarray  # (cells, cells) q(z) at cell centres, rows along y
    prior: np.ndarray  # (cells, cells) p(z) at the same centres
    holes: np.ndarray  # (cells, cells) bool
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax
    cell_area: float
    bandwidth: np.ndarray | None  # the kernel's per-axis width for codes without a posterior

    @property
    def mass(self) -> float:
        """q's mass inside the grid: near 1 when the extent covers the codes."""
        return float(self.density.sum() * self.cell_area)

    @property
    def overlap(self) -> float:
        """∫ min(p, q) dz on the grid: the share of the prior the codes cover, with no threshold."""
        return float(np.minimum(self.prior, self.density).sum() * self.cell_area)

    @property
    def prior_mass_in_holes(self) -> float:
        """The share of the prior's probability that lies in holes."""
        return float(self.prior[self.holes].sum() * self.cell_area)


def _normal(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """N(x; mean, sd²) for every (component, point) pair: (N, M)."""
    scaled = (x[None, :] - mean[:, None]) / sd[:, None]
    return np.exp(-0.5 * scaled**2) / (np.sqrt(2 * np.pi) * sd[:, None])


def spreads(mu: np.ndarray, sigma: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Each component's standard deviations (N, 2), and the kernel bandwidth used when sigma is None."""
    mu = np.asarray(mu, np.float64)
    if mu.ndim != 2 or mu.shape[1] != 2 or len(mu) < 2:
        raise ValueError(f"holes need at least two 2-D codes, got an array of shape {mu.shape}")
    if sigma is not None:
        return np.maximum(np.asarray(sigma, np.float64), 1e-6), None
    iqr = np.subtract(*np.percentile(mu, [75, 25], axis=0))
    spread = np.minimum(mu.std(axis=0), iqr / 1.349)
    bandwidth = np.maximum(spread * len(mu) ** (-1 / 6), 1e-6)  # Scott's rule, d = 2
    return np.broadcast_to(bandwidth, mu.shape), bandwidth


def default_extent(mu: np.ndarray, margin: float = 1.0) -> tuple[float, float, float, float]:
    """A square over the prior's ±4 and the codes' 0.1-99.9 percentiles, with a margin."""
    low = np.minimum(np.percentile(mu, 0.1, axis=0), -4.0) - margin
    high = np.maximum(np.percentile(mu, 99.9, axis=0), 4.0) + margin
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def find_holes(mu: np.ndarray, sigma: np.ndarray | None, extent=None, cells: int = CELLS,
               ratio: float = HOLE_RATIO) -> HoleMap:
    """q(z), p(z) and the holes on a cells x cells grid over extent (xmin, xmax, ymin, ymax)."""
    mu = np.asarray(mu, np.float64)
    sd, bandwidth = spreads(mu, sigma)
    xmin, xmax, ymin, ymax = extent if extent is not None else default_extent(mu)
    dx, dy = (xmax - xmin) / cells, (ymax - ymin) / cells
    xs = xmin + dx * (np.arange(cells) + 0.5)
    ys = ymin + dy * (np.arange(cells) + 0.5)
    density = np.zeros((cells, cells))
    for start in range(0, len(mu), CHUNK):  # q(y, x) = (1/N) Σ_n φ_n(y) φ_n(x): a matrix product
        part = slice(start, start + CHUNK)
        density += _normal(ys, mu[part, 1], sd[part, 1]).T @ _normal(xs, mu[part, 0], sd[part, 0])
    density /= len(mu)
    prior = np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2)) / (2 * np.pi)
    inside = ys[:, None] ** 2 + xs[None, :] ** 2 <= PRIOR_RADIUS**2
    holes = inside & (density < ratio * prior)
    return HoleMap(density, prior, holes, (xmin, xmax, ymin, ymax), dx * dy, bandwidth)


def aggregate_density_at(mu: np.ndarray, sigma: np.ndarray | None, points: np.ndarray) -> np.ndarray:
    """q(z) at points (M, 2), computed exactly (not read off the grid)."""
    mu = np.asarray(mu, np.float64)
    sd, _ = spreads(mu, sigma)
    points = np.asarray(points, np.float64).reshape(-1, 2)
    total = np.zeros(len(points))
    for start in range(0, len(mu), CHUNK):
        part = slice(start, start + CHUNK)
        total += (_normal(points[:, 0], mu[part, 0], sd[part, 0])
                  * _normal(points[:, 1], mu[part, 1], sd[part, 1])).sum(axis=0)
    return total / len(mu)


def share_inside_prior(mu: np.ndarray) -> float:
    """The share of codes inside the prior's 95% disc: near 0.95 when the codes follow N(0, I)."""
    mu = np.asarray(mu, np.float64).reshape(-1, 2)
    return float(((mu**2).sum(axis=1) <= PRIOR_RADIUS**2).mean())


def samples_in_holes(mu: np.ndarray, sigma: np.ndarray | None, samples: np.ndarray,
                     ratio: float = HOLE_RATIO) -> np.ndarray:
    """Which prior samples (M, 2) land in a hole: inside the prior's 95% disc, q(z) < ratio p(z)."""
    samples = np.asarray(samples, np.float64).reshape(-1, 2)
    prior = np.exp(-0.5 * (samples**2).sum(axis=1)) / (2 * np.pi)
    inside = (samples**2).sum(axis=1) <= PRIOR_RADIUS**2
    return inside & (aggregate_density_at(mu, sigma, samples) < ratio * prior)
