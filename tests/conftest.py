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


def write_idx(path: Path, array) -> None:
    """Write an unsigned-byte IDX file, the format MNIST comes in."""
    import numpy as np

    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory, bundled_test_set) -> Path:
    """A torchvision-layout MNIST folder of 2,000 training and 500 test images cut from the
    bundled split, so command tests run on a fresh clone with nothing downloaded."""
    import numpy as np

    root = tmp_path_factory.mktemp("tiny-mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.rint(bundled_test_set.images.numpy() * 255).reshape(-1, 28, 28)
    labels = bundled_test_set.labels.numpy()
    write_idx(raw / "train-images-idx3-ubyte", images[:2000])
    write_idx(raw / "train-labels-idx1-ubyte", labels[:2000])
    write_idx(raw / "t10k-images-idx3-ubyte", images[9500:])
    write_idx(raw / "t10k-labels-idx1-ubyte", labels[9500:])
    return root
