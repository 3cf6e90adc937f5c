"""The exact posterior over a 2-D latent space, evaluated on a grid of cells.

For a model with a 2-D latent, p(z | x_observed) ∝ p(x_observed | z) p(z)
can be evaluated at every cell centre of a grid over z, once each cell is
decoded. The imputation is then the posterior mean of the decoded images;
the MAP cell, posterior samples and a per-pixel spread come with it.

Scoring an image against 10,000 cells pixel by pixel would be slow, so the
grid asks the model's likelihood for log p(x|z) per pixel as a quadratic in
x (PixelLikelihood.quadratic_log_prob: its values at x = 0 and 1 and its
bend) and keeps the three coefficient tables: the log-likelihood of N images
at G cells is then three matrix products, whatever the likelihood is. The public names are re-exported by
core.imputation; import them from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from vae_explorer.core.gaps import EDGE_MASS, FINE_CELLS, FINE_SPAN
from vae_explorer.core.models.base import ExplorableModel
from vae_explorer.core.models.likelihoods import standard_normal_log_density

# --------------------------------------------------------- shared helpers


def posterior_methods_problem(model: ExplorableModel) -> str | None:
    """Why a method that scores p(x_obs | z) p(z) cannot run on this model; None when it can.

    Those methods need the model's pixel likelihood and the N(0, I) prior of
    a VAE, which a kind with a Gaussian posterior q(z|x) is trained against.
    """
    if not model.has_likelihood:
        return f"the {model.kind} model defines no pixel likelihood p(x|z)"
    if not model.has_posterior:
        return f"the {model.kind} model has no posterior q(z|x), so no N(0, I) prior over z"
    return None


@torch.no_grad()
def grid_problem(model: ExplorableModel) -> str | None:
    """Why the grid posterior cannot run on this model; None when it can."""
    problem = posterior_methods_problem(model)
    if problem is not None:
        return problem
    if model.latent_dim != 2:
        return "the grid posterior needs a 2-D latent space"
    try:
        model.likelihood(torch.zeros(1, 2, device=model.device)).quadratic_log_prob()
    except NotImplementedError as exc:
        return f"the grid posterior cannot use this model: {exc}"
    return None


# ------------------------------------------------------------------ grid

# The fine grid is sized as core.gaps sizes the exact posterior's: FINE_CELLS per side, FINE_SPAN
# posterior standard deviations each way, widened while its border holds more than EDGE_MASS.
REFINED_CELLS = FINE_CELLS
REFINED_SPAN = FINE_SPAN
REFINED_EDGE_MASS = EDGE_MASS
REFINED_MIN_CELLS = 3.0  # a posterior at least this many coarse cells wide keeps its coarse grid
REFINED_CHUNK = 1024  # fine-grid cells decoded per step of refining(): ~50 ms on one core


@dataclass
class LatentGrid:
    """Decoded cells at the centres of a regular grid over [-extent, extent]^2, or over the box
    centre ± half (a refined grid over where a posterior's mass lies).

    Cell k = i * resolution + j sits at x = x_centres[j], y = y_centres[i], so a
    (resolution, resolution) reshape has row 0 at the bottom (the smallest y).
    Decoding is done in chunks (decode_next_chunk) so a GUI can spread it over
    timer ticks; build() does it all at once.
    """

    model: ExplorableModel
    extent: float = 4.0
    resolution: int = 100
    centre: tuple[float, float] = (0.0, 0.0)
    half: tuple[float, float] | None = None  # half-widths along x and y; (extent, extent) by default
    z: torch.Tensor = field(init=False)  # (G, 2) cell centres
    means: torch.Tensor = field(init=False)  # (G, D) decoded mean images
    log_prior: torch.Tensor = field(init=False)  # (G,) log N(z; 0, I)
    # at_zero, at_one, curvature of log p(x|z) (see QuadraticLogProb): each (G, D),
    # or (1, D) when the same for every cell.
    coefficients: list[torch.Tensor] = field(init=False, default_factory=list)
    _decoded: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        problem = grid_problem(self.model)
        if problem is not None:
            raise ValueError(problem)
        if self.half is None:
            self.half = (float(self.extent), float(self.extent))
        ys, xs = torch.meshgrid(self._axis(1), self._axis(0), indexing="ij")
        self.z = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
        self.means = torch.empty(self.z.shape[0], self.model.pixel_count)
        self.log_prior = standard_normal_log_density(self.z)

    def _axis(self, axis: int) -> torch.Tensor:
        step = 2 * self.half[axis] / self.resolution
        low = self.centre[axis] - self.half[axis]
        return low + step * (torch.arange(self.resolution, dtype=torch.float32) + 0.5)

    @property
    def centres(self) -> torch.Tensor:
        """Cell centres along x (the same along y for the default square grid)."""
        return self._axis(0)

    @property
    def cell_size(self) -> tuple[float, float]:
        return 2 * self.half[0] / self.resolution, 2 * self.half[1] / self.resolution

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of the whole grid, cell edges included."""
        (cx, cy), (hx, hy) = self.centre, self.half
        return (cx - hx, cx + hx, cy - hy, cy + hy)

    @property
    def ready(self) -> bool:
        return self._decoded >= self.z.shape[0]

    @torch.no_grad()
    def decode_next_chunk(self, cells: int = 2000) -> float:
        """Decode the next `cells` grid points; returns the fraction done."""
        start, stop = self._decoded, min(self._decoded + cells, self.z.shape[0])
        if start < stop:
            likelihood = self.model.likelihood(self.z[start:stop].to(self.model.device))
            self.means[start:stop] = likelihood.mean.cpu()
            terms = likelihood.quadratic_log_prob()
            self._store(start, stop, [terms.at_zero, terms.at_one, terms.curvature])
            self._decoded = stop
        return self._decoded / self.z.shape[0]

    def _store(self, start: int, stop: int, terms: list[torch.Tensor]) -> None:
        cells, pixels = self.z.shape[0], self.means.shape[1]
        # Each as rows (n or 1, D). (By hand: torch.broadcast_shapes imports half a second of torch on first use.)
        terms = [t.cpu().to(torch.float32) for t in terms]
        terms = [(t if t.dim() == 2 else t.reshape(1, -1)).expand(-1, pixels) for t in terms]
        if not self.coefficients:
            # A coefficient shared by every cell (one row) is kept once; a chunk of a
            # single cell cannot tell, so then every table is kept per cell.
            shared = [t.shape[0] == 1 and stop - start > 1 for t in terms]
            self.coefficients = [torch.empty(1 if s else cells, pixels) for s in shared]
        for table, t in zip(self.coefficients, terms):
            if table.shape[0] == 1 and cells > 1:
                table.copy_(t)
            else:
                table[start:stop] = t

    def build(self) -> "LatentGrid":
        while not self.ready:
            self.decode_next_chunk(5000)
        return self

    def log_likelihood(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """log p(x_observed | z_cell) for images x (N, D), weights observed (N or 1, D) in {0, 1}: (N, G).

        Normalising constants included, so it equals summing the likelihood's
        log_prob over the observed pixels.
        """
        if not self.ready:
            raise RuntimeError("decode the grid (build()) before using it")
        at_zero, at_one, curvature = self.coefficients
        at_one_weights = x * observed
        total = (
            _times(observed - at_one_weights, at_zero)
            + _times(at_one_weights, at_one)
            + _times(at_one_weights * (x - 1), curvature)
        )
        return total.expand(x.shape[0], self.z.shape[0])


def _times(weights: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """weights (N, D) against every row of table (G, D): (N, G), or (N, 1) for a one-row table."""
    if table.shape[0] == 1:
        return (weights @ table[0])[:, None]  # a shared row needs one dot product per image, not G
    return weights @ table.T


# ------------------------------------------------------------- posterior


@dataclass(frozen=True)
class GridPosterior:
    """The posterior over the grid cells for one image, and what follows from it."""

    grid: LatentGrid
    probabilities: np.ndarray  # (R, R), sums to one, row 0 at the grid's smallest y
    original: np.ndarray  # (H, W) the given image (erased pixels are ignored)
    erased: np.ndarray  # (H, W) bool
    mean_image: np.ndarray  # (H, W) posterior-mean imputation, observed pixels restored
    map_z: np.ndarray  # (2,) centre of the most probable cell
    map_image: np.ndarray  # (H, W) imputation from the MAP cell
    mean_z: np.ndarray  # (2,) posterior mean of z
    uncertainty: np.ndarray  # (H, W) posterior std of each decoded pixel; 0 where observed
    rows_seen: int = 0  # how many image rows of observations entered so far

    def samples(self, count: int, generator: torch.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw z from the posterior (a cell, then a uniform point inside it) and impute with each.

        Returns z (count, 2) and images (count, H, W) with observed pixels restored.
        """
        weights = torch.as_tensor(self.probabilities.reshape(-1), dtype=torch.float64)
        cells = torch.multinomial(weights, count, replacement=True, generator=generator)
        jitter = (torch.rand((count, 2), generator=generator) - 0.5) * torch.tensor(self.grid.cell_size)
        z = self.grid.z[cells] + jitter
        with torch.no_grad():
            decoded = self.grid.model.decode(z.to(self.grid.model.device)).cpu().numpy()
        shape = self.original.shape
        images = np.where(self.erased, decoded.reshape(count, *shape), self.original).astype(np.float32)
        return z.numpy(), images


def _posterior_from_loglik(
    grid: LatentGrid, log_lik: torch.Tensor, image: np.ndarray, erased: np.ndarray, rows_seen: int
) -> GridPosterior:
    log_post = log_lik.to(torch.float64) + grid.log_prior.to(torch.float64)
    post = torch.softmax(log_post, dim=-1).to(torch.float32)
    mean_pixels = post @ grid.means
    second_moment = post @ grid.means.pow(2)
    spread = (second_moment - mean_pixels.pow(2)).clamp_min(0).sqrt()
    best = int(torch.argmax(post))
    shape = image.shape
    mean_image = np.where(erased, mean_pixels.numpy().reshape(shape), image)
    map_image = np.where(erased, grid.means[best].numpy().reshape(shape), image)
    r = grid.resolution
    return GridPosterior(
        grid=grid,
        probabilities=post.numpy().reshape(r, r),
        original=image,
        erased=erased,
        mean_image=mean_image.astype(np.float32),
        map_z=grid.z[best].numpy(),
        map_image=map_image.astype(np.float32),
        mean_z=(post @ grid.z).numpy(),
        uncertainty=np.where(erased, spread.numpy().reshape(shape), 0.0).astype(np.float32),
        rows_seen=rows_seen,
    )


def _image_and_mask(grid: LatentGrid, image: np.ndarray, erased: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shape = grid.model.image_shape
    return np.asarray(image, dtype=np.float32).reshape(shape), np.asarray(erased, dtype=bool).reshape(shape)


@torch.no_grad()
def grid_posterior(grid: LatentGrid, image: np.ndarray, erased: np.ndarray) -> GridPosterior:
    """The posterior over the grid given every observed pixel of `image`."""
    image, erased = _image_and_mask(grid, image, erased)
    x = torch.as_tensor(image.reshape(1, -1))
    observed = torch.as_tensor(~erased.reshape(1, -1), dtype=torch.float32)
    log_lik = grid.log_likelihood(x, observed)[0]
    return _posterior_from_loglik(grid, log_lik, image, erased, rows_seen=image.shape[0])


def refined(posterior: GridPosterior, resolution: int = REFINED_CELLS) -> GridPosterior:
    """The same posterior on a fine grid over where its mass lies, when the coarse grid is too coarse.

    A digit with most rows seen has a posterior a few hundredths wide, which
    lands on a handful of 0.08-wide cells: its mean, spread and samples are
    then mostly grid. The fine grid spans REFINED_SPAN standard deviations
    each way (at least one coarse cell), and widens while its border holds
    mass: the sizing core.gaps.exact_posterior uses for a fully seen image,
    here with the likelihood of the observed pixels only. A posterior spread
    over REFINED_MIN_CELLS coarse cells or more is returned as it is.
    """
    *_, result = refining(posterior, resolution, chunk=resolution * resolution)
    return result


@torch.no_grad()
def refining(posterior: GridPosterior, resolution: int = REFINED_CELLS,
             chunk: int = REFINED_CHUNK) -> Iterator[float | GridPosterior]:
    """refined() a piece at a time, so a GUI can spread it over timer ticks.

    Yields the fraction of the current fine grid decoded after each `chunk`
    cells (decoding 4,096 cells at once takes ~0.2 s on one core), and last
    the refined posterior, or `posterior` itself when it needs no refining.
    """
    grid = posterior.grid
    weights = torch.as_tensor(posterior.probabilities.reshape(-1), dtype=torch.float64)
    z = grid.z.to(torch.float64)
    mean = weights @ z
    sd = ((weights[:, None] * (z - mean) ** 2).sum(dim=0)).sqrt()
    cell = torch.tensor(grid.cell_size, dtype=torch.float64)
    if bool((sd >= REFINED_MIN_CELLS * cell).all()):
        yield posterior
        return
    image, erased = posterior.original, posterior.erased
    x = torch.as_tensor(image.reshape(1, -1))
    observed = torch.as_tensor(~erased.reshape(1, -1), dtype=torch.float32)
    half = torch.maximum(REFINED_SPAN * sd, cell)
    for _ in range(4):
        fine = LatentGrid(grid.model, resolution=resolution, centre=(float(mean[0]), float(mean[1])),
                          half=(float(half[0]), float(half[1])))
        while not fine.ready:
            yield fine.decode_next_chunk(chunk)
        result = _posterior_from_loglik(fine, fine.log_likelihood(x, observed)[0], image, erased,
                                        posterior.rows_seen)
        p = result.probabilities
        if p[0].sum() + p[-1].sum() + p[:, 0].sum() + p[:, -1].sum() < REFINED_EDGE_MASS:
            break
        half = half * 2
    yield result


@torch.no_grad()
def grid_posterior_steps(grid: LatentGrid, image: np.ndarray, erased: np.ndarray,
                         refine: bool = True) -> Iterator[GridPosterior]:
    """The posterior as the observed rows enter one by one, top to bottom.

    The first step is the prior (no pixel seen yet); rows without observed
    pixels add nothing and are skipped, so the last coarse step equals
    grid_posterior(grid, image, erased); with refine, a last step has it on a
    fine grid over its mass (see refined). Every step restores all observed
    pixels in its imputations; only the erased ones change as evidence grows.
    """
    image, erased = _image_and_mask(grid, image, erased)
    height, width = image.shape
    observed = ~erased
    # Row h of `by_row` observes only the observed pixels of image row h, so one
    # log_likelihood call gives every row's contribution: (H, G).
    in_row = torch.arange(height)[:, None] == (torch.arange(height * width) // width)[None, :]
    by_row = (in_row & torch.as_tensor(observed.reshape(1, -1))).to(torch.float32)
    x = torch.as_tensor(image.reshape(1, -1)).expand(height, -1)
    per_row = grid.log_likelihood(x, by_row).to(torch.float64)
    total = torch.zeros(grid.z.shape[0], dtype=torch.float64)
    yield _posterior_from_loglik(grid, total, image, erased, rows_seen=0)
    last = None
    for row in range(height):
        if observed[row].any():
            total = total + per_row[row]
            last = _posterior_from_loglik(grid, total, image, erased, rows_seen=row + 1)
            yield last
    if refine and last is not None:
        fine = refined(last)
        if fine is not last:
            yield fine


@torch.no_grad()
def grid_posterior_mean_batch(
    grid: LatentGrid, images: np.ndarray | torch.Tensor, erased: np.ndarray, batch_size: int = 1000
) -> np.ndarray:
    """Posterior-mean imputations of many images (N, D), observed pixels restored.

    erased is one mask for every image, or one per image.
    """
    x_all = grid.model.rows(images).cpu()
    mask = torch.as_tensor(np.asarray(erased, dtype=bool)).reshape(-1, x_all.shape[1])
    out = []
    for start in range(0, x_all.shape[0], batch_size):
        x = x_all[start : start + batch_size]
        m = mask if mask.shape[0] == 1 else mask[start : start + batch_size]
        log_post = grid.log_likelihood(x, (~m).to(torch.float32)) + grid.log_prior
        post = torch.softmax(log_post, dim=1)
        out.append(torch.where(m, post @ grid.means, x))
    return torch.cat(out).numpy()
