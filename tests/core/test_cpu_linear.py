"""The oneDNN route for linear layers gives F.linear's results and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vae_explorer.core.cpu_linear import (
    Linear,
    linear,
    onednn_linear,
    onednn_linear_available,
)

needs_onednn = pytest.mark.skipif(not onednn_linear_available(), reason="no oneDNN linear op in this torch")


def _inputs(first_layer: bool):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 30, generator=g).requires_grad_(not first_layer)
    w = torch.randn(12, 30, generator=g).requires_grad_()
    b = torch.randn(12, generator=g).requires_grad_()
    return x, w, b


@needs_onednn
@pytest.mark.parametrize("first_layer", [False, True], ids=["hidden", "input-layer"])
def test_values_and_gradients_match_f_linear(first_layer):
    x, w, b = _inputs(first_layer)
    weights = torch.linspace(-1, 1, 16 * 12).reshape(16, 12)
    with onednn_linear():
        out = linear(x, w, b)
    assert out.grad_fn is not None and "OneDnn" in type(out.grad_fn).__name__
    (out * weights).sum().backward()
    ours = [t.grad.clone() if t.grad is not None else None for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    reference = F.linear(x, w, b)
    (reference * weights).sum().backward()
    torch.testing.assert_close(out, reference)
    for mine, theirs in zip(ours, (x.grad, w.grad, b.grad)):
        if theirs is None:
            assert mine is None
        else:
            torch.testing.assert_close(mine, theirs)


@needs_onednn
def test_only_inside_the_block_and_only_for_float32_matrices():
    layer = Linear(30, 12)
    x = torch.randn(4, 30)
    assert "OneDnn" not in type(layer(x.requires_grad_()).grad_fn).__name__  # outside the block
    with onednn_linear():
        assert "OneDnn" in type(layer(x).grad_fn).__name__
        double = Linear(30, 12).double()
        assert "OneDnn" not in type(double(x.double()).grad_fn).__name__  # falls through to torch
        batched = layer(torch.randn(2, 4, 30))  # 3-D input: torch's own path
        assert batched.shape == (2, 4, 12)
    assert "OneDnn" not in type(layer(x).grad_fn).__name__  # the block's end switched it off


def test_linear_layer_keeps_nn_linear_parameters_and_keys():
    ours, plain = Linear(5, 3), nn.Linear(5, 3)
    assert isinstance(ours, nn.Linear)
    assert ours.state_dict().keys() == plain.state_dict().keys()
    plain.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5)
    torch.testing.assert_close(ours(x), plain(x))
