"""Training steps reuse freed memory instead of faulting in fresh pages every time."""

from __future__ import annotations

import resource
import sys

import pytest
import torch

from vae_explorer.core.allocation import keep_freed_memory
from vae_explorer.core.config import ModelConfig, TrainConfig
from vae_explorer.core.data import ImageSet
from vae_explorer.core.model import build_model
from vae_explorer.core.training import Trainer


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_steady_training_steps_take_almost_no_page_faults():
    if not keep_freed_memory():
        pytest.skip("not glibc")
    g = torch.Generator().manual_seed(0)
    images = ImageSet(torch.rand(128 * 80, 784, generator=g), torch.zeros(128 * 80, dtype=torch.long))
    # The classic 784-400-20 shape: its gradients and activations are over
    # glibc's default 128 KiB mmap threshold, which is what used to fault.
    trainer = Trainer(build_model(ModelConfig(hidden_sizes=(400,), latent_dim=20), 0), images, None,
                      TrainConfig(epochs=1, batch_size=128, device="cpu"))
    steps = trainer.run()
    for _ in range(20):
        next(steps)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        next(steps)
    per_step = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50
    steps.close()
    # Without the thresholds this was about 350 faults a step (1.4 MB of new pages).
    assert per_step < 20
