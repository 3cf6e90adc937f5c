"""Checkpoints: one safetensors file with the weights and plain JSON metadata.

safetensors holds raw tensors plus a string-to-string header, so loading can
never run code from the file (unlike torch.load on a pickle). The header keeps
the format name and version, the model kind, the model and training configs,
the metrics and how the model was made.

Loading checks the whole header (checkpoint_header.py) and compares the tensors
it lists with the shapes the described model would have, built on torch's meta
device, before a byte of weights is read; so no file can make the app allocate
more than the model size limit, and every failure is one CheckpointError line.
Saving writes a temporary file beside the target, fsyncs it and renames it over
the target, so a crash never leaves half a checkpoint where a good one was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import torch

from vae_explorer.core import config as cfg
from vae_explorer.core.atomic_write import NotARegularFile, OutputPathError, open_for_reading, write_atomically
from vae_explorer.core.checkpoint_header import (
    FORMAT_NAME,
    FORMAT_VERSION,
    STORED_DTYPE,
    CheckpointError,
    Header,
    check_against_plan,
    clip,
    json_field,
    json_object,
    one_line,
    plain_text,
    plain_values,
    read_header,
)
from vae_explorer.core.config import ConfigError, TrainConfig
from vae_explorer.core.models import registry
from vae_explorer.core.models.base import ExplorableModel
from vae_explorer.core.resources import shipped_checkpoint_path

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "Checkpoint", "CheckpointError", "OutputPathError",
           "default_checkpoint_path", "load_checkpoint", "save_checkpoint"]

# Version 1 files hold the MLP VAE only, with no kind field and an input_dim in the config.
V1_KIND = "mlp_vae"
SUFFIX = ".safetensors"


@dataclass
class Checkpoint:
    """A loaded (or about-to-be-saved) model with everything known about it."""

    model: ExplorableModel
    train_config: TrainConfig | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    dataset: str = "mnist"
    provenance: dict[str, Any] = field(default_factory=dict)  # command, seed, versions
    path: Path | None = None

    @property
    def model_config(self) -> Any:
        return self.model.config

    @property
    def kind(self) -> str:
        return self.model.kind


# ------------------------------------------------------------------ saving


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike) -> Path:
    """Write atomically; refuses a target that is not a regular file, and non-finite weights."""
    from safetensors.torch import save

    path = Path(path)
    tensors = _tensors_to_save(checkpoint, path)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "kind": checkpoint.kind,
        "model_config": cfg.to_json(checkpoint.model_config),
        "train_config": cfg.to_json(checkpoint.train_config) if checkpoint.train_config else "null",
        "metrics": _dumps(checkpoint.metrics),
        "dataset": str(checkpoint.dataset),
        "provenance": _dumps(checkpoint.provenance),
    }
    write_atomically(path, save(tensors, metadata=metadata))
    checkpoint.path = path
    return path


def _tensors_to_save(checkpoint: Checkpoint, path: Path) -> dict[str, torch.Tensor]:
    tensors = {}
    for key, value in checkpoint.model.state_dict().items():
        value = value.detach().to("cpu").contiguous()
        if value.dtype != torch.float32:
            raise CheckpointError(f"cannot save {path.name}: tensor {key!r} is {value.dtype}, "
                                  f"but checkpoints hold {STORED_DTYPE} only")
        if not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"cannot save {path.name}: tensor {key!r} holds NaN or infinite "
                                  "values, which no checkpoint may carry")
        tensors[key] = value
    return tensors


def _dumps(values: dict[str, Any]) -> str:
    return json.dumps(plain_values(dict(values)), sort_keys=True)


# ------------------------------------------------------------------ loading


@contextmanager
def open_checked(path: Path, what: str, expected_format: str | None = FORMAT_NAME
                 ) -> Iterator[tuple[IO[bytes], Header, str]]:
    """Open an outside safetensors file and check its header: (handle, header, shown name).

    The one door for every file the app reads weights from. A FIFO cannot hang
    the open (O_NONBLOCK), anything but a regular file is refused, the header
    is checked (and must carry expected_format, unless None) before the caller
    reads a weight, and every OS failure, then or while the caller reads,
    becomes one CheckpointError line naming `what` was asked for.
    """
    shown = plain_text(str(path), 300)
    name = plain_text(path.name, 200)
    try:
        handle = open_for_reading(path)
    except NotARegularFile as exc:
        raise CheckpointError(f"{shown} is {exc.kind}, not a {what}") from None
    except (FileNotFoundError, NotADirectoryError):
        raise CheckpointError(f"no {what} at {shown}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {shown}: {one_line(exc.strerror or exc)}") from None
    try:
        with handle:
            size = os.fstat(handle.fileno()).st_size
            yield handle, read_header(handle, size, name, expected_format=expected_format), name
    except OSError as exc:
        raise CheckpointError(f"cannot read {shown}: {one_line(exc.strerror or exc)}") from None


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint; every failure is a CheckpointError of one line."""
    path = Path(path)
    with open_checked(path, "checkpoint file") as (handle, header, name):
        kind, model_config = _model_description(header, name)
        train_config = _train_config(header, name)
        metrics = json_object(header.metadata, "metrics", name, "the metrics entry")
        provenance = json_object(header.metadata, "provenance", name, "the provenance entry")
        state = read_weights(handle, header, name)
    # Seeded, so that loading leaves the global random state alone; the weights are replaced anyway.
    model = registry.build(kind, model_config, seed=0)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # the plan check makes this unreachable; kept as a guard
        raise CheckpointError(f"the weights in {name} do not fit its model: {one_line(exc)}") from None
    model.to(device).eval()
    return Checkpoint(
        model=model,
        train_config=train_config,
        metrics=metrics,
        dataset=plain_text(header.metadata.get("dataset", "mnist"), 100),
        provenance=provenance,
        path=path,
    )


