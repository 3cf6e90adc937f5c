"""One training step of the MLP VAE on the CPU with the backward pass written out.

Autograd records a graph node for every small op of the forward pass and
walks it back in its engine; for our small MLPs on the CPU that bookkeeping,
plus the temporaries it keeps, cost about 0.45 ms of a 2.6 ms step of the
784-400-20 model on the 2-core dev box. The gradients of an MLP VAE are short
to write by hand, so on the CPU the trainer computes them here instead and
the step takes about 2.2 ms. Products go to oneDNN as in core/cpu_linear.py.

The maths, per batch of B images, with s = 1/B and beta the KL weight
(loss = s * sum(reconstruction + beta * KL)):

  logits l        dL/dl  = s * (sigmoid(l) - x)                    Bernoulli
                  dL/dl  = s * (p - x) * p * (1 - p) / std^2       Gaussian, p = sigmoid(l)
  linear y=hW'+b  dW = dy' h,  db = sum_rows dy,  dh = dy W
  relu            da = dh * (a > 0)
  z = mu + sigma * eps, sigma = exp(logvar / 2)
                  dmu     = dz + s * beta * mu
                  dlogvar = dz * eps * sigma / 2 + s * beta * (sigma^2 - 1) / 2

tests/core/test_manual_step.py checks every gradient against autograd's.
Any model this module does not recognise (other layer kinds to come) trains
through autograd instead; see `supports`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vae_explorer.core.cpu_linear import (
    onednn_affine,
    onednn_linear_available,
    onednn_matmul_t,
)
from vae_explorer.core.losses import LOG_2PI, bernoulli_nll_untracked
from vae_explorer.core.model import VAE


def _linear_layers(seq: nn.Sequential) -> list[nn.Linear] | None:
    """The Linear layers of a Linear, ReLU, Linear, ReLU, ... stack; None for anything else."""
    modules = list(seq)
    if len(modules) % 2:
        return None
    layers = modules[0::2]
    if all(isinstance(m, nn.Linear) for m in layers) and all(
        type(m) is nn.ReLU for m in modules[1::2]
    ):
        return layers
    return None


def supports(model: nn.Module, device: torch.device) -> bool:
    """True when `ManualStep` can train this model on this device."""
    return (
        device.type == "cpu"
        and isinstance(model, VAE)
        and model.config.likelihood in ("bernoulli", "gaussian")
        and _linear_layers(model.encoder) is not None
        and _linear_layers(model.decoder) is not None
        and all(p.dtype == torch.float32 for p in model.parameters())
        and all(m.bias is not None for m in model.modules() if isinstance(m, nn.Linear))
    )


def _affine(x: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    return onednn_affine(x, layer.weight, layer.bias)


class ManualStep:
    """Computes the loss terms of a batch and leaves the gradients in the parameters' .grad."""

    def __init__(self, model: VAE, beta: float):
        if not supports(model, next(model.parameters()).device):
            raise ValueError("this model needs autograd; check manual_step.supports first")
        self.model, self.beta = model, float(beta)
        self.encoder = _linear_layers(model.encoder)
        self.decoder = [*_linear_layers(model.decoder), model.to_logits]
        if onednn_linear_available():
            self.affine, self.matmul_t = _affine, onednn_matmul_t
        else:  # same maths through torch's own kernels
            self.affine = lambda x, layer: torch.addmm(layer.bias, x, layer.weight.t())
            self.matmul_t = lambda a, b: a @ b.t()

    @torch.no_grad()
    def __call__(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[float, float, float]:
        """(loss per image, reconstruction summed, KL summed) for the batch x of shape (B, D)."""
        model, config = self.model, self.model.config
        affine = self.affine
        x = x.reshape(x.shape[0], -1)
        scale = 1.0 / x.shape[0]

        # Forward, keeping what the backward pass needs: each layer's input
        # and each hidden layer's pre-activation (for the ReLU mask).
        enc_inputs, enc_pre = [], []
        h = x
        for layer in self.encoder:
            enc_inputs.append(h)
            pre = affine(h, layer)
            enc_pre.append(pre)
            h = pre.clamp_min(0.0)
        head_input = h
        mu, logvar = affine(head_input, model.to_mu), affine(head_input, model.to_logvar)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        sigma = torch.exp(0.5 * logvar)
        z = torch.addcmul(mu, sigma, eps)
        dec_inputs, dec_pre = [], []
        h = z
        for layer in self.decoder[:-1]:
            dec_inputs.append(h)
            pre = affine(h, layer)
            dec_pre.append(pre)
            h = pre.clamp_min(0.0)
        dec_inputs.append(h)
        logits = affine(h, self.decoder[-1])

        variance = sigma * sigma
        kl = 0.5 * (mu * mu + variance - 1.0 - logvar).sum()
        if config.likelihood == "bernoulli":
            recon = bernoulli_nll_untracked(logits, x).sum()
            grad = torch.sigmoid(logits).sub_(x).mul_(scale)
        else:
            std = config.gaussian_std
            p = torch.sigmoid(logits)
            diff = p - x
            recon = 0.5 * diff.pow(2).sum() / std**2 + x.numel() * (math.log(std) + 0.5 * LOG_2PI)
            grad = diff.mul_(p).mul_(1.0 - p).mul_(scale / std**2)
        loss, recon_sum, kl_sum = torch.stack(
            [(recon + self.beta * kl) * scale, recon, kl]
        ).tolist()

        # Backward through the decoder, then the reparameterisation, then the encoder.
        grad_z = self._backward_stack(self.decoder, dec_inputs, dec_pre, grad, need_input_grad=True)
        grad_mu = grad_z.add(mu, alpha=scale * self.beta)
        grad_logvar = grad_z.mul_(eps).mul_(0.5 * sigma)
        grad_logvar.add_(variance.sub_(1.0), alpha=0.5 * scale * self.beta)
        grad_h = self._backward_linear(model.to_mu, head_input, grad_mu, need_input_grad=True)
        grad_h.add_(self._backward_linear(model.to_logvar, head_input, grad_logvar, need_input_grad=True))
        if self.encoder:
            grad_h.mul_(enc_pre[-1] > 0)
            self._backward_stack(self.encoder, enc_inputs, enc_pre[:-1], grad_h, need_input_grad=False)
        return loss, recon_sum, kl_sum

    def _backward_linear(
        self, layer: nn.Linear, layer_input: torch.Tensor, grad_out: torch.Tensor, need_input_grad: bool
    ) -> torch.Tensor | None:
        layer.weight.grad = self.matmul_t(grad_out.t(), layer_input.t())
        layer.bias.grad = grad_out.sum(0)
        return self.matmul_t(grad_out, layer.weight.t()) if need_input_grad else None

    def _backward_stack(self, layers, inputs, pre_activations, grad_out, need_input_grad):
        """Back through Linear, ReLU, ..., Linear (the last layer has no ReLU after it here)."""
        grad = grad_out
        for i in range(len(layers) - 1, -1, -1):
            first = i == 0
            grad_in = self._backward_linear(layers[i], inputs[i], grad, need_input_grad or not first)
            if first:
                return grad_in
            grad = grad_in.mul_(pre_activations[i - 1] > 0)
        return grad
