"""The VQ-VAE (van den Oord et al. 2017): images as a grid of discrete codes from a learned codebook.

A convolutional encoder turns an image into a grid of D-dimensional vectors,
one per 4x4 patch (28x28 -> 7x7). Each vector is replaced by its nearest row
of a K x D codebook, and a convolutional decoder turns the grid of codebook
vectors back into pixel logits (a Bernoulli likelihood). The decoder has no
linear layer, so a code changes only the pixels near its cell.

Per image the loss is

    -log p(x | z_q) + ||sg[z_e] - e||^2 + commitment * ||z_e - sg[e]||^2

with squared distances summed over the grid: the codebook term moves the
chosen codes toward the encoder's outputs, the commitment term keeps the
encoder near its codes, and the straight-through copy z_e + sg[z_q - z_e]
carries the reconstruction gradient past the non-differentiable argmin. All
three are plain autograd, so the standard trainer's one Adam trains the lot.

Codes and encoder outputs are compared as unit vectors (cosine similarity,
as in Yu et al. 2022, "Vector-quantized image modeling with improved VQGAN").
With raw vectors the encoder's outputs run away from a codebook that Adam
moves by about one learning rate a step: four short epochs on 4,000 MNIST
digits used 2 to 7 of 64 codes, against 13 to 34 on the unit sphere, where
neither can run away. Over full MNIST the default model used 55 codes
(perplexity 39) after one epoch and 62 after three, at 61 nats per test image.

For the explorer the latent point is the encoder's continuous grid, flattened
(D * h * w numbers); decode() quantises whatever point it gets, so the generic
map (a PCA plane through those points) works unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vae_explorer.core.config import ConfigError, check_field_types, form_field
from vae_explorer.core.models.base import ExplorableModel, LatentCode
from vae_explorer.core.models.likelihoods import BernoulliPixels, PixelLikelihood
from vae_explorer.core.models.registry import register
from vae_explorer.core.models.vae import MAX_SIDE, image_shape_field
from vae_explorer.core.walkthrough import (
    Step,
    Term,
    Walkthrough,
    decode_step,
    num,
    one_row,
    reconstruction_term,
    single_image,
    vector,
)

# The encoder halves the image twice: one code per DOWNSAMPLE x DOWNSAMPLE patch.
DOWNSAMPLE = 4
# Images per forward pass when figures are taken over a whole split.
CHUNK = 1000


@dataclass(frozen=True)
class VQVAEConfig:
    codebook_size: int = form_field(
        64, "Codebook size", "How many discrete codes K the codebook holds.", minimum=2, maximum=4096)
    embedding_dim: int = form_field(
        16, "Code dimensions", "Length D of each codebook vector.", minimum=1, maximum=256)
    commitment: float = form_field(
        0.25, "Commitment weight",
        "Weight (beta) of the term that keeps the encoder's outputs near their codes.",
        minimum=0.0, maximum=10.0, step=0.05)
    channels: int = form_field(
        32, "Hidden channels",
        "Feature maps of the first convolution; the deeper layers have twice as many.", minimum=1, maximum=512)
    image_shape: tuple[int, int] = image_shape_field()

    def __post_init__(self) -> None:
        check_field_types(self)
        if not 2 <= self.codebook_size <= 4096:
            raise ConfigError("codebook_size must be between 2 and 4,096")
        if not 1 <= self.embedding_dim <= 256:
            raise ConfigError("embedding_dim must be between 1 and 256")
        if not 0 <= self.commitment <= 10:
            raise ConfigError("commitment must be a number between 0 and 10")
        if not 1 <= self.channels <= 512:
            raise ConfigError("channels must be between 1 and 512")
        if not all(0 < side <= MAX_SIDE for side in self.image_shape):
            raise ConfigError(f"image sides must be between 1 and {MAX_SIDE} pixels")

    @property
    def grid_shape(self) -> tuple[int, int]:
        h, w = self.image_shape
        return math.ceil(h / DOWNSAMPLE), math.ceil(w / DOWNSAMPLE)


@register
class VQVAE(ExplorableModel):
    """Convolutional encoder, nearest-code quantiser, convolutional decoder; see the module docstring."""

    kind = "vq_vae"
    Config = VQVAEConfig
    title = "VQ-VAE (discrete codes)"
    term_labels = {"loss": "reconstruction + VQ", "reconstruction": "reconstruction", "codebook": "codebook",
                   "commitment": "commitment"}

    def __init__(self, config: VQVAEConfig):
        super().__init__(config)
        c, d, k = config.channels, config.embedding_dim, config.codebook_size
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, d, 1),
        )
        self.codebook = nn.Embedding(k, d)
        # Short rows, as in the paper's reference code, point every way; being short,
        # Adam's steps turn them quickly toward the encoder's outputs. Torch's default
        # N(0, 1) rows, about 4 long, turned slowly: perplexity 9, not 39, after one MNIST epoch.
        nn.init.uniform_(self.codebook.weight, -1.0 / k, 1.0 / k)
        # Convolutions only: a code reaches the pixels within 7 of its 4x4 cell, no further.
        self.decoder = nn.Sequential(
            nn.Conv2d(d, 2 * c, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),
        )

    # ------------------------------------------------------------ shape

    @property
    def latent_dim(self) -> int:
        h, w = self.code_grid_shape
        return self.config.embedding_dim * h * w

    @property
    def code_grid_shape(self) -> tuple[int, int]:
        """(h, w): one code per 4x4 patch of the image, edges rounded up."""
        return self.config.grid_shape

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    @property
    def has_codes(self) -> bool:
        return True

    @property
    def likelihood_name(self) -> str:
        return "Bernoulli"

    def describe(self) -> str:
        c = self.config
        h, w = self.code_grid_shape
        return f"VQ-VAE, {c.codebook_size} codes of {c.embedding_dim} dimensions on a {h}x{w} grid"

    # ---------------------------------------------------------- the parts

    def codebook_vectors(self) -> torch.Tensor:
        """The K code vectors (K, D), unit length: what the quantiser and the decoder use."""
        return F.normalize(self.codebook.weight, dim=1)

    def _grid(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder outputs z_e, (N, D, h, w), each cell of unit length.

        The image is zero-padded to a multiple of 4 first, so every side size works.
        """
        h, w = self.image_shape
        gh, gw = self.code_grid_shape
        images = self.flat(x).reshape(-1, 1, h, w)
        images = F.pad(images, (0, gw * DOWNSAMPLE - w, 0, gh * DOWNSAMPLE - h))
        return F.normalize(self.encoder(images), dim=1)

    def _nearest(self, grid: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for every cell, (N, h, w) int64.

        Between unit vectors the nearest is the one of largest dot product; a
        cell of any length (a point from the map) goes to the code nearest its direction.
        """
        n, d, gh, gw = grid.shape
        vectors = grid.detach().permute(0, 2, 3, 1).reshape(-1, d)
        return (vectors @ self.codebook_vectors().detach().T).argmax(dim=1).reshape(n, gh, gw)

    def _vectors(self, codes: torch.Tensor) -> torch.Tensor:
        """Code vectors for a code grid (N, h, w) as a vector grid (N, D, h, w)."""
        return F.normalize(self.codebook(codes), dim=-1).permute(0, 3, 1, 2).contiguous()

    def _logits(self, quantised: torch.Tensor) -> torch.Tensor:
        """Pixel logits (N, H*W) from a grid of code vectors; the decoder's 4x output is cropped."""
        h, w = self.image_shape
        out = self.decoder(quantised)[:, 0, :h, :w]
        return out.reshape(out.shape[0], -1)

    # ------------------------------------------------------ the interface

    def loss(
        self, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        # beta (the KL weight) does not apply: a VQ-VAE has no KL term to weigh.
        x = self.flat(x)
        z_e = self._grid(x)
        e = self._vectors(self._nearest(z_e))
        codebook = (z_e.detach() - e).pow(2).sum(dim=(1, 2, 3)).mean()
        commitment = (z_e - e.detach()).pow(2).sum(dim=(1, 2, 3)).mean()
        # Straight-through: the decoder sees e, the encoder gets the decoder's gradient.
        z_q = z_e + (e - z_e).detach()
        reconstruction = BernoulliPixels(self._logits(z_q)).nll(x).mean()
        return {
            "loss": reconstruction + codebook + self.config.commitment * commitment,
            "reconstruction": reconstruction,
            "codebook": codebook,
            "commitment": commitment,
        }

    @torch.no_grad()
    def walkthrough(
        self, x, *, beta: float = 1.0, generator: torch.Generator | None = None, eps=None,
        labels: torch.Tensor | None = None,
    ) -> Walkthrough:
        """Encode to a grid, snap each cell to its code, decode; the loss adds the two codebook terms.

        Computed as loss() computes it, straight-through copy included, so the
        total matches to the last bit of float32. No noise: eps and beta do not apply.
        """
        x = single_image(self, x)
        z_e = self._grid(x)
        codes = self._nearest(z_e)
        e = self._vectors(codes)
        distance = (z_e - e).pow(2).sum(dim=(1, 2, 3)).mean()  # both VQ terms have this value
        z_q = z_e + (e - z_e)
        likelihood = BernoulliPixels(self._logits(z_q))
        recon, recon_value, pixel_nats = reconstruction_term(likelihood, x)
        weight = self.config.commitment
        total = recon_value + distance + weight * distance
        terms = (
            recon,
            Term("codebook", "codebook", float(distance), formula="‖sg[z<sub>e</sub>] − e‖²",
                 worked=f"= Σ over the {codes.numel()} cells of the squared distance to the code = "
                        f"<b>{num(float(distance), 2)}</b>; moves the codes towards the encoder"),
            Term("commitment", "commitment", float(distance), weight, "c", "‖z<sub>e</sub> − sg[e]‖²",
                 f"the same {num(float(distance), 2)}, weighted by c = {weight:g}; keeps the encoder near "
                 "its codes (sg: stop-gradient, which decides what each term trains)"),
        )
        shape = self.image_shape
        return Walkthrough(
            kind=self.kind, image=one_row(x).reshape(shape), mean=one_row(z_e), logvar=None, eps=None,
            z=one_row(z_q), decoded=one_row(likelihood.mean).reshape(shape),
            pixel_nats=one_row(pixel_nats).reshape(shape),
            steps=self._walkthrough_steps(z_e, codes, likelihood), terms=terms, total=float(total),
            beta=None, likelihood=self.likelihood_name,
        )

    def _walkthrough_steps(self, z_e: torch.Tensor, codes: torch.Tensor, likelihood) -> tuple[Step, ...]:
        c = self.config
        gh, gw = self.code_grid_shape
        first = z_e[0, :, 0, 0]
        encode = Step("z", "Encode", "z<sub>e</sub> = encoder(x), one unit vector per cell",
                      f"a {gh}×{gw} grid of {c.embedding_dim}-number vectors ({self.latent_dim} numbers: the "
                      f"point on the map)<br>top-left cell: {vector(first.tolist())}")
        rows = "".join("<tr>" + "".join(f"<td align='right'>&nbsp;{int(k)}</td>" for k in row) + "</tr>"
                       for row in codes[0].tolist())
        used = int(codes.unique().numel())
        quantise = Step("codes", "Quantise",
                        "k<sub>ij</sub> = argmax<sub>k</sub> ⟨z<sub>e,ij</sub>, e<sub>k</sub>⟩,&nbsp; "
                        "z<sub>q,ij</sub> = e<sub>k<sub>ij</sub></sub>",
                        f"the nearest of {c.codebook_size} codes for each cell ({used} different here):"
                        f"<table cellspacing='0'>{rows}</table>")
        return encode, quantise, decode_step(likelihood, "z<sub>q</sub>")

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> LatentCode:
        """The continuous grid before quantisation (unit vectors per cell), flattened to (N, D*h*w)."""
        z_e = self._grid(x)
        return LatentCode(z_e.reshape(z_e.shape[0], -1))

    def _as_grid(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"latent points must be (N, {self.latent_dim}), got {tuple(z.shape)}")
        gh, gw = self.code_grid_shape
        return z.reshape(z.shape[0], self.config.embedding_dim, gh, gw)

    def likelihood(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> PixelLikelihood:
        """p(x|z) after snapping every cell of z (N, D*h*w) to its nearest code."""
        return BernoulliPixels(self._logits(self._vectors(self._nearest(self._as_grid(z)))))

    # ------------------------------------------------------ the codes

    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The code grid of each image, (N, h, w) int64 indices into the codebook."""
        return self._nearest(self._grid(x))

    @torch.no_grad()
    def codes_of_latent(self, z: torch.Tensor) -> torch.Tensor:
        """The code grids of latent points z (N, D*h*w), such as encode()'s: no second pass of the encoder."""
        return self._nearest(self._as_grid(torch.as_tensor(z, dtype=torch.float32, device=self.device)))

    def check_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes from outside as (N, h, w) int64 on the model's device, or a one-line ValueError."""
        codes = torch.as_tensor(codes, device=self.device)
        gh, gw = self.code_grid_shape
        if codes.ndim != 3 or tuple(codes.shape[1:]) != (gh, gw):
            raise ValueError(f"code grids must be (N, {gh}, {gw}), got {tuple(codes.shape)}")
        if codes.dtype.is_floating_point or codes.dtype == torch.bool:
            raise ValueError("codes must be whole numbers")
        if codes.numel() and not (0 <= int(codes.min()) and int(codes.max()) < self.codebook_size):
            raise ValueError(f"codes must be between 0 and {self.codebook_size - 1}")
        return codes.to(torch.int64)

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Mean images (N, H, W) in [0, 1] for code grids (N, h, w)."""
        codes = self.check_codes(codes)
        logits = self._logits(self._vectors(codes))
        return torch.sigmoid(logits).reshape(codes.shape[0], *self.image_shape)

    def random_codes(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n code grids with every cell drawn uniformly from the codebook, on the generator's device."""
        device = generator.device if generator is not None else self.device
        return torch.randint(0, self.codebook_size, (n, *self.code_grid_shape), generator=generator,
                             device=device)

    def codebook_usage(self, codes: torch.Tensor) -> torch.Tensor:
        """How often each code occurs in the grids, (K,) int64."""
        return torch.bincount(self.check_codes(codes).reshape(-1), minlength=self.codebook_size)

    def perplexity(self, codes: torch.Tensor) -> float:
        """exp(entropy of the code frequencies): 1 when one code does all, K when all share evenly."""
        counts = self.codebook_usage(codes).to(torch.float64)
        p = counts[counts > 0] / counts.sum()
        return float(torch.exp(-(p * p.log()).sum())) if p.numel() else 1.0

    @torch.no_grad()
    def extra_figures(self, data_images: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
        rows = self.rows(data_images)
        if rows.shape[0] == 0:
            return {}
        codes = torch.cat([self.codes(rows[i : i + CHUNK].to(self.device)) for i in range(0, rows.shape[0], CHUNK)])
        usage = self.codebook_usage(codes)
        return {"perplexity": self.perplexity(codes), "codes_used": int((usage > 0).sum())}
