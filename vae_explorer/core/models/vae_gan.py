"""The VAE-GAN: a VAE whose decoder is also trained to fool a discriminator (after Larsen et al. 2016).

The VAE is the usual one (a Gaussian q(z|x), a Bernoulli decoder, the
negative ELBO); a small discriminator learns to tell real images from the
decoder's mean images, both reconstructions and decodes of prior samples, and
the decoder is rewarded for images it takes for real. Blurry means are what
a discriminator spots first, so the adversarial term sharpens them.

The project's trainer runs one Adam over all parameters and one backward of
loss["loss"], so the two players' objectives are summed and each gradient is
routed to its own player:

    loss = reconstruction + beta * KL + adversarial_weight * adversarial + discriminator

- adversarial (the generator's term, -log D(fake), non-saturating) is taken
  through the discriminator with its parameters detached, so it moves the
  encoder and decoder only;
- discriminator (binary cross-entropy on real x and on the fakes detached)
  moves the discriminator only.

So every parameter receives the gradient of its own player's loss, and
Adam's per-parameter scaling keeps the two from drowning each other out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from vae_explorer.core.config import ConfigError, form_field
from vae_explorer.core.models.base import ExplorableModel, LatentCode
from vae_explorer.core.models.likelihoods import BernoulliPixels, PixelLikelihood, negative_elbo_terms
from vae_explorer.core.models.networks import decoder, encoder_trunk
from vae_explorer.core.models.registry import register
from vae_explorer.core.models.vae import (
    MAX_WIDTH,
    architecture_field,
    body_text,
    check_image_shape,
    check_network,
    hidden_sizes_field,
    image_shape_field,
    latent_dim_field,
)
from vae_explorer.core.walkthrough import Step, Term, Walkthrough, num, one_row, posterior_walkthrough, vector


@dataclass(frozen=True)
class VAEGANConfig:
    # The discriminator takes the same body as the encoder, with its own width.
    architecture: str = architecture_field()
    hidden_sizes: tuple[int, ...] = hidden_sizes_field()
    latent_dim: int = latent_dim_field()
    # 4 on MNIST (MLP, 2-d z, 3 epochs): decoded prior samples 18% lower in pixel entropy
    # than with 0, for 3.5 more nats of reconstruction; 16 sharpened more but stalled it.
    adversarial_weight: float = form_field(
        4.0, "Adversarial weight",
        "How much the decoder is rewarded for fooling the discriminator (0: a plain VAE beside it).",
        minimum=0.0, maximum=1000.0, step=0.5)
    discriminator_width: int = form_field(
        256, "Discriminator width", "Width of the discriminator's dense layer (after its convolutions when convolutional).",
        minimum=1, maximum=MAX_WIDTH)
    label_smoothing: float = form_field(
        0.1, "Label smoothing",
        "The discriminator aims at 1 minus this for real images (one-sided smoothing steadies training).",
        minimum=0.0, maximum=0.5, step=0.05)
    image_shape: tuple[int, int] = image_shape_field()

    def __post_init__(self) -> None:
        # The VAE family's checks, less its likelihood fields: this decoder is Bernoulli only.
        check_network(self)
        if not 0 <= self.adversarial_weight <= 1000:
            raise ConfigError("adversarial_weight must be a number between 0 and 1,000")
        if not 0 < self.discriminator_width <= MAX_WIDTH:
            raise ConfigError(f"discriminator_width must be between 1 and {MAX_WIDTH:,}")
        if not 0 <= self.label_smoothing <= 0.5:
            raise ConfigError("label_smoothing must be between 0 and 0.5")
        check_image_shape(self)


@register
class VAEGAN(ExplorableModel):
    """A Gaussian-encoder, Bernoulli-decoder VAE and an image discriminator; see the module docstring."""

    kind = "vae_gan"
    Config = VAEGANConfig
    title = "VAE-GAN"
    term_labels = {"loss": "−ELBO+GAN", "reconstruction": "reconstruction", "kl": "KL",
                   "adversarial": "adversarial (decoder)", "discriminator": "discriminator"}

    def __init__(self, config: VAEGANConfig):
        super().__init__(config)
        arch, hidden, shape = config.architecture, config.hidden_sizes, config.image_shape
        self.encoder = encoder_trunk(arch, shape, hidden)
        self.to_mu = nn.Linear(self.encoder.out_features, config.latent_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, config.latent_dim)
        self.decoder, self.to_logits = decoder(arch, config.latent_dim, hidden, shape)
        width = config.discriminator_width
        self.discriminator = nn.Sequential(encoder_trunk(arch, shape, (width,)), nn.Linear(width, 1))

    def describe(self) -> str:
        c = self.config
        return (f"VAE-GAN {body_text(c)}, likelihood: Bernoulli; discriminator width "
                f"{c.discriminator_width}, adversarial weight {c.adversarial_weight:g}")

    @property
    def has_posterior(self) -> bool:
        return True

    @property
    def likelihood_name(self) -> str:
        return "Bernoulli"

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> LatentCode:
        h = self.encoder(self.flat(x))
        return LatentCode(self.to_mu(h), self.to_logvar(h))

    def _logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_logits(self.decoder(z))

    def likelihood(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> PixelLikelihood:
        return BernoulliPixels(self._logits(z))

    def loss(
        self, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        x = self.flat(x)
        code = self.encode(x)
        noise = torch.randn((2, *code.mean.shape), generator=generator, device=x.device, dtype=x.dtype)
        z = code.mean + torch.exp(0.5 * code.logvar) * noise[0]
        logits = self._logits(z)
        terms = negative_elbo_terms(BernoulliPixels(logits).nll(x), code.mean, code.logvar, beta)
        # Fakes: the mean images of the reconstructions and of as many prior samples,
        # so both the encoded points and the rest of the latent space get sharpened.
        fake = torch.sigmoid(torch.cat([logits, self._logits(noise[1])]))
        adversarial = self.adversarial(fake)
        discriminator = self.discriminator_loss(x, fake.detach())
        terms["loss"] = terms["loss"] + self.config.adversarial_weight * adversarial + discriminator
        return {**terms, "adversarial": adversarial, "discriminator": discriminator}

    def adversarial(self, fake: torch.Tensor) -> torch.Tensor:
        """The decoder's term, -log D(fake) per image: through a frozen copy of the discriminator."""
        frozen = {name: p.detach() for name, p in self.discriminator.named_parameters()}
        return F.softplus(-functional_call(self.discriminator, frozen, (fake,))).mean()

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of telling real (target 1 - smoothing) from fake (target 0), per image."""
        target = 1.0 - self.config.label_smoothing
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
        real_loss = target * F.softplus(-real_logits) + (1 - target) * F.softplus(real_logits)
        return real_loss.mean() + F.softplus(fake_logits).mean()

    @torch.no_grad()
    def walkthrough(
        self, x, *, beta: float = 1.0, generator: torch.Generator | None = None, eps=None,
        labels: torch.Tensor | None = None,
    ) -> Walkthrough:
        """The VAE's pass, then the discriminator's verdicts and the two adversarial terms.

        Draws its noise as loss() does, eps and a prior sample z_p in one call,
        so with the same generator state the totals match; eps, when given,
        replaces the first draw only.
        """
        noise = torch.randn((2, 1, self.latent_dim), generator=generator, device=self.device)
        walk, t = posterior_walkthrough(self, x, beta=beta, eps=noise[0] if eps is None else eps)
        prior_logits = self._logits(noise[1])
        fake = torch.sigmoid(torch.cat([t["likelihood"].logits, prior_logits]))
        adversarial = self.adversarial(fake)
        discriminator = self.discriminator_loss(t["x"], fake)
        weight = self.config.adversarial_weight
        total = t["total"] + weight * adversarial + discriminator
        d_real, d_fake = (torch.sigmoid(self.discriminator(images)).reshape(-1).tolist()
                          for images in (t["x"], fake))
        judge = Step(
            "verdicts", "Discriminate",
            "z<sub>p</sub> ~ N(0, I),&nbsp; D(·) = the chance an image is real",
            f"z<sub>p</sub> = {vector(one_row(noise[1]))}<br>D(x) = {num(d_real[0])},&nbsp; "
            f"D(x̂) = {num(d_fake[0])},&nbsp; D(decoder(z<sub>p</sub>)) = {num(d_fake[1])}",
            pictures=(("decoder(z<sub>p</sub>)", one_row(fake[1:2]).reshape(self.image_shape)),),
        )
        s = self.config.label_smoothing
        terms = (*walk.terms, Term(
            "adversarial", "adversarial", float(adversarial), weight, "λ",
            "−½ [log D(x̂) + log D(decoder(z<sub>p</sub>))]",
            f"= −½ [log {num(d_fake[0])} + log {num(d_fake[1])}] = <b>{num(float(adversarial), 2)}</b>; "
            f"λ = {weight:g}; trains the decoder only"), Term(
            "discriminator", "discriminator", float(discriminator),
            formula=f"−[{1 - s:g} log D(x) + {s:g} log(1 − D(x))] − ½ Σ<sub>fakes</sub> log(1 − D)",
            worked=f"= −[{1 - s:g} log {num(d_real[0])} + {s:g} log {num(1 - d_real[0])}] − ½ [log "
                   f"{num(1 - d_fake[0])} + log {num(1 - d_fake[1])}] = <b>{num(float(discriminator), 2)}</b>; "
                   f"trains the discriminator only (it aims at {1 - s:g} for real: label smoothing)"))
        return replace(walk, steps=(*walk.steps, judge), terms=terms, total=float(total))
