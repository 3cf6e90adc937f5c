"""Figures of a trained model on a split: mean loss terms, and an IWAE log-likelihood bound.

Both work for any model kind through its interface (core/models/base.py).
"""

from __future__ import annotations

import math

import torch

from vae_explorer.core.data import ImageSet
from vae_explorer.core.models.base import ExplorableModel
from vae_explorer.core.models.likelihoods import gaussian_log_density, standard_normal_log_density

# Images per forward pass when evaluating: a thousand keeps the activations in
# cache (the 10,000-image pass took 86 ms at once and 51 ms in thousands, 784-400-20).
EVAL_BATCH_SIZE = 1000


@torch.no_grad()
def evaluate_terms(
    model: ExplorableModel,
    data: ImageSet,
    beta: float = 1.0,
    batch_size: int = EVAL_BATCH_SIZE,
    seed: int = 0,
) -> dict[str, float]:
    """The model's loss terms averaged over every image of a split, in nats per image.

    One noise draw per image from a generator seeded with `seed`, so the same
    weights always give the same figure.
    """
    device = model.device
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    try:
        for start in range(0, len(data), batch_size):
            x = data.images[start : start + batch_size].to(device, non_blocking=True)
            y = data.labels[start : start + batch_size].to(device, non_blocking=True)
            terms = model.loss(x, beta=beta, generator=generator, labels=y)
            values = torch.stack([t.detach() for t in terms.values()]).tolist()
            for name, value in zip(terms, values):
                sums[name] = sums.get(name, 0.0) + value * x.shape[0]
    finally:
        model.train(was_training)
    return {name: total / len(data) for name, total in sums.items()}


@torch.no_grad()
def iwae_log_likelihood(
    model: ExplorableModel,
    x: torch.Tensor,
    k: int = 100,
    generator: torch.Generator | None = None,
    chunk: int = 64,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) per image (Burda et al. 2016).

    log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x); the
    bound tightens as k grows. Needs a model with a Gaussian posterior and a
    pixel likelihood. Images go through in chunks so memory stays at chunk * k decodes.
    """
    if not (model.has_posterior and model.has_likelihood):
        raise ValueError(f"an IWAE bound needs a posterior and a likelihood, which {model.kind} lacks")
    out = []
    for start in range(0, x.shape[0], chunk):
        xb = model.flat(x[start : start + chunk])
        yb = labels[start : start + chunk] if labels is not None else None
        code = model.encode(xb, yb)
        mu, logvar = code.mean, code.logvar
        n, d = mu.shape
        eps = torch.randn((k, n, d), generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps  # (k, n, d)
        yk = yb.repeat(k) if yb is not None else None
        log_px_z = -model.likelihood(z.reshape(k * n, d), yk).nll(xb.repeat(k, 1)).reshape(k, n)
        log_w = log_px_z + standard_normal_log_density(z) - gaussian_log_density(z, mu, logvar)
        out.append(torch.logsumexp(log_w, dim=0) - math.log(k))
    return torch.cat(out)
