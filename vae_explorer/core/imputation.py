"""Filling in erased pixels with a trained VAE.

Masks are boolean arrays shaped like the image, True where a pixel is erased
(missing). Three ways to fill the erased pixels, each a generator of steps so
a view can show the model at work:

- iterative_imputation: pseudo-Gibbs (Rezende et al. 2014). Fill, encode,
  decode, put the known pixels back, repeat; each step has a latent point.
- grid_posterior_steps: for a 2-D latent, the exact posterior
  p(z | x_observed) ∝ p(x_observed | z) p(z) evaluated on a grid over z. The
  observed rows enter one at a time, so the posterior sharpens from the prior
  to its final shape. The imputation is the posterior mean of the decoded
  images; the MAP cell, posterior samples and a per-pixel spread come with it.
- gradient_map_steps: for any latent size, maximise log p(x_obs|z) + log p(z)
  by gradient ascent from several starts and keep the best.

Observed pixels are never changed by any method: every imputation is built as
where(erased, model_guess, original).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from vae_explorer.core.adam import Adam
from vae_explorer.core.losses import bernoulli_nll_pixels, log_sigmoid
from vae_explorer.core.model import VAE

IMAGE_SHAPE = (28, 28)

# Preset masks as inclusive row ranges that are erased.
PRESET_ROWS: dict[str, tuple[int, int]] = {
    "Top half": (0, 13),
    "Bottom half": (14, 27),
    "Middle rows 10-17": (10, 17),
}


# --------------------------------------------------------------------- masks


def empty_mask(shape: tuple[int, int] = IMAGE_SHAPE) -> np.ndarray:
    return np.zeros(shape, dtype=bool)


def erase_rows(first: int, last: int, shape: tuple[int, int] = IMAGE_SHAPE) -> np.ndarray:
    """Mask erasing rows first..last inclusive (in either order, clipped to the image)."""
    mask = empty_mask(shape)
    top, bottom = sorted((int(first), int(last)))
    top, bottom = max(top, 0), min(bottom, shape[0] - 1)
    if top <= bottom:
        mask[top : bottom + 1, :] = True
    return mask


def erase_rectangle(
    top: int, left: int, bottom: int, right: int, shape: tuple[int, int] = IMAGE_SHAPE
) -> np.ndarray:
    """Mask erasing the rectangle between two corner pixels, both included."""
    mask = empty_mask(shape)
    r0, r1 = sorted((int(top), int(bottom)))
    c0, c1 = sorted((int(left), int(right)))
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, shape[0] - 1), min(c1, shape[1] - 1)
    if r0 <= r1 and c0 <= c1:
        mask[r0 : r1 + 1, c0 : c1 + 1] = True
    return mask


def preset_mask(name: str, shape: tuple[int, int] = IMAGE_SHAPE) -> np.ndarray:
    if name not in PRESET_ROWS:
        raise KeyError(f"unknown mask preset {name!r}; choose from {list(PRESET_ROWS)}")
    return erase_rows(*PRESET_ROWS[name], shape=shape)


def apply_mask(image: np.ndarray, erased: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """The image as the model sees it: erased pixels replaced by `fill`."""
    return np.where(erased, np.float32(fill), image).astype(np.float32)


def erased_mse(imputed: np.ndarray, original: np.ndarray, erased: np.ndarray) -> float:
    """Mean squared error over the erased pixels only (0 when nothing is erased)."""
    erased = np.broadcast_to(erased, np.shape(original))
    if not erased.any():
        return 0.0
    diff = (np.asarray(imputed, dtype=np.float64) - np.asarray(original, dtype=np.float64))[erased]
    return float(np.mean(diff**2))


# ------------------------------------------------------------- shared pieces


def _flat(model: VAE, array: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(array, dtype=np.float32) if not torch.is_tensor(array) else array)
    return t.to(torch.float32).reshape(-1, model.config.input_dim)


def _device(model: VAE) -> torch.device:
    return next(model.parameters()).device


def observed_log_likelihood(
    logits: torch.Tensor, x: torch.Tensor, observed: torch.Tensor, model: VAE
) -> torch.Tensor:
    """log p(x_observed | z) per row, summing only observed pixels (constants dropped).

    logits, x and observed broadcast against each other; the sum runs over the last axis.
    """
    logits, x = torch.broadcast_tensors(logits, x)
    if model.config.likelihood == "bernoulli":
        per_pixel = -bernoulli_nll_pixels(logits, x)
    else:
        per_pixel = -0.5 * (torch.sigmoid(logits) - x).pow(2) / model.config.gaussian_std**2
    return (per_pixel * observed).sum(dim=-1)


# --------------------------------------------------------- iterative method


@dataclass(frozen=True)
class ImputationStep:
    """One step of a method: the current imputation and where it sits in latent space."""

    step: int
    image: np.ndarray  # (H, W); observed pixels exactly as given
    z: np.ndarray  # (latent_dim,) the latent point this step used


def _iterate(
    model: VAE,
    x_obs: torch.Tensor,
    erased: torch.Tensor,
    steps: int,
    initial_fill: float,
    sample: bool,
    generator: torch.Generator | None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yields (z, imputed batch) after each encode/decode round."""
    x = torch.where(erased, torch.full_like(x_obs, initial_fill), x_obs)
    for _ in range(steps):
        mu, logvar = model.encode(x)
        z = VAE.reparameterize(mu, logvar, generator) if sample else mu
        guess = torch.sigmoid(model.decode(z))
        if sample:
            guess = torch.bernoulli(guess, generator=generator)
        x = torch.where(erased, guess, x_obs)
        yield z, x


