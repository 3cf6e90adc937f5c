"""Where the files shipped inside the package live; imports nothing heavy.

The quick look at start-up needs these paths before torch has loaded, so they
are kept apart from checkpoint.py and data.py, which import torch.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _package_path(*parts: str) -> Path:
    # The package is installed as plain files (pip and editable installs both), so a Path is safe.
    return Path(str(resources.files("vae_explorer").joinpath("resources", *parts)))


def shipped_checkpoint_path() -> Path:
    """The pretrained 2-D model the app opens with."""
    return _package_path("checkpoints", "mnist-2d.safetensors")


def bundled_mnist_folder() -> Path:
    """The folder holding the gzipped IDX files of the MNIST test split."""
    return _package_path("mnist")
