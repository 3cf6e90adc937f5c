"""Plain configuration objects, and strict JSON round-trips for them.

Configs are frozen dataclasses. They travel inside checkpoints and between the
GUI and the trainer as JSON, so reading one back checks every field's type
against its annotation before any value is used: a checkpoint from outside is
untrusted, and `true`, `2.5` or `"512"` where an int belongs is an error, not
a silent conversion. Each model kind keeps its own config class beside its
model (core/models/); the training config lives here.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any

LR_SCHEDULES = ("constant", "cosine")
# Datasets in torchvision's layout (core/data.py reads them); recorded in checkpoints.
DATASETS = ("mnist", "fashion_mnist", "kmnist")
DATASET_TITLES = {"mnist": "MNIST digits", "fashion_mnist": "Fashion-MNIST", "kmnist": "KMNIST (Kuzushiji)"}
DEVICES = ("auto", "cpu", "cuda", "mps")


class ConfigError(ValueError):
    """A configuration value is out of range or of the wrong kind."""


def parse_hidden_sizes(text: str) -> tuple[int, ...]:
    """'512,256' -> (512, 256); the one parser for the CLI and the training form."""
    parts = [part.strip() for part in str(text).replace(" ", ",").split(",") if part.strip()]
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise ConfigError(f"hidden sizes must be whole numbers separated by commas, got {text!r}") from None
    if not sizes or any(size <= 0 for size in sizes):
        raise ConfigError(f"give at least one positive hidden size, such as 512,256 (got {text!r})")
    return sizes


@dataclass(frozen=True)
class TrainConfig:
    # The defaults (the GUI's Start and `vae-explorer train` share them) are tuned for the time to a
    # good model: a 2-D MNIST VAE at 140 nats in 13 epochs, where Adam at 1e-3 with batches of 128
    # takes 23 or more (benchmarks/time_to_good.py).
    # Passes over the training split.
    epochs: int = 15
    # Images per optimizer step: smaller batches give more steps per epoch, which pays here.
    batch_size: int = 64
    # Adam step size at the start of the run.
    learning_rate: float = 2e-3
    # "constant", or "cosine": anneal the step size to zero by the last epoch,
    # which settles the weights and gains a nat or two on the test set.
    lr_schedule: str = "cosine"
    # Weight of the KL term; 1 gives the ELBO, other values a beta-VAE.
    beta: float = 1.0
    # Raise the KL weight linearly from 0 to beta over this many epochs
    # (0: beta from the start). Keeps latent dimensions from switching off early.
    kl_warmup_epochs: int = 0
    # Seeds weight init, shuffling and the reparameterization noise.
    seed: int = 0
    # "auto" picks cuda, then mps, then cpu.
    device: str = "auto"
    # Torch CPU threads while training; 0 means the default policy
    # (training/threads.py: one thread on the CPU).
    num_threads: int = 0
    # Dataset name, recorded in checkpoints.
    dataset: str = "mnist"
    # Images per forward pass when evaluating on the test split.
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        check_field_types(self)
        if not 0 < self.epochs <= 100_000:
            raise ConfigError("epochs must be between 1 and 100,000")
        if not (0 < self.batch_size <= 1_000_000 and 0 < self.eval_batch_size <= 1_000_000):
            raise ConfigError("batch sizes must be between 1 and 1,000,000")
        if not 0 < self.learning_rate < float("inf"):
            raise ConfigError("learning rate must be a positive number")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not 0 <= self.beta < float("inf"):
            raise ConfigError("beta must be zero or a positive number")
        if not 0 <= self.kl_warmup_epochs <= 100_000:
            raise ConfigError("the KL warm-up must be between 0 and 100,000 epochs")
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset must be one of {DATASETS}, got {clip(self.dataset)}")
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {DEVICES}, got {self.device!r}")
        if not 0 <= self.num_threads <= 1024:
            raise ConfigError("num_threads must be between 0 and 1024")


    def beta_at(self, epoch: int, batch_fraction: float = 0.0) -> float:
        """The KL weight for a point in training (epoch 1-based, fraction of it done)."""
        if self.kl_warmup_epochs <= 0:
            return self.beta
        progress = (epoch - 1 + batch_fraction) / self.kl_warmup_epochs
        return self.beta * min(1.0, max(0.0, progress))


def form_field(default: Any, label: str, help: str = "", *, choices: tuple = (), minimum: float | None = None,
               maximum: float | None = None, step: float | None = None, show: bool = True,
               when: dict[str, tuple] | None = None) -> Any:
    """A config field with what a settings form needs to show it (label, help, choices, range).

    choices: ((value, text), ...) for a drop-down. show=False keeps a field
    off forms (image_shape, num_classes: they come from the data). when={other
    field: (values, ...)} says the field matters only while the other field
    holds one of those values (a form greys it out otherwise). Forms are built
    from these, so a new model kind needs no form code.
    """
    meta = {"label": label, "help": help, "choices": tuple(choices), "minimum": minimum,
            "maximum": maximum, "step": step, "show": show, "when": dict(when or {})}
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default=tuple(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ----------------------------------------------------------------- checking


def _type_ok(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin is tuple:
        args = typing.get_args(annotation)
        if not isinstance(value, (tuple, list)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_type_ok(item, args[0]) for item in value)
        return len(value) == len(args) and all(_type_ok(v, a) for v, a in zip(value, args))
    return True  # an annotation this checker does not know: the class validates it


def check_field_types(config: Any) -> None:
    """Raise ConfigError unless every field holds a value of its annotated type.

    Lists become tuples (JSON has no tuples) and ints become floats where a
    float is asked for; nothing else is converted.
    """
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value, annotation = getattr(config, field.name), hints[field.name]
        if not _type_ok(value, annotation):
            raise ConfigError(
                f"{type(config).__name__}.{field.name} must be {_describe(annotation)}, "
                f"got {type(value).__name__} {clip(value)}"
            )
        if typing.get_origin(annotation) is tuple:
            object.__setattr__(config, field.name, tuple(value))
        elif annotation is float:
            object.__setattr__(config, field.name, float(value))


def _describe(annotation: Any) -> str:
    if typing.get_origin(annotation) is tuple:
        return "a list of whole numbers"
    return {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}.get(
        annotation, str(annotation)
    )


def clip(value: Any, limit: int = 40) -> str:
    """A value as it would be written in code, cut short for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------- JSON


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def to_json(config: Any) -> str:
    return json.dumps(to_dict(config), sort_keys=True)


def from_dict(cls: type, data: Any) -> Any:
    """Build a config from a dict, rejecting unknown keys and wrong types with a clear error."""
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} fields: {sorted(map(str, unknown))[:10]}")
    try:
        return cls(**data)
    except (TypeError, ValueError, OverflowError) as exc:  # ConfigError is a ValueError too
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"bad {cls.__name__}: {exc}") from exc


def from_json(cls: type, text: str) -> Any:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError, TypeError) as exc:
        raise ConfigError(f"{cls.__name__} is not valid JSON: {exc}") from exc
    return from_dict(cls, data)


def replace(config: Any, **changes: Any) -> Any:
    return dataclasses.replace(config, **changes)
