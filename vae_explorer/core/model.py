"""The VAE itself: an MLP encoder q(z|x) and an MLP decoder p(x|z)."""

from __future__ import annotations

import torch
from torch import nn

from vae_explorer.core.config import ModelConfig
from vae_explorer.core.cpu_linear import Linear


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width_in, width_out in zip(sizes[:-1], sizes[1:]):
        layers += [Linear(width_in, width_out), nn.ReLU()]
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Gaussian encoder with diagonal covariance; the decoder returns pixel logits.

    Logits rather than probabilities keep the Bernoulli loss numerically stable
    (binary_cross_entropy_with_logits) and let the Gaussian likelihood use
    sigmoid(logits) as its mean, so decoded images always lie in [0, 1].
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        hidden = list(config.hidden_sizes)
        self.encoder = _mlp([config.input_dim, *hidden])
        last = hidden[-1] if hidden else config.input_dim
        self.to_mu = Linear(last, config.latent_dim)
        # Predicting log sigma^2 keeps the variance positive without a constraint.
        self.to_logvar = Linear(last, config.latent_dim)
        self.decoder = _mlp([config.latent_dim, *reversed(hidden)])
        self.to_logits = Linear(hidden[0] if hidden else config.latent_dim, config.input_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.reshape(x.shape[0], -1))
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_logits(self.decoder(z))

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I); gradients flow to mu and logvar."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        return self.decode(z), mu, logvar

    @torch.no_grad()
    def decode_images(self, z: torch.Tensor) -> torch.Tensor:
        """Mean images in [0, 1], shaped (N, H, W), for display."""
        probs = torch.sigmoid(self.decode(z))
        return probs.reshape(z.shape[0], *self.config.image_shape)


def build_model(config: ModelConfig, seed: int | None = None) -> VAE:
    """A freshly initialised model; with a seed, the same weights every time."""
    if seed is None:
        return VAE(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VAE(config)
