"""The MNIST family beside MNIST: the table, and loading each set from tiny IDX files."""

import numpy as np
import pytest
import torch

from tests.conftest import IDX_FILES, TORCHVISION_FOLDERS
from vae_explorer.core.config import DATASET_TITLES, DATASETS, ConfigError
from vae_explorer.core.data import DataUnavailableError, ImageSet, load_dataset, load_mnist
from vae_explorer.core.datasets import (
    DATASET_TABLE,
    class_names,
    dataset_info,
    expected_layout,
    find_raw_files,
)

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")
KMNIST_ROMAJI = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")


def test_the_table_holds_every_dataset_a_train_config_accepts():
    assert tuple(DATASET_TABLE) == DATASETS
    for name, info in DATASET_TABLE.items():
        assert info.name == name and info.title == DATASET_TITLES[name]
        assert info.folder == TORCHVISION_FOLDERS[name]
        assert len(info.class_names) == 10 and len(set(info.class_names)) == 10


def test_the_table_matches_torchvision_which_downloads_the_files():
    import torchvision.datasets

    for name, info in DATASET_TABLE.items():
        source = getattr(torchvision.datasets, info.torchvision_class)
        assert source.__name__ == info.folder  # torchvision names the folder after the class
        assert {filename for filename, _ in source.resources} == {
            f"{stem}.gz" for pair in IDX_FILES.values() for stem in pair}


def test_class_names_per_dataset():
    assert class_names("mnist") == tuple("0123456789")
    assert class_names("fashion_mnist") == FASHION
    kmnist = class_names("kmnist")
    assert [name.split(" (")[1].rstrip(")") for name in kmnist] == list(KMNIST_ROMAJI)
    assert kmnist[0] == "お (o)" and kmnist[9] == "を (wo)"


@pytest.mark.parametrize("name", ["emnist", "MNIST", "", 3])
def test_an_unknown_dataset_is_a_config_error_that_lists_the_known_ones(tmp_path, name):
    with pytest.raises(ConfigError, match="unknown dataset .*mnist, fashion_mnist, kmnist"):
        class_names(name)
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_dataset(name, tmp_path, "train", download=False)


def test_a_bad_split_is_refused():
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_dataset("kmnist", "anywhere", "validation", download=False)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("compress", [False, True])
def test_each_dataset_loads_from_its_own_folder(tiny_dataset, name, compress):
    root, written = tiny_dataset(name, sizes={"train": 5, "test": 3}, shape=(6, 7), compress=compress)
    for split, (images, labels) in written.items():
        loaded = load_dataset(name, root, split, download=False)
        assert loaded.name == name and loaded.split == split and loaded.image_shape == (6, 7)
        assert loaded.images.shape == (len(images), 42) and loaded.images.dtype == torch.float32
        np.testing.assert_allclose(loaded.images.numpy(), images.reshape(-1, 42) / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(loaded.labels.numpy(), labels)
        assert loaded.class_names == class_names(name)
        assert loaded.subset(2).class_names == class_names(name)


def test_a_set_outside_the_table_is_labelled_with_digits():
    toy = ImageSet(torch.zeros(2, 4), torch.zeros(2, dtype=torch.int64), "toy", "train", (2, 2))
    assert toy.class_names == tuple("0123456789")


def test_one_datasets_files_do_not_stand_in_for_another(tiny_dataset):
    root, _ = tiny_dataset("fashion_mnist")
    with pytest.raises(DataUnavailableError) as info:
        load_dataset("kmnist", root, "train", download=False)
    message = str(info.value)
    assert message.startswith(f"KMNIST is not in {root} and downloading is switched off.")
    for stem in (*IDX_FILES["train"], *IDX_FILES["test"]):
        assert str(root / "KMNIST" / "raw" / stem) in message
    assert "--data-dir" in message and "VAE_EXPLORER_DATA" in message
    with pytest.raises(DataUnavailableError, match="^MNIST is not in"):
        load_mnist(root, "train", download=False)


@pytest.mark.parametrize("name", DATASETS)
def test_damaged_files_name_the_dataset_and_the_fix(tiny_dataset, name):
    root, _ = tiny_dataset(name)
    labels = root / TORCHVISION_FOLDERS[name] / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1])
    with pytest.raises(DataUnavailableError) as info:
        load_dataset(name, root, "test", download=False)
    message = str(info.value)
    short = dataset_info(name).short_name
    assert message.startswith(f"the {short} test files in {labels.parent} are damaged")
    assert "expected 4" in message and "delete them to download them again" in message
    assert "\n" not in message
    assert len(load_dataset(name, root, "train", download=False)) == 6  # the other split is fine


def test_images_and_labels_that_disagree_are_damaged(tiny_dataset):
    root, _ = tiny_dataset("kmnist", sizes={"train": 4})
    raw = root / "KMNIST" / "raw"
    from tests.conftest import write_idx

    write_idx(raw / "train-labels-idx1-ubyte", np.zeros(3))
    with pytest.raises(DataUnavailableError, match="KMNIST train files .* damaged .*4 images but 3 labels"):
        load_dataset("kmnist", root, "train", download=False)


def test_layout_helpers_default_to_mnist_and_follow_the_dataset(tiny_dataset, tmp_path):
    assert expected_layout(tmp_path) == expected_layout(tmp_path, "mnist")
    assert str(tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte") in expected_layout(
        tmp_path, "fashion_mnist")
    assert len(expected_layout(tmp_path, "kmnist").splitlines()) == 4
    root, _ = tiny_dataset("kmnist", sizes={"train": 2}, compress=True)
    found = find_raw_files(root, "train", "kmnist")
    assert [p.name for p in found] == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert find_raw_files(root, "test", "kmnist") is None
    assert find_raw_files(root, "train") is None  # MNIST's folder is empty
    with pytest.raises(ConfigError):
        find_raw_files(root, "train", "qmnist")
