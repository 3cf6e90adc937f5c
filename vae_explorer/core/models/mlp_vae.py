"""The MLP VAE: a Gaussian encoder q(z|x) and a decoder p(x|z), both multilayer perceptrons.

The encoder maps an image to the mean and log-variance of a diagonal Gaussian
over z; the decoder maps z to one logit per pixel, read as a Bernoulli
(cross-entropy) or a fixed-variance Gaussian (squared error) likelihood. The
loss per image is the negative ELBO: reconstruction + beta * KL(q(z|x) || N(0, I)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vae_explorer.core.config import ConfigError, check_field_types
from vae_explorer.core.models.base import ExplorableModel, LatentCode
from vae_explorer.core.models.likelihoods import (
    BernoulliPixels,
    FixedGaussianPixels,
    PixelLikelihood,
    kl_to_standard_normal,
)
from vae_explorer.core.models.registry import register

LIKELIHOODS = ("bernoulli", "gaussian")
# Bounds that keep a config from outside (a checkpoint, a form) sane.
MAX_WIDTH = 16_384
MAX_LATENT = 1_024
MAX_SIDE = 512


@dataclass(frozen=True)
class MLPVAEConfig:
    # Widths of the encoder's hidden layers; the decoder mirrors them.
    hidden_sizes: tuple[int, ...] = (512, 256)
    # Size of z. 2 lets the app draw the latent space directly.
    latent_dim: int = 2
    # p(x|z): "bernoulli" (cross-entropy) or "gaussian" (squared error).
    likelihood: str = "bernoulli"
    # Fixed standard deviation of the Gaussian likelihood, in pixel units.
    gaussian_std: float = 0.1
    # (height, width) of the images; taken from the training data.
    image_shape: tuple[int, int] = (28, 28)

    def __post_init__(self) -> None:
        check_field_types(self)
        if not 0 < len(self.hidden_sizes) <= 16 or not all(0 < h <= MAX_WIDTH for h in self.hidden_sizes):
            raise ConfigError(f"give 1 to 16 hidden sizes, each from 1 to {MAX_WIDTH:,}")
        if not 0 < self.latent_dim <= MAX_LATENT:
            raise ConfigError(f"latent_dim must be between 1 and {MAX_LATENT:,}")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if not 0 < self.gaussian_std < float("inf"):
            raise ConfigError("gaussian_std must be a positive number")
        if not all(0 < side <= MAX_SIDE for side in self.image_shape):
            raise ConfigError(f"image sides must be between 1 and {MAX_SIDE} pixels")

    @property
    def input_dim(self) -> int:
        return self.image_shape[0] * self.image_shape[1]


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width_in, width_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(width_in, width_out), nn.ReLU()]
    return nn.Sequential(*layers)


@register
class MLPVAE(ExplorableModel):
    """Diagonal-Gaussian encoder and pixel-logit decoder; parameter names as in format v1."""

    kind = "mlp_vae"
    Config = MLPVAEConfig
    term_labels = {"loss": "−ELBO", "reconstruction": "reconstruction", "kl": "KL"}

    def __init__(self, config: MLPVAEConfig):
        super().__init__(config)
        hidden = list(config.hidden_sizes)
        self.encoder = _mlp([config.input_dim, *hidden])
        self.to_mu = nn.Linear(hidden[-1], config.latent_dim)
        # Predicting log sigma^2 keeps the variance positive without a constraint.
        self.to_logvar = nn.Linear(hidden[-1], config.latent_dim)
        self.decoder = _mlp([config.latent_dim, *reversed(hidden)])
        self.to_logits = nn.Linear(hidden[0], config.input_dim)

    def describe(self) -> str:
        c = self.config
        widths = "-".join(str(w) for w in (c.input_dim, *c.hidden_sizes, c.latent_dim))
        return f"MLP VAE {widths}, {c.likelihood} likelihood"

    @property
    def has_posterior(self) -> bool:
        return True

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> LatentCode:
        h = self.encoder(self.flat(x))
        return LatentCode(self.to_mu(h), self.to_logvar(h))

    def likelihood(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> PixelLikelihood:
        logits = self.to_logits(self.decoder(z))
        if self.config.likelihood == "bernoulli":
            return BernoulliPixels(logits)
        return FixedGaussianPixels(logits, self.config.gaussian_std)

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I); gradients flow to mu and logvar."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def loss(
        self, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        x = self.flat(x)
        code = self.encode(x)
        z = self.reparameterize(code.mean, code.logvar, generator)
        reconstruction = self.likelihood(z).nll(x).mean()
        kl = kl_to_standard_normal(code.mean, code.logvar).mean()
        return {"loss": reconstruction + beta * kl, "reconstruction": reconstruction, "kl": kl}