def _model_description(header: Header, name: str) -> tuple[str, Any]:
    """The kind and config, checked against the tensors the header lists; allocates nothing."""
    metadata = header.metadata
    kind = V1_KIND if metadata["format_version"] == "1" else metadata.get("kind")
    if kind is None:
        raise CheckpointError(f"{name} does not say what kind of model it holds")
    try:
        kind = registry.get_kind(kind).kind  # a name from an older version reads as today's kind
    except ConfigError:
        raise CheckpointError(
            f"{name} holds a model of unknown kind {clip(kind)}; this vae-explorer knows "
            f"{', '.join(sorted(registry.kinds()))}. A newer vae-explorer may open it."
        ) from None
    if "model_config" not in metadata:
        raise CheckpointError(f"{name} has no model configuration")
    data = json_field(metadata, "model_config", "", name, "the model configuration")
    if metadata["format_version"] == "1" and isinstance(data, dict):
        data.pop("input_dim", None)  # v1 stored it beside image_shape
    try:
        model_config = registry.config_from_dict(kind, data)
    except ConfigError as exc:
        raise CheckpointError(f"{name} has an invalid model configuration: {one_line(exc)}") from None
    try:
        planned = registry.planned_shapes(kind, model_config)
    except ConfigError as exc:
        raise CheckpointError(f"{name} describes a model too large to open: {one_line(exc)}") from None
    except (ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{name} has an invalid model configuration: {one_line(exc)}") from None
    check_against_plan(header, planned, name)
    return kind, model_config


def _train_config(header: Header, name: str) -> TrainConfig | None:
    data = json_field(header.metadata, "train_config", "null", name, "the training configuration")
    if data is None:
        return None
    try:
        return cfg.from_dict(TrainConfig, data)
    except ConfigError as exc:
        raise CheckpointError(f"{name} has an invalid training configuration: {one_line(exc)}") from None


def read_weights(handle: IO[bytes], header: Header, name: str) -> dict[str, torch.Tensor]:
    """The tensors, parsed by safetensors from the file's bytes, once the header has passed.

    Read into memory rather than mapped: a file cut short meanwhile must give
    an error, not crash the process. The header check bounds the size.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    handle.seek(0)
    data = handle.read(header.data_start + header.data_length)
    if len(data) < header.data_start + header.data_length:
        raise CheckpointError(f"{name} is truncated: it ends before the weights it describes")
    try:
        state = load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{name} is corrupt: {one_line(exc)}") from None
    for key, tensor in state.items():
        if not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(
                f"{name} holds NaN or infinite weights in tensor {clip(key)}; such a model cannot be "
                "drawn or evaluated"
            )
    return state


def default_checkpoint_path() -> Path:
    """The pretrained 2-D model shipped with the app."""
    return shipped_checkpoint_path()
