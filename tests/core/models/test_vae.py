import dataclasses
import json
import math

import pytest
import torch

from tests.core.models.kind_checks import assert_round_trip, assert_training_lowers_the_loss, build, digits
from tests.core.test_checkpoint import join, split
from vae_explorer.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from vae_explorer.core.config import ConfigError
from vae_explorer.core.imputation_grid import LatentGrid, grid_problem
from vae_explorer.core.models import registry
from vae_explorer.core.models.vae import VAE, VAEConfig
from vae_explorer.core.resources import shipped_checkpoint_path

# The weight names of a 2-layer MLP VAE since format 1; old checkpoints depend on them.
V1_NAMES = ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias", "to_mu.weight",
            "to_mu.bias", "to_logvar.weight", "to_logvar.bias", "decoder.0.weight", "decoder.0.bias",
            "decoder.2.weight", "decoder.2.bias", "to_logits.weight", "to_logits.bias"]


def test_shapes_of_encode_decode_and_loss():
    model = registry.build("vae", VAEConfig(hidden_sizes=(32, 16), latent_dim=3))
    x = torch.rand(5, 784)
    code = model.encode(x)
    assert code.mean.shape == code.logvar.shape == (5, 3)
    with torch.no_grad():
        images = model.decode(torch.zeros(4, 3))
    assert images.shape == (4, 28, 28)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    torch.testing.assert_close(model.encode(x.reshape(5, 28, 28)).mean, code.mean)  # images are flattened
    terms = model.loss(x, generator=torch.Generator().manual_seed(0))
    assert list(terms) == ["loss", "reconstruction", "kl"] == list(model.term_labels)
    assert model.has_posterior and model.has_likelihood and not model.is_conditional


def test_the_old_name_builds_the_same_model_and_mlp_weights_keep_their_names():
    assert registry.get_kind("mlp_vae") is VAE and VAE.kind == "vae" and "mlp_vae" not in registry.kinds()
    model = registry.build("mlp_vae", VAEConfig(hidden_sizes=(32, 16)))
    assert list(model.state_dict()) == V1_NAMES
    conv = registry.build("vae", VAEConfig(architecture="conv", hidden_sizes=(32, 16)))
    assert not set(conv.state_dict()) & {"encoder.0.weight", "decoder.0.weight"}


def test_a_config_from_before_the_new_fields_loads_with_their_defaults():
    old = {"hidden_sizes": [32], "latent_dim": 2, "likelihood": "gaussian", "gaussian_std": 0.2,
           "image_shape": [28, 28]}
    config = registry.config_from_dict("mlp_vae", old)
    assert (config.architecture, config.variance, config.min_std) == ("mlp", "per_pixel", 0.01)


@pytest.mark.parametrize("image_shape", [(12, 20), (9, 7)])
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_image_shape_comes_from_the_config(architecture, image_shape):
    model = registry.build("vae", VAEConfig(architecture=architecture, hidden_sizes=(8,), image_shape=image_shape))
    assert model.decode(torch.zeros(2, 2)).shape == (2, *image_shape)
    assert model.encode(torch.rand(3, math.prod(image_shape))).mean.shape == (3, 2)


def test_loss_is_reconstruction_plus_beta_times_kl_in_nats_per_image():
    model = registry.build("vae", VAEConfig(hidden_sizes=(16,), latent_dim=2), seed=0)
    x = torch.rand(8, 784)
    terms = model.loss(x, beta=4.0, generator=torch.Generator().manual_seed(1))
    assert terms["loss"].item() == pytest.approx(terms["reconstruction"].item() + 4 * terms["kl"].item(), rel=1e-6)
    # The same noise by hand: encode, z = mu + sigma * eps, decode, sum the pixel NLLs, average over images.
    code = model.encode(x)
    eps = torch.randn(code.mean.shape, generator=torch.Generator().manual_seed(1))
    z = code.mean + torch.exp(0.5 * code.logvar) * eps
    recon = model.likelihood(z).nll(x).mean()
    assert terms["reconstruction"].item() == pytest.approx(recon.item(), rel=1e-6)


