"""The hand-written Adam against torch.optim.Adam, on both of its code paths."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from vae_explorer.core.adam import Adam, fused_kernel_works


def _tensors(seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g).requires_grad_() for shape in ((7, 5), (5,), (3, 7))]


def _run(optimizer_for, steps: int = 25, lr_change_at: int | None = None) -> list[torch.Tensor]:
    params = _tensors(0)
    optimizer = optimizer_for(params)
    g = torch.Generator().manual_seed(1)
    for step in range(steps):
        if step == lr_change_at:
            if isinstance(optimizer, Adam):
                optimizer.lr = 0.003
            else:
                optimizer.param_groups[0]["lr"] = 0.003
        optimizer.zero_grad()
        loss = sum(((p - torch.randn(p.shape, generator=g)) ** 2).sum() for p in params)
        loss.backward()
        optimizer.step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("fused", [False, True], ids=["foreach", "fused"])
def test_matches_torch_adam_step_for_step(fused):
    if fused and not fused_kernel_works("cpu"):
        pytest.skip("this torch has no fused CPU Adam kernel")
    ours = _run(lambda ps: Adam(ps, lr=0.01, fused=fused), lr_change_at=10)
    theirs = _run(lambda ps: torch.optim.Adam(ps, lr=0.01), lr_change_at=10)
    start = _tensors(0)
    for o, t, s in zip(ours, theirs, start):
        assert not torch.equal(o, s)  # the parameters did move
        torch.testing.assert_close(o, t, rtol=1e-5, atol=1e-6)


def test_tensors_without_a_gradient_are_left_alone():
    a, b = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    optimizer = Adam([a, b], lr=0.1)
    (a * 2).sum().backward()
    optimizer.step()
    assert torch.all(a < 1) and torch.equal(b.detach(), torch.ones(3))
    optimizer.zero_grad()
    assert a.grad is None


def test_refuses_an_empty_parameter_list():
    with pytest.raises(ValueError):
        Adam([torch.zeros(2)])  # no tensor requires grad


def test_training_never_imports_torch_dynamo():
    # torch.optim optimizers import torch._dynamo when first built (about a second
    # holding the interpreter lock); the GUI would freeze at the first Start.
    script = """
import sys
from vae_explorer.core.config import ModelConfig, TrainConfig
from vae_explorer.core.data import load_bundled_test_split
from vae_explorer.core.model import build_model
from vae_explorer.core.training import Trainer
images = load_bundled_test_split()
trainer = Trainer(build_model(ModelConfig(hidden_sizes=(16,)), 0), images.subset(300),
                  images.subset(100), TrainConfig(epochs=1, batch_size=100, device="cpu"))
for _ in trainer.run():
    pass
print("torch._dynamo" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"
