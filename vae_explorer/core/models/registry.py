"""The registry of model kinds: a name -> a model class, found by importing this package.

Each kind module decorates its model class with @register. kinds() imports
every module of this package once, so a new kind needs no line anywhere else.
build() and planned_shapes() are how the trainer and checkpoints make models:
the latter builds on torch's "meta" device, which allocates nothing, so a
config can be checked against a file's tensors and against size limits
before a single weight exists.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import torch

from vae_explorer.core import config as cfg
from vae_explorer.core.config import ConfigError
from vae_explorer.core.models import MAX_PARAMETERS
from vae_explorer.core.models.base import ExplorableModel

_KINDS: dict[str, type[ExplorableModel]] = {}
_ALIASES: dict[str, str] = {}  # an older saved name -> the kind's name now
_discovered = False


def register(model_class: type[ExplorableModel]) -> type[ExplorableModel]:
    """Class decorator: make a model kind known by its `kind` name."""
    name = model_class.kind
    if name in _KINDS and _KINDS[name] is not model_class:
        raise ValueError(f"two model kinds are called {name!r}")
    _KINDS[name] = model_class
    for alias in model_class.aliases:
        _ALIASES[alias] = name
    return model_class


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    import vae_explorer.core.models as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("base", "registry", "likelihoods", "networks"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _discovered = True


def kinds() -> dict[str, type[ExplorableModel]]:
    _discover()
    return dict(_KINDS)


def get_kind(name: str) -> type[ExplorableModel]:
    known = kinds()
    if isinstance(name, str) and name in _ALIASES:
        name = _ALIASES[name]
    if not isinstance(name, str) or name not in known:
        raise ConfigError(f"unknown model kind {str(name)[:40]!r}; known kinds: {', '.join(sorted(known))}")
    return known[name]


def config_from_dict(kind: str, data: Any) -> Any:
    """The kind's config from plain JSON data, every type and range checked."""
    return cfg.from_dict(get_kind(kind).Config, data)


def planned_shapes(kind: str, config: Any) -> dict[str, tuple[int, ...]]:
    """The parameter shapes a model of this config would have, without allocating it."""
    model_class = get_kind(kind)
    with torch.device("meta"):
        model = model_class(config)
    shapes = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    count = sum(int(torch.Size(s).numel()) for s in shapes.values())
    if count > MAX_PARAMETERS:
        raise ConfigError(
            f"the {kind} model described has {count:,} parameters, more than the "
            f"{MAX_PARAMETERS:,} this app builds"
        )
    return shapes


def build(kind: str, config: Any, seed: int | None = None) -> ExplorableModel:
    """A freshly initialised model; with a seed, the same weights every time.

    The size is checked first, so an absurd config fails fast instead of
    exhausting memory.
    """
    planned_shapes(kind, config)
    model_class = get_kind(kind)
    if seed is None:
        return model_class(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model_class(config)
