"""The pretrained model that ships with the app is what its file says it is."""

import pytest

from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
from vae_explorer.core.evaluation import evaluate_terms
from vae_explorer.core.resources import shipped_checkpoint_path, shipped_models

TARGET_NATS = 139.0  # issue 2: negative ELBO on the 10,000 test images


@pytest.fixture(scope="module")
def shipped():
    return load_checkpoint(default_checkpoint_path())


def test_shipped_model_is_the_default_2d_mlp(shipped):
    config = shipped.model_config
    assert (config.latent_dim, config.hidden_sizes, config.likelihood) == (2, (512, 256), "bernoulli")
    assert shipped.kind == "vae"  # a format-1 file ("mlp_vae" then), read as the VAE
    assert shipped.dataset == "mnist"
    assert shipped.provenance["command"].startswith("vae-explorer train")
    assert "seed" in shipped.provenance


def test_shipped_model_reaches_the_figure_recorded_in_it(shipped, bundled_test_set):
    measured = evaluate_terms(shipped.model, bundled_test_set, beta=1.0, seed=0)["loss"]
    assert measured == pytest.approx(shipped.metrics["test_loss"], abs=0.5)
    assert measured <= TARGET_NATS
    assert shipped.metrics["test_iwae_log_likelihood"] > -measured  # IWAE bound is tighter


@pytest.mark.parametrize("title, path", shipped_models(), ids=lambda value: getattr(value, "stem", ""))
def test_every_shipped_model_reaches_the_figure_it_records_and_says_how_it_was_made(
        title, path, bundled_test_set):
    checkpoint = load_checkpoint(path)
    assert checkpoint.dataset == "mnist"
    command = checkpoint.provenance["command"]
    assert command.startswith("vae-explorer train") and path.name in command
    measured = evaluate_terms(checkpoint.model, bundled_test_set, beta=1.0, seed=0)
    assert measured["loss"] == pytest.approx(checkpoint.metrics["test_loss"], abs=0.5)
    if "test_iwae_log_likelihood" in checkpoint.metrics:
        assert checkpoint.metrics["test_iwae_log_likelihood"] > -measured["loss"]


def test_the_20d_model_meets_its_target():
    checkpoint = load_checkpoint(shipped_checkpoint_path().with_name("mnist-20d.safetensors"))
    assert checkpoint.model.latent_dim == 20
    assert checkpoint.metrics["test_loss"] <= 100.0  # the classic 784-400-20 example: about 105.6
