import dataclasses

import pytest
import torch

from tests.core.models.kind_checks import assert_round_trip, assert_training_lowers_the_loss, build, digits
from vae_explorer.core.config import ConfigError
from vae_explorer.core.models import registry
from vae_explorer.core.models.conditional_vae import ConditionalVAEConfig


def small(architecture="mlp", **fields):
    return build("conditional_vae", hidden_sizes=[16], image_shape=[10, 10], architecture=architecture, **fields)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_changing_only_the_label_changes_the_decoded_image_and_the_code(architecture):
    model = small(architecture).eval()
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    x = torch.rand(3, 100)
    with torch.no_grad():
        as_zero, as_seven = model.decode(z, torch.zeros(3, dtype=torch.int64)), model.decode(z, torch.full((3,), 7))
        again = model.decode(z, torch.zeros(3, dtype=torch.int64))
        codes = [model.encode(x, torch.tensor([label] * 3)).mean for label in (0, 7)]
    assert as_zero.shape == (3, 10, 10)
    assert torch.equal(as_zero, again) and (as_zero - as_seven).abs().max() > 1e-4
    assert (codes[0] - codes[1]).abs().max() > 1e-4
    # One label serves every row.
    torch.testing.assert_close(model.decode(z, torch.tensor(7)), as_seven)


def test_the_loss_is_the_conditional_elbo():
    model = small()
    x, labels = torch.rand(6, 100), torch.tensor([0, 1, 2, 3, 4, 9])
    terms = model.loss(x, beta=3.0, generator=torch.Generator().manual_seed(1), labels=labels)
    assert list(terms) == ["loss", "reconstruction", "kl"] == list(model.term_labels)
    code = model.encode(x, labels)
    z = code.mean + torch.exp(0.5 * code.logvar) * torch.randn(code.mean.shape, generator=torch.Generator().manual_seed(1))
    recon = model.likelihood(z, labels).nll(x).mean()
    assert terms["reconstruction"].item() == pytest.approx(recon.item(), rel=1e-6)
    assert terms["loss"].item() == pytest.approx(terms["reconstruction"].item() + 3 * terms["kl"].item(), rel=1e-6)
    assert model.is_conditional and model.num_classes == 10 and model.has_posterior and model.has_likelihood


def test_missing_or_wrong_labels_are_clear_errors():
    model = small()
    x, z = torch.rand(4, 100), torch.zeros(4, 2)
    for call in (lambda: model.encode(x), lambda: model.decode(z), lambda: model.likelihood(z),
                 lambda: model.loss(x)):
        with pytest.raises(ValueError, match="conditional: give the class labels"):
            call()
    with pytest.raises(ValueError, match="between 0 and 9"):
        model.decode(z, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="3 labels for 4 images"):
        model.encode(x, torch.tensor([0, 1, 2]))


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_each_architecture_trains_with_labels_and_round_trips(architecture, bundled_test_set, tmp_path):
    model = build("conditional_vae", hidden_sizes=[32], image_shape=[14, 14], architecture=architecture)
    assert_training_lowers_the_loss(model, digits(bundled_test_set))
    assert_round_trip(model, tmp_path)


def test_the_label_count_comes_from_the_config():
    model = small(num_classes=3, likelihood="gaussian", gaussian_std=0.5)
    assert model.num_classes == 3 and model.encoder[0].in_features == 100 + 3
    assert model.decode(torch.zeros(2, 2), torch.tensor([2, 1])).shape == (2, 10, 10)
    assert model.describe() == "conditional VAE MLP 100-16-2 + 3 classes, likelihood: Gaussian, fixed σ=0.5"
    assert registry.get_kind("conditional_vae").title == "Conditional VAE"


def test_every_settable_field_has_a_label_and_help_and_its_choices_are_accepted():
    hidden = {f.name for f in dataclasses.fields(ConditionalVAEConfig) if not f.metadata["show"]}
    assert hidden == {"image_shape", "num_classes"}
    for field in dataclasses.fields(ConditionalVAEConfig):
        meta = field.metadata
        assert meta["label"] and meta["help"], field.name
        for value, text in meta["choices"]:
            assert text and ConditionalVAEConfig(**{field.name: value})


@pytest.mark.parametrize("kwargs", [{"num_classes": 0}, {"num_classes": 5000}, {"num_classes": 2.0},
                                    {"likelihood": "learned_gaussian"}, {"architecture": "transformer"}])
def test_bad_configs_are_refused_with_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        ConditionalVAEConfig(**kwargs)
