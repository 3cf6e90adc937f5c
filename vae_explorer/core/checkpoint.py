"""Checkpoints: one safetensors file with the weights and plain JSON metadata.

safetensors holds raw tensors plus a string-to-string header, so loading can
never run code from the file (unlike torch.load on a pickle). The header keeps
the format name and version, the model and training configs, the metrics and
how the model was made. Saving writes a temporary file and renames it over
the target, so a crash never leaves half a checkpoint where a good one was.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vae_explorer.core import config as cfg
from vae_explorer.core.config import ModelConfig, TrainConfig
from vae_explorer.core.model import VAE
from vae_explorer.core.resources import shipped_checkpoint_path

FORMAT_NAME = "vae-explorer-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".safetensors"


class CheckpointError(ValueError):
    """A file could not be loaded as a vae-explorer checkpoint; the message says why."""


@dataclass
class Checkpoint:
    """A loaded (or about-to-be-saved) model with everything known about it."""

    model: VAE
    train_config: TrainConfig | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    dataset: str = "mnist"
    provenance: dict[str, Any] = field(default_factory=dict)  # command, seed, versions
    path: Path | None = None

    @property
    def model_config(self) -> ModelConfig:
        return self.model.config


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike) -> Path:
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in checkpoint.model.state_dict().items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "model_config": cfg.to_json(checkpoint.model_config),
        "train_config": cfg.to_json(checkpoint.train_config) if checkpoint.train_config else "null",
        "metrics": json.dumps(checkpoint.metrics, sort_keys=True),
        "dataset": checkpoint.dataset,
        "provenance": json.dumps(checkpoint.provenance, sort_keys=True),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp_name, metadata=metadata)
        with open(tmp_name, "rb") as handle:
            os.fsync(handle.fileno())
        # mkstemp creates the file private (0600); give it the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    checkpoint.path = path
    return path


def _looks_pickled(head: bytes, path: Path) -> bool:
    # Protocol-2+ pickles start with 0x80 and the protocol number; torch.save
    # writes a zip of pickles. (A safetensors header was ruled out before this.)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return True
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                return any(name.endswith(".pkl") for name in archive.namelist())
        except zipfile.BadZipFile:
            return False
    return False


def _read_header(path: Path) -> dict[str, str]:
    """Validate the safetensors framing ourselves, so each failure gets its own message."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(9)
        # safetensors: an 8-byte little-endian header length, then the JSON header.
        framed = len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < size
        if not framed and _looks_pickled(head, path):
            raise CheckpointError(
                f"{path.name} is a pickle (for example a torch.save file). vae-explorer does not "
                "load pickles, because opening one can run any code it carries."
            )
        if len(head) < 8:
            raise CheckpointError(f"{path.name} is not a vae-explorer checkpoint (too short)")
        header_len = int.from_bytes(head[:8], "little")
        handle.seek(8)
        if header_len <= 0 or header_len > min(size - 8, 100_000_000):
            raise CheckpointError(f"{path.name} is not a vae-explorer checkpoint")
        try:
            header = json.loads(handle.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path.name} is not a vae-explorer checkpoint") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path.name} is not a vae-explorer checkpoint")
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path.name} is a safetensors file but not a vae-explorer checkpoint "
            "(it has no vae-explorer format marker)"
        )
    ends = [info["data_offsets"][1] for k, info in header.items() if k != "__metadata__"]
    if 8 + header_len + max(ends, default=0) > size:
        raise CheckpointError(
            f"{path.name} is truncated: it ends before the weights it describes "
            "(an interrupted copy or download?)"
        )
    return metadata


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint; every failure is a CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        metadata = _read_header(path)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (KeyError, TypeError, IndexError) as exc:
        raise CheckpointError(f"{path.name} has a corrupt header") from exc
    version = metadata.get("format_version", "")
    if version != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path.name} uses checkpoint format version {version or '?'}, but this vae-explorer "
            f"reads version {FORMAT_VERSION}. Upgrade vae-explorer to open it."
        )
    try:
        model_config = cfg.from_json(ModelConfig, metadata["model_config"])
        train_json = json.loads(metadata.get("train_config", "null"))
        train_config = cfg.from_dict(TrainConfig, train_json) if train_json else None
        metrics = json.loads(metadata.get("metrics", "{}"))
        provenance = json.loads(metadata.get("provenance", "{}"))
    except (KeyError, cfg.ConfigError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path.name} has an invalid configuration: {exc}") from exc
    try:
        state = load_file(path, device=str(device))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path.name} is corrupt: {exc}") from exc
    model = VAE(model_config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).splitlines()
        brief = "; ".join(line.strip() for line in detail[1:4]) or detail[0]
        raise CheckpointError(
            f"the weights in {path.name} do not match its model configuration: {brief}"
        ) from exc
    model.to(device).eval()
    return Checkpoint(
        model=model,
        train_config=train_config,
        metrics=metrics,
        dataset=metadata.get("dataset", "mnist"),
        provenance=provenance,
        path=path,
    )


def default_checkpoint_path() -> Path:
    """The pretrained 2-D model shipped inside the package."""
    return shipped_checkpoint_path()
