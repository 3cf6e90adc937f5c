"""Pixel likelihoods p(x|z): what a decoder's output means, and how it scores an image.

Each is a small object over decoder outputs with the same three questions:
the mean image, log p(x|z) per pixel, and -log p(x|z) per image. The code that
differs between likelihoods lives here, in one class each, so nothing else
needs to ask which likelihood a model uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from vae_explorer.core.walkthrough import bracketed, kl_summands, num, one_row

LOG_2PI = math.log(2 * math.pi)


def log_one_minus_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """log(1 - sigmoid(l)) = -(max(l, 0) + log(1 + exp(-|l|))), stable for any l.

    log(1 + t) is taken with log rather than log1p: on the project's CPU this
    torch's log1p (and the log_sigmoid inside F.binary_cross_entropy_with_logits)
    is an order of magnitude slower than log, and with t = exp(-|l|) in (0, 1]
    the swap costs at most 6e-8 nats a pixel.
    """
    return -logits.clamp_min(0.0) - torch.log(1.0 + torch.exp(-logits.abs()))


def bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x | logits) per pixel for x in [0, 1]: minus binary cross-entropy with logits,
    x*l + log(1 - sigmoid(l)), in plain differentiable ops."""
    return x * logits + log_one_minus_sigmoid(logits)


