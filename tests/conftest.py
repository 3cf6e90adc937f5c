"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def mnist_root() -> Path | None:
    """Full MNIST in torchvision layout: $VAE_EXPLORER_DATA, else ../shared/mnist."""
    candidates = [os.environ.get("VAE_EXPLORER_DATA"), str(REPO_ROOT.parent / "shared" / "mnist")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    root = mnist_root()
    if root is None:
        pytest.skip("full MNIST not found: set VAE_EXPLORER_DATA to a torchvision-layout folder")
    return root


@pytest.fixture(scope="session")
def bundled_test_set():
    from vae_explorer.core.data import load_bundled_test_split

    return load_bundled_test_split()


@pytest.fixture(scope="session")
def mnist_train_set(mnist_dir):
    from vae_explorer.core.data import load_mnist

    return load_mnist(mnist_dir, "train", download=False)
