"""Where the shipped model and the bundled data live; imports nothing heavy.

The quick look at start-up needs these paths before torch has loaded, so they
are kept apart from checkpoint.py and data.py, which import torch.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def _shipped(*parts: str) -> Path:
    # The repository keeps checkpoints/ and resources/ at its top level, beside the package, and
    # a source checkout or editable install reads them there; a wheel carries them inside the
    # package (pyproject.toml maps them to vae_explorer.checkpoints and vae_explorer.resources).
    inside = _PACKAGE.joinpath(*parts)
    return inside if inside.exists() else _PACKAGE.parent.joinpath(*parts)


def shipped_checkpoints_folder() -> Path:
    """The folder holding the pretrained models shipped with the app."""
    return _shipped("checkpoints")


def shipped_checkpoint_path() -> Path:
    """The pretrained 2-D model the app opens with."""
    return shipped_checkpoints_folder() / "mnist-2d.safetensors"


def bundled_mnist_folder() -> Path:
    """The folder holding the gzipped IDX files of the MNIST test split."""
    return _shipped("resources", "mnist")