@torch.no_grad()
def iterative_imputation(
    model: VAE,
    image: np.ndarray,
    erased: np.ndarray,
    steps: int = 30,
    initial_fill: float = 0.0,
    sample: bool = False,
    generator: torch.Generator | None = None,
) -> Iterator[ImputationStep]:
    """Pseudo-Gibbs imputation of one image, one ImputationStep per round.

    With sample=False each round uses the encoder mean and the decoded mean
    (a deterministic fixed-point iteration, smooth to watch); sample=True draws
    z and the pixels, as in Rezende et al.
    """
    shape = np.shape(image)
    x_obs = _flat(model, image).to(_device(model))
    mask = torch.as_tensor(np.asarray(erased, dtype=bool).reshape(1, -1), device=x_obs.device)
    for index, (z, x) in enumerate(_iterate(model, x_obs, mask, steps, initial_fill, sample, generator), 1):
        yield ImputationStep(index, x.cpu().numpy().reshape(shape), z[0].cpu().numpy())


@torch.no_grad()
def iterative_impute_batch(
    model: VAE,
    images: np.ndarray | torch.Tensor,
    erased: np.ndarray,
    steps: int = 30,
    initial_fill: float = 0.0,
    batch_size: int = 2000,
) -> np.ndarray:
    """Deterministic iterative imputation of many images; returns (N, H*W)."""
    x_all = _flat(model, images)
    mask = torch.as_tensor(np.asarray(erased, dtype=bool)).reshape(-1, model.config.input_dim)
    out = []
    for start in range(0, x_all.shape[0], batch_size):
        x_obs = x_all[start : start + batch_size].to(_device(model))
        m = mask if mask.shape[0] == 1 else mask[start : start + batch_size]
        m = m.to(x_obs.device)
        x = x_obs
        for _, x in _iterate(model, x_obs, m, steps, initial_fill, False, None):
            pass
        out.append(x.cpu())
    return torch.cat(out).numpy()


# ---------------------------------------------------------- grid posterior


