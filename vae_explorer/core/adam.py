"""Adam, written out over a list of tensors, for the trainer and the imputation code.

Why not torch.optim.Adam:
- building the first torch.optim optimizer in a process imports torch._dynamo
  (about 900 modules, a second, holding the interpreter lock in stretches of
  150 ms), which froze the GUI when a user first pressed Start or picked the
  gradient imputation method;
- its Python bookkeeping around the update kernel (grouping tensors by device
  and dtype, hooks, checks) cost about 0.04 ms of a 2.6 ms training step here.

The update is Kingma and Ba's, with the bias corrections, as torch computes
it. On devices whose torch build has the fused multi-tensor kernel
(torch._fused_adam_: CPU and CUDA in current releases) the whole update is one
pass over the parameters; elsewhere, or when a check finds the kernel missing
or disagreeing, the same update runs as torch._foreach_* list operations.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import torch


class Adam:
    """Adam over `params` (tensors with requires_grad); lr may be changed between steps."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        fused: bool | None = None,
    ):
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("Adam needs at least one tensor that requires grad")
        self.lr, self.betas, self.eps = float(lr), betas, float(eps)
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps_taken = 0
        device = self.params[0].device
        same_kind = all(p.device == device and p.dtype == self.params[0].dtype for p in self.params)
        if fused is None:
            fused = same_kind and fused_kernel_works(device.type)
        self.fused = fused
        # The fused kernel reads the step count from a tensor per parameter.
        self._step_tensors = [torch.zeros((), device=device) for _ in self.params] if fused else []

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update from the parameters' .grad; tensors without a gradient are left alone."""
        have = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not have:
            return
        self.steps_taken += 1
        pick = (lambda xs: xs) if len(have) == len(self.params) else (lambda xs: [xs[i] for i in have])
        params, grads = pick(self.params), [self.params[i].grad for i in have]
        exp_avg, exp_avg_sq = pick(self.exp_avg), pick(self.exp_avg_sq)
        if self.fused:
            steps = pick(self._step_tensors)
            torch._foreach_add_(steps, 1.0)
            beta1, beta2 = self.betas
            torch._fused_adam_(
                params, grads, exp_avg, exp_avg_sq, [], steps,
                lr=self.lr, beta1=beta1, beta2=beta2, weight_decay=0.0, eps=self.eps,
                amsgrad=False, maximize=False,
            )
        else:
            _foreach_update(params, grads, exp_avg, exp_avg_sq, self.steps_taken,
                            self.lr, self.betas, self.eps)


def _foreach_update(params, grads, exp_avg, exp_avg_sq, step, lr, betas, eps) -> None:
    beta1, beta2 = betas
    torch._foreach_lerp_(exp_avg, grads, 1.0 - beta1)
    torch._foreach_mul_(exp_avg_sq, beta2)
    torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1.0 - beta2)
    # theta -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    denom = torch._foreach_sqrt(exp_avg_sq)
    torch._foreach_div_(denom, math.sqrt(1.0 - beta2**step))
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(params, exp_avg, denom, value=-lr / (1.0 - beta1**step))


@functools.cache
def fused_kernel_works(device_type: str) -> bool:
    """True when torch._fused_adam_ exists for this device type and agrees with the formula."""
    if device_type not in ("cpu", "cuda"):
        return False
    try:
        device = torch.device(device_type)
        start = torch.linspace(-1.0, 1.0, 5, device=device)
        grad = torch.linspace(0.5, -0.3, 5, device=device)
        fused, plain = start.clone(), start.clone()
        m1, v1, m2, v2 = (torch.zeros_like(start) for _ in range(4))
        with torch.no_grad():
            for step in (1, 2):
                torch._fused_adam_(
                    [fused], [grad], [m1], [v1], [], [torch.tensor(float(step), device=device)],
                    lr=0.1, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
                    amsgrad=False, maximize=False,
                )
                _foreach_update([plain], [grad], [m2], [v2], step, 0.1, (0.9, 0.999), 1e-8)
        return torch.allclose(fused, plain, atol=1e-6)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False
