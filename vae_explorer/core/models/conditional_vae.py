"""The conditional VAE: a VAE told the class of every image, q(z|x, y) and p(x|z, y).

The one-hot label joins the encoder's input and the decoder's input. Since
the decoder already knows which digit to draw, z is free to carry what the
label does not: slant, thickness, style. Holding z fixed and changing only
the label redraws the same style as another class. Every method needs the
labels; a call without them is a clear error, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from vae_explorer.core.config import ConfigError, form_field
from vae_explorer.core.models.base import ExplorableModel, LatentCode
from vae_explorer.core.models.likelihoods import PixelLikelihood, negative_elbo_terms
from vae_explorer.core.models.networks import decoder, encoder_trunk
from vae_explorer.core.models.registry import register
from vae_explorer.core.models.vae import (
    FIXED_LIKELIHOODS,
    VAE,
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
from vae_explorer.core.walkthrough import Walkthrough, posterior_walkthrough

MAX_CLASSES = 1_024


@dataclass(frozen=True)
class ConditionalVAEConfig:
    architecture: str = architecture_field()
    hidden_sizes: tuple[int, ...] = hidden_sizes_field()
    latent_dim: int = latent_dim_field()
    likelihood: str = likelihood_field(FIXED_LIKELIHOODS)
    gaussian_std: float = gaussian_std_field(when=("gaussian",))
    image_shape: tuple[int, int] = image_shape_field()
    num_classes: int = form_field(10, "Classes", "How many labels the data has; taken from the data.",
                                  show=False)

    def __post_init__(self) -> None:
        check_body(self, FIXED_LIKELIHOODS)
        if not 1 <= self.num_classes <= MAX_CLASSES:
            raise ConfigError(f"num_classes must be between 1 and {MAX_CLASSES:,}")


@register
class ConditionalVAE(ExplorableModel):
    """A VAE whose encoder and decoder both read the one-hot class label."""

    kind = "conditional_vae"
    title = "Conditional VAE"
    Config = ConditionalVAEConfig
    term_labels = {"loss": "−ELBO", "reconstruction": "reconstruction", "kl": "KL"}

    def __init__(self, config: ConditionalVAEConfig):
        super().__init__(config)
        c = config
        self.encoder = encoder_trunk(c.architecture, c.image_shape, c.hidden_sizes, extra_features=c.num_classes)
        self.to_mu = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.decoder, self.to_logits = decoder(
            c.architecture, c.latent_dim + c.num_classes, c.hidden_sizes, c.image_shape)

    @property
    def likelihood_name(self) -> str:
        return likelihood_title(self.config)

    def describe(self) -> str:
        c = self.config
        return f"conditional VAE {body_text(c, f' + {c.num_classes} classes')}, likelihood: {self.likelihood_name}"

    @property
    def has_posterior(self) -> bool:
        return True

    def one_hot(self, labels: torch.Tensor | None, count: int, like: torch.Tensor) -> torch.Tensor:
        """Checked labels as one-hot rows (count, num_classes), on like's device and dtype."""
        labels = self.labels_for(labels, count, device=like.device)
        return F.one_hot(labels, self.num_classes).to(like.dtype)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> LatentCode:
        x = self.flat(x)
        h = self.encoder(x, self.one_hot(labels, x.shape[0], x))
        return LatentCode(self.to_mu(h), self.to_logvar(h))

    def likelihood(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> PixelLikelihood:
        inputs = torch.cat([z, self.one_hot(labels, z.shape[0], z)], dim=-1)
        return fixed_likelihood(self.config, self.to_logits(self.decoder(inputs)))

    def loss(
        self, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        x = self.flat(x)
        labels = self.labels_for(labels, x.shape[0], device=x.device)
        code = self.encode(x, labels)
        z = VAE.reparameterize(code.mean, code.logvar, generator)
        return negative_elbo_terms(self.likelihood(z, labels).nll(x), code.mean, code.logvar, beta)

    @torch.no_grad()
    def walkthrough(
        self, x, *, beta: float = 1.0, generator: torch.Generator | None = None, eps=None,
        labels: torch.Tensor | None = None,
    ) -> Walkthrough:
        """The VAE's pass with the label y beside x and z; see ExplorableModel.walkthrough."""
        labels = self.labels_for(labels, 1)
        walk, _ = posterior_walkthrough(self, x, beta=beta, generator=generator, eps=eps, labels=labels,
                                        given=", y")
        encode, *rest = walk.steps
        said = f"y = {int(labels[0])}, read as a one-hot vector of {self.num_classes}<br>"
        return replace(walk, steps=(replace(encode, worked=said + encode.worked), *rest))
