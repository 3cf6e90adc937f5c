"""Downloading through torchvision (faked here: nothing is fetched): cleanup and quiet streams."""

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import IDX_FILES, TORCHVISION_FOLDERS, write_idx
from vae_explorer.core.config import DATASETS
from vae_explorer.core.data import DataUnavailableError, load_dataset
from vae_explorer.core.datasets import dataset_info
from vae_explorer.core.download import quiet_this_thread


def fake_torchvision(monkeypatch, name, fetch):
    """Put fetch(raw_folder) where torchvision's class for `name` is; it is called like the class."""
    import torchvision.datasets

    def constructor(root, train, download):
        assert download is True
        raw = Path(root) / TORCHVISION_FOLDERS[name] / "raw"
        raw.mkdir(parents=True, exist_ok=True)  # as torchvision does before fetching
        fetch(raw)

    monkeypatch.setattr(torchvision.datasets, dataset_info(name).torchvision_class, constructor)


def write_all_four(raw):
    rng = np.random.default_rng(1)
    for split, count in (("train", 5), ("test", 2)):
        write_idx(raw / IDX_FILES[split][0], rng.integers(0, 256, (count, 28, 28)))
        write_idx(raw / IDX_FILES[split][1], rng.integers(0, 10, count))


@pytest.mark.parametrize("name", DATASETS)
def test_a_download_that_breaks_midway_removes_only_what_it_wrote(tmp_path, monkeypatch, name):
    raw = tmp_path / TORCHVISION_FOLDERS[name] / "raw"
    raw.mkdir(parents=True)
    (raw / "notes.txt").write_text("the user's own file")
    (raw.parent / "processed").mkdir()

    def breaks_midway(raw):
        (raw / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b complete enough")
        (raw / "train-images-idx3-ubyte").write_bytes(b"extracted")
        (raw / "extra").mkdir()
        (raw / "extra" / "leftover").write_bytes(b"x")
        (raw / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b half a fi")  # the partial one
        raise ConnectionResetError("connection reset by peer")

    fake_torchvision(monkeypatch, name, breaks_midway)
    with pytest.raises(DataUnavailableError) as info:
        load_dataset(name, tmp_path, "train", download=True)
    assert "the download failed (ConnectionResetError: connection reset by peer)" in str(info.value)
    assert str(info.value).startswith(f"{dataset_info(name).short_name} is not in {tmp_path}")
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    folder = TORCHVISION_FOLDERS[name]
    assert left == [folder, f"{folder}/processed", f"{folder}/raw", f"{folder}/raw/notes.txt"]
    # Next time the files are missing, not damaged: a download would be tried again.
    with pytest.raises(DataUnavailableError, match="downloading is switched off"):
        load_dataset(name, tmp_path, "train", download=False)


def test_an_interrupted_download_cleans_up_and_lets_the_interrupt_through(tmp_path, monkeypatch):
    def interrupted(raw):
        (raw / "train-images-idx3-ubyte.gz").write_bytes(b"partial")
        raise KeyboardInterrupt

    fake_torchvision(monkeypatch, "kmnist", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_dataset("kmnist", tmp_path / "data", "test", download=True)
    assert list(tmp_path.iterdir()) == []


def test_a_download_loads_the_split_and_silences_only_its_own_thread(tmp_path, monkeypatch, capsys):
    def chatty(raw):
        print("Downloading http://mirror/train-images-idx3-ubyte.gz")
        print("100%|##########|", file=sys.stderr)
        other = threading.Thread(target=lambda: print("another thread's line"))
        other.start()
        other.join()
        write_all_four(raw)

    fake_torchvision(monkeypatch, "fashion_mnist", chatty)
    before = sys.stdout, sys.stderr
    train = load_dataset("fashion_mnist", tmp_path, "train", download=True)
    assert (sys.stdout, sys.stderr) == before
    assert len(train) == 5 and train.name == "fashion_mnist"
    assert len(load_dataset("fashion_mnist", tmp_path, "test", download=False)) == 2
    out, err = capsys.readouterr()
    assert out == "another thread's line\n" and err == ""


def test_quiet_streams_pass_on_everything_once_the_block_ends(capsys):
    with quiet_this_thread():
        print("dropped")
        inner = sys.stdout  # as if someone kept a reference to the stand-in
    print("shown", file=inner)
    print("also shown")
    assert capsys.readouterr().out == "shown\nalso shown\n"


def test_quiet_streams_survive_a_missing_console(monkeypatch):
    # pythonw on Windows starts with sys.stdout and sys.stderr set to None.
    monkeypatch.setattr(sys, "stdout", None)
    outcome = []
    with quiet_this_thread():
        thread = threading.Thread(target=lambda: outcome.append(sys.stdout.write("lost")))
        thread.start()
        thread.join()
    assert outcome == [4] and sys.stdout is None


def test_overlapping_quiet_blocks_in_two_threads_leave_the_real_streams(capsys):
    real = sys.stdout
    first_in, second_in, second_done = threading.Event(), threading.Event(), threading.Event()

    def second():
        first_in.wait()
        with quiet_this_thread():
            second_in.set()
            print("second thread, dropped")
            second_done.wait()
        print("second thread, after")

    thread = threading.Thread(target=second)
    thread.start()
    with quiet_this_thread():  # the first block ends while the second is still open
        first_in.set()
        print("main thread, dropped")
        second_in.wait()
    print("main thread, after")
    second_done.set()
    thread.join()
    assert sys.stdout is real
    assert capsys.readouterr().out.splitlines() == ["main thread, after", "second thread, after"]
