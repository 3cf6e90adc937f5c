"""Holes in the latent space: where the prior N(0, I) puts mass but the data's codes do not.

Sampling a VAE draws z from the prior p(z) = N(0, I), but the decoder only
learned the places where encoded images land. Those places are described by
the aggregate posterior q(z) = (1/N) Σ_n q(z|x_n), the mixture of every
image's posterior. Where p(z) is large and q(z) is tiny, a prior sample
decodes to something the decoder never saw: often no digit at all.

How it is computed (plain numpy, with torch only for the normal CDF):

- Each grid cell holds q's *average* over the cell: the mass every Gaussian
  component puts in the cell, from differences of the normal CDF, divided by
  the cell's area. Posteriors here are diagonal, so a component's mass in a
  cell is a product of one term per axis, and summing 10,000 components over
  all cells is one matrix product (in chunks, to bound memory). Cell averages,
  unlike values at cell centres, stay exact when posteriors are narrower than
  a cell, so sum(density) * cell area is exactly the mass inside the grid.
- A code without a posterior (a plain autoencoder's) is spread by a Gaussian
  kernel whose width follows Scott's rule for 2-D data, h_j = s_j * N^(-1/6),
  with s_j the robust spread min(standard deviation, interquartile range /
  1.349) of axis j, so a few far-flung codes do not blur the dense middle.
- A hole is a cell whose centre lies inside the prior's 95% disc (|z - c| <
  2.448, c the prior's centre; the 0.95 quantile of a chi-square with 2
  degrees of freedom) where q is below a tenth of p (HOLE_RATIO): there a
  prior sample is at least ten times likelier than an encoded image.

Higher-dimensional latents: pass the codes already projected onto the map
plane. For a plane with orthonormal axes A (2, d), z ~ N(0, I_d) projects to
A z ~ N(0, A A^T) = N(0, I_2): the prior on the map is again a standard
normal, centred on the map point of the latent origin (prior_centre; (0, 0)
whenever the plane passes through the origin, as the planes along latent axes
do). The picture is then about the 2-D marginals: a hole in d dimensions that
the projection covers does not show. A tilted plane also gives each posterior
a full 2 x 2 covariance; pass its diagonal (per-axis standard deviations) as
sigma, which ignores the tilt of each small ellipse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

PRIOR_MASS = 0.95  # the share of the prior inside the region where holes are looked for
PRIOR_RADIUS = float(np.sqrt(-2.0 * np.log(1.0 - PRIOR_MASS)))  # 2.448: that region's radius in 2-D
HOLE_RATIO = 0.1  # q(z) below this share of p(z) makes a hole
DEFAULT_CELLS = 150
CHUNK = 4096  # mixture components per matrix product
MIN_SPREAD = 1e-6  # a floor on standard deviations, so a collapsed posterior still has width


@dataclass(frozen=True, eq=False)
class DensityGrid:
    """A 2-D density averaged over the cells of a grid; row 0 lies at ymin, column 0 at xmin."""

    density: np.ndarray  # (rows, cols) mean density over each cell
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax
    cell_size: tuple[float, float]  # dx, dy
    mass: float  # the share of the distribution inside the grid: sum(density) * cell area
    kernel: str  # how each code was spread, in words
    bandwidth: np.ndarray | None = None  # Scott's kernel width per axis, for codes without posteriors

    @property
    def cell_area(self) -> float:
        return self.cell_size[0] * self.cell_size[1]

    @property
    def shape(self) -> tuple[int, int]:
        return self.density.shape

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """The cell centres along x (cols,) and along y (rows,)."""
        xmin, _, ymin, _ = self.extent
        rows, cols = self.density.shape
        return (xmin + self.cell_size[0] * (np.arange(cols) + 0.5),
                ymin + self.cell_size[1] * (np.arange(rows) + 0.5))

    def cell_of(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row and column of the cell holding each point (M, 2), and whether it is on the grid at all."""
        points = np.asarray(points, np.float64).reshape(-1, 2)
        xmin, _, ymin, _ = self.extent
        rows, cols = self.density.shape
        col = np.floor((points[:, 0] - xmin) / self.cell_size[0])
        row = np.floor((points[:, 1] - ymin) / self.cell_size[1])
        on_grid = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
        return np.where(on_grid, row, 0).astype(np.int64), np.where(on_grid, col, 0).astype(np.int64), on_grid