def _gradients(model, term, beta):
    model.zero_grad()
    model.loss(torch.rand(8, 100, generator=torch.Generator().manual_seed(2)), beta=beta,
               generator=torch.Generator().manual_seed(3))[term].backward()
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_beta_zero_leaves_the_kl_out_of_the_gradient(architecture):
    model = registry.build("vae", VAEConfig(architecture=architecture, hidden_sizes=(16,), image_shape=(10, 10)), seed=0)
    without_kl = _gradients(model, "loss", beta=0.0)
    reconstruction_only = _gradients(model, "reconstruction", beta=1.0)
    for a, b in zip(without_kl, reconstruction_only):
        assert torch.equal(a, b)
    with_kl = _gradients(model, "loss", beta=1.0)  # the comparison can tell: with beta > 0 they differ
    assert not all(torch.equal(a, b) for a, b in zip(with_kl, _gradients(model, "reconstruction", beta=1.0)))


def test_reparameterization_lets_gradients_reach_mu_and_logvar():
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    (z**2).sum().backward()
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0


def test_reparameterized_samples_have_the_right_moments():
    mu = torch.full((200_000, 1), 1.5)
    logvar = torch.full((200_000, 1), math.log(0.25))
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    assert abs(z.mean().item() - 1.5) < 0.01
    assert abs(z.std().item() - 0.5) < 0.01


def test_same_seed_builds_same_weights_and_leaves_global_rng_alone():
    config = VAEConfig(hidden_sizes=(16,))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = registry.build("vae", config, seed=4)
    after = torch.rand(1)
    b = registry.build("vae", config, seed=4)
    c = registry.build("vae", config, seed=5)
    assert torch.equal(before, after)  # building with a seed does not disturb the caller's RNG
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.to_mu.weight, c.to_mu.weight)


# ------------------------------------------------------------ learned σ


@pytest.mark.parametrize("variance, count", [("per_pixel", 100), ("shared", 1)])
def test_a_learned_sigma_starts_at_gaussian_std_stays_above_the_floor_and_gets_gradients(variance, count):
    model = build("vae", hidden_sizes=[16], likelihood="learned_gaussian", variance=variance, gaussian_std=0.2,
                  min_std=0.05, image_shape=[10, 10])
    std = model.pixel_std()
    assert std.shape == (count,)
    torch.testing.assert_close(std, torch.full((count,), 0.2))
    with torch.no_grad():
        model.raw_std.fill_(-1e4)
    assert float(model.pixel_std().detach().min()) == pytest.approx(0.05)
    with torch.no_grad():
        model.raw_std.fill_(0.0)
    model.loss(torch.rand(4, 100), generator=torch.Generator().manual_seed(0))["loss"].backward()
    assert model.raw_std.grad.abs().sum() > 0
    assert "learned σ" in model.likelihood_name and "learned σ" in model.describe()


def test_the_learned_sigma_likelihood_is_the_gaussian_with_that_sigma():
    model = build("vae", hidden_sizes=[16], likelihood="learned_gaussian", gaussian_std=0.3, image_shape=[6, 5])
    fixed = build("vae", hidden_sizes=[16], likelihood="gaussian", gaussian_std=0.3, image_shape=[6, 5])
    fixed.load_state_dict({k: v for k, v in model.state_dict().items() if k != "raw_std"})
    z, x = torch.randn(3, 2), torch.rand(3, 30)
    with torch.no_grad():
        torch.testing.assert_close(model.likelihood(z).log_prob(x), fixed.likelihood(z).log_prob(x))


def test_the_grid_posterior_works_with_a_learned_sigma():
    model = build("vae", hidden_sizes=[16], likelihood="learned_gaussian", image_shape=[6, 5]).eval()
    with torch.no_grad():
        model.raw_std.uniform_(-2.0, 1.0)  # a different σ in every pixel
    assert grid_problem(model) is None
    grid = LatentGrid(model, extent=3.0, resolution=6).build()
    x = torch.rand(2, 30)
    observed = (torch.rand(2, 30) > 0.3).float()
    with torch.no_grad():
        expected = (model.likelihood(grid.z).log_prob(x[:, None, :]) * observed[:, None, :]).sum(-1)
    torch.testing.assert_close(grid.log_likelihood(x, observed), expected, rtol=1e-4, atol=1e-3)


