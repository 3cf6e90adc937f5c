"""The terms of the negative ELBO, in nats per image, and an IWAE estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vae_explorer.core.config import ModelConfig

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class LossTerms:
    """Mean per image over a batch, in nats. total = reconstruction + beta * kl."""

    total: float
    reconstruction: float
    kl: float


def bernoulli_nll_untracked(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """bernoulli_nll_pixels without autograd: for code that writes its own backward."""
    # max(l, 0) - x*l + log(1 + exp(-|l|)) in a buffer of its own, updated in place.
    out = torch.exp(-logits.abs())
    out.add_(1.0).log_()
    out.add_(logits.clamp_min(0.0))
    return out.addcmul_(x, logits, value=-1.0)


class _BernoulliNLL(torch.autograd.Function):
    """Binary cross-entropy with logits, per pixel or summed per row, backward written out.

    The gradient (sigmoid(l) - x) is one fused pass instead of the chain of
    small ops autograd would record for the in-place forward.
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor, x: torch.Tensor, per_row: bool) -> torch.Tensor:
        ctx.save_for_backward(logits, x)
        ctx.per_row = per_row
        out = bernoulli_nll_untracked(logits, x)
        return out.sum(dim=-1) if per_row else out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        logits, x = ctx.saved_tensors
        grad = grad_out.unsqueeze(-1) if ctx.per_row else grad_out
        grad_logits = grad_x = None
        if ctx.needs_input_grad[0]:
            grad_logits = torch.sigmoid(logits).sub_(x).mul_(grad)
        if ctx.needs_input_grad[1]:
            grad_x = -logits * grad
        return grad_logits, grad_x, None


def bernoulli_nll_pixels(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | logits) per pixel for x in [0, 1]: binary cross-entropy with logits.

    The stable form max(l, 0) - x*l + log(1 + exp(-|l|)), as torch computes
    it, but with log(1 + t) taken by log rather than log1p: on the CPU this
    torch's log1p (and log_sigmoid, which F.binary_cross_entropy_with_logits
    uses) is about 14x slower than log (1.19 ms against 0.09 ms for a 128x784
    batch on the project's AMD EPYC), and it was a fifth of a training step.
    With t = exp(-|l|) in (0, 1] the swap costs at most 6e-8 nats per pixel.
    """
    logits, x = torch.broadcast_tensors(logits, x.to(logits.dtype))
    return _BernoulliNLL.apply(logits, x, False)


def log_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """log sigmoid(l), which is -BCE(l, target 1); fast for the reason above."""
    return -bernoulli_nll_pixels(logits, torch.ones_like(logits))


def reconstruction_nll(logits: torch.Tensor, x: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """-log p(x|z) for each image, summed over pixels: shape (N,)."""
    x = x.reshape(logits.shape)
    if config.likelihood == "bernoulli":
        logits, x = torch.broadcast_tensors(logits, x.to(logits.dtype))
        return _BernoulliNLL.apply(logits, x, True)
    # Gaussian with fixed std: squared error scaled by the variance plus the normaliser.
    std = config.gaussian_std
    sq = (torch.sigmoid(logits) - x).pow(2).sum(dim=1)
    return 0.5 * sq / std**2 + x.shape[1] * (math.log(std) + 0.5 * LOG_2PI)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, closed form: shape (N,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def negative_elbo(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    config: ModelConfig,
    beta: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Summed over the batch: (total, reconstruction, kl), each a 0-d tensor."""
    recon = reconstruction_nll(logits, x, config).sum()
    kl = kl_to_standard_normal(mu, logvar).sum()
    return recon + beta * kl, recon, kl


@torch.no_grad()
def iwae_log_likelihood(
    model: torch.nn.Module,
    x: torch.Tensor,
    k: int = 100,
    generator: torch.Generator | None = None,
    chunk: int = 64,
) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) per image (Burda et al. 2016).

    log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x); the
    bound tightens as k grows. Images go through in chunks so memory stays
    at chunk * k decodes.
    """
    config: ModelConfig = model.config
    out = []
    for start in range(0, x.shape[0], chunk):
        xb = x[start : start + chunk].reshape(-1, config.input_dim)
        mu, logvar = model.encode(xb)
        n, d = mu.shape
        eps = torch.randn((k, n, d), generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps  # (k, n, d)
        logits = model.decode(z.reshape(k * n, d))
        log_px_z = -reconstruction_nll(logits, xb.repeat(k, 1), config).reshape(k, n)
        log_pz = -0.5 * (LOG_2PI + z.pow(2)).sum(dim=-1)
        log_qz = gaussian_log_density(z, mu, logvar)
        log_w = log_px_z + log_pz - log_qz
        out.append(torch.logsumexp(log_w, dim=0) - math.log(k))
    return torch.cat(out)
