"""One pass of a model through one image, with the real numbers: what the maths panel shows.

A model's walkthrough() (core/models/base.py) returns a Walkthrough: the steps
from the image to the loss, each with its formula and the same formula with
the numbers put in; the latent code; the decoded image; what each pixel costs
in the reconstruction term; and the loss terms, whose weighted sum is the
total that the model's loss() gives for this image (in eval mode, with the
same noise). Formulas are short HTML fragments (Greek letters, <sub>, <sup>)
that any rich-text view renders; nothing here imports Qt.

The builders below are the parts every Gaussian-posterior kind shares
(encode, sample, decode, the reconstruction and KL terms), so a kind's module
only adds what is its own. They take tensors and duck-typed models, so this
module imports no model code and the models can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SHOWN = 3  # of a long vector, the values written out before "…"
MINUS = "\u2212"


# ----------------------------------------------------------------- numbers as text


def num(value: float, places: int = 3) -> str:
    """A number for a formula: fixed places, a true minus sign, scientific only when tiny or huge."""
    value = float(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 10.0 ** -places):
        text = f"{value:.{max(places - 1, 1)}e}"
    else:
        text = f"{value:.{places}f}"
    return text.replace("-", MINUS)


def bracketed(value: float, places: int = 3) -> str:
    """A number to put after an operator: negatives in brackets, "× (−1.20)"."""
    text = num(value, places)
    return f"({text})" if text.startswith(MINUS) else text


def sub(name: str, index) -> str:
    return f"{name}<sub>{index}</sub>"


def vector(values, places: int = 3, shown: int = SHOWN) -> str:
    """(a, b) in full for a short vector; the first few, "…" and the count for a long one."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) <= shown + 1:
        return "(" + ", ".join(num(v, places) for v in values) + ")"
    head = ", ".join(num(v, places) for v in values[:shown])
    return f"({head}, … {len(values) - shown} more)"


def components(texts: list[str], shown: int = SHOWN) -> str:
    """Per-dimension pieces joined as a vector, the tail cut as vector() cuts it."""
    if len(texts) <= shown + 1:
        return "(" + ", ".join(texts) + ")"
    return "(" + ", ".join(texts[:shown]) + f", … {len(texts) - shown} more)"


def one_row(tensor: torch.Tensor) -> np.ndarray:
    """The first row of a (1, ...) tensor as float64 numpy."""
    return tensor.detach().reshape(tensor.shape[0], -1)[0].to(torch.float64).cpu().numpy()


# ------------------------------------------------------------------ the record


@dataclass(frozen=True)
class Step:
    """One step of the pass: its formula, and the formula with this image's numbers in it.

    key says what in the picture the step is about, for hover highlighting:
    "posterior" (the ellipse), "z" (the point), "decode", or a kind's own word.
    pictures are extra images the step makes, (caption, (H, W) in [0, 1]).
    """

    key: str
    title: str
    formula: str
    worked: str
    pictures: tuple[tuple[str, np.ndarray], ...] = ()


@dataclass(frozen=True)
class Term:
    """One loss term for this image, in nats; it adds weight * value to the total."""

    key: str
    label: str
    value: float
    weight: float = 1.0
    weight_symbol: str = ""  # "β" when the weight is a setting with a name; "" for a plain 1
    formula: str = ""
    worked: str = ""

    @property
    def contribution(self) -> float:
        return self.weight * self.value