@dataclass(frozen=True, eq=False)
class HoleMap:
    """Where the prior puts mass and the aggregate posterior almost none, on a DensityGrid's cells."""

    mask: np.ndarray  # (rows, cols) bool: the holes
    prior_region: np.ndarray  # (rows, cols) bool: cells whose centre is in the prior's 95% disc
    extent: tuple[float, float, float, float]
    cell_size: tuple[float, float]
    prior_mass_in_holes: float  # the share of all the prior's probability that lies in holes
    prior_centre: tuple[float, float]
    ratio: float  # the threshold used: hole where q < ratio * p
    grid: DensityGrid  # the aggregate posterior the holes were found in

    @property
    def area(self) -> float:
        """The holes' area in map units."""
        return float(self.mask.sum()) * self.cell_size[0] * self.cell_size[1]

    def prior_samples_in_holes(self, samples: np.ndarray) -> np.ndarray:
        """Which samples (M, 2), in map coordinates, land in a hole cell: bool (M,).

        Read off the grid, so a sample is marked exactly when it lies on the tint
        the map shows; a sample off the grid is never marked.
        """
        row, col, on_grid = self.grid.cell_of(samples)
        return on_grid & self.mask[row, col]

    def summary(self, in_holes: np.ndarray | None = None) -> str:
        """One sentence for the user; with the samples' marks, a second clause about them."""
        text = f"{100 * self.prior_mass_in_holes:.0f}% of the prior's mass lies where the data puts almost none"
        if in_holes is not None:
            in_holes = np.asarray(in_holes, bool)
            text += f"; {int(in_holes.sum())} of {in_holes.size} prior samples land there"
        return text


