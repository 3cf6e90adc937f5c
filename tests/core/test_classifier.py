"""The digit classifier that probes decoded images: it learns, it is stored safely, the shipped one is good."""

from __future__ import annotations

import os
import pytest
import torch

from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.checkpoint_header import CLASSIFIER_FORMAT, FORMAT_NAME, CheckpointError
from vae_explorer.core.classifier import (
    ClassifierConfig, ClassifierFile, DigitClassifier, accuracy, file_format, load_classifier, save_classifier,
    train_classifier,
)
from vae_explorer.core.config import ConfigError
from vae_explorer.core.data import ImageSet
from vae_explorer.core.resources import shipped_checkpoint_path, shipped_classifier_path, shipped_models


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # timings and results as on one thread


def test_a_short_run_on_part_of_the_training_split_learns_the_digits(mnist_train_set, bundled_test_set):
    torch.manual_seed(0)
    model = DigitClassifier(ClassifierConfig())
    part = ImageSet(mnist_train_set.images[:4000], mnist_train_set.labels[:4000])
    before = accuracy(model, bundled_test_set.images[:1000], bundled_test_set.labels[:1000])
    progress = list(train_classifier(model, part, epochs=1, batch_size=64, report_every=20))
    after = accuracy(model, bundled_test_set.images[:1000], bundled_test_set.labels[:1000])
    assert progress[-1].batch == progress[-1].batches == 63 and progress[-1].loss < progress[0].loss
    assert before < 0.3 < 0.85 < after


def test_files_round_trip_and_are_told_apart_from_models(tmp_path, bundled_test_set):
    torch.manual_seed(1)
    model = DigitClassifier(ClassifierConfig(channels=(4, 8), hidden=16))
    path = save_classifier(ClassifierFile(model, "mnist", {"test_accuracy": 0.5}), tmp_path / "probe.safetensors")
    loaded = load_classifier(path)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[name], tensor)
    assert loaded.metrics == {"test_accuracy": 0.5} and loaded.model.config == model.config
    assert file_format(path) == CLASSIFIER_FORMAT and file_format(shipped_checkpoint_path()) == FORMAT_NAME
    with pytest.raises(CheckpointError, match="digit classifier"):
        load_checkpoint(path)  # a classifier never opens as a model to explore
    with pytest.raises(CheckpointError, match="not a vae-explorer"):
        load_classifier(shipped_checkpoint_path())  # nor a model as a classifier


@pytest.mark.parametrize("damage", ["garbage", "truncated", "bad-config", "missing", "fifo", "wrong-type"])
def test_a_damaged_file_gives_one_clear_error(tmp_path, damage):
    model = DigitClassifier(ClassifierConfig(channels=(4, 8), hidden=16))
    path = save_classifier(ClassifierFile(model), tmp_path / "probe.safetensors")
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00" * 64)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) - 100])
    elif damage == "bad-config":
        assert b'hidden\\": 16' in data  # inside the metadata's JSON string, its quotes escaped
        path.write_bytes(data.replace(b'hidden\\": 16', b'hidden\\": -1'))  # same length: only the value is wrong
    elif damage == "wrong-type":
        assert b'hidden\\": 16' in data
        path.write_bytes(data.replace(b'hidden\\": 16', b'hidden\\": []'))  # a list where a number belongs, same length
    elif damage == "fifo":
        path.unlink()
        os.mkfifo(path)  # nothing writes to it: a blocking open would hang the test
    else:
        path.unlink()
    expected = {"garbage": "not a vae-explorer", "truncated": "truncated", "bad-config": "invalid classifier "
                "configuration", "missing": "no classifier file", "fifo": "not a classifier file",
                "wrong-type": "must be a whole number"}[damage]
    with pytest.raises(CheckpointError, match=expected):
        load_classifier(path)


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="two convolutions"):
        ClassifierConfig(channels=(4,))
    with pytest.raises(ConfigError, match="learning rate"):
        list(train_classifier(DigitClassifier(ClassifierConfig()), ImageSet(torch.zeros(2, 784),
                                                                                torch.zeros(2, dtype=torch.long)),
                              lr=0.0))


def test_the_shipped_classifier_reaches_98_percent_and_is_not_a_shipped_model(bundled_test_set):
    probe = load_classifier(shipped_classifier_path("mnist"))
    assert accuracy(probe.model, bundled_test_set.images, bundled_test_set.labels) > 0.98
    assert probe.metrics["test_accuracy"] > 0.98 and "train-classifier" in probe.provenance["command"]
    assert shipped_classifier_path("mnist") not in [path for _, path in shipped_models()]


def test_the_quick_recipe_trains_a_small_classifier_and_reports_its_test_accuracy(mnist_train_set, bundled_test_set):
    import threading

    from vae_explorer.core.classifier import QUICK_RECIPE, ClassifierProgress, fit_classifier

    part = ImageSet(mnist_train_set.images[:6000], mnist_train_set.labels[:6000])
    test = bundled_test_set.subset(1000)
    steps = list(fit_classifier(part, test, "mnist", QUICK_RECIPE))
    *progress, trained = steps
    assert all(isinstance(p, ClassifierProgress) for p in progress) and isinstance(trained, ClassifierFile)
    assert trained.model.config.channels == QUICK_RECIPE.channels and trained.dataset == "mnist"
    assert trained.metrics["test_accuracy"] == accuracy(trained.model, test.images, test.labels) > 0.9
    assert trained.provenance["recipe"]["batch_size"] == QUICK_RECIPE.batch_size
    stop = threading.Event()
    stopped = fit_classifier(part, test, "mnist", QUICK_RECIPE, stop=stop)
    next(stopped)
    stop.set()
    assert list(stopped) == []  # a stopped run yields no file
