"""The numpy twin mirrors the MLP VAE it can, agrees with it, and declines the rest."""

import numpy as np
import pytest
import torch

from tests.core.models.kind_checks import build
from vae_explorer.core.checkpoint import Checkpoint, save_checkpoint
from vae_explorer.core.models import mlp_vae_numpy
from vae_explorer.core.models.mlp_vae_numpy import NumpyMLPVAE
from vae_explorer.core.quickstart import quick_look


@pytest.mark.parametrize("fields", [
    {"likelihood": "bernoulli"},
    {"likelihood": "gaussian", "gaussian_std": 0.2},
    {"likelihood": "learned_gaussian", "variance": "shared"},  # the mean image does not depend on σ
])
def test_the_twin_computes_what_the_torch_vae_computes(fields):
    model = build("vae", seed=3, hidden_sizes=[24, 12], latent_dim=3, image_shape=[6, 5], **fields).eval()
    config = {"hidden_sizes": [24, 12], "latent_dim": 3, "image_shape": [6, 5], **fields}
    assert mlp_vae_numpy.mirrors("vae", config)
    weights = {name: t.numpy() for name, t in model.state_dict().items() if mlp_vae_numpy.wanted(name)}
    twin = NumpyMLPVAE(config, weights)
    x = np.random.default_rng(0).random((7, 30), dtype=np.float32)
    z = np.array([[0.0, 0.0, 0.0], [2.0, -1.0, 0.5], [-40.0, 30.0, 9.0]], np.float32)
    with torch.no_grad():
        codes = model.encode(torch.from_numpy(x)).mean.numpy()
        images = model.decode(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(twin.encode_means(x), codes, atol=1e-5)
    np.testing.assert_allclose(twin.decode(z), images, atol=1e-6)


@pytest.mark.parametrize("kind, config", [
    ("vae", {"architecture": "conv"}),
    ("autoencoder", {}),
    ("conditional_vae", {}),
    ("vq_vae", {}),
    ("vae", "not a dict"),
])
def test_what_the_twin_cannot_mirror_is_declined(kind, config):
    assert not mlp_vae_numpy.mirrors(kind, config)


def test_the_old_kind_name_and_a_config_from_before_the_architecture_field_are_mirrored():
    assert mlp_vae_numpy.mirrors(mlp_vae_numpy.V1_KIND, {"hidden_sizes": [512, 256], "likelihood": "bernoulli"})


@pytest.mark.parametrize("kind, fields", [("vae", {"architecture": "conv"}), ("conditional_vae", {}),
                                          ("autoencoder", {})])
def test_the_quick_look_declines_a_checkpoint_it_cannot_mirror(kind, fields, tmp_path):
    model = build(kind, hidden_sizes=[8], **fields)
    path = save_checkpoint(Checkpoint(model), tmp_path / "model.safetensors")
    assert quick_look(path) is None


def test_the_quick_look_reads_a_saved_mlp_vae_of_the_new_kind_name(tmp_path):
    model = build("vae", hidden_sizes=[8], likelihood="learned_gaussian").eval()
    look = quick_look(save_checkpoint(Checkpoint(model), tmp_path / "model.safetensors"))
    assert look is not None and look.codes.shape == (10_000, 2)
    z = np.array([[0.5, -0.5]], np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(look.decode(z), model.decode(torch.from_numpy(z)).numpy(), atol=1e-6)
