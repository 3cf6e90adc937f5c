"""What every model kind offers the trainer, the checkpoints and the explorer.

The rest of the app knows a model only through this interface: a config
dataclass, loss(x) -> named terms, encode(x) -> a latent code, decode(z) ->
images, and, where the kind has them, a pixel likelihood and a Gaussian
posterior. A kind that lacks one says so through the capability properties,
and the views show a note instead of the tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import math

import numpy as np
import torch
from torch import nn

from vae_explorer.core.models.likelihoods import PixelLikelihood


@dataclass(frozen=True)
class LatentCode:
    """Where images land in latent space.

    mean is the point on the map, (N, d). logvar is the diagonal log-variance
    of a Gaussian posterior q(z|x), or None for a deterministic code.
    """

    mean: torch.Tensor
    logvar: torch.Tensor | None = None


class ExplorableModel(nn.Module):
    """Base class of every model kind; subclasses set kind, Config and the term labels."""

    kind: ClassVar[str]
    Config: ClassVar[type]
    # Loss terms in the order the curves show them; "loss" is what training minimises.
    term_labels: ClassVar[dict[str, str]] = {"loss": "loss"}
    # A short line for the window and the terminal, e.g. "MLP 784-512-256-2, Bernoulli".
    description: ClassVar[str] = ""

    def __init__(self, config: Any):
        super().__init__()
        self.config = config

    # ------------------------------------------------------------ shape

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.config.image_shape)

    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    @property
    def device(self) -> torch.device:
        """Where the weights are (every kind keeps them on one device)."""
        return next(self.parameters()).device

    def describe(self) -> str:
        return self.kind

    @classmethod
    def terms_text(cls, terms: dict[str, float], joiner: str = ", ") -> str:
        """The terms other than the loss, by their labels: "reconstruction 144.36, KL 6.02"."""
        return joiner.join(f"{cls.term_labels.get(name, name)} {value:.2f}"
                           for name, value in terms.items() if name != "loss")

    # ------------------------------------------------------ the interface

    def loss(
        self, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Mean per image over the batch, in nats: {"loss": ..., other named terms}."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> LatentCode:
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean images (N, H, W) in [0, 1] for latent points z (N, d)."""
        return self.likelihood(z).mean.reshape(z.shape[0], *self.image_shape)

    def likelihood(self, z: torch.Tensor) -> PixelLikelihood:
        """p(x|z) per pixel, for the kinds that define one (imputation and IWAE need it)."""
        raise NotImplementedError(f"the {self.kind} model has no pixel likelihood")

    # ------------------------------------------------------ capabilities

    @property
    def has_posterior(self) -> bool:
        """True when encode() returns a Gaussian q(z|x) (ellipses, IWAE, sampling)."""
        return False

    @property
    def has_likelihood(self) -> bool:
        return type(self).likelihood is not ExplorableModel.likelihood

    def flat(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, H, W) or (N, H*W) as rows (N, H*W)."""
        return x.reshape(x.shape[0], -1)

    @property
    def pixel_count(self) -> int:
        return math.prod(self.image_shape)

    def rows(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Images from outside, (H, W), (N, H, W) or (N, H*W), array or tensor, as float32 rows."""
        t = images if torch.is_tensor(images) else torch.as_tensor(np.asarray(images, dtype=np.float32))
        return t.to(torch.float32).reshape(-1, self.pixel_count)
