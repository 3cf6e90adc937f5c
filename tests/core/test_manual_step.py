"""The hand-written backward pass gives autograd's loss and gradients."""

from __future__ import annotations

import pytest
import torch

from vae_explorer.core.config import ModelConfig
from vae_explorer.core.cpu_linear import onednn_matmul_t
from vae_explorer.core.losses import negative_elbo
from vae_explorer.core.manual_step import ManualStep, supports
from vae_explorer.core.model import build_model


def _batch(config: ModelConfig, n: int = 24) -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    return torch.rand(n, config.input_dim, generator=g)


def _autograd_step(model, x, beta, seed):
    model.zero_grad(set_to_none=True)
    logits, mu, logvar = model(x, torch.Generator().manual_seed(seed))
    total, recon, kl = negative_elbo(logits, x, mu, logvar, model.config, beta)
    (total / x.shape[0]).backward()
    return (total / x.shape[0]).item(), recon.item(), kl.item()


CASES = [
    pytest.param(ModelConfig(hidden_sizes=(32,), latent_dim=2), 1.0, id="one-hidden-bernoulli"),
    pytest.param(ModelConfig(hidden_sizes=(48, 24), latent_dim=3), 4.0, id="two-hidden-beta4"),
    pytest.param(ModelConfig(hidden_sizes=(32,), latent_dim=2, likelihood="gaussian", gaussian_std=0.3),
                 1.0, id="gaussian"),
    pytest.param(ModelConfig(hidden_sizes=(), latent_dim=2), 0.5, id="no-hidden"),
]


@pytest.mark.parametrize("config, beta", CASES)
def test_loss_and_every_gradient_match_autograd(config, beta):
    model = build_model(config, seed=1)
    x = _batch(config)
    expected = _autograd_step(model, x, beta, seed=7)
    expected_grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    got = ManualStep(model, beta)(x, torch.Generator().manual_seed(7))
    assert got == pytest.approx(expected, rel=1e-5)
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().max() > 0, name  # every layer really gets a gradient
        expected_grad = expected_grads[name]
        # float32 sums in another order: allow rounding relative to the gradient's scale
        tolerance = 1e-5 * float(expected_grad.abs().max())
        torch.testing.assert_close(p.grad, expected_grad, rtol=1e-4, atol=tolerance, msg=name)


def test_other_models_and_devices_are_left_to_autograd():
    model = build_model(ModelConfig(hidden_sizes=(8,)), seed=0)
    assert supports(model, torch.device("cpu"))
    assert not supports(model, torch.device("cuda"))
    assert not supports(model.double(), torch.device("cpu"))
    with pytest.raises(ValueError):
        ManualStep(model, 1.0)  # the double-precision model


def test_without_onednn_the_same_step_runs_on_torch_kernels(monkeypatch):
    monkeypatch.setattr("vae_explorer.core.manual_step.onednn_linear_available", lambda: False)
    config = ModelConfig(hidden_sizes=(32,), latent_dim=2)
    model = build_model(config, seed=1)
    x = _batch(config)
    expected = _autograd_step(model, x, 1.0, seed=7)
    expected_grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    step = ManualStep(model, 1.0)
    assert step.matmul_t is not onednn_matmul_t  # the torch fallbacks were chosen
    assert step(x, torch.Generator().manual_seed(7)) == pytest.approx(expected, rel=1e-5)
    for name, p in model.named_parameters():
        tolerance = 1e-5 * float(expected_grads[name].abs().max())
        torch.testing.assert_close(p.grad, expected_grads[name], rtol=1e-4, atol=tolerance, msg=name)