# ------------------------------------------------------- training and files


@pytest.mark.parametrize("fields", [
    {"architecture": "mlp"},
    {"architecture": "conv"},
    {"architecture": "mlp", "likelihood": "gaussian", "gaussian_std": 0.3},
    {"architecture": "mlp", "likelihood": "learned_gaussian", "variance": "per_pixel", "min_std": 0.05},
    {"architecture": "conv", "likelihood": "learned_gaussian", "variance": "shared"},
], ids=["mlp", "conv", "gaussian", "learned-per-pixel", "conv-learned-shared"])
def test_each_architecture_and_likelihood_trains_and_round_trips(fields, bundled_test_set, tmp_path):
    model = build("vae", hidden_sizes=[32], image_shape=[14, 14], **fields)
    assert_training_lowers_the_loss(model, digits(bundled_test_set))
    assert_round_trip(model, tmp_path)


def _saved_the_old_way(tmp_path, version: str):
    """A VAE saved, then its header made to look like an older vae-explorer's "mlp_vae" file."""
    model = registry.build("vae", VAEConfig(hidden_sizes=(32, 16), latent_dim=3), seed=1)
    path = save_checkpoint(Checkpoint(model), tmp_path / "old.safetensors")
    header, data = split(path)
    metadata = header["__metadata__"]
    config = json.loads(metadata["model_config"])
    for new_field in ("architecture", "variance", "min_std"):
        del config[new_field]
    if version == "1":
        metadata["format_version"] = "1"
        del metadata["kind"]
        config["input_dim"] = 784
    else:
        metadata["kind"] = "mlp_vae"
    metadata["model_config"] = json.dumps(config)
    return model, join(path, header, data)


@pytest.mark.parametrize("version", ["1", "2"])
def test_old_mlp_vae_checkpoints_load_as_the_vae(version, tmp_path):
    model, path = _saved_the_old_way(tmp_path, version)
    loaded = load_checkpoint(path)
    assert loaded.kind == "vae" and loaded.model_config == model.config
    for (name, a), b in zip(model.state_dict().items(), loaded.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_the_shipped_checkpoint_loads_as_an_mlp_vae():
    loaded = load_checkpoint(shipped_checkpoint_path())
    assert loaded.kind == "vae" and loaded.model_config.architecture == "mlp"
    assert loaded.model.likelihood_name == "Bernoulli"
    assert loaded.model.describe() == "VAE MLP 784-512-256-2, likelihood: Bernoulli"


# ---------------------------------------------------------------- configs


def test_every_settable_field_has_a_label_and_help_and_its_choices_are_accepted():
    for field in dataclasses.fields(VAEConfig):
        meta = field.metadata
        if meta["show"]:
            assert meta["label"] and meta["help"], field.name
        for value, text in meta["choices"]:
            assert text and VAEConfig(**{field.name: value})


@pytest.mark.parametrize(
    "kwargs",
    [{"latent_dim": 0}, {"hidden_sizes": (10, -1)}, {"hidden_sizes": ()}, {"likelihood": "poisson"},
     {"gaussian_std": 0.0}, {"gaussian_std": float("nan")}, {"image_shape": (0, 10)},
     {"hidden_sizes": (4_000_000,)}, {"latent_dim": True}, {"latent_dim": 2.5}, {"latent_dim": "2"},
     {"hidden_sizes": ("512",)}, {"image_shape": (28,)}, {"architecture": "rnn"}, {"variance": "diagonal"},
     {"min_std": 0.0}, {"min_std": 2.0}, {"min_std": float("nan")},
     {"architecture": "conv", "image_shape": (3, 28)}],
)
def test_bad_configs_are_refused_with_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        VAEConfig(**kwargs)
