"""Plain and denoising autoencoders: a deterministic code z = f(x), no prior, no KL.

The encoder maps an image straight to a point z; the decoder reads z as
pixel logits under a Bernoulli or fixed-σ Gaussian likelihood, and the loss
is that reconstruction alone. Without the KL term nothing pulls the codes
towards N(0, I), which is the contrast with the VAE these kinds are for:
the map shows codes spread wherever the encoder likes.

The denoising autoencoder corrupts its input while training (Gaussian noise,
or a random fraction of pixels set to black) and scores the decode against
the clean image, so it learns to undo the corruption. In eval mode it sees
clean input, so its reported figure compares with the plain autoencoder's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vae_explorer.core.config import ConfigError, form_field
from vae_explorer.core.models.base import ExplorableModel, LatentCode
from vae_explorer.core.models.likelihoods import PixelLikelihood
from vae_explorer.core.models.networks import decoder, encoder_trunk
from vae_explorer.core.models.registry import register
from vae_explorer.core.models.vae import (
    FIXED_LIKELIHOODS,
    architecture_field,
    body_text,
    check_body,
    fixed_likelihood,
    gaussian_std_field,
    hidden_sizes_field,
    image_shape_field,
    latent_dim_field,
    likelihood_field,
    likelihood_title,
)
from vae_explorer.core.walkthrough import (
    Walkthrough,
    code_step,
    decode_step,
    one_row,
    reconstruction_term,
    single_image,
)

CORRUPTIONS = (("gaussian", "Gaussian noise, σ = level"),
               ("mask", "Black out a random fraction (level) of pixels"))


@dataclass(frozen=True)
class AutoencoderConfig:
    architecture: str = architecture_field()
    hidden_sizes: tuple[int, ...] = hidden_sizes_field()
    latent_dim: int = latent_dim_field()
    likelihood: str = likelihood_field(FIXED_LIKELIHOODS)
    gaussian_std: float = gaussian_std_field(when=("gaussian",))
    image_shape: tuple[int, int] = image_shape_field()

    def __post_init__(self) -> None:
        check_body(self, FIXED_LIKELIHOODS)


@dataclass(frozen=True)
class DenoisingAutoencoderConfig(AutoencoderConfig):
    corruption: str = form_field("gaussian", "Corruption", "What training does to each input image before "
                                 "encoding it; the decode is scored against the clean image.",
                                 choices=CORRUPTIONS)
    corruption_level: float = form_field(0.3, "Corruption level", "The noise σ in pixel units, or the "
                                         "fraction of pixels blacked out.", minimum=0.0, maximum=1.0, step=0.05)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.corruption not in dict(CORRUPTIONS):
            raise ConfigError(f"corruption must be one of {tuple(dict(CORRUPTIONS))}, got {self.corruption!r}")
        if not 0 <= self.corruption_level <= 1:
            raise ConfigError("corruption_level must be between 0 and 1")


@register
class Autoencoder(ExplorableModel):
    """Encoder to a point z, decoder to pixel logits; trained on reconstruction alone."""

    kind = "autoencoder"
    title = "Autoencoder (no KL)"
    Config = AutoencoderConfig
    term_labels = {"loss": "loss", "reconstruction": "reconstruction"}

    def __init__(self, config: AutoencoderConfig):
        super().__init__(config)
        c = config
        self.encoder = encoder_trunk(c.architecture, c.image_shape, c.hidden_sizes)
        self.to_code = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.decoder, self.to_logits = decoder(c.architecture, c.latent_dim, c.hidden_sizes, c.image_shape)

    @property
    def likelihood_name(self) -> str:
        return likelihood_title(self.config)

    def describe(self) -> str:
        return f"autoencoder {body_text(self.config)}, likelihood: {self.likelihood_name}"

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> LatentCode:
        return LatentCode(self.to_code(self.encoder(self.flat(x))), None)

    def likelihood(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> PixelLikelihood:
        return fixed_likelihood(self.config, self.to_logits(self.decoder(z)))

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """What the encoder sees while training; the plain autoencoder sees the image itself."""
        return x

    # What the walkthrough adds under the code: the kind's difference from a VAE.
    walkthrough_note = "No KL term: nothing pulls z towards N(0, I), and there is no ε to draw."

    @torch.no_grad()
    def walkthrough(
        self, x, *, beta: float = 1.0, generator: torch.Generator | None = None, eps=None,
        labels: torch.Tensor | None = None,
    ) -> Walkthrough:
        """Encode to a point, decode, score: the reconstruction is the whole loss (eval mode, clean input)."""
        x = single_image(self, x)
        code = self.encode(x).mean
        likelihood = self.likelihood(code)
        term, value, pixel_nats = reconstruction_term(likelihood, x)
        shape = self.image_shape
        return Walkthrough(
            kind=self.kind, image=one_row(x).reshape(shape), mean=one_row(code), logvar=None, eps=None,
            z=one_row(code), decoded=one_row(likelihood.mean).reshape(shape),
            pixel_nats=one_row(pixel_nats).reshape(shape),
            steps=(code_step(code, self.walkthrough_note), decode_step(likelihood)),
            terms=(term,), total=float(value), beta=None, likelihood=self.likelihood_name,
        )

    def loss(
        self, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        # beta is ignored: there is no KL term to weigh.
        x = self.flat(x)
        seen = self.corrupt(x, generator) if self.training else x
        reconstruction = self.likelihood(self.encode(seen).mean).nll(x).mean()
        return {"loss": reconstruction, "reconstruction": reconstruction}


@register
class DenoisingAutoencoder(Autoencoder):
    """An autoencoder that learns to restore images corrupted on the way in."""

    kind = "denoising_autoencoder"
    title = "Denoising autoencoder"
    Config = DenoisingAutoencoderConfig
    walkthrough_note = ("No KL term and no ε. Training corrupted x before encoding it; "
                        "here, as in the reported loss, the encoder sees x itself.")

    def describe(self) -> str:
        c = self.config
        how = (f"Gaussian noise σ={c.corruption_level:g}" if c.corruption == "gaussian"
               else f"{c.corruption_level:.0%} of pixels masked")
        return f"denoising autoencoder {body_text(c)}, trained on {how}, likelihood: {self.likelihood_name}"

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        level = self.config.corruption_level
        noise = torch.rand if self.config.corruption == "mask" else torch.randn
        draw = noise(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        if self.config.corruption == "mask":
            return x.masked_fill(draw < level, 0.0)
        return (x + level * draw).clamp(0.0, 1.0)
