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


def write_idx(path: Path, array, compress: bool = False) -> None:
    """Write an unsigned-byte IDX file, the format MNIST comes in (gzipped if asked)."""
    import gzip

    import numpy as np

    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + array.tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


# torchvision's folder names and file names, written out here rather than taken from the package,
# so the tests check the package against the layout torchvision really uses.
TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "kmnist": "KMNIST"}
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def write_tiny_dataset(root: Path, dataset: str = "mnist", sizes: dict[str, int] | None = None,
                       shape: tuple[int, int] = (28, 28), compress: bool = False, seed: int = 0) -> dict:
    """Random images and labels as IDX files in ROOT/<Folder>/raw/; returns {split: (images, labels)}.

    sizes: images per split, {"train": 6, "test": 4} unless given; leave a split out to omit its files.
    """
    import numpy as np

    raw = Path(root) / TORCHVISION_FOLDERS[dataset] / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for split, count in (sizes or {"train": 6, "test": 4}).items():
        images = rng.integers(0, 256, size=(count, *shape), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        image_name, label_name = IDX_FILES[split]
        suffix = ".gz" if compress else ""
        write_idx(raw / f"{image_name}{suffix}", images, compress)
        write_idx(raw / f"{label_name}{suffix}", labels, compress)
        written[split] = (images, labels)
    return written


@pytest.fixture
def tiny_dataset(tmp_path):
    """Write a tiny data set of any kind: tiny_dataset("kmnist", sizes=...) -> (root, {split: arrays})."""
    count = 0

    def write(dataset: str = "mnist", **options) -> tuple[Path, dict]:
        nonlocal count
        count += 1
        root = tmp_path / f"tiny-data-{count}"
        return root, write_tiny_dataset(root, dataset, **options)

    return write


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


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a module's tests, then back to what it was."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
