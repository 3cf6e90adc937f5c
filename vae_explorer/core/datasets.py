"""The MNIST-family data sets the app knows: names, folders, files and class names.

Plain data and paths only (no torch, no numpy), so the GUI can label a legend
and the start-up checks can look for files before torch has loaded. Loading
lives in data.py, fetching in download.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vae_explorer.core.config import DATASET_TITLES, DATASETS, ConfigError, clip

# torchvision names the files the same way for all three sets.
RAW_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # the key in config.DATASETS, recorded in checkpoints
    short_name: str  # how messages name it ("Fashion-MNIST is not in ...")
    title: str  # config.DATASET_TITLES: how menus name it
    folder: str  # torchvision's folder under the data root: ROOT/<folder>/raw/
    torchvision_class: str  # the torchvision.datasets class that downloads it
    class_names: tuple[str, ...]  # label 0, 1, ... as a legend shows them
    bundled_test: bool = False  # the package ships this test split (resources/)


_TABLE = (
    DatasetInfo("mnist", "MNIST", DATASET_TITLES["mnist"], "MNIST", "MNIST",
                tuple(str(digit) for digit in range(10)), bundled_test=True),
    DatasetInfo("fashion_mnist", "Fashion-MNIST", DATASET_TITLES["fashion_mnist"], "FashionMNIST",
                "FashionMNIST", ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                 "Shirt", "Sneaker", "Bag", "Ankle boot")),
    # Kuzushiji: cursive hiragana. The romanised name rides along for fonts without the glyph.
    DatasetInfo("kmnist", "KMNIST", DATASET_TITLES["kmnist"], "KMNIST", "KMNIST",
                ("お (o)", "き (ki)", "す (su)", "つ (tsu)", "な (na)", "は (ha)", "ま (ma)",
                 "や (ya)", "れ (re)", "を (wo)")),
)
# Keyed like config.DATASETS, which is what a TrainConfig accepts (a test keeps the two equal).
DATASET_TABLE: dict[str, DatasetInfo] = {info.name: info for info in _TABLE}


def dataset_info(name: str) -> DatasetInfo:
    """The table entry for a data set name; ConfigError for a name it does not hold."""
    info = DATASET_TABLE.get(name) if isinstance(name, str) else None
    if info is None:
        raise ConfigError(f"unknown dataset {clip(name)}: choose one of {', '.join(DATASETS)}")
    return info


def class_names(name: str) -> tuple[str, ...]:
    """Names of labels 0..9 of a data set, for legends and captions."""
    return dataset_info(name).class_names


def check_split(split: str) -> None:
    if split not in RAW_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {clip(split)}")


def raw_folder(root: Path, dataset: str = "mnist") -> Path:
    """ROOT/<Folder>/raw, where torchvision keeps a data set's IDX files."""
    return Path(root) / dataset_info(dataset).folder / "raw"


def expected_layout(root: Path, dataset: str = "mnist") -> str:
    """The four files a data set needs, one indented path a line, for messages."""
    raw = raw_folder(root, dataset)
    return "\n".join(f"  {raw / name}" for pair in RAW_FILES.values() for name in pair)


def find_raw_files(root: Path, split: str, dataset: str = "mnist") -> list[Path] | None:
    """The split's image and label files, plain or gzipped, or None if either is missing."""
    check_split(split)
    raw = raw_folder(root, dataset)
    found = []
    for name in RAW_FILES[split]:
        path = next((p for p in (raw / name, raw / f"{name}.gz") if p.exists()), None)
        if path is None:
            return None
        found.append(path)
    return found
