"""A model kind's config from command-line options: shortcuts for common fields, --set for any field.

Every kind keeps its own config dataclass; the command line knows none of
them. `--latent-dim`, `--hidden`, `--likelihood` and `--architecture` set the
field of that name when the kind has one, and `--set NAME=VALUE` sets any
field, read with the field's own type, so a new kind's options need no code here.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from vae_explorer.core.config import ConfigError, parse_hidden_sizes

# option name -> config field name
SHORTCUTS = {"latent_dim": "latent_dim", "hidden": "hidden_sizes", "likelihood": "likelihood",
             "architecture": "architecture"}


def parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = str(text).partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--set takes NAME=VALUE, got {text!r}")
    return name.strip().replace("-", "_"), value.strip()


def _value_for(annotation: Any, text: str, name: str) -> Any:
    if typing.get_origin(annotation) is tuple:
        return parse_hidden_sizes(text)
    if annotation is str:
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(f"{name}: {text!r} is not a number or true/false") from None
    return value


def model_config(kind_class: type, shortcuts: dict[str, Any], assignments: list[str], image_shape=None) -> Any:
    """The kind's config: its defaults, then the given shortcuts, then --set NAME=VALUE."""
    config_class = kind_class.Config
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    hints = typing.get_type_hints(config_class)
    values: dict[str, Any] = {}
    for option, value in shortcuts.items():
        if value is None:
            continue
        field = SHORTCUTS[option]
        if field not in fields:
            flag = "--" + option.replace("_", "-")
            raise ConfigError(f"{flag} does not apply to a {kind_class.kind} model")
        values[field] = value
    for text in assignments:
        name, raw = parse_assignment(text)
        if name not in fields:
            known = ", ".join(n for n, f in fields.items() if f.metadata.get("show", True))
            raise ConfigError(f"a {kind_class.kind} model has no setting {name!r}; its settings: {known}")
        values[name] = _value_for(hints[name], raw, name)
    if image_shape is not None and "image_shape" in fields:
        values.setdefault("image_shape", tuple(image_shape))
    try:
        return config_class(**values)
    except TypeError as exc:
        raise ConfigError(f"bad {kind_class.kind} settings: {exc}") from None


def describe_settings(kind_class: type) -> str:
    """One line per user-settable field: name, default, help (for `train --kind K --list-settings`)."""
    lines = []
    for field in dataclasses.fields(kind_class.Config):
        meta = field.metadata
        if not meta.get("show", True):
            continue
        choices = meta.get("choices") or ()
        options = f" (one of {', '.join(str(v) for v, _ in choices)})" if choices else ""
        lines.append(f"  {field.name:<20} default {field.default!r}{options}  {meta.get('help', '')}".rstrip())
    return "\n".join(lines)
