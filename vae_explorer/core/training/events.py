"""What a training run tells whoever renders it: plain, immutable records.

A run yields Status and Started first, then BatchStats after every step and an
EpochDone after every epoch, and ends with exactly one of Finished, Cancelled,
Diverged or Failed. Everything in them is a copy: numbers, numpy arrays, a
frozen CPU copy of the model, never a tensor the trainer still changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vae_explorer.core.checkpoint import Checkpoint
from vae_explorer.core.models.base import ExplorableModel
from vae_explorer.core.training.trainer import BatchStats, EpochStats

__all__ = ["BatchStats", "Cancelled", "Diverged", "EpochDone", "EpochStats", "Failed", "Finished",
           "Started", "Status"]


@dataclass(frozen=True)
class Status:
    message: str  # what the run is doing now ("Loading the MNIST training split from ...")


@dataclass(frozen=True)
class Started:
    description: str  # the model, e.g. "MLP VAE 784-512-256-2, bernoulli likelihood"
    device: str
    threads: int | None  # intra-op CPU threads, None where torch's own setting stands
    train_images: int
    epochs: int
    batches_per_epoch: int


@dataclass(frozen=True)
class EpochDone:
    stats: EpochStats
    # With a display split in the request: the model after this epoch (frozen CPU
    # copy) and the split's latent means and log-variances (None without a posterior).
    model: ExplorableModel | None = None
    latent_mean: np.ndarray | None = None
    latent_logvar: np.ndarray | None = None


@dataclass(frozen=True)
class Finished:
    checkpoint: Checkpoint
    saved_to: Path | None  # None when the request had no output path
    note: str = ""  # where the weights went instead, if saving to the output failed


@dataclass(frozen=True)
class Cancelled:
    message: str
    checkpoint: Checkpoint | None  # the weights reached, if any step was taken
    saved_to: Path | None


@dataclass(frozen=True)
class Diverged:
    message: str
    where: str  # the short account: "the loss became nan at epoch 1, batch 3"
    checkpoint: Checkpoint | None  # the last finite weights, if any step was taken
    saved_to: Path | None


@dataclass(frozen=True)
class Failed:
    message: str
    user_error: bool  # the request itself was wrong (bad path, missing data), not the run
