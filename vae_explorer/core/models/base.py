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
from vae_explorer.core.walkthrough import Walkthrough, posterior_walkthrough


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
    # Other names this kind was saved under by earlier versions (checkpoints keep loading).
    aliases: ClassVar[tuple[str, ...]] = ()
    # A name for people, for menus and forms: "Variational autoencoder".
    title: ClassVar[str] = ""

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

    @property
    def num_classes(self) -> int:
        """Classes the model is conditioned on (0: not conditional)."""
        return int(getattr(self.config, "num_classes", 0))

    @property
    def is_conditional(self) -> bool:
        """True when encode, decode and loss need the labels (a conditional VAE)."""
        return self.num_classes > 0

    @property
    def likelihood_name(self) -> str:
        """Which p(x|z) the decoder defines, for the window: "Bernoulli", "" when none."""
        return ""

    def describe(self) -> str:
        return self.kind

    @classmethod
    def terms_text(cls, terms: dict[str, float], joiner: str = ", ") -> str:
        """The terms other than the loss, by their labels: "reconstruction 144.36, KL 6.02"."""
        return joiner.join(f"{cls.term_labels.get(name, name)} {value:.2f}"
                           for name, value in terms.items() if name != "loss")

    # ------------------------------------------------------ the interface

    # Every method takes `labels` (N,) int64: a conditional kind needs them, the
    # others ignore them, so callers pass what they have without asking.

    def loss(
        self, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Mean per image over the batch, in nats: {"loss": ..., other named terms}.

        In training mode a kind may also corrupt its input (denoising) or
        update buffers; in eval mode the loss is the plain figure to report.
        """
        raise NotImplementedError

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> LatentCode:
        raise NotImplementedError

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Mean images (N, H, W) in [0, 1] for latent points z (N, d)."""
        return self.likelihood(z, labels).mean.reshape(z.shape[0], *self.image_shape)

    def likelihood(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> PixelLikelihood:
        """p(x|z) per pixel, for the kinds that define one (imputation and IWAE need it)."""
        raise NotImplementedError(f"the {self.kind} model has no pixel likelihood")

    @torch.no_grad()
    def walkthrough(
        self, x, *, beta: float = 1.0, generator: torch.Generator | None = None, eps=None,
        labels: torch.Tensor | None = None,
    ) -> Walkthrough:
        """One image's pass through the model with the numbers (core/walkthrough.py), for the maths panel.

        x is one image, (H, W) or (H*W,). Its total equals loss(x) in eval mode
        when both draw the same noise: the same generator state, or eps (d,)
        given here for z = μ + σ ⊙ eps. This default is the negative ELBO of a
        Gaussian q(z|x) from encode() and likelihood(); kinds whose loss differs
        override it with their own terms.
        """
        if not self.has_posterior:
            raise NotImplementedError(f"the {self.kind} model does not say how to walk through its loss")
        return posterior_walkthrough(self, x, beta=beta, generator=generator, eps=eps, labels=labels)[0]

    def labels_for(self, labels: torch.Tensor | None, count: int, device=None) -> torch.Tensor:
        """Labels as (count,) int64 on the model's device, checked; a conditional kind's helper."""
        if labels is None:
            raise ValueError(f"the {self.kind} model is conditional: give the class labels")
        labels = torch.as_tensor(labels, dtype=torch.int64, device=device or self.device).reshape(-1)
        if labels.numel() == 1 and count != 1:
            labels = labels.expand(count)
        if labels.numel() != count:
            raise ValueError(f"{labels.numel()} labels for {count} images")
        if count and not (0 <= int(labels.min()) and int(labels.max()) < self.num_classes):
            raise ValueError(f"labels must be between 0 and {self.num_classes - 1}")
        return labels

    # ------------------------------------------------------ capabilities

    @property
    def has_posterior(self) -> bool:
        """True when encode() returns a Gaussian q(z|x) (ellipses, IWAE, sampling)."""
        return False

    @property
    def has_likelihood(self) -> bool:
        return type(self).likelihood is not ExplorableModel.likelihood

    @property
    def has_codes(self) -> bool:
        """True for a discrete code grid (VQ-VAE): codes(), decode_codes(), codebook_size."""
        return False

    def extra_figures(self, data_images: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
        """Kind-specific figures worth recording and showing (codebook perplexity, ...)."""
        return {}

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


class WithClass(ExplorableModel):
    """A conditional model with its class fixed: what code written for unconditional models needs.

    Imputation, the grid posterior and the like call encode/decode/likelihood
    without labels; this view adds the chosen class to every call, so they run
    unchanged on a conditional VAE ("impute this digit, as a 7").
    """

    def __init__(self, model: ExplorableModel, label: int):
        super().__init__(model.config)
        self.inner = model
        self.label = int(label)
        self.kind = model.kind
        self.term_labels = model.term_labels

    def _labels(self, count: int, like: torch.Tensor) -> torch.Tensor:
        return torch.full((count,), self.label, dtype=torch.int64, device=like.device)

    @property
    def num_classes(self) -> int:
        return 0  # the class is already given

    @property
    def likelihood_name(self) -> str:
        return self.inner.likelihood_name

    @property
    def has_posterior(self) -> bool:
        return self.inner.has_posterior

    @property
    def has_likelihood(self) -> bool:
        return self.inner.has_likelihood

    def describe(self) -> str:
        return f"{self.inner.describe()}, class {self.label}"

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> LatentCode:
        return self.inner.encode(x, self._labels(x.shape[0], x))

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.inner.decode(z, self._labels(z.shape[0], z))

    def likelihood(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> PixelLikelihood:
        return self.inner.likelihood(z, self._labels(z.shape[0], z))

    def loss(self, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None,
             labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return self.inner.loss(x, beta=beta, generator=generator, labels=self._labels(x.shape[0], x))

    def walkthrough(self, x, *, beta: float = 1.0, generator: torch.Generator | None = None, eps=None,
                    labels: torch.Tensor | None = None) -> Walkthrough:
        labels = torch.tensor([self.label], dtype=torch.int64, device=self.inner.device)
        return self.inner.walkthrough(x, beta=beta, generator=generator, eps=eps, labels=labels)
