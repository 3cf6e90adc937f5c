"""MNIST-family data: the bundled offline test split and torchvision loading.

Everything ends as an ImageSet: one float tensor of flat images in [0, 1] and
one tensor of labels, ready to live whole on the training device.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vae_explorer.core.idx import IdxFormatError, read_idx
from vae_explorer.core.resources import bundled_mnist_folder

DATA_ENV_VAR = "VAE_EXPLORER_DATA"
RAW_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DataUnavailableError(RuntimeError):
    """The data set is not on disk and could not be downloaded."""


@dataclass(frozen=True)
class ImageSet:
    """A split held as tensors: images (N, H*W) float32 in [0, 1], labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor
    name: str = "mnist"
    split: str = "test"
    image_shape: tuple[int, int] = (28, 28)

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device: torch.device | str) -> "ImageSet":
        return ImageSet(
            self.images.to(device), self.labels.to(device), self.name, self.split, self.image_shape
        )

    def subset(self, count: int) -> "ImageSet":
        return ImageSet(
            self.images[:count], self.labels[:count], self.name, self.split, self.image_shape
        )


def image_set_from_arrays(
    images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, name: str, split: str
) -> ImageSet:
    images = torch.as_tensor(np.asarray(images))
    if images.ndim != 3:
        raise IdxFormatError(f"expected images shaped (N, H, W), got {tuple(images.shape)}")
    labels = torch.as_tensor(np.asarray(labels)).to(torch.int64)
    if labels.shape[0] != images.shape[0]:
        raise IdxFormatError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    n, h, w = images.shape
    flat = images.reshape(n, h * w).to(torch.float32).div_(255.0)
    return ImageSet(flat, labels, name, split, (h, w))


def load_bundled_test_split() -> ImageSet:
    """The MNIST test split shipped inside the package, for the offline default."""
    folder = bundled_mnist_folder()
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    return image_set_from_arrays(images, labels, "mnist", "test")


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("vae-explorer")) / "data"


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $VAE_EXPLORER_DATA, else the per-user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(DATA_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return default_data_dir()


def expected_layout(root: Path) -> str:
    names = [name for pair in RAW_FILES.values() for name in pair]
    return "\n".join(f"  {root / 'MNIST' / 'raw' / name}" for name in names)


def find_raw_files(root: Path, split: str) -> list[Path] | None:
    """The split's image and label files, plain or gzipped, or None if either is missing."""
    raw = root / "MNIST" / "raw"
    found = []
    for name in RAW_FILES[split]:
        path = next((p for p in (raw / name, raw / f"{name}.gz") if p.exists()), None)
        if path is None:
            return None
        found.append(path)
    return found


def load_mnist(root: str | os.PathLike, split: str = "train", download: bool = True) -> ImageSet:
    """Load an MNIST split from a torchvision-layout folder, downloading if allowed.

    Files already on disk are read directly: importing torchvision costs about
    a second and holds the interpreter lock, which would freeze the GUI when
    the app loads data in a worker thread. torchvision does the downloading.
    Raises DataUnavailableError, whose message names the files to provide,
    when the files are missing or damaged and cannot be fetched.
    """
    if split not in RAW_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    found = find_raw_files(root, split)
    if found is None:
        if not download:
            raise DataUnavailableError(_missing_message(root, "downloading is switched off"))
        _download(root, split)
        found = find_raw_files(root, split)
        if found is None:
            raise DataUnavailableError(_missing_message(root, "the download left no files"))
    try:
        return image_set_from_arrays(read_idx(found[0]), read_idx(found[1]), "mnist", split)
    except IdxFormatError as exc:
        raise DataUnavailableError(f"the MNIST {split} files in {found[0].parent} are damaged: {exc}") from exc


def _download(root: Path, split: str) -> None:
    from torchvision.datasets import MNIST

    raw = root / "MNIST" / "raw"
    created = [folder for folder in (raw, *raw.parents) if not folder.exists()]  # deepest first
    try:
        # torchvision prints each mirror it tries; keep our own message instead.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            MNIST(str(root), train=(split == "train"), download=True)
    except Exception as exc:  # noqa: BLE001 - any failure here means "no data"
        for folder in created:  # only the folders this attempt made, and only while empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        # torchvision's text is a header, then "Tried MIRROR, got:" and the error for each mirror:
        # keep the header and the distinct errors, on one line.
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        lines = list(dict.fromkeys(line for line in lines if not re.fullmatch(r"Tried \S+, got:", line)))
        text = f"{lines[0].rstrip(':')}: {'; '.join(lines[1:])}" if len(lines) > 1 else "".join(lines)
        reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        raise DataUnavailableError(_missing_message(root, f"the download failed ({reason})")) from exc


def _missing_message(root: Path, reason: str) -> str:
    return (
        f"MNIST is not in {root} and {reason}.\n"
        f"Put the four uncompressed (or .gz) IDX files here:\n{expected_layout(root)}\n"
        f"then pass --data-dir {root} or set {DATA_ENV_VAR}."
    )
