"""Checks every model kind's tests share: a short real training run, and a checkpoint round trip."""

from __future__ import annotations

from pathlib import Path

import torch

from vae_explorer.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from vae_explorer.core.config import TrainConfig
from vae_explorer.core.data import ImageSet
from vae_explorer.core.evaluation import evaluate_terms
from vae_explorer.core.models import registry
from vae_explorer.core.training.trainer import EpochStats, Trainer


def digits(bundled: ImageSet, count: int = 192, start: int = 0) -> ImageSet:
    """A few real digits at 14x14 (every other pixel): random pixels have nothing to learn but their mean."""
    images = bundled.images[start:start + count].reshape(-1, 28, 28)[:, ::2, ::2].reshape(-1, 196)
    return ImageSet(images.contiguous(), bundled.labels[start:start + count], "mnist", "train", (14, 14))


def assert_training_lowers_the_loss(model, data: ImageSet, epochs: int = 2, beta: float = 1.0) -> None:
    """A few epochs of Trainer (batch 32) cut the eval-mode loss on `data` by more than 15%."""
    config = TrainConfig(epochs=epochs, batch_size=32, learning_rate=5e-3, lr_schedule="constant", beta=beta, seed=0,
                         device="cpu", num_threads=1)
    before = evaluate_terms(model, data, beta)["loss"]
    stats = [s for s in Trainer(model, data, None, config).run() if isinstance(s, EpochStats)]
    assert len(stats) == epochs
    after = evaluate_terms(model, data, beta)["loss"]
    assert after < 0.85 * before, (before, after)


def assert_round_trip(model, folder: Path) -> None:
    """Saved and loaded through core/checkpoint.py: same kind, config and weights."""
    path = save_checkpoint(Checkpoint(model, TrainConfig(epochs=1)), folder / f"{model.kind}.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.kind == model.kind and type(loaded.model) is type(model)
    assert loaded.model_config == model.config
    original = model.state_dict()
    assert list(loaded.model.state_dict()) == list(original)
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, original[name].cpu()), name


def build(kind: str, seed: int = 0, **fields):
    return registry.build(kind, registry.config_from_dict(kind, fields), seed=seed)
