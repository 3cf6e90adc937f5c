"""The pretrained model that ships with the app is what its file says it is."""

import pytest

from vae_explorer.core.checkpoint import default_checkpoint_path, load_checkpoint
from vae_explorer.core.evaluation import evaluate_terms

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
