"""Linear layers through oneDNN on the CPU: the same float32 maths, faster kernels.

torch runs float32 nn.Linear on the CPU through MKL's sgemm. On AMD CPUs MKL
takes a generic code path and leaves AVX-512 unused: on the project's 2-core
AMD EPYC a 128x784 by 784x400 product takes 0.88 ms of CPU time in MKL and
0.46 ms in oneDNN (bundled with torch as mkldnn), and the backward products
0.86 ms against about 0.6 ms. Matrix products are most of a training step of
our MLPs, so routing them to oneDNN makes the step about a fifth faster.

Nothing changes in the models' maths or parameters. The models build their
layers from `Linear` below, an nn.Linear whose forward asks `linear()`; that
sends the product to oneDNN through an autograd Function (full float32
precision, results equal to MKL's up to rounding) only inside an
`onednn_linear()` block and only for 2-D float32 CPU tensors. Everything else,
and everything outside the block (the GUI's decoding, for one), goes through
F.linear. When this torch build lacks the oneDNN op, the block does nothing.

A context flag read by the layer, rather than a TorchFunctionMode that
intercepts every torch call in the block, keeps the switch off the hot path:
the mode's Python hook on each small op cost about 0.2 ms of a 2.8 ms step.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

_ONEDNN_ON = contextvars.ContextVar("vae_explorer_onednn_linear", default=False)


def _onednn_op():
    return torch.ops.mkldnn._linear_pointwise.default


def onednn_affine(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x @ weight.T + bias through oneDNN, no autograd (see onednn_linear_available)."""
    return _onednn_op()(x, weight, bias, "none", [], "")


def onednn_matmul_t(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b.T through oneDNN, for 2-D a and b.

    Transposed views go in as they are: oneDNN reads the strides, which
    measured faster than making them contiguous first (0.38 ms against
    0.64 ms for grad @ W of the 400x784 layer).
    """
    return _onednn_op()(a, b, None, "none", [], "")


class _OneDnnLinear(torch.autograd.Function):
    """y = x @ W.T + b with every product done by oneDNN, forward and backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return onednn_affine(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:  # not needed for the first layer: saves a product
            grad_x = onednn_matmul_t(grad, weight.t())  # grad @ W
        if ctx.needs_input_grad[1]:
            grad_weight = onednn_matmul_t(grad.t(), x.t())  # grad.T @ x
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(0)
        return grad_x, grad_weight, grad_bias


def _routable(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return (
        x.dim() == 2
        and weight.dim() == 2
        and all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)
        and x.is_contiguous()
        and weight.is_contiguous()
    )


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """F.linear, done by oneDNN inside an onednn_linear() block when the tensors allow."""
    if _ONEDNN_ON.get() and _routable(x, weight, bias):
        return _OneDnnLinear.apply(x, weight, bias)
    return F.linear(x, weight, bias)


class Linear(nn.Linear):
    """nn.Linear (same parameters, same state-dict keys) whose product goes through linear()."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)


@functools.cache
def onednn_linear_available() -> bool:
    """True when this torch has the oneDNN linear op and it agrees with F.linear."""
    try:
        x = torch.linspace(-1, 1, 6).reshape(2, 3)
        w = torch.linspace(0, 1, 12).reshape(4, 3)
        b = torch.ones(4)
        return torch.allclose(_onednn_op()(x, w, b, "none", [], ""), F.linear(x, w, b))
    except (AttributeError, RuntimeError):
        return False


@contextlib.contextmanager
def onednn_linear() -> Iterator[None]:
    """Within the block, Linear layers and linear() run 2-D float32 CPU products on oneDNN."""
    if not onednn_linear_available():
        yield
        return
    token = _ONEDNN_ON.set(True)
    try:
        yield
    finally:
        _ONEDNN_ON.reset(token)


def fast_linear_for(device: torch.device) -> Callable[[], contextlib.AbstractContextManager]:
    """The context to run a model's layers in on device: oneDNN on the CPU, torch's own elsewhere."""
    return onednn_linear if device.type == "cpu" else contextlib.nullcontext