@dataclass(frozen=True)
class QuadraticLogProb:
    """log p(x|z) per pixel as a quadratic in x, told by its values at x = 0 and x = 1 and its bend:

        log_prob(x) = (1 - x) * at_zero + x * at_one + curvature * x * (x - 1)

    normalising constants included. Each tensor broadcasts against (N, D): a
    leading dimension of 1 means the same row for every z (a fixed variance,
    say). Code that scores many images against many decoded points at once
    (the grid posterior) turns this into three matrix products without knowing
    which likelihood it has. Values at 0 and 1 rather than powers of x keep
    those sums free of cancellation: for a Bernoulli they are log(1 - p) and
    log p, both small for a well-predicted pixel, where x * logit + log(1 - p)
    would add two large numbers of opposite sign.
    """

    at_zero: torch.Tensor
    at_one: torch.Tensor
    curvature: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The log-probability of x, evaluated from the coefficients."""
        return (1 - x) * self.at_zero + x * self.at_one + self.curvature * x * (x - 1)


class PixelLikelihood:
    """Interface: mean (N, D), log_prob(x) -> (N, D), nll(x) -> (N,)."""

    name = ""

    @property
    def mean(self) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def pixel_nats(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x_i|z) per pixel, (N, D) in nats: what each pixel adds to the reconstruction term."""
        return -self.log_prob(x.reshape(x.shape[0], -1))

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per image, summed over pixels."""
        return self.pixel_nats(x).sum(dim=-1)

    # For people (the maths panel): HTML fragments about the first image and z of the batch.

    def describe_html(self) -> str:
        """How a pixel is read from the decoder's output."""
        return ""

    def reconstruction_html(self, x: torch.Tensor) -> tuple[str, str]:
        """(formula, worked) of -log p(x|z) for the first image, the worked one with its numbers."""
        nats = one_row(self.pixel_nats(x))
        return ("−log p(x|z) = −Σ<sub>i</sub> log p(x<sub>i</sub>|z)",
                f"= the sum over the {len(nats)} pixels = <b>{num(nats.sum(), 2)}</b> nats")

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw of every pixel, (N, D)."""
        raise NotImplementedError(f"the {self.name or type(self).__name__} likelihood cannot be sampled")

    def quadratic_log_prob(self) -> QuadraticLogProb:
        """log_prob as a quadratic in x (see QuadraticLogProb), for the likelihoods that are one."""
        raise NotImplementedError(
            f"the {self.name or type(self).__name__} likelihood is not a quadratic function of the pixels"
        )


class BernoulliPixels(PixelLikelihood):
    """Each pixel is a Bernoulli with probability sigmoid(logit); x may be grey (cross-entropy)."""

    name = "bernoulli"

    def __init__(self, logits: torch.Tensor):
        self.logits = logits

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return bernoulli_log_prob(self.logits, x.to(self.logits.dtype))

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.bernoulli(self.mean, generator=generator)

    def describe_html(self) -> str:
        p = one_row(self.mean)
        return (f"x<sub>i</sub> ~ Bernoulli(x̂<sub>i</sub>): x̂<sub>i</sub> is the chance pixel i is ink; "
                f"here from {p.min():.2f} to {p.max():.2f}")

    def reconstruction_html(self, x: torch.Tensor) -> tuple[str, str]:
        # The costliest pixel worked out in full, then the sum of all of them.
        nats, xs, p = one_row(self.pixel_nats(x)), one_row(x.reshape(x.shape[0], -1)), one_row(self.mean)
        i = int(nats.argmax())
        formula = ("−log p(x|z) = −Σ<sub>i</sub> [x<sub>i</sub> log x̂<sub>i</sub> "
                   "+ (1 − x<sub>i</sub>) log(1 − x̂<sub>i</sub>)]")
        worked = (f"costliest pixel: −[{num(xs[i])} log {num(p[i])} + {num(1 - xs[i])} log {num(1 - p[i])}]"
                  f" = {num(nats[i], 2)}<br>sum over the {len(nats)} pixels = <b>{num(nats.sum(), 2)}</b> nats")
        return formula, worked

    def quadratic_log_prob(self) -> QuadraticLogProb:
        # x log p + (1 - x) log(1 - p): linear in x, with log p = logit + log(1 - p)
        # as bernoulli_log_prob computes it, so the two agree.
        logits = self.logits
        log_1mp = log_one_minus_sigmoid(logits)
        return QuadraticLogProb(log_1mp, logits + log_1mp, logits.new_zeros(1, logits.shape[-1]))


class FixedGaussianPixels(PixelLikelihood):
    """Each pixel is N(sigmoid(logit), std^2) with a fixed std: squared error plus a constant."""

    name = "gaussian"

    def __init__(self, logits: torch.Tensor, std: float):
        self.logits = logits
        self.std = float(std)

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        sq = (self.mean - x.to(self.logits.dtype)).pow(2)
        return -0.5 * sq / self.std**2 - (math.log(self.std) + 0.5 * LOG_2PI)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        mean = self.mean
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + self.std * noise

    def describe_html(self) -> str:
        return f"x<sub>i</sub> ~ N(x̂<sub>i</sub>, σ²) with σ = {self.std:g} for every pixel"

    def reconstruction_html(self, x: torch.Tensor) -> tuple[str, str]:
        # Squared error scaled by 1/(2σ²), plus one normalising constant per pixel.
        xs, m = one_row(x.reshape(x.shape[0], -1)), one_row(self.mean)
        squares, pixels = float(((xs - m) ** 2).sum()), len(xs)
        constant = math.log(self.std) + 0.5 * LOG_2PI
        total = float(one_row(self.pixel_nats(x)).sum())
        formula = ("−log p(x|z) = Σ<sub>i</sub> (x<sub>i</sub> − x̂<sub>i</sub>)² / 2σ² "
                   "+ D (log σ + ½ log 2π)")
        worked = (f"= {num(squares)} / (2 × {self.std:g}²) + {pixels} × {bracketed(constant)}<br>"
                  f"= {num(squares / (2 * self.std**2), 2)} + {bracketed(pixels * constant, 2)}"
                  f" = <b>{num(total, 2)}</b> nats")
        return formula, worked

    def quadratic_log_prob(self) -> QuadraticLogProb:
        # -(x - m)^2 / (2 s^2) - log s - log(2 pi) / 2; its x^2 coefficient is the
        # same for every pixel and every z.
        mean, half_inv_var = self.mean, 0.5 / self.std**2
        constant = math.log(self.std) + 0.5 * LOG_2PI
        return QuadraticLogProb(
            -half_inv_var * mean.pow(2) - constant,
            -half_inv_var * (1 - mean).pow(2) - constant,
            mean.new_full((1, mean.shape[-1]), -half_inv_var),
        )


class LearnedGaussianPixels(PixelLikelihood):
    """Each pixel is N(sigmoid(logit), std^2) with a std the model learns.

    std is a tensor that broadcasts against (N, D): one value per pixel (D,)
    or one for the whole image (1,). The model keeps it bounded away from zero
    (min_std + softplus), since a std that shrinks freely sends the likelihood
    of well-fit pixels to infinity.
    """

    name = "learned_gaussian"

    def __init__(self, logits: torch.Tensor, std: torch.Tensor):
        self.logits = logits
        self.std = std.to(logits.dtype)

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        sq = (self.mean - x.to(self.logits.dtype)).pow(2)
        return -0.5 * sq / self.std.pow(2) - (torch.log(self.std) + 0.5 * LOG_2PI)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        mean = self.mean
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + self.std * noise

    def _stds(self, pixels: int) -> np.ndarray:
        return np.broadcast_to(self.std.detach().reshape(-1).to(torch.float64).cpu().numpy(), (pixels,))

    def describe_html(self) -> str:
        std = self._stds(self.mean.shape[-1])
        return (f"x<sub>i</sub> ~ N(x̂<sub>i</sub>, σ<sub>i</sub>²), σ learned: "
                f"from {num(std.min())} to {num(std.max())}")

    def reconstruction_html(self, x: torch.Tensor) -> tuple[str, str]:
        xs, m = one_row(x.reshape(x.shape[0], -1)), one_row(self.mean)
        std = self._stds(len(xs))
        scaled = float(((xs - m) ** 2 / (2 * std**2)).sum())
        logs = float((np.log(std) + 0.5 * LOG_2PI).sum())
        total = float(one_row(self.pixel_nats(x)).sum())
        formula = ("−log p(x|z) = Σ<sub>i</sub> [(x<sub>i</sub> − x̂<sub>i</sub>)² / 2σ<sub>i</sub>² "
                   "+ log σ<sub>i</sub> + ½ log 2π]")
        worked = (f"= {num(scaled, 2)} (squared errors) + {bracketed(logs, 2)} (log σ terms)"
                  f" = <b>{num(total, 2)}</b> nats")
        return formula, worked

    def quadratic_log_prob(self) -> QuadraticLogProb:
        # As for the fixed std, with a bend of -1/(2 std^2) per pixel; the std is
        # the same for every z, so the bend is one row.
        mean = self.mean
        pixels = mean.shape[-1]
        half_inv_var = (0.5 / self.std.pow(2)).reshape(1, -1).expand(1, pixels)
        constant = (torch.log(self.std) + 0.5 * LOG_2PI).reshape(1, -1).expand(1, pixels)
        return QuadraticLogProb(
            -half_inv_var * mean.pow(2) - constant,
            -half_inv_var * (1 - mean).pow(2) - constant,
            -half_inv_var,
        )


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, closed form: shape (N,)."""
    return kl_summands(mu, logvar).sum(dim=-1)


def negative_elbo_terms(
    nll: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, beta: float
) -> dict[str, torch.Tensor]:
    """{"loss", "reconstruction", "kl"}, means over the batch, from -log p(x|z) per image (N,)
    and a diagonal Gaussian posterior (N, d): loss = reconstruction + beta * KL.

    beta = 0 leaves the KL out of the graph, so even an overflowing KL cannot
    reach the gradient; the KL is still reported.
    """
    reconstruction = nll.mean()
    kl = kl_to_standard_normal(mean, logvar).mean()
    loss = reconstruction + beta * kl if beta else reconstruction
    return {"loss": loss, "reconstruction": reconstruction, "kl": kl}


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (LOG_2PI + z.pow(2)).sum(dim=-1)
