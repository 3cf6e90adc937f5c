"""Turning a device name ("auto", "cpu", "cuda", "mps") into a torch.device, once."""

from __future__ import annotations

import torch


class DeviceUnavailableError(RuntimeError):
    """The user asked for a device this machine does not have."""


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def available_devices() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names.insert(0, "cuda")
    if _mps_available():
        names.insert(0, "mps")
    return names


def resolve_device(name: str = "auto") -> torch.device:
    """auto prefers cuda, then mps, then cpu; an explicit name must exist here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError("CUDA was requested but no CUDA GPU is available here")
    if name == "mps" and not _mps_available():
        raise DeviceUnavailableError("MPS was requested but Apple's Metal backend is not available")
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceUnavailableError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return torch.device(name)
