"""Where a VAE's ELBO loses against log p(x): the approximation gap and the amortization gap, in nats.

For a model with a 2-D latent, log p(x) = log ∫ p(x|z) p(z) dz can be
computed, not bounded: a coarse grid over the prior finds where the
posterior's mass lies, then a fine grid sized by that mass's spread (a
digit's posterior is often 0.03 wide, smaller than a coarse cell) sums it.
Beside it, for each image:

- ELBO(q): the encoder's posterior q(z|x), the same network for every image
  (amortized inference);
- ELBO(q*): the best diagonal Gaussian for this image alone, found by
  gradient ascent on its mean and log-variance (mean-field inference),
  started from the encoder's q and from the exact posterior's moments, the
  better end kept;
- approximation gap = log p(x) - ELBO(q*): what a Gaussian cannot express;
- amortization gap = ELBO(q*) - ELBO(q): what one shared encoder costs.

Both ELBOs use the same estimator (the analytic KL, and the reconstruction
term averaged over a fixed set of noise draws), so their difference is not noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from vae_explorer.core.models.base import ExplorableModel
from vae_explorer.core.models.likelihoods import (
    PixelLikelihood,
    kl_to_standard_normal,
    standard_normal_log_density,
)

COARSE_CELLS = 64  # per side, over ±COARSE_EXTENT
COARSE_EXTENT = 4.0
FINE_CELLS = 64  # per side, over the posterior's mass
FINE_SPAN = 6.0  # the fine grid reaches this many posterior standard deviations each way
EDGE_MASS = 1e-4  # more than this on the fine grid's border: widen it and sum again
ELBO_SAMPLES = 512  # noise draws for the reconstruction term of each ELBO
OPTIMISATION_STEPS = 300


def gaps_problem(model: ExplorableModel) -> str | None:
    """Why the gaps cannot be computed for this model; None when they can."""
    if model.latent_dim != 2:
        return f"the exact posterior needs a 2-D latent space; this model's has {model.latent_dim} dimensions"
    if not (model.has_posterior and model.has_likelihood):
        return f"the gaps need a posterior q(z|x) and a pixel likelihood, which the {model.kind} model lacks"
    if model.is_conditional:
        return "the gaps command does not handle conditional models yet"
    return None


@dataclass(frozen=True)
class ExactPosterior:
    """p(z|x) of one image: log p(x), the posterior's mean and covariance, and the fine grid it was summed on."""

    log_px: float
    mean: torch.Tensor  # (2,)
    covariance: torch.Tensor  # (2, 2)
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax of the fine grid
    log_density: torch.Tensor  # (FINE_CELLS, FINE_CELLS) log p(z|x) at the cell centres, rows along y


def _cells(xmin: float, xmax: float, ymin: float, ymax: float, count: int) -> tuple[torch.Tensor, float]:
    """Cell centres (count², 2), row-major with y slowest, and the cell area."""
    dx, dy = (xmax - xmin) / count, (ymax - ymin) / count
    xs = xmin + dx * (torch.arange(count, dtype=torch.float64) + 0.5)
    ys = ymin + dy * (torch.arange(count, dtype=torch.float64) + 0.5)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1), dx * dy


def _decode(model: ExplorableModel, z: torch.Tensor) -> PixelLikelihood:
    return model.likelihood(z.to(torch.float32).to(model.device))