@dataclass
class LatentGrid:
    """Decoded images at the centres of a regular grid of cells over [-extent, extent]^2.

    Cell k = i * resolution + j sits at x = centres[j], y = centres[i], so a
    (resolution, resolution) reshape has row 0 at the bottom (y = -extent).
    Decoding is done in chunks (decode_next_chunk) so a GUI can spread it over
    timer ticks; build() does it all at once.
    """

    model: VAE
    extent: float = 4.0
    resolution: int = 100
    z: torch.Tensor = field(init=False)
    probs: torch.Tensor = field(init=False)  # (G, D) decoded means
    log_p: torch.Tensor = field(init=False)  # (G, D) log p(pixel = 1 | z), Bernoulli only
    log_1mp: torch.Tensor = field(init=False)  # (G, D) log p(pixel = 0 | z), Bernoulli only
    log_prior: torch.Tensor = field(init=False)  # (G,) log N(z; 0, I) up to a constant
    _decoded: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.model.config.latent_dim != 2:
            raise ValueError("the grid posterior needs a 2-D latent space")
        centres = self.centres
        ys, xs = torch.meshgrid(centres, centres, indexing="ij")
        self.z = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
        cells, pixels = self.z.shape[0], self.model.config.input_dim
        self.probs = torch.empty(cells, pixels)
        bernoulli = self.model.config.likelihood == "bernoulli"
        self.log_p = torch.empty(cells, pixels) if bernoulli else torch.empty(0)
        self.log_1mp = torch.empty(cells, pixels) if bernoulli else torch.empty(0)
        self.log_prior = -0.5 * self.z.pow(2).sum(dim=1)

    @property
    def centres(self) -> torch.Tensor:
        step = 2 * self.extent / self.resolution
        return -self.extent + step * (torch.arange(self.resolution, dtype=torch.float32) + 0.5)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of the whole grid, cell edges included."""
        return (-self.extent, self.extent, -self.extent, self.extent)

    @property
    def ready(self) -> bool:
        return self._decoded >= self.z.shape[0]

    @torch.no_grad()
    def decode_next_chunk(self, cells: int = 2000) -> float:
        """Decode the next `cells` grid points; returns the fraction done."""
        start, stop = self._decoded, min(self._decoded + cells, self.z.shape[0])
        if start < stop:
            logits = self.model.decode(self.z[start:stop].to(_device(self.model))).cpu()
            self.probs[start:stop] = torch.sigmoid(logits)
            if self.log_p.numel():
                self.log_p[start:stop] = log_sigmoid(logits)
                self.log_1mp[start:stop] = log_sigmoid(-logits)
            self._decoded = stop
        return self._decoded / self.z.shape[0]

    def build(self) -> "LatentGrid":
        while not self.ready:
            self.decode_next_chunk(5000)
        return self

    def log_likelihood(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """log p(x_observed | z_cell) for images x (N, D) and 0/1 weights observed (N, D): (N, G)."""
        if not self.ready:
            raise RuntimeError("decode the grid (build()) before using it")
        if self.model.config.likelihood == "bernoulli":
            return (x * observed) @ self.log_p.T + ((1 - x) * observed) @ self.log_1mp.T
        inv_var = 1.0 / self.model.config.gaussian_std**2
        sq = (observed * x * x).sum(dim=1, keepdim=True) - 2 * (observed * x) @ self.probs.T
        sq = sq + observed @ self.probs.pow(2).T
        return -0.5 * inv_var * sq


@dataclass(frozen=True)
class GridPosterior:
    """The posterior over the grid cells for one image, and what follows from it."""

    grid: LatentGrid
    probabilities: np.ndarray  # (R, R), sums to one, row 0 at y = -extent
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
        cell_size = 2 * self.grid.extent / self.grid.resolution
        jitter = (torch.rand((count, 2), generator=generator) - 0.5) * cell_size
        z = self.grid.z[cells] + jitter
        with torch.no_grad():
            decoded = torch.sigmoid(self.grid.model.decode(z.to(_device(self.grid.model)))).cpu().numpy()
        shape = self.original.shape
        images = np.where(self.erased, decoded.reshape(count, *shape), self.original).astype(np.float32)
        return z.numpy(), images


def _posterior_from_loglik(
    grid: LatentGrid, log_lik: torch.Tensor, image: np.ndarray, erased: np.ndarray, rows_seen: int
) -> GridPosterior:
    log_post = log_lik.to(torch.float64) + grid.log_prior.to(torch.float64)
    post = torch.softmax(log_post, dim=-1).to(torch.float32)
    mean_pixels = post @ grid.probs
    second_moment = post @ grid.probs.pow(2)
    spread = (second_moment - mean_pixels.pow(2)).clamp_min(0).sqrt()
    best = int(torch.argmax(post))
    shape = np.shape(image)
    image = np.asarray(image, dtype=np.float32)
    mean_image = np.where(erased, mean_pixels.numpy().reshape(shape), image)
    map_image = np.where(erased, grid.probs[best].numpy().reshape(shape), image)
    r = grid.resolution
    return GridPosterior(
        grid=grid,
        probabilities=post.numpy().reshape(r, r),
        original=image,
        erased=np.asarray(erased, dtype=bool),
        mean_image=mean_image.astype(np.float32),
        map_z=grid.z[best].numpy(),
        map_image=map_image.astype(np.float32),
        mean_z=(post @ grid.z).numpy(),
        uncertainty=np.where(erased, spread.numpy().reshape(shape), 0.0).astype(np.float32),
        rows_seen=rows_seen,
    )


@torch.no_grad()
def grid_posterior(grid: LatentGrid, image: np.ndarray, erased: np.ndarray) -> GridPosterior:
    """The posterior over the grid given every observed pixel of `image`."""
    x = torch.as_tensor(np.asarray(image, dtype=np.float32).reshape(1, -1))
    observed = torch.as_tensor(~np.asarray(erased, dtype=bool).reshape(1, -1), dtype=torch.float32)
    log_lik = grid.log_likelihood(x, observed)[0]
    return _posterior_from_loglik(grid, log_lik, image, erased, rows_seen=np.shape(image)[0])


@torch.no_grad()
def grid_posterior_steps(grid: LatentGrid, image: np.ndarray, erased: np.ndarray) -> Iterator[GridPosterior]:
    """The posterior as the observed rows enter one by one, top to bottom.

    The first step is the prior (no pixel seen yet); rows without observed
    pixels add nothing and are skipped, so the last step equals
    grid_posterior(grid, image, erased). Every step restores all observed
    pixels in its imputations; only the erased ones change as evidence grows.
    """
    image = np.asarray(image, dtype=np.float32)
    erased = np.asarray(erased, dtype=bool)
    height, width = image.shape
    x = torch.as_tensor(image.reshape(height, width))
    observed = torch.as_tensor(~erased, dtype=torch.float32)
    # Contribution of each row to log p(x_obs | z): (H, G), each row its own matmul over W pixels.
    per_row = torch.zeros(height, grid.z.shape[0])
    for row in range(height):
        cols = slice(row * width, (row + 1) * width)
        if grid.model.config.likelihood == "bernoulli":
            per_row[row] = grid.log_p[:, cols] @ (x[row] * observed[row]) + grid.log_1mp[:, cols] @ (
                (1 - x[row]) * observed[row]
            )
        else:
            diff = grid.probs[:, cols] - x[row]
            per_row[row] = -0.5 * (diff.pow(2) @ observed[row]) / grid.model.config.gaussian_std**2
    total = torch.zeros(grid.z.shape[0])
    yield _posterior_from_loglik(grid, total, image, erased, rows_seen=0)
    seen_rows = [row for row in range(height) if observed[row].any()]
    for row in seen_rows:
        total = total + per_row[row]
        yield _posterior_from_loglik(grid, total, image, erased, rows_seen=row + 1)


@torch.no_grad()
def grid_posterior_mean_batch(
    grid: LatentGrid, images: np.ndarray | torch.Tensor, erased: np.ndarray, batch_size: int = 1000
) -> np.ndarray:
    """Posterior-mean imputations of many images (N, D), observed pixels restored."""
    x_all = _flat(grid.model, images).cpu()
    mask = torch.as_tensor(np.asarray(erased, dtype=bool)).reshape(-1, grid.model.config.input_dim)
    out = []
    for start in range(0, x_all.shape[0], batch_size):
        x = x_all[start : start + batch_size]
        m = mask if mask.shape[0] == 1 else mask[start : start + batch_size]
        log_post = grid.log_likelihood(x, (~m).to(torch.float32)) + grid.log_prior
        post = torch.softmax(log_post, dim=1)
        out.append(torch.where(m, post @ grid.probs, x))
    return torch.cat(out).numpy()


# ------------------------------------------------------ gradient-based MAP


@dataclass(frozen=True)
class MapStep:
    step: int
    z: np.ndarray  # (latent_dim,) best point so far
    image: np.ndarray  # (H, W) imputation decoded from z, observed pixels restored
    log_posterior: float  # log p(x_obs | z) + log p(z), constants dropped
    starts: np.ndarray  # (S, latent_dim) where every start currently is


def gradient_map_steps(
    model: VAE,
    image: np.ndarray,
    erased: np.ndarray,
    starts: int = 8,
    iterations: int = 200,
    learning_rate: float = 0.05,
    report_every: int = 10,
    generator: torch.Generator | None = None,
) -> Iterator[MapStep]:
    """MAP estimate of z from the observed pixels, by Adam from several starts.

    One start is the encoder mean of the masked image (erased pixels at 0),
    the others are draws from the prior, so a start stuck in a poor mode
    does not decide the answer. Works for any latent size.
    """
    shape = np.shape(image)
    device = _device(model)
    x = _flat(model, image).to(device)
    observed = torch.as_tensor(~np.asarray(erased, dtype=bool).reshape(1, -1), dtype=torch.float32, device=device)
    with torch.no_grad():
        mu, _ = model.encode(x * observed)
    others = torch.randn((max(starts - 1, 0), model.config.latent_dim), generator=generator).to(device)
    z = torch.cat([mu, others]).clone().requires_grad_(True)
    adam = Adam([z], lr=learning_rate)
    erased_t = torch.as_tensor(np.asarray(erased, dtype=bool).reshape(1, -1), device=device)

    def objective() -> torch.Tensor:
        log_lik = observed_log_likelihood(model.decode(z), x, observed, model)
        return log_lik - 0.5 * z.pow(2).sum(dim=1)

    def report(step: int, values: torch.Tensor) -> MapStep:
        best = int(torch.argmax(values))
        with torch.no_grad():
            guess = torch.sigmoid(model.decode(z[best : best + 1]))
            imputed = torch.where(erased_t, guess, x)
        return MapStep(
            step,
            z[best].detach().cpu().numpy(),
            imputed.cpu().numpy().reshape(shape),
            float(values[best]),
            z.detach().cpu().numpy(),
        )

    for step in range(iterations + 1):
        values = objective()
        if step % report_every == 0 or step == iterations:
            yield report(step, values.detach())
        if step == iterations:
            break
        z.grad = None
        (-values.sum()).backward()
        adam.step()