@dataclass(frozen=True)
class Walkthrough:
    """A model's pass through one image; see the module docstring."""

    kind: str
    image: np.ndarray  # (H, W), the input x
    mean: np.ndarray  # (d,): where x lands on the map, μ or the deterministic code
    logvar: np.ndarray | None  # (d,) log σ² of q(z|x); None without a posterior
    eps: np.ndarray | None  # (d,) the noise z was drawn with; None for a deterministic code
    z: np.ndarray  # (d,) the point the decoder read
    decoded: np.ndarray  # (H, W), the decoder's mean image
    pixel_nats: np.ndarray  # (H, W), −log p(x_i|z) per pixel: the reconstruction term before its sum
    steps: tuple[Step, ...]
    terms: tuple[Term, ...]
    total: float  # nats: what loss()["loss"] is for this image
    beta: float | None = None  # the KL weight; None where the kind has no KL term
    likelihood: str = ""  # "Bernoulli", ...

    def term(self, key: str) -> Term:
        for term in self.terms:
            if term.key == key:
                return term
        raise KeyError(f"no {key!r} term in the {self.kind} loss")

    def has_term(self, key: str) -> bool:
        return any(term.key == key for term in self.terms)

    def terms_sum(self) -> float:
        return float(sum(term.contribution for term in self.terms))

    def total_formula(self) -> str:
        """ "loss = reconstruction + β·KL" from the terms."""
        parts = [f"{t.weight_symbol}·{t.label}" if t.weight_symbol else t.label for t in self.terms]
        return "loss = " + " + ".join(parts)

    def total_worked(self) -> str:
        """ "= 71.32 + 1 × 3.03 = 74.35" with this image's numbers."""
        if len(self.terms) == 1 and not self.terms[0].weight_symbol:
            return f"= <b>{num(self.total, 2)}</b> nats"
        parts = [f"{t.weight:g} × {bracketed(t.value, 2)}" if t.weight_symbol
                 else bracketed(t.value, 2) for t in self.terms]
        return "= " + " + ".join(parts) + f" = <b>{num(self.total, 2)}</b> nats"


# ------------------------------------------------------------ shared pieces


def single_image(model, x) -> torch.Tensor:
    """One image (H, W), (H*W,) or (1, ...), array or tensor, as a (1, H*W) float row on the model's device."""
    try:
        rows = model.rows(x)
    except (RuntimeError, ValueError):  # a size that is no whole number of images
        rows = None
    if rows is None or rows.shape[0] != 1:
        shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
        raise ValueError(f"give one image of {model.image_shape[0]}x{model.image_shape[1]} pixels, "
                         f"got shape {shape}")
    return rows.to(model.device)


def noise_like(mean: torch.Tensor, eps, generator: torch.Generator | None) -> torch.Tensor:
    """eps for z = μ + σ ⊙ eps: the one given, checked, or N(0, I) drawn as VAE.reparameterize draws it."""
    if eps is None:
        return torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    eps = torch.as_tensor(np.asarray(eps, dtype=np.float32) if not torch.is_tensor(eps) else eps)
    if eps.numel() != mean.numel():
        raise ValueError(f"eps must have {mean.numel()} values, one per latent dimension, got {eps.numel()}")
    return eps.to(device=mean.device, dtype=mean.dtype).reshape(mean.shape)


def encode_step(mean: torch.Tensor, logvar: torch.Tensor, given: str = "") -> Step:
    mu, lv = one_row(mean), one_row(logvar)
    worked = (f"μ = {vector(mu)}<br>log σ² = {vector(lv)}<br>σ = exp(½ log σ²) = {vector(np.exp(0.5 * lv))}")
    return Step("posterior", "Encode", f"μ, log σ² = encoder(x{given})", worked)


def sample_step(mean: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor, z: torch.Tensor) -> Step:
    mu, sigma, e, point = one_row(mean), np.exp(0.5 * one_row(logvar)), one_row(eps), one_row(z)
    pieces = [f"{num(m)} + {num(s)} × {bracketed(v)}" for m, s, v in zip(mu, sigma, e)]
    worked = (f"ε = {vector(e)}<br>z = {components(pieces)}<br>&nbsp;&nbsp;= <b>{vector(point)}</b>")
    return Step("z", "Sample", "ε ~ N(0, I),&nbsp;&nbsp; z = μ + σ ⊙ ε", worked)


def code_step(code: torch.Tensor, note: str = "") -> Step:
    """A deterministic encoder's step: the code is the point."""
    worked = f"z = <b>{vector(one_row(code))}</b>" + (f"<br>{note}" if note else "")
    return Step("z", "Encode", "z = encoder(x)&nbsp;&nbsp; (no noise, no σ)", worked)


def decode_step(likelihood, z_name: str = "z", given: str = "") -> Step:
    """x̂ = the decoder's mean image; how the likelihood reads it comes from the likelihood."""
    return Step("decode", "Decode", f"x̂ = sigmoid(decoder({z_name}{given}))", likelihood.describe_html())