def _codes(mu: np.ndarray, sigma: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    mu = np.asarray(mu, np.float64)
    if mu.ndim != 2 or mu.shape[1] != 2:
        raise ValueError(f"the aggregate posterior needs codes of shape (N, 2) on the map, got {mu.shape}")
    finite = np.isfinite(mu).all(axis=1)
    if sigma is not None:
        sigma = np.asarray(sigma, np.float64)
        if sigma.shape != mu.shape:
            raise ValueError(f"sigma must match the codes' shape {mu.shape}, got {sigma.shape}")
        finite &= np.isfinite(sigma).all(axis=1)
        sigma = sigma[finite]
    mu = mu[finite]
    if len(mu) < 2:
        raise ValueError("the aggregate posterior needs at least two finite codes")
    return mu, sigma


def scott_bandwidth(mu: np.ndarray) -> np.ndarray:
    """Scott's rule in 2-D: robust spread per axis times N^(-1/6)."""
    mu = np.asarray(mu, np.float64)
    iqr = np.subtract(*np.percentile(mu, [75, 25], axis=0))
    spread = np.minimum(mu.std(axis=0), iqr / 1.349)
    spread = np.where(spread > 0, spread, mu.std(axis=0))  # more than a quarter of the codes on one value
    return np.maximum(spread * len(mu) ** (-1.0 / 6.0), MIN_SPREAD)


def _cell_masses(edges: np.ndarray, mean: torch.Tensor, sd: torch.Tensor) -> torch.Tensor:
    """Mass of N(mean_n, sd_n²) between consecutive edges: (N, cells), exact in both tails."""
    t = (torch.from_numpy(edges)[None, :] - mean[:, None]) / sd[:, None]
    upper_tail = t[:, :-1] > 0  # both edges right of the mean: subtract upper-tail CDFs instead
    low = torch.special.ndtr(t[:, :-1])
    high = torch.special.ndtr(t[:, 1:])
    flipped = torch.special.ndtr(-t[:, :-1]) - torch.special.ndtr(-t[:, 1:])
    return torch.where(upper_tail, flipped, high - low)


def _grid(extent, cells) -> tuple[tuple[float, float, float, float], np.ndarray, np.ndarray]:
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    if not (np.isfinite([xmin, xmax, ymin, ymax]).all() and xmax > xmin and ymax > ymin):
        raise ValueError(f"the extent must be finite with xmin < xmax and ymin < ymax, got {extent}")
    cols, rows = (int(cells), int(cells)) if np.isscalar(cells) else (int(cells[0]), int(cells[1]))
    if cols < 2 or rows < 2:
        raise ValueError(f"the grid needs at least 2 cells along each axis, got {cols} x {rows}")
    return (xmin, xmax, ymin, ymax), np.linspace(xmin, xmax, cols + 1), np.linspace(ymin, ymax, rows + 1)


def _mixture_on_grid(mu: np.ndarray, sd: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """(1/N) Σ_n mass of component n in each cell, (rows, cols)."""
    masses = torch.zeros(len(y_edges) - 1, len(x_edges) - 1, dtype=torch.float64)
    mu_t, sd_t = torch.from_numpy(mu), torch.from_numpy(sd)
    for start in range(0, len(mu), CHUNK):
        part = slice(start, start + CHUNK)
        along_x = _cell_masses(x_edges, mu_t[part, 0], sd_t[part, 0])
        along_y = _cell_masses(y_edges, mu_t[part, 1], sd_t[part, 1])
        masses += along_y.T @ along_x
    return (masses / len(mu)).numpy()


def aggregate_posterior_density(mu: np.ndarray, sigma: np.ndarray | None, extent,
                                cells: int | tuple[int, int] = DEFAULT_CELLS) -> DensityGrid:
    """q(z) = (1/N) Σ_n N(z; mu_n, diag(sigma_n²)) averaged over each cell of a grid over extent.

    mu (N, 2) and sigma (N, 2) are map coordinates and per-axis standard
    deviations; sigma None (a deterministic code) uses Scott's kernel instead.
    extent is (xmin, xmax, ymin, ymax); cells is per axis, or (cols, rows).
    Codes with a non-finite value are left out.
    """
    mu, sigma = _codes(mu, sigma)
    extent, x_edges, y_edges = _grid(extent, cells)
    if sigma is None:
        bandwidth = scott_bandwidth(mu)
        sd = np.broadcast_to(bandwidth, mu.shape).copy()
        kernel = (f"codes without posteriors, each spread by a Gaussian kernel of "
                  f"{bandwidth[0]:.2g} × {bandwidth[1]:.2g} (Scott's rule)")
    else:
        bandwidth, sd = None, np.maximum(sigma, MIN_SPREAD)
        kernel = "each code's posterior q(z|x)"
    masses = _mixture_on_grid(mu, sd, x_edges, y_edges)
    dx, dy = x_edges[1] - x_edges[0], y_edges[1] - y_edges[0]
    return DensityGrid(masses / (dx * dy), extent, (float(dx), float(dy)), float(masses.sum()), kernel, bandwidth)


def prior_density(extent, cells: int | tuple[int, int] = DEFAULT_CELLS,
                  centre: tuple[float, float] = (0.0, 0.0)) -> DensityGrid:
    """The prior N(centre, I) on the map, averaged over the same kind of grid."""
    extent, x_edges, y_edges = _grid(extent, cells)
    masses = _mixture_on_grid(np.asarray(centre, np.float64).reshape(1, 2), np.ones((1, 2)), x_edges, y_edges)
    dx, dy = x_edges[1] - x_edges[0], y_edges[1] - y_edges[0]
    return DensityGrid(masses / (dx * dy), extent, (float(dx), float(dy)), float(masses.sum()), "the prior N(0, I)")


def holes(density: DensityGrid, prior: DensityGrid | None = None, ratio: float = HOLE_RATIO,
          prior_centre: tuple[float, float] = (0.0, 0.0)) -> HoleMap:
    """The cells inside the prior's 95% disc where q(z) < ratio * p(z).

    prior defaults to N(prior_centre, I) on density's grid; a given prior must
    share that grid.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"the hole ratio must lie between 0 and 1, got {ratio}")
    centre = tuple(float(v) for v in np.asarray(prior_centre, np.float64).reshape(2))
    if prior is None:
        prior = prior_density(density.extent, density.shape[::-1], centre)
    elif prior.shape != density.shape or not np.allclose(prior.extent, density.extent):
        raise ValueError("the prior and the aggregate posterior must be on the same grid")
    xs, ys = density.centres()
    inside = (xs[None, :] - centre[0]) ** 2 + (ys[:, None] - centre[1]) ** 2 <= PRIOR_RADIUS**2
    mask = inside & (density.density < ratio * prior.density)
    in_holes = float(prior.density[mask].sum() * prior.cell_area)
    return HoleMap(mask, inside, density.extent, density.cell_size, in_holes, centre, float(ratio), density)


def prior_extent(prior_centre: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float, float, float]:
    """The square just around the prior's 95% disc: the only place holes are looked for."""
    cx, cy = (float(v) for v in np.asarray(prior_centre, np.float64).reshape(2))
    half = PRIOR_RADIUS * 1.02
    return cx - half, cx + half, cy - half, cy + half


def default_extent(mu: np.ndarray, prior_centre: tuple[float, float] = (0.0, 0.0),
                   margin: float = 0.5) -> tuple[float, float, float, float]:
    """A box over the prior's ±4 and the codes' 0.1-99.9 percentiles, plus a margin."""
    mu = np.asarray(mu, np.float64).reshape(-1, 2)
    mu = mu[np.isfinite(mu).all(axis=1)]
    centre = np.asarray(prior_centre, np.float64).reshape(2)
    low, high = centre - 4.0, centre + 4.0
    if len(mu):
        low = np.minimum(low, np.percentile(mu, 0.1, axis=0))
        high = np.maximum(high, np.percentile(mu, 99.9, axis=0))
    low, high = low - margin, high + margin
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def prior_samples(count: int, seed: int | None = None, centre: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """count draws of the prior on the map, N(centre, I), shape (count, 2)."""
    rng = np.random.default_rng(seed)
    return (np.asarray(centre, np.float64).reshape(1, 2) + rng.standard_normal((int(count), 2))).astype(np.float32)


def find_holes(mu: np.ndarray, sigma: np.ndarray | None, extent=None, cells: int = DEFAULT_CELLS,
               ratio: float = HOLE_RATIO, prior_centre: tuple[float, float] = (0.0, 0.0)) -> HoleMap:
    """All in one: the aggregate posterior and its holes, on a grid over extent.

    The default extent is prior_extent: the square around the prior's 95% disc,
    so every cell is spent where holes can be, however far the codes spread.
    """
    extent = prior_extent(prior_centre) if extent is None else extent
    return holes(aggregate_posterior_density(mu, sigma, extent, cells), ratio=ratio, prior_centre=prior_centre)
