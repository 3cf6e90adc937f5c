import dataclasses

import pytest
import torch

from tests.core.models.kind_checks import assert_round_trip, assert_training_lowers_the_loss, build, digits
from vae_explorer.core.config import ConfigError
from vae_explorer.core.models import registry
from vae_explorer.core.models.autoencoder import AutoencoderConfig, DenoisingAutoencoderConfig


def test_the_code_is_a_point_and_the_loss_has_no_kl_term():
    model = build("autoencoder", hidden_sizes=[16], latent_dim=3, image_shape=[10, 10])
    x = torch.rand(6, 100)
    code = model.encode(x)
    assert code.mean.shape == (6, 3) and code.logvar is None
    torch.testing.assert_close(model.encode(x).mean, code.mean)  # deterministic
    terms = model.loss(x, beta=1.0)
    assert list(terms) == ["loss", "reconstruction"] == list(model.term_labels)
    assert terms["loss"].item() == terms["reconstruction"].item()
    assert model.loss(x, beta=50.0)["loss"].item() == terms["loss"].item()  # no KL for beta to weigh
    with torch.no_grad():
        expected = model.likelihood(code.mean).nll(x).mean()
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert not model.has_posterior and model.has_likelihood and not model.is_conditional
    assert model.decode(torch.zeros(2, 3)).shape == (2, 10, 10)


def test_the_plain_autoencoder_scores_the_image_it_was_given_in_training_mode_too():
    model = build("autoencoder", hidden_sizes=[16], image_shape=[10, 10])
    x = torch.rand(6, 100)
    train = model.train().loss(x, generator=torch.Generator().manual_seed(0))["loss"]
    assert train.item() == model.eval().loss(x)["loss"].item()


def _denoiser(corruption, level, **fields):
    return build("denoising_autoencoder", hidden_sizes=[16], image_shape=[10, 10], corruption=corruption,
                 corruption_level=level, **fields)


def test_a_fully_masked_input_is_still_scored_against_the_clean_image():
    model = _denoiser("mask", 1.0).train()
    x = torch.rand(6, 100) * 0.5 + 0.25
    terms = model.loss(x, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        from_black = model.likelihood(model.encode(torch.zeros_like(x)).mean).nll(x).mean()
        from_clean = model.likelihood(model.encode(x).mean).nll(x).mean()
    assert terms["loss"].item() == pytest.approx(from_black.item(), rel=1e-6)
    assert terms["loss"].item() != pytest.approx(from_clean.item(), rel=1e-6)
    # In eval mode the figure is the clean input's.
    assert model.eval().loss(x)["loss"].item() == pytest.approx(from_clean.item(), rel=1e-6)


def test_a_partial_mask_blacks_out_about_that_fraction_of_pixels():
    model = _denoiser("mask", 0.3)
    x = torch.ones(50, 100)
    seen = model.corrupt(x, torch.Generator().manual_seed(0))
    assert set(seen.unique().tolist()) == {0.0, 1.0}
    assert (seen == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)


def test_gaussian_corruption_adds_noise_of_the_level_and_clips_to_the_pixel_range():
    model = _denoiser("gaussian", 0.2).train()
    x = torch.full((4, 100), 0.5)
    x[:, :10] = 1.0
    seen = model.corrupt(x, torch.Generator().manual_seed(0))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(seen, (x + 0.2 * noise).clamp(0, 1))
    assert float(seen.min()) >= 0.0 and float(seen.max()) <= 1.0 and (seen[:, :10] < 1).any()
    # The loss decodes the same corrupted input, given the same generator.
    terms = model.loss(x, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model.likelihood(model.encode(seen).mean).nll(x).mean()
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("kind, fields", [
    ("autoencoder", {"architecture": "mlp"}),
    ("autoencoder", {"architecture": "conv", "likelihood": "gaussian", "gaussian_std": 0.3}),
    ("denoising_autoencoder", {"architecture": "mlp", "corruption": "gaussian", "corruption_level": 0.3}),
    ("denoising_autoencoder", {"architecture": "conv", "corruption": "mask", "corruption_level": 0.25}),
], ids=["ae-mlp", "ae-conv-gaussian", "dae-mlp-noise", "dae-conv-mask"])
def test_each_kind_and_architecture_trains_and_round_trips(kind, fields, bundled_test_set, tmp_path):
    model = build(kind, hidden_sizes=[32], image_shape=[14, 14], **fields)
    assert_training_lowers_the_loss(model, digits(bundled_test_set))
    assert_round_trip(model, tmp_path)


def test_titles_and_descriptions():
    assert registry.get_kind("autoencoder").title == "Autoencoder (no KL)"
    assert registry.get_kind("denoising_autoencoder").title == "Denoising autoencoder"
    assert _denoiser("mask", 0.25).describe() == (
        "denoising autoencoder MLP 100-16-2, trained on 25% of pixels masked, likelihood: Bernoulli")
    model = build("autoencoder", architecture="conv", likelihood="gaussian", gaussian_std=0.2, hidden_sizes=[8])
    assert model.likelihood_name == "Gaussian, fixed σ=0.2" and model.describe().startswith("autoencoder conv 28x28")


@pytest.mark.parametrize("config_class", [AutoencoderConfig, DenoisingAutoencoderConfig])
def test_every_settable_field_has_a_label_and_help_and_its_choices_are_accepted(config_class):
    for field in dataclasses.fields(config_class):
        meta = field.metadata
        if meta["show"]:
            assert meta["label"] and meta["help"], field.name
        for value, text in meta["choices"]:
            assert text and config_class(**{field.name: value})


@pytest.mark.parametrize("kwargs", [
    {"likelihood": "learned_gaussian"}, {"architecture": "rnn"}, {"latent_dim": 0}, {"corruption": "blur"},
    {"corruption_level": 1.5}, {"corruption_level": -0.1}, {"corruption_level": float("nan")},
])
def test_bad_configs_are_refused_with_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        DenoisingAutoencoderConfig(**kwargs)
    if "corruption" not in next(iter(kwargs)):
        with pytest.raises(ConfigError):
            AutoencoderConfig(**kwargs)
