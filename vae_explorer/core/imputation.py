"""Filling in erased pixels with a trained model.

Masks are boolean arrays shaped like the image, True where a pixel is erased
(missing); every mask function takes the image shape, which comes from the
model or the data. Three ways to fill the erased pixels, each a generator of
steps so a view can show the model at work:

- iterative_imputation: pseudo-Gibbs (Rezende et al. 2014). Fill, encode,
  decode, put the known pixels back, repeat; each step has a latent point.
- grid_posterior_steps: for a 2-D latent, the exact posterior
  p(z | x_observed) ∝ p(x_observed | z) p(z) evaluated on a grid over z
  (core.imputation_grid, re-exported here). The observed rows enter one at a
  time, so the posterior sharpens from the prior to its final shape.
- gradient_map_steps: for any latent size, maximise log p(x_obs|z) + log p(z)
  by gradient ascent from several starts and keep the best.

The model is reached only through its interface (encode, decode,
likelihood). The last two methods need a pixel likelihood and the N(0, I)
prior; on a model without them they raise ValueError, and grid_unavailable /
map_unavailable say why beforehand. Observed pixels are never changed by any
method: every imputation is built as where(erased, model_guess, original).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from vae_explorer.core.imputation_grid import (
    REFINED_CELLS,
    GridPosterior,
    LatentGrid,
    grid_posterior,
    grid_posterior_mean_batch,
    grid_posterior_steps,
    grid_problem,
    posterior_methods_problem,
    refined,
    refining,
)
from vae_explorer.core.models.base import ExplorableModel
from vae_explorer.core.models.likelihoods import PixelLikelihood, standard_normal_log_density

__all__ = [
    "MIDDLE_ROWS",
    "PRESET_ROWS",
    "REFINED_CELLS",
    "GridPosterior",
    "ImputationStep",
    "LatentGrid",
    "MapStep",
    "apply_mask",
    "empty_mask",
    "erase_rectangle",
    "erase_rows",
    "erased_mse",
    "gradient_map_steps",
    "grid_posterior",
    "grid_posterior_mean_batch",
    "grid_posterior_steps",
    "grid_unavailable",
    "iterative_imputation",
    "iterative_impute_batch",
    "map_unavailable",
    "observed_log_likelihood",
    "preset_mask",
    "preset_rows",
    "refined",
    "refining",
]

Shape = tuple[int, int]


def _middle_rows(height: int) -> tuple[int, int]:
    # 8 of 28 rows, centred: rows 10-17 of an MNIST digit, where most digits
    # are told apart (a 3 from an 8, a 4 from a 9).
    band = max(1, round(height * 8 / 28))
    first = (height - band) // 2
    return first, first + band - 1


MIDDLE_ROWS = "Middle rows"
# Preset masks: name -> the inclusive range of erased rows for an image of a given height.
PRESET_ROWS: dict[str, Callable[[int], tuple[int, int]]] = {
    "Top half": lambda height: (0, height // 2 - 1),
    "Bottom half": lambda height: (height // 2, height - 1),
    MIDDLE_ROWS: _middle_rows,
}


# --------------------------------------------------------------------- masks


def empty_mask(shape: Shape) -> np.ndarray:
    return np.zeros(tuple(shape), dtype=bool)


def erase_rows(first: int, last: int, shape: Shape) -> np.ndarray:
    """Mask erasing rows first..last inclusive (in either order, clipped to the image)."""
    mask = empty_mask(shape)
    top, bottom = sorted((int(first), int(last)))
    top, bottom = max(top, 0), min(bottom, mask.shape[0] - 1)
    if top <= bottom:
        mask[top : bottom + 1, :] = True
    return mask


def erase_rectangle(top: int, left: int, bottom: int, right: int, shape: Shape) -> np.ndarray:
    """Mask erasing the rectangle between two corner pixels, both included."""
    mask = empty_mask(shape)
    r0, r1 = sorted((int(top), int(bottom)))
    c0, c1 = sorted((int(left), int(right)))
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, mask.shape[0] - 1), min(c1, mask.shape[1] - 1)
    if r0 <= r1 and c0 <= c1:
        mask[r0 : r1 + 1, c0 : c1 + 1] = True
    return mask


def preset_rows(name: str, height: int) -> tuple[int, int]:
    """The inclusive row range preset `name` erases in an image `height` rows high."""
    if name not in PRESET_ROWS:
        raise KeyError(f"unknown mask preset {name!r}; choose from {list(PRESET_ROWS)}")
    return PRESET_ROWS[name](int(height))


def preset_mask(name: str, shape: Shape) -> np.ndarray:
    return erase_rows(*preset_rows(name, shape[0]), shape=shape)


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


# ------------------------------------------------------------- what can run


def grid_unavailable(model: ExplorableModel) -> str | None:
    """Why the grid posterior cannot run on this model, or None when it can."""
    return grid_problem(model)


def map_unavailable(model: ExplorableModel) -> str | None:
    """Why gradient MAP cannot run on this model, or None when it can."""
    return posterior_methods_problem(model)


def observed_log_likelihood(
    likelihood: PixelLikelihood, x: torch.Tensor, observed: torch.Tensor
) -> torch.Tensor:
    """log p(x_observed | z) per row: the likelihood's log_prob summed over observed pixels.

    observed holds 0/1 weights; the sum runs over the last axis. The concrete
    likelihoods broadcast x against their decoded rows, so (1, G, D) cells
    against (N, 1, D) images gives (N, G).
    """
    return (likelihood.log_prob(x) * observed).sum(dim=-1)


# --------------------------------------------------------- iterative method


@dataclass(frozen=True)
class ImputationStep:
    """One step of a method: the current imputation and where it sits in latent space."""

    step: int
    image: np.ndarray  # (H, W); observed pixels exactly as given
    z: np.ndarray  # (latent_dim,) the latent point this step used


def _iterate(
    model: ExplorableModel,
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
        code = model.encode(x)
        if sample:
            noise = torch.randn(code.mean.shape, generator=generator, dtype=code.mean.dtype).to(code.mean.device)
            z = code.mean + torch.exp(0.5 * code.logvar) * noise
            # A draw may leave [0, 1] (a Gaussian likelihood); pixels stay pixels.
            guess = model.likelihood(z).sample(generator).clamp(0.0, 1.0)
        else:
            z = code.mean
            guess = model.decode(z).reshape(x.shape)
        x = torch.where(erased, guess, x_obs)
        yield z, x


def _check_sampling(model: ExplorableModel) -> None:
    if not model.has_posterior:
        raise ValueError(f"sampled imputation needs a posterior q(z|x), which the {model.kind} model lacks")
    if not model.has_likelihood:
        raise ValueError(f"sampled imputation needs a pixel likelihood, which the {model.kind} model lacks")


@torch.no_grad()
def iterative_imputation(
    model: ExplorableModel,
    image: np.ndarray,
    erased: np.ndarray,
    steps: int = 30,
    initial_fill: float = 0.0,
    sample: bool = False,
    generator: torch.Generator | None = None,
) -> Iterator[ImputationStep]:
    """Pseudo-Gibbs imputation of one image, one ImputationStep per round.

    With sample=False each round uses the encoder mean and the decoded mean
    (a deterministic fixed-point iteration, smooth to watch; any model kind);
    sample=True draws z from q(z|x) and the pixels from p(x|z), as in
    Rezende et al., and needs a model with both.
    """
    if sample:
        _check_sampling(model)
    shape = model.image_shape
    x_obs = model.rows(image).to(model.device)
    mask = torch.as_tensor(np.asarray(erased, dtype=bool).reshape(1, -1), device=x_obs.device)
    for index, (z, x) in enumerate(_iterate(model, x_obs, mask, steps, initial_fill, sample, generator), 1):
        yield ImputationStep(index, x.cpu().numpy().reshape(shape), z[0].cpu().numpy())


@torch.no_grad()
def iterative_impute_batch(
    model: ExplorableModel,
    images: np.ndarray | torch.Tensor,
    erased: np.ndarray,
    steps: int = 30,
    initial_fill: float = 0.0,
    batch_size: int = 2000,
) -> np.ndarray:
    """Deterministic iterative imputation of many images; returns (N, H*W).

    erased is one mask for every image, or one per image.
    """
    x_all = model.rows(images)
    mask = torch.as_tensor(np.asarray(erased, dtype=bool)).reshape(-1, x_all.shape[1])
    out = []
    for start in range(0, x_all.shape[0], batch_size):
        x_obs = x_all[start : start + batch_size].to(model.device)
        m = mask if mask.shape[0] == 1 else mask[start : start + batch_size]
        m = m.to(x_obs.device)
        x = x_obs
        for _, x in _iterate(model, x_obs, m, steps, initial_fill, False, None):
            pass
        out.append(x.cpu())
    return torch.cat(out).numpy()


# ------------------------------------------------------ gradient-based MAP


@dataclass(frozen=True)
class MapStep:
    step: int
    z: np.ndarray  # (latent_dim,) best point so far
    image: np.ndarray  # (H, W) imputation decoded from z, observed pixels restored
    log_posterior: float  # log p(x_obs | z) + log p(z), i.e. log p(x_obs, z) with every constant
    starts: np.ndarray  # (S, latent_dim) where every start currently is


def gradient_map_steps(
    model: ExplorableModel,
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
    does not decide the answer. Works for any latent size; raises ValueError
    for a model without a pixel likelihood or a prior.
    """
    problem = map_unavailable(model)
    if problem is not None:
        raise ValueError(f"gradient MAP cannot run: {problem}")
    shape = model.image_shape
    device = model.device
    x = model.rows(image).to(device)
    erased_t = torch.as_tensor(np.asarray(erased, dtype=bool).reshape(1, -1), device=device)
    observed = (~erased_t).to(torch.float32)
    with torch.no_grad():
        mu = model.encode(x * observed).mean
    others = torch.randn((max(starts - 1, 0), model.latent_dim), generator=generator).to(device)
    z = torch.cat([mu, others]).clone().requires_grad_(True)
    adam = torch.optim.Adam([z], lr=learning_rate)

    def objective() -> torch.Tensor:
        log_lik = observed_log_likelihood(model.likelihood(z), x.expand(z.shape[0], -1), observed)
        return log_lik + standard_normal_log_density(z)

    def report(step: int, values: torch.Tensor) -> MapStep:
        best = int(torch.argmax(values))
        with torch.no_grad():
            guess = model.decode(z[best : best + 1]).reshape(1, -1)
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
        # Gradients for z only: the model's weights may require grad, but must not collect any.
        (z.grad,) = torch.autograd.grad(-values.sum(), [z])
        adam.step()
