import gzip
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import write_idx, write_tiny_dataset
from vae_explorer.core import data
from vae_explorer.core.data import (
    DataUnavailableError,
    IdxFormatError,
    load_mnist,
    read_idx,
    resolve_data_dir,
)


def make_tiny_mnist(root, n_train=6, n_test=4):
    return write_tiny_dataset(root, "mnist", {"train": n_train, "test": n_test})


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_reads_what_was_written(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    write_idx(path, array, compress)
    np.testing.assert_array_equal(read_idx(path), array)


def test_read_idx_rejects_bad_files(tmp_path):
    bad_magic = tmp_path / "bad"
    bad_magic.write_bytes(b"hello world")
    with pytest.raises(IdxFormatError, match="not an unsigned-byte IDX"):
        read_idx(bad_magic)
    short = tmp_path / "short"
    write_idx(short, np.zeros((3, 4), dtype=np.uint8))
    short.write_bytes(short.read_bytes()[:-2])
    with pytest.raises(IdxFormatError, match="expected 12"):
        read_idx(short)


def test_load_mnist_reads_a_tiny_torchvision_layout(tmp_path):
    splits = make_tiny_mnist(tmp_path)
    train = load_mnist(tmp_path, "train", download=False)
    images, labels = splits["train"]
    assert train.images.shape == (6, 784) and train.images.dtype == torch.float32
    np.testing.assert_allclose(train.images.numpy(), images.reshape(6, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(train.labels.numpy(), labels)
    test = load_mnist(tmp_path, "test", download=False)
    assert len(test) == 4 and test.split == "test"


def test_missing_data_without_network_gives_a_clear_message(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    with pytest.raises(DataUnavailableError) as info:
        load_mnist(tmp_path / "empty", "train", download=True)
    message = str(info.value)
    assert "download failed" in message
    assert str(tmp_path / "empty" / "MNIST" / "raw" / "train-images-idx3-ubyte") in message
    assert "--data-dir" in message and "VAE_EXPLORER_DATA" in message


TORCHVISION_FAILURE = (
    "Error downloading train-images-idx3-ubyte.gz:\n"
    "Tried https://ossci-datasets.s3.amazonaws.com/mnist/, got:\n"
    "<urlopen error [Errno -3] Temporary failure in name resolution>\n"
    "Tried http://yann.lecun.com/exdb/mnist/, got:\n"
    "<urlopen error [Errno -3] Temporary failure in name resolution>\n"
)


@pytest.mark.parametrize("before", ["nothing", "root", "root/MNIST/processed"])
def test_a_failed_download_removes_only_the_folders_it_made_and_says_why(tmp_path, monkeypatch, before):
    import torchvision.datasets

    class FailingMNIST:  # like torchvision: make the raw folder, then fail on every mirror
        def __init__(self, root, train, download):
            (Path(root) / "MNIST" / "raw").mkdir(parents=True, exist_ok=True)
            raise RuntimeError(TORCHVISION_FAILURE)

    monkeypatch.setattr(torchvision.datasets, "MNIST", FailingMNIST)
    root = tmp_path / "deeper" / "root"
    if before != "nothing":
        (tmp_path / before.replace("root", "deeper/root")).mkdir(parents=True)
        (root / "kept.txt").write_text("mine")
    with pytest.raises(DataUnavailableError) as info:
        load_mnist(root, "train", download=True)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    expected = {
        "nothing": [],
        "root": ["deeper", "deeper/root", "deeper/root/kept.txt"],
        "root/MNIST/processed": ["deeper", "deeper/root", "deeper/root/MNIST", "deeper/root/MNIST/processed",
                                 "deeper/root/kept.txt"],
    }
    assert left == expected[before]
    message = str(info.value)
    assert ("the download failed (RuntimeError: Error downloading train-images-idx3-ubyte.gz: "
            "<urlopen error [Errno -3] Temporary failure in name resolution>)") in message
    assert "Tried" not in message


def test_a_failed_download_with_a_one_line_error_shows_it_whole(tmp_path, monkeypatch):
    import torchvision.datasets

    def failing_mnist(root, train, download):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torchvision.datasets, "MNIST", failing_mnist)
    with pytest.raises(DataUnavailableError, match=r"failed \(OSError: \[Errno 28\] No space left on device\)"):
        load_mnist(tmp_path / "data", "test", download=True)
    assert list(tmp_path.iterdir()) == []


def test_missing_data_with_download_off(tmp_path):
    with pytest.raises(DataUnavailableError, match="downloading is switched off"):
        load_mnist(tmp_path, "test", download=False)


def test_data_dir_comes_from_argument_then_environment_then_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv("VAE_EXPLORER_DATA")
    assert resolve_data_dir(None) == data.default_data_dir()


def test_bundled_test_split_is_the_real_mnist_test_split(bundled_test_set):
    assert bundled_test_set.images.shape == (10000, 784)
    assert float(bundled_test_set.images.min()) == 0.0 and float(bundled_test_set.images.max()) == 1.0
    counts = torch.bincount(bundled_test_set.labels, minlength=10)
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_bundled_split_equals_the_one_in_the_data_folder(bundled_test_set, mnist_dir):
    from_folder = load_mnist(mnist_dir, "test", download=False)
    assert torch.equal(from_folder.images, bundled_test_set.images)
    assert torch.equal(from_folder.labels, bundled_test_set.labels)


def test_damaged_files_give_a_clear_message(tmp_path):
    make_tiny_mnist(tmp_path)
    images = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:100])
    with pytest.raises(DataUnavailableError, match="damaged"):
        load_mnist(tmp_path, "train", download=False)


def test_gzipped_files_are_read_too(tmp_path):
    splits = make_tiny_mnist(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    for name in data.RAW_FILES["test"]:
        (raw / f"{name}.gz").write_bytes(gzip.compress((raw / name).read_bytes()))
        (raw / name).unlink()
    test = load_mnist(tmp_path, "test", download=False)
    np.testing.assert_array_equal(test.labels.numpy(), splits["test"][1])
