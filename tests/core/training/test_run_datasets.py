"""Training on each MNIST-family set read from a data folder (tiny IDX files, nothing downloaded)."""

import dataclasses
import math

from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.config import TrainConfig
from vae_explorer.core.data import load_dataset
from vae_explorer.core.models import registry
from vae_explorer.core.training.events import EpochDone, Failed, Finished, Started, Status
from vae_explorer.core.training.run import TrainingRequest, run_training

KIND = "vae" if "vae" in registry.kinds() else "mlp_vae"


def tiny_request(root, dataset, shape, output=None):
    model_config = registry.config_from_dict(
        KIND, {"hidden_sizes": [8], "latent_dim": 2, "image_shape": list(shape)})
    train_config = TrainConfig(epochs=1, batch_size=8, device="cpu", dataset=dataset, eval_batch_size=16)
    return TrainingRequest(KIND, model_config, train_config, data_dir=str(root), allow_download=False,
                           output=output)


def test_a_run_on_fashion_mnist_trains_on_it_and_records_it(tiny_dataset, tmp_path):
    root, _ = tiny_dataset("fashion_mnist", sizes={"train": 32, "test": 12}, shape=(8, 8))
    out = tmp_path / "fashion.safetensors"
    events = list(run_training(tiny_request(root, "fashion_mnist", (8, 8), out)))
    statuses = [e.message for e in events if isinstance(e, Status)]
    assert statuses == [f"Loading the Fashion-MNIST training split from {root}",
                        f"Loading the Fashion-MNIST test split from {root}"]
    started = next(e for e in events if isinstance(e, Started))
    assert started.train_images == 32 and started.batches_per_epoch == 4
    (epoch,) = [e for e in events if isinstance(e, EpochDone)]
    assert math.isfinite(epoch.stats.train["loss"])
    assert isinstance(events[-1], Finished) and events[-1].saved_to == out
    loaded = load_checkpoint(out)
    assert loaded.dataset == "fashion_mnist" and loaded.train_config.dataset == "fashion_mnist"
    assert loaded.provenance["train_images"] == 32
    assert "fashion_mnist test split (12)" in loaded.metrics["evaluation"]
    assert math.isfinite(loaded.metrics["test_loss"])


def test_a_dataset_without_its_test_split_fails_clearly(tiny_dataset):
    root, _ = tiny_dataset("kmnist", sizes={"train": 16}, shape=(8, 8))
    events = list(run_training(tiny_request(root, "kmnist", (8, 8))))
    assert isinstance(events[-1], Failed) and events[-1].user_error
    message = events[-1].message
    assert message.startswith(f"KMNIST is not in {root}")
    assert str(root / "KMNIST" / "raw" / "t10k-images-idx3-ubyte") in message
    assert not any(isinstance(e, Started) for e in events)


def test_mnist_without_its_test_split_evaluates_on_the_bundled_one(tiny_dataset):
    root, _ = tiny_dataset("mnist", sizes={"train": 16})
    events = list(run_training(tiny_request(root, "mnist", (28, 28))))
    assert [e.message for e in events if isinstance(e, Status)] == [
        f"Loading the MNIST training split from {root}"]
    assert isinstance(events[-1], Finished)
    assert "mnist test split (10,000)" in events[-1].checkpoint.metrics["evaluation"]


def test_the_training_files_of_another_dataset_are_not_used(tiny_dataset):
    root, _ = tiny_dataset("mnist", sizes={"train": 16, "test": 4})
    events = list(run_training(tiny_request(root, "fashion_mnist", (28, 28))))
    assert isinstance(events[-1], Failed)
    assert events[-1].message.startswith(f"Fashion-MNIST is not in {root} and downloading is switched off")


def test_a_given_training_set_still_takes_its_test_split_from_the_data_folder(tiny_dataset):
    # The bundled MNIST test split must never stand in for another data set's.
    root, _ = tiny_dataset("kmnist", sizes={"train": 16, "test": 4}, shape=(8, 8))
    train = load_dataset("kmnist", root, "train", download=False)
    request = dataclasses.replace(tiny_request(root, "kmnist", (8, 8)), train_set=train)
    events = list(run_training(request))
    assert [e.message for e in events if isinstance(e, Status)] == [
        f"Loading the KMNIST test split from {root}"]
    assert isinstance(events[-1], Finished)
    assert "kmnist test split (4)" in events[-1].checkpoint.metrics["evaluation"]