def reconstruction_term(likelihood, x: torch.Tensor) -> tuple[Term, torch.Tensor, torch.Tensor]:
    """(term, its value as a tensor, nats per pixel (1, D)): −log p(x|z) as the likelihood scores it."""
    pixel_nats = likelihood.pixel_nats(x)
    value = pixel_nats.sum(dim=-1).mean()  # as loss() reduces nll(x): sum over pixels, mean over the batch
    formula, worked = likelihood.reconstruction_html(x)
    return Term("reconstruction", "reconstruction", float(value), formula=formula, worked=worked), value, pixel_nats


def kl_summands(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """½ (μ² + σ² − 1 − log σ²) per dimension, (N, d): the summands of kl_to_standard_normal."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)


def kl_term(mean: torch.Tensor, logvar: torch.Tensor, beta: float) -> tuple[Term, torch.Tensor]:
    """KL(q(z|x) ‖ N(0, I)) from its closed form, with this image's μ and σ² put in."""
    value = kl_summands(mean, logvar).sum(dim=-1).mean()
    mu, lv = one_row(mean), one_row(logvar)
    pieces = [f"{bracketed(m)}² + {num(np.exp(v))} − {bracketed(v)} − 1" for m, v in zip(mu, lv)]
    shown = " + ".join(f"({p})" for p in pieces[:SHOWN])
    if len(pieces) > SHOWN + 1:
        shown += f" + … {len(pieces) - SHOWN} more"
    elif len(pieces) == SHOWN + 1:
        shown += f" + ({pieces[-1]})"
    per_dim = 0.5 * (mu**2 + np.exp(lv) - 1.0 - lv)
    worked = (f"= ½ [{shown}]<br>= {' + '.join(num(v) for v in per_dim[:SHOWN])}"
              + (f" + … ({num(per_dim[SHOWN:].sum())} in the other {len(per_dim) - SHOWN})"
                 if len(per_dim) > SHOWN else "")
              + f" = <b>{num(float(value), 2)}</b> nats")
    formula = "KL = ½ Σ<sub>j</sub> (μ<sub>j</sub>² + σ<sub>j</sub>² − log σ<sub>j</sub>² − 1)"
    return Term("kl", "KL", float(value), float(beta), "β", formula, worked), value


def elbo_total(reconstruction: torch.Tensor, kl: torch.Tensor, beta: float) -> torch.Tensor:
    """reconstruction + β·KL as likelihoods.negative_elbo_terms adds them (β = 0 leaves KL out)."""
    return reconstruction + beta * kl if beta else reconstruction


def posterior_walkthrough(model, x, *, beta: float = 1.0, generator: torch.Generator | None = None,
                          eps=None, labels=None, given: str = "") -> tuple[Walkthrough, dict]:
    """The pass of a Gaussian-posterior model whose loss is the negative ELBO.

    Returns the walkthrough and the tensors it came from (x, mean, logvar,
    eps, z, likelihood, total), for kinds that add terms of their own. given
    names what the encoder and decoder also read (", y" for a class label).
    """
    x = single_image(model, x)
    code = model.encode(x, labels)
    eps = noise_like(code.mean, eps, generator)
    z = code.mean + torch.exp(0.5 * code.logvar) * eps  # as VAE.reparameterize computes it
    likelihood = model.likelihood(z, labels)
    recon, recon_value, pixel_nats = reconstruction_term(likelihood, x)
    kl, kl_value = kl_term(code.mean, code.logvar, beta)
    total = elbo_total(recon_value, kl_value, beta)
    shape = tuple(model.image_shape)
    walk = Walkthrough(
        kind=model.kind, image=one_row(x).reshape(shape), mean=one_row(code.mean), logvar=one_row(code.logvar),
        eps=one_row(eps), z=one_row(z), decoded=one_row(likelihood.mean).reshape(shape),
        pixel_nats=one_row(pixel_nats).reshape(shape),
        steps=(encode_step(code.mean, code.logvar, given), sample_step(code.mean, code.logvar, eps, z),
               decode_step(likelihood, given=given)),
        terms=(recon, kl), total=float(total), beta=float(beta), likelihood=model.likelihood_name,
    )
    tensors = {"x": x, "mean": code.mean, "logvar": code.logvar, "eps": eps, "z": z,
               "likelihood": likelihood, "total": total}
    return walk, tensors
