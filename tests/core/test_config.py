import pytest

from vae_explorer.core import config as cfg
from vae_explorer.core.config import ConfigError, ModelConfig, TrainConfig


def test_configs_round_trip_through_json():
    model = ModelConfig(hidden_sizes=(64, 32), latent_dim=5, likelihood="gaussian", gaussian_std=0.2)
    train = TrainConfig(epochs=3, batch_size=64, learning_rate=5e-4, beta=2.0, seed=7)
    assert cfg.from_json(ModelConfig, cfg.to_json(model)) == model
    assert cfg.from_json(TrainConfig, cfg.to_json(train)) == train


def test_hidden_sizes_from_json_list_become_a_tuple():
    model = cfg.from_json(ModelConfig, '{"hidden_sizes": [10, 20]}')
    assert model.hidden_sizes == (10, 20)


@pytest.mark.parametrize(
    "kwargs",
    [{"latent_dim": 0}, {"hidden_sizes": (10, -1)}, {"likelihood": "poisson"},
     {"gaussian_std": 0.0}, {"image_shape": (10, 10)}],
)
def test_bad_model_config_is_rejected(kwargs):
    with pytest.raises(ConfigError):
        ModelConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"epochs": 0}, {"batch_size": -5}, {"learning_rate": 0.0}, {"beta": -1.0}, {"device": "tpu"}],
)
def test_bad_train_config_is_rejected(kwargs):
    with pytest.raises(ConfigError):
        TrainConfig(**kwargs)


def test_unknown_fields_and_bad_json_give_config_errors():
    with pytest.raises(ConfigError, match="unknown ModelConfig fields"):
        cfg.from_json(ModelConfig, '{"latent_dims": 3}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        cfg.from_json(ModelConfig, "{latent")
    with pytest.raises(ConfigError, match="JSON object"):
        cfg.from_json(ModelConfig, "[1, 2]")
