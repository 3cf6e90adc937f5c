"""MNIST-family data as tensors: the bundled offline test split and folders in torchvision's layout.

Everything ends as an ImageSet: one float tensor of flat images in [0, 1] and
one tensor of labels, ready to live whole on the training device. Which data
sets exist and where their files go is in datasets.py; fetching in download.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vae_explorer.core.config import DATASETS
from vae_explorer.core.datasets import (  # noqa: F401 - RAW_FILES, expected_layout: re-exported
    RAW_FILES,
    DatasetInfo,
    check_split,
    class_names,
    dataset_info,
    expected_layout,
    find_raw_files,
)
from vae_explorer.core.download import DownloadError
from vae_explorer.core.download import download as fetch
from vae_explorer.core.idx import IdxFormatError, read_idx
from vae_explorer.core.resources import bundled_mnist_folder, user_folder

DATA_ENV_VAR = "VAE_EXPLORER_DATA"


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
        """The split on device; itself when it is there already, so views can tell one split by identity."""
        images, labels = self.images.to(device), self.labels.to(device)
        if images is self.images and labels is self.labels:
            return self
        return ImageSet(images, labels, self.name, self.split, self.image_shape)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of labels 0..9 for a legend; digits for a set outside the table (a test's toy set)."""
        return class_names(self.name) if self.name in DATASETS else tuple(str(i) for i in range(10))

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
    return user_folder("data")


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $VAE_EXPLORER_DATA, else the per-user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(DATA_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return default_data_dir()


def load_dataset(name: str, root: str | os.PathLike, split: str = "train", download: bool = True) -> ImageSet:
    """Load a split of an MNIST-family data set from a torchvision-layout folder.

    Files already on disk (ROOT/<Folder>/raw/, plain or .gz) are read directly:
    importing torchvision costs about a second and holds the interpreter lock,
    which would freeze the GUI when the app loads data in a worker thread.
    torchvision only downloads. Raises ConfigError for an unknown name, and
    DataUnavailableError, whose message names the files to provide, when the
    files are missing or damaged and cannot be fetched.
    """
    info = dataset_info(name)
    check_split(split)
    root = Path(root)
    found = find_raw_files(root, split, name)
    if found is None:
        if not download:
            raise DataUnavailableError(_missing_message(info, root, "downloading is switched off"))
        try:
            fetch(info, root, split)
        except DownloadError as exc:
            raise DataUnavailableError(_missing_message(info, root, f"the download failed ({exc})")) from exc
        found = find_raw_files(root, split, name)
        if found is None:
            raise DataUnavailableError(_missing_message(info, root, "the download left no files"))
    try:
        return image_set_from_arrays(read_idx(found[0]), read_idx(found[1]), name, split)
    except IdxFormatError as exc:
        raise DataUnavailableError(
            f"the {info.short_name} {split} files in {found[0].parent} are damaged ({exc}); "
            f"delete them to download them again, or put good copies there"
        ) from exc


def load_mnist(root: str | os.PathLike, split: str = "train", download: bool = True) -> ImageSet:
    """load_dataset for MNIST digits."""
    return load_dataset("mnist", root, split, download)


def _missing_message(info: DatasetInfo, root: Path, reason: str) -> str:
    return (
        f"{info.short_name} is not in {root} and {reason}.\n"
        f"Put the four uncompressed (or .gz) IDX files here:\n{expected_layout(root, info.name)}\n"
        f"then pass --data-dir {root} or set {DATA_ENV_VAR}."
    )