def _log_joint(likelihood: PixelLikelihood, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log p(x|z) + log p(z) of one image x (P,) at points z (G, 2) decoded as likelihood, float64."""
    log_px_z = -likelihood.nll(x.reshape(1, -1).expand(z.shape[0], -1)).to(torch.float64).cpu()
    return log_px_z + standard_normal_log_density(z)


@dataclass(frozen=True)
class CoarseGrid:
    """The coarse grid's cells and their decodes: the same for every image, so decoded once."""

    cells: torch.Tensor  # (COARSE_CELLS², 2)
    likelihood: PixelLikelihood

    @classmethod
    @torch.no_grad()
    def decode(cls, model: ExplorableModel) -> "CoarseGrid":
        cells, _ = _cells(-COARSE_EXTENT, COARSE_EXTENT, -COARSE_EXTENT, COARSE_EXTENT, COARSE_CELLS)
        return cls(cells, _decode(model, cells))


@torch.no_grad()
def exact_posterior(model: ExplorableModel, x: torch.Tensor, coarse: CoarseGrid | None = None) -> ExactPosterior:
    """log p(x) and p(z|x) of one image (P,) or (H, W), to a small fraction of a nat (see the module docstring).

    coarse: the model's CoarseGrid, when many images are summed (it is decoded here otherwise).
    """
    x = model.rows(x)[0]
    coarse = coarse if coarse is not None else CoarseGrid.decode(model)
    weights = torch.softmax(_log_joint(coarse.likelihood, x, coarse.cells), dim=0)
    mean = weights @ coarse.cells
    centred = coarse.cells - mean
    covariance = (centred * weights[:, None]).T @ centred
    cell = 2 * COARSE_EXTENT / COARSE_CELLS
    half = torch.clamp(FINE_SPAN * covariance.diagonal().sqrt(), min=cell)
    for _ in range(4):  # widen while the border still holds mass
        box = (float(mean[0] - half[0]), float(mean[0] + half[0]), float(mean[1] - half[1]), float(mean[1] + half[1]))
        fine, area = _cells(*box, FINE_CELLS)
        log_joint = _log_joint(_decode(model, fine), x, fine)
        log_px = torch.logsumexp(log_joint, dim=0) + math.log(area)
        grid = (log_joint - log_px).reshape(FINE_CELLS, FINE_CELLS)  # log density, per unit area
        border = torch.cat([grid[0], grid[-1], grid[:, 0], grid[:, -1]])
        if float(torch.logsumexp(border, dim=0)) + math.log(area) < math.log(EDGE_MASS):
            break
        half = half * 2
    weights = torch.softmax(log_joint, dim=0)
    mean = weights @ fine
    centred = fine - mean
    return ExactPosterior(float(log_px), mean, (centred * weights[:, None]).T @ centred, box, grid)


def elbo(model: ExplorableModel, x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
         noise: torch.Tensor) -> torch.Tensor:
    """ELBO of diagonal Gaussians q = N(mean, exp(logvar)) (N, d) for images x (N, P), per image.

    noise (S, N, d) are the standard-normal draws of the reconstruction term;
    the KL term is analytic. Differentiable in mean and logvar.
    """
    z = mean + torch.exp(0.5 * logvar) * noise  # (S, N, d)
    s, n, d = z.shape
    nll = model.likelihood(z.reshape(s * n, d)).nll(x.repeat(s, 1)).reshape(s, n)
    return -nll.mean(dim=0) - kl_to_standard_normal(mean, logvar)


def best_gaussian(model: ExplorableModel, x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
                  steps: int = OPTIMISATION_STEPS, samples: int = 16, seed: int = 0,
                  ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """Mean-field inference: gradient ascent on each image's own ELBO from the encoder's q.

    Yields (step, mean, logvar) after each Adam step, so a view can animate
    it; the last yield is q*. Fresh noise every step (the standard
    reparameterised estimator); the model's weights are left untouched.
    """
    generator = torch.Generator(device=mean.device).manual_seed(seed)
    mean = mean.detach().clone().requires_grad_(True)
    logvar = logvar.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([mean, logvar], lr=0.02)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    for step in range(1, steps + 1):
        noise = torch.randn((samples, *mean.shape), generator=generator, device=mean.device)
        optimizer.zero_grad(set_to_none=True)
        (-elbo(model, x, mean, logvar, noise).sum()).backward()
        optimizer.step()
        schedule.step()
        yield step, mean.detach().clone(), logvar.detach().clone()


@dataclass(frozen=True)
class Gaps:
    """Per-image figures in nats, (N,) each."""

    log_px: torch.Tensor
    elbo_best: torch.Tensor
    elbo_encoder: torch.Tensor

    @property
    def approximation(self) -> torch.Tensor:
        return self.log_px - self.elbo_best

    @property
    def amortization(self) -> torch.Tensor:
        return self.elbo_best - self.elbo_encoder


@dataclass(frozen=True)
class ExactDone:
    """The first result of gaps_steps: each image's exact posterior and its encoder's q."""

    exact: list[ExactPosterior]
    encoder_mean: torch.Tensor  # (N, 2)
    encoder_logvar: torch.Tensor  # (N, 2)


@dataclass(frozen=True)
class BestStep:
    """q* on its way, started from the encoder's q: after `step` of `steps` optimiser steps."""

    step: int
    steps: int
    mean: torch.Tensor  # (N, 2)
    logvar: torch.Tensor  # (N, 2)


def inference_gaps(model: ExplorableModel, images: torch.Tensor, steps: int = OPTIMISATION_STEPS,
                   seed: int = 0) -> Gaps:
    """log p(x), ELBO(q*) and ELBO(q) of a batch of images (N, P); see the module docstring."""
    *_, gaps = gaps_steps(model, images, steps, seed, every=steps)
    return gaps


def gaps_steps(model: ExplorableModel, images: torch.Tensor, steps: int = OPTIMISATION_STEPS, seed: int = 0,
               every: int = 10) -> Iterator[ExactDone | BestStep | Gaps]:
    """inference_gaps as a stream, for a view that animates it: ExactDone, a BestStep every
    `every` optimiser steps, and last the Gaps. Closing the stream early restores the model."""
    problem = gaps_problem(model)
    if problem is not None:
        raise ValueError(problem)
    x = model.rows(images).to(model.device)
    count = x.shape[0]
    was_training = model.training
    model.eval()
    parameters = list(model.parameters())
    wanted = [p.requires_grad for p in parameters]
    for p in parameters:  # only q's mean and variance learn here
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            code = model.encode(x)
            coarse = CoarseGrid.decode(model)
            exact = [exact_posterior(model, row, coarse) for row in x]
        yield ExactDone(exact, code.mean.detach().clone(), code.logvar.detach().clone())
        log_px = torch.tensor([p.log_px for p in exact], dtype=torch.float64)
        # Two starts for q*: the encoder's q, and the exact posterior's moments. An encoder that
        # missed the posterior's mode would otherwise leave q* stuck beside it.
        moments_mean = torch.stack([p.mean for p in exact]).to(code.mean)
        moments_logvar = torch.stack([p.covariance.diagonal().clamp_min(1e-8).log() for p in exact]).to(code.mean)
        starts_mean, starts_logvar = torch.cat([code.mean, moments_mean]), torch.cat([code.logvar, moments_logvar])
        for step, ends_mean, ends_logvar in best_gaussian(model, x.repeat(2, 1), starts_mean, starts_logvar,
                                                          steps, seed=seed):
            if step % every == 0 or step == steps:
                yield BestStep(step, steps, ends_mean[:count], ends_logvar[:count])
        generator = torch.Generator(device=x.device).manual_seed(seed + 1)
        noise = torch.randn((ELBO_SAMPLES, *code.mean.shape), generator=generator, device=x.device)
        with torch.no_grad():
            encoder = elbo(model, x, code.mean, code.logvar, noise).to(torch.float64).cpu()
            ends = elbo(model, x.repeat(2, 1), ends_mean, ends_logvar, noise.repeat(1, 2, 1))
            best = ends.reshape(2, -1).max(dim=0).values.to(torch.float64).cpu()
    finally:
        for p, flag in zip(parameters, wanted):
            p.requires_grad_(flag)
        model.train(was_training)
    # q* starts at q, so a step that lands lower is noise in the optimiser: keep q then.
    yield Gaps(log_px, torch.maximum(best, encoder), encoder)
