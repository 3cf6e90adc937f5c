"""The variational autoencoder: a Gaussian encoder q(z|x) and a decoder p(x|z).

The encoder maps an image to the mean and log-variance of a diagonal Gaussian
over z; the decoder maps z to one logit per pixel, read as a Bernoulli
(cross-entropy), a fixed-σ Gaussian (squared error) or a Gaussian whose σ is
learned with the weights. The loss per image is the negative ELBO:
reconstruction + beta * KL(q(z|x) || N(0, I)).

The config fields and checks that the autoencoders and the conditional VAE
share with this model also live here (their modules import them), so the
forms of the whole family read the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vae_explorer.core.config import ConfigError, check_field_types, form_field
from vae_explorer.core.models.base import ExplorableModel, LatentCode
from vae_explorer.core.models.likelihoods import (
    BernoulliPixels,
    FixedGaussianPixels,
    LearnedGaussianPixels,
    PixelLikelihood,
    negative_elbo_terms,
)
from vae_explorer.core.models.networks import ARCHITECTURES, CONV_CHANNELS, decoder, encoder_trunk
from vae_explorer.core.models.registry import register

# Bounds that keep a config from outside (a checkpoint, a form) sane.
MAX_WIDTH = 16_384
MAX_LATENT = 1_024
MAX_SIDE = 512
MAX_HIDDEN_LAYERS = 16

ARCHITECTURE_CHOICES = (("mlp", "Multilayer perceptron"), ("conv", "Convolutional (2 conv layers)"))
FIXED_LIKELIHOODS = (("bernoulli", "Bernoulli (cross-entropy)"), ("gaussian", "Gaussian, fixed σ (squared error)"))
VAE_LIKELIHOODS = (*FIXED_LIKELIHOODS, ("learned_gaussian", "Gaussian, learned σ"))
VARIANCES = (("per_pixel", "One σ per pixel"), ("shared", "One σ for the whole image"))


# ------------------------------------------------- fields the family shares


def architecture_field():
    return form_field("mlp", "Architecture", "The encoder and decoder bodies: dense layers, or two "
                      "stride-2 convolutions (32 and 64 channels) with a mirrored upsampling decoder.",
                      choices=ARCHITECTURE_CHOICES)


def hidden_sizes_field():
    return form_field((512, 256), "Hidden layers", "Widths of the encoder's dense layers, comma-separated; "
                      "the decoder mirrors them. A convolutional body uses the last width after its "
                      "convolutions and the first before its upsampling.")


def latent_dim_field():
    return form_field(2, "Latent size", "Dimensions of z. The map draws 2-D spaces directly; with more, "
                      "it shows a plane through them that you choose.", minimum=1, maximum=MAX_LATENT)


def likelihood_field(choices=FIXED_LIKELIHOODS):
    return form_field("bernoulli", "Likelihood", "p(x|z): how the decoder's output is scored against the image.",
                      choices=choices)


def gaussian_std_field(when=("gaussian", "learned_gaussian")):
    return form_field(0.1, "Gaussian σ", "Standard deviation of the Gaussian likelihood, in pixel units "
                      "(a learned σ starts here).", minimum=0.001, maximum=10.0, step=0.01,
                      when={"likelihood": when})


def image_shape_field():
    return form_field((28, 28), "Image size", "(height, width), taken from the training data.", show=False)


def check_body(config, likelihoods: tuple) -> None:
    """The checks every config of the family needs: types, then the ranges of the shared fields."""
    check_network(config)
    names = tuple(value for value, _ in likelihoods)
    if config.likelihood not in names:
        raise ConfigError(f"likelihood must be one of {names}, got {config.likelihood!r}")
    if not 0 < config.gaussian_std < float("inf"):
        raise ConfigError("gaussian_std must be a positive number")
    check_image_shape(config)


def check_network(config) -> None:
    """Types, and the ranges of the encoder and decoder fields (architecture, widths, latent size)."""
    check_field_types(config)
    if config.architecture not in ARCHITECTURES:
        raise ConfigError(f"architecture must be one of {ARCHITECTURES}, got {config.architecture!r}")
    if not 0 < len(config.hidden_sizes) <= MAX_HIDDEN_LAYERS or not all(
            0 < h <= MAX_WIDTH for h in config.hidden_sizes):
        raise ConfigError(f"give 1 to {MAX_HIDDEN_LAYERS} hidden sizes, each from 1 to {MAX_WIDTH:,}")
    if not 0 < config.latent_dim <= MAX_LATENT:
        raise ConfigError(f"latent_dim must be between 1 and {MAX_LATENT:,}")


def check_image_shape(config) -> None:
    if not all(0 < side <= MAX_SIDE for side in config.image_shape):
        raise ConfigError(f"image sides must be between 1 and {MAX_SIDE} pixels")
    if config.architecture == "conv" and min(config.image_shape) < 4:
        raise ConfigError("the convolutional architecture needs images of at least 4x4 pixels")


def fixed_likelihood(config, logits: torch.Tensor) -> PixelLikelihood:
    """The Bernoulli or fixed-σ Gaussian the config names, over these logits."""
    if config.likelihood == "bernoulli":
        return BernoulliPixels(logits)
    return FixedGaussianPixels(logits, config.gaussian_std)


def likelihood_title(config) -> str:
    """The likelihood for people: Bernoulli; Gaussian, fixed σ=0.1; Gaussian, learned σ per pixel."""
    if config.likelihood == "bernoulli":
        return "Bernoulli"
    if config.likelihood == "gaussian":
        return f"Gaussian, fixed σ={config.gaussian_std:g}"
    return "Gaussian, learned σ " + ("per pixel" if config.variance == "per_pixel" else "shared by all pixels")


def body_text(config, extra_inputs: str = "") -> str:
    """The architecture and sizes in a few words: "MLP 784-512-256-2" or "conv 28x28 → ... → 2"."""
    h, w = config.image_shape
    if config.architecture == "conv":
        channels = "-".join(str(c) for c in CONV_CHANNELS)
        return f"conv {h}x{w} → {channels} channels → {config.hidden_sizes[-1]} → {config.latent_dim}{extra_inputs}"
    widths = "-".join(str(n) for n in (h * w, *config.hidden_sizes, config.latent_dim))
    return f"MLP {widths}{extra_inputs}"


def inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))  # log(exp(y) - 1), stable for large y


# ------------------------------------------------------------------ the VAE


@dataclass(frozen=True)
class VAEConfig:
    architecture: str = architecture_field()
    hidden_sizes: tuple[int, ...] = hidden_sizes_field()
    latent_dim: int = latent_dim_field()
    likelihood: str = likelihood_field(VAE_LIKELIHOODS)
    gaussian_std: float = gaussian_std_field()
    # For the learned σ: one per pixel, or one for the image; and the floor that
    # keeps σ from shrinking towards zero on pixels that are always black.
    variance: str = form_field("per_pixel", "Learned σ", "With a learned σ: one per pixel, or one shared "
                               "by all pixels.", choices=VARIANCES, when={"likelihood": ("learned_gaussian",)})
    min_std: float = form_field(0.01, "Smallest σ", "With a learned σ: the floor it cannot go below; a "
                                "σ near zero on always-black pixels would swamp the loss.",
                                minimum=0.001, maximum=1.0, step=0.01, when={"likelihood": ("learned_gaussian",)})
    image_shape: tuple[int, int] = image_shape_field()

    def __post_init__(self) -> None:
        check_body(self, VAE_LIKELIHOODS)
        if self.variance not in dict(VARIANCES):
            raise ConfigError(f"variance must be one of {tuple(dict(VARIANCES))}, got {self.variance!r}")
        if not 0.001 <= self.min_std <= 1.0:
            raise ConfigError("min_std must be between 0.001 and 1")

    @property
    def input_dim(self) -> int:
        return self.image_shape[0] * self.image_shape[1]


@register
class VAE(ExplorableModel):
    """Diagonal-Gaussian encoder and pixel-logit decoder; MLP parameter names as in format v1."""

    kind = "vae"
    aliases = ("mlp_vae",)
    title = "Variational autoencoder (VAE)"
    Config = VAEConfig
    term_labels = {"loss": "−ELBO", "reconstruction": "reconstruction", "kl": "KL"}

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        c = config
        self.encoder = encoder_trunk(c.architecture, c.image_shape, c.hidden_sizes)
        self.to_mu = nn.Linear(self.encoder.out_features, c.latent_dim)
        # Predicting log sigma^2 keeps the variance positive without a constraint.
        self.to_logvar = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.decoder, self.to_logits = decoder(c.architecture, c.latent_dim, c.hidden_sizes, c.image_shape)
        if c.likelihood == "learned_gaussian":
            count = c.input_dim if c.variance == "per_pixel" else 1
            # σ = min_std + softplus(raw), starting at gaussian_std (or just above the floor).
            start = inverse_softplus(max(c.gaussian_std - c.min_std, 1e-3))
            self.raw_std = nn.Parameter(torch.full((count,), start))

    @property
    def likelihood_name(self) -> str:
        return likelihood_title(self.config)

    def describe(self) -> str:
        return f"VAE {body_text(self.config)}, likelihood: {self.likelihood_name}"

    @property
    def has_posterior(self) -> bool:
        return True

    def pixel_std(self) -> torch.Tensor:
        """The learned σ, (D,) or (1,); only for the learned-Gaussian likelihood."""
        return self.config.min_std + F.softplus(self.raw_std)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> LatentCode:
        h = self.encoder(self.flat(x))
        return LatentCode(self.to_mu(h), self.to_logvar(h))

    def likelihood(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> PixelLikelihood:
        logits = self.to_logits(self.decoder(z))
        if self.config.likelihood == "learned_gaussian":
            return LearnedGaussianPixels(logits, self.pixel_std())
        return fixed_likelihood(self.config, logits)

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
        return negative_elbo_terms(self.likelihood(z).nll(x), code.mean, code.logvar, beta)
